"""micro_config.convert: a value against an annotation, converted only where the meaning is plain."""

from __future__ import annotations

import enum
import pathlib
from dataclasses import dataclass
from typing import Any, Literal, Optional, Union

import pytest

from micro_config import ConfigError, ConfigScriptDict, ConfigScriptList
from micro_config.convert import accepts, coerce, type_name, unwrap_optional
from micro_config.plan import annotations_of as field_types
from tests._h1_configs import (
    Act,
    AdamWConfig,
    FrozenLeaf,
    TrainLoop,
    TransformerConfig,
    WikiDataConfig,
)


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        (3, int, 3),
        (3, float, 3.0),
        (2.5, float, 2.5),
        ("nan", float, None),  # checked separately: nan != nan
        (True, bool, True),
        (5, str, "5"),
        (1e-4, str, "0.0001"),
        ("relu", Act, Act.RELU),
        ("RELU", Act, Act.RELU),
        ([1, 2], tuple[int, ...], (1, 2)),
        ([1, "a"], tuple[int, str], (1, "a")),
        ([1, 2], tuple, (1, 2)),
        ([1, 2], set[int], {1, 2}),
        ([1, 2], frozenset[int], frozenset({1, 2})),
        ("out/x", pathlib.Path, pathlib.Path("out/x")),
        ("out/x", Optional[pathlib.Path], pathlib.Path("out/x")),  # noqa: UP045
        (None, Optional[int], None),  # noqa: UP045
        ({"a": 1}, dict[str, float], {"a": 1.0}),
        ([1, 2], list[float], [1.0, 2.0]),
        ("train", Literal["train", "eval"], "train"),
        (object, Any, object),
        ("anything", object, "anything"),
    ],
)
def test_plain_conversions(value: Any, annotation: Any, expected: Any) -> None:
    result = coerce(value, annotation)
    if expected is None and annotation is float:
        assert result != result  # nan
        return
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "annotation", "message"),
    [
        ("abc", int, "x: expected int, got 'abc'"),
        (True, int, "x: expected int, got True"),
        (True, float, "x: expected float, got True"),
        (1.5, int, "x: expected int, got 1.5"),
        (None, int, "x: expected int, got None"),
        (True, str, "x: expected str, got True"),
        ("silu", Act, "x: expected Act (one of RELU, GELU), got 'silu'"),
        ([1, "a"], list[int], "x.1: expected int, got 'a'"),
        ([1, 2, 3], tuple[int, int], "x: expected tuple[int, int], got [1, 2, 3]"),
        ({"a": "b"}, dict[str, int], "x.a: expected int, got 'b'"),
        ("test", Literal["train", "eval"], "x: expected Literal['train', 'eval'], got 'test'"),
        (1, Literal[True], "x: expected Literal[True], got 1"),
        ("x", Optional[int], "x: expected Optional[int], got 'x'"),  # noqa: UP045
        ({"max_len": 1}, WikiDataConfig, "x: expected WikiDataConfig, got {'max_len': 1}"),
        (TransformerConfig(), WikiDataConfig, "x: expected WikiDataConfig, got Transforme"),
        ([1], ConfigScriptDict[int], "x: expected ConfigScriptDict[int], got [1]"),
    ],
)
def test_mismatch_is_a_config_error_naming_path_type_and_value(
    value: Any, annotation: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        coerce(value, annotation, "x")
    assert str(info.value).startswith(message)
    assert info.value.path.startswith("x")


class Color(enum.Enum):
    RED = 1
    GREEN = 2
    BLUE = 3


@pytest.mark.parametrize(
    ("value", "annotation", "message"),
    [
        ("BLEU", Color, "expected Color (one of RED, GREEN, BLUE), got 'BLEU' (did you mean 'BLUE'?)"),
        ("blue", Color, "expected Color (one of RED, GREEN, BLUE), got 'blue' (did you mean 'BLUE'?)"),
        ("GREN", Optional[Color], "expected Optional[Color] (one of RED, GREEN, BLUE), got 'GREN' "  # noqa: UP045
         "(did you mean 'GREEN'?)"),
        ("zzz", Color, "expected Color (one of RED, GREEN, BLUE), got 'zzz'"),
        (7, Color, "expected Color (one of RED, GREEN, BLUE), got 7"),
        ("tarin", Literal["train", "eval"], "expected Literal['train', 'eval'], got 'tarin' "
         "(did you mean 'train'?)"),
    ],
)
def test_an_enum_or_literal_typo_lists_members_and_suggests_one(
    value: Any, annotation: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        coerce(value, annotation, "color")
    assert str(info.value) == f"color: {message}"


def test_a_long_enum_is_listed_in_part() -> None:
    Many = enum.Enum("Many", [f"M{i}" for i in range(20)])  # noqa: N806
    with pytest.raises(ConfigError) as info:
        coerce("M55", Many, "m")
    assert "(one of M0, M1," in str(info.value) and "M11, ...)" in str(info.value)
    assert "M12" not in str(info.value).split("got")[0]


def test_union_prefers_an_arm_that_takes_the_value_as_is() -> None:
    assert coerce("1", Union[int, str]) == "1"  # noqa: UP007 - the typing spelling on purpose
    assert coerce(1, float | int) == 1 and type(coerce(1, float | int)) is int
    assert coerce(1.5, str | int) == "1.5"  # no arm takes 1.5 as is: the first that converts
    assert coerce(1, str | float) == 1  # an int is a float as it is (the one rule)
    assert coerce(True, int | bool) is True


def test_nested_dataclasses_are_checked_by_class_subclasses_included() -> None:
    @dataclass
    class Bigger(WikiDataConfig):
        extra: int = 0

    value = Bigger()
    assert coerce(value, WikiDataConfig) is value
    assert coerce(value, Optional[WikiDataConfig]) is value  # noqa: UP045


def test_config_script_list_and_dict_items_are_checked_and_plain_ones_converted() -> None:
    items = ConfigScriptList([WikiDataConfig()])
    assert coerce(items, ConfigScriptList[WikiDataConfig]) is items
    converted = coerce([WikiDataConfig()], ConfigScriptList[WikiDataConfig])
    assert type(converted) is ConfigScriptList
    mapping = coerce({"a": FrozenLeaf()}, ConfigScriptDict[FrozenLeaf])
    assert type(mapping) is ConfigScriptDict
    with pytest.raises(ConfigError, match=r"^d\.0: expected WikiDataConfig, got 3$"):
        coerce(ConfigScriptList([3]), ConfigScriptList[WikiDataConfig], "d")


def test_unchanged_containers_keep_their_identity() -> None:
    value = [1, 2]
    assert coerce(value, list[int]) is value
    mapping = {"a": 1.0}
    assert coerce(mapping, dict[str, float]) is mapping


def test_accepts_is_the_loading_rule_without_leniencies() -> None:
    assert accepts(1, int) and accepts(1, float)  # an int is a fine float (kept as it is)
    assert accepts([1], tuple[int, ...])  # the format's own spelling of a tuple
    assert not accepts((1,), list[int]) and accepts((1,), list[int], cli=True)
    assert not accepts(3, str) and accepts(3, str, cli=True)
    assert not accepts([True], list[int]) and not accepts([True], list[int], cli=True)


def test_type_name_is_readable() -> None:
    assert type_name(int) == "int"
    assert type_name(Optional[str]) == "Optional[str]"  # noqa: UP045
    assert type_name(str | None) == "Optional[str]"  # noqa: UP045
    assert type_name(list[WikiDataConfig]) == "list[WikiDataConfig]"
    assert type_name(dict[str, tuple[int, ...]]) == "dict[str, tuple[int, ...]]"
    assert type_name(int | str) == "int | str"
    assert type_name(ConfigScriptList[WikiDataConfig]) == "ConfigScriptList[WikiDataConfig]"
    assert type_name(Any) == "Any"
    assert type_name(None) == "None"


def test_unwrap_optional() -> None:
    assert unwrap_optional(Optional[int]) == (int, True)  # noqa: UP045
    assert unwrap_optional(int | None) == (int, True)
    assert unwrap_optional(int) == (int, False)
    inner, optional = unwrap_optional(int | str | None)
    assert optional and type_name(inner) == "int | str"


def test_field_types_resolves_string_annotations_and_is_cached() -> None:
    types = field_types(TrainLoop)
    assert types["epochs"] is int
    assert unwrap_optional(types["optim"]) == (AdamWConfig, True)
    assert unwrap_optional(types["out"]) == (pathlib.Path, True)
    assert field_types(TrainLoop) is types


def test_field_types_survives_an_unresolvable_name() -> None:
    @dataclass
    class Local:
        a: int = 0
        b: NoSuchName = None  # type: ignore[name-defined]  # noqa: F821

    assert Local.__dataclass_fields__["b"].type == "NoSuchName"  # a string, as this file is
    types = field_types(Local)
    assert types["a"] is int
    assert coerce("anything", types["b"]) == "anything"
