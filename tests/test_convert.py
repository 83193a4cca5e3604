"""micro_config.convert: a value against an annotation, converted only where the meaning is plain."""

from __future__ import annotations

import dataclasses
import enum
import pathlib
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Optional, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_config import ConfigError, ConfigScriptDict, ConfigScriptList, deep_replace, from_data
from micro_config.convert import accepts, coerce, convert, type_name, unwrap_optional
from micro_config.plan import annotations_of as field_types
from tests.configs_core import (
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
    assert convert(1, str | float) == 1  # an int is a float as it is (the one rule)...
    assert type(coerce(1, str | float)) is float  # ...and the command line makes it one
    assert type(coerce(1, Optional[float])) is float  # noqa: UP045 - as for a plain float field
    assert coerce([1, 2], list[int] | list[float]) == [1, 2]  # the arm keeping it as it is
    assert type(coerce([1, 2], Optional[list[float]])[0]) is float  # noqa: UP045
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


# ------------------------------------------------------------ the two sides, held to one table

class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


_ANNOTATIONS: list[Any] = [
    int, float, str, bool, Optional[int], list[int], list[float], tuple[int, ...],  # noqa: UP045
    tuple[int, str], set[int], frozenset[str], dict[str, int], pathlib.Path, Shade,
    Literal["a", "b"], int | str, Optional[list[int]], list[tuple[int, ...]], dict[str, list[bool]],  # noqa: UP045
]
_HOLDERS: list[type] = []
for _i, _ann in enumerate(_ANNOTATIONS):
    _cls = dataclasses.make_dataclass(f"Holder{_i}", [("x", _ann, dataclasses.field(default=None))])
    _cls.__module__ = __name__
    globals()[_cls.__name__] = _cls
    _HOLDERS.append(_cls)

_FLOAT_WORDS = {"nan", "inf", "-inf"}
_leaf = st.one_of(
    st.integers(-3, 3), st.booleans(), st.none(), st.sampled_from([0.5, -2.0, 1e300]),
    st.sampled_from(["a", "b", "x", "LIGHT", "light", "DARK", "nan", "inf", "-inf", "3", "p/q"]),
)
_data = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["a", "k"]), inner, max_size=2)),
    max_leaves=6,
)


def _lenient(ann: Any, value: Any) -> bool:
    """Whether a row of convert.LENIENCIES applies somewhere inside ``value`` for ``ann``."""
    inner, optional = unwrap_optional(ann)
    if value is None and optional:
        return False
    if typing.get_origin(inner) in (types.UnionType, typing.Union):
        return any(_lenient(arm, value) for arm in typing.get_args(inner))
    if inner is str:
        return type(value) in (int, float)
    if inner is float:
        return type(value) is int or (type(value) is str and value in _FLOAT_WORDS)
    if inner is Shade:
        return value in ("light", "dark")
    origin, args = typing.get_origin(inner), typing.get_args(inner)
    if origin in (list, set, frozenset, tuple) and type(value) is list:
        item_anns = args if origin is tuple and args[-1] is not Ellipsis else [args[0]] * len(value)
        return any(_lenient(a, v) for a, v in zip(item_anns, value, strict=False))
    if origin is dict and type(value) is dict:
        return any(_lenient(args[1], v) for v in value.values())
    return False


def _outcome(run: Any) -> tuple[str, Any]:
    try:
        return "ok", run().x
    except ConfigError as exc:
        return "refused", exc.path


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(_ANNOTATIONS) - 1), value=_data)
def test_loading_and_the_command_line_agree_except_the_leniency_table(index: int, value: Any) -> None:
    cls, ann = _HOLDERS[index], _ANNOTATIONS[index]
    loaded = _outcome(lambda: from_data({"_target_": f"{__name__}.{cls.__name__}", "x": value}, cls))
    typed = _outcome(lambda: deep_replace(cls(), x=value))
    if loaded == typed and (loaded[0] == "refused" or _same_types(loaded[1], typed[1])):
        return
    if loaded[0] == typed[0] == "refused" and typing.get_origin(ann) in (set, frozenset):
        return  # both refuse; a set's items have no stable index to name
    assert _lenient(ann, value), (ann, value, loaded, typed)
    assert loaded[0] == "refused" or typed[0] == "ok", "the command line refused what loading took"


def _same_types(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(_same_types, a, b))
    if isinstance(a, dict):
        return all(_same_types(a[k], b[k]) for k in a)
    return True


def test_an_int_past_a_floats_range_is_a_wrong_type_not_an_overflow() -> None:
    huge = 10**400
    for ann in (float, Optional[float], complex):  # noqa: UP045
        with pytest.raises(ConfigError, match="expected"):
            coerce(huge, ann, "lr")
    assert coerce(huge, float | int) == huge  # the int arm takes it as it is


@pytest.mark.timeout(20)
def test_an_alias_bomb_for_an_enum_field_fails_fast() -> None:
    """The command line tries an enum's value only for a scalar: Enum's own error message would
    spell out the whole expanded value (10**9 items here)."""
    from micro_config import parse_args

    bomb = "[&a0 [1,1,1,1,1,1,1,1,1,1]" + "".join(
        f", &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)) + "]"
    value = parse_args([f"color={bomb}"])["color"]
    with pytest.raises(ConfigError, match="expected Color") as info:
        coerce(value, Color, "color")
    assert len(str(info.value)) < 300
