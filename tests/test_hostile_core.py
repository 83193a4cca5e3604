"""Hostile input at the core's entry points (load, dump, overrides): always a ConfigError with a
bounded message, in bounded time, whatever the size, depth or sharing of the input."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from micro_config import (
    ConfigError,
    ConfigScript,
    deep_replace,
    from_json,
    from_yaml,
    parse_args,
    to_json,
    to_yaml,
)
from micro_config.errors import RefusedClassError, WrongTypeError
from tests.configs_field_kinds import Leaf, Level, Node

HERE = __name__


@dataclass
class Box(ConfigScript):
    n: int = 0
    name: str = "box"
    dims: list[int] = field(default_factory=list)
    other: Any = None

    def unroll(self, metaconfig: Any = None) -> int:
        return self.n


def yaml_bomb(key: str = "other") -> str:
    """A few hundred bytes that stand for 2**40 items."""
    anchors = ", ".join(
        f"b{i}: &a{i} [*a{i - 1}, *a{i - 1}]" if i else "b0: &a0 [1, 1]" for i in range(41)
    )
    return f"_target_: {HERE}.Box\nother: {{{anchors}}}\n{key}: *a40\n"


def bounded(exc: BaseException) -> None:
    assert isinstance(exc, ConfigError) and len(str(exc)) < 700, str(exc)[:1000]


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("text", "cls"),
    [
        (yaml_bomb("name"), Box),  # wrong field type
        (yaml_bomb("dims"), Box),  # wrong element types, every one shared
        (yaml_bomb("other"), Node),  # wrong root class
        (yaml_bomb("n").replace("n: *a40", "n: {_type_: float, value: *a40}"), Box),  # marker
        (yaml_bomb("other").replace(f"_target_: {HERE}.Box", "_target_: *a40\nx: 1", 1)
         .replace("\nother: {", "\ny: {", 1), None),  # a non-string _target_ (anchor first)
    ],
)
def test_an_alias_bomb_with_any_error_fails_fast_and_short(text: str, cls: Any) -> None:
    with pytest.raises(ConfigError) as err:
        from_yaml(text, cls)
    bounded(err.value)


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "text",
    [
        f"_target_: {HERE}.Box\nother: {{_type_: float, value: [1]}}\n",  # malformed marker
        f"_target_: {HERE}.Box\nother: {{_type_: float, value: {{a: 1}}}}\n",
        f"_target_: {HERE}.Box\ndims: {{a: 1}}\n",  # a mapping for list[int]
        f"_target_: {HERE}.Box\ndims: [1, true]\n",  # a bool is not an int, at any depth
        f"_target_: {HERE}.Box\nn: {'9' * 5000}\n",  # past Python's int text limit
        f"_target_: {HERE}.Box\nother: {{_type_: set, value: [[1], [2]]}}\n",  # unhashable
    ],
)
def test_malformed_values_on_load_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_yaml(text)
    bounded(err.value)


def test_element_paths_on_load() -> None:
    with pytest.raises(WrongTypeError) as err:
        from_yaml(f"_target_: {HERE}.Box\ndims: [1, true]\n")
    assert err.value.path == "dims.1"


@pytest.mark.timeout(10)
def test_a_target_where_no_config_class_fits_imports_nothing() -> None:
    before = set(sys.modules)
    with pytest.raises(RefusedClassError):
        from_yaml(f"_target_: {HERE}.Box\nn: {{_target_: tests._trap_never_imported.Evil}}\n")
    assert "tests._trap_never_imported" not in sys.modules and set(sys.modules) - before == set()


@pytest.mark.timeout(10)
def test_a_megabyte_target_or_key_is_refused_in_milliseconds() -> None:
    with pytest.raises(ConfigError) as err:
        from_yaml("_target_: " + "a." * 500_000 + "B\n")
    bounded(err.value)
    with pytest.raises(ConfigError) as err:
        from_yaml(f"_target_: {HERE}.Box\n" + "k" * 1_000_000 + ": 1\n")
    bounded(err.value)
    for token in ("k" * 1_000_000 + "=1", "k." * 500_000 + "k=1", "n=" + "9" * 1_000_000):
        with pytest.raises(ConfigError) as err:
            deep_replace(Box(), **parse_args([token]))
        bounded(err.value)


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "token",
    [
        "name=a\x00b",  # control characters
        "name=\x1b[31mred",
        "other=" + "[" * 5000 + "]" * 5000,  # nested past the limit
        "n=" + "9" * 5000,  # past Python's int text limit
        "name=[&a [1, 1], &b [*a, *a], &c [*b, *b], &d [*c, *c], &e [*d, *d], &f [*e, *e]]",
    ],
)
def test_bad_override_values_are_config_errors(token: str) -> None:
    with pytest.raises(ConfigError) as err:
        deep_replace(Box(), **parse_args([token]))
    bounded(err.value)


@pytest.mark.timeout(10)
def test_an_override_alias_bomb_converts_in_linear_time() -> None:
    bomb = "[" + ", ".join(f"&a{i} [*a{i - 1}, *a{i - 1}]" if i else "&a0 [1, 1]" for i in range(40)) + "]"
    new = deep_replace(Box(), **parse_args(["other=" + bomb]))
    assert new.other[39][0] is new.other[38]  # shared, not expanded
    with pytest.raises(WrongTypeError) as err:
        deep_replace(Box(), **parse_args(["dims=" + bomb]))
    assert err.value.path == "dims.0"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("depth", [400, 900])
def test_whatever_is_written_reads_back_at_depth(depth: int) -> None:
    node = Node()
    for _ in range(depth):
        node = Node(other=node)
    for dump, load in ((to_yaml, from_yaml), (to_json, from_json)):
        back = load(dump(node))
        for _ in range(depth):
            back = back.other
        assert back.other is None


@pytest.mark.timeout(30)
def test_past_the_depth_limit_is_a_config_error_when_writing() -> None:
    node = Node()
    for _ in range(3000):
        node = Node(other=node)
    for dump in (to_yaml, to_json):
        with pytest.raises(ConfigError) as err:
            dump(node)
        bounded(err.value)


def test_dump_checks_values_against_annotations() -> None:
    with pytest.raises(WrongTypeError) as err:
        to_yaml(Box(n=True))  # type: ignore[arg-type]
    assert err.value.path == "n"
    with pytest.raises(WrongTypeError) as err:
        to_json(Box(dims=[1, False]))
    assert err.value.path == "dims.1"
    with pytest.raises(WrongTypeError, match="too long to write"):
        to_yaml(Box(other=10**5000))


@pytest.mark.parametrize("fields", [
    {"count": Level.HIGH}, {"shape": (Level.LOW,)},
    {"table": {"a": Level.LOW}},
])
def test_an_int_enum_member_is_no_int_on_any_side(fields: dict[str, Any]) -> None:
    # a file writes an Enum member as its Enum, which an int place refuses on load: so the
    # config is refused where it is made (deep_replace) and where it is written (the dump)
    with pytest.raises(WrongTypeError, match="Level.LOW|Level.HIGH"):
        deep_replace(Leaf(), **fields)
    with pytest.raises(WrongTypeError):
        to_yaml(Leaf(**fields))
    with pytest.raises(WrongTypeError):
        to_json(Leaf(**fields))
    assert from_yaml(to_yaml(Leaf(level=Level.HIGH))).level is Level.HIGH  # where it belongs


@dataclass
class NamedLikeTheFormat(ConfigScript):
    _target_: str = "os.system"

    def unroll(self, metaconfig: Any = None) -> Any:
        return self


@pytest.mark.parametrize("write", [to_yaml, to_json])
def test_a_field_named_like_a_format_key_is_refused_when_written(write: Any) -> None:
    # written, it would stand where the format names the class: another class on load
    with pytest.raises(ConfigError, match="field named '_target_', a key the snapshot format keeps") as err:
        write(Box(other=NamedLikeTheFormat()))
    assert err.value.path == "other"
