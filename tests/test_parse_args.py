"""parse_args: `key=value` tokens, dotted keys nested, values read as YAML flow values."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_config import (
    ConfigError,
    ConfigScript,
    ConflictError,
    WrongTypeError,
    cli,
    deep_replace,
    parse_args,
)
from micro_config.arguments import parse_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16", 16),
        ("-1", -1),
        ("+3", 3),
        ("1.5e-4", 1.5e-4),
        ("1e-4", 1e-4),  # a string to PyYAML's YAML 1.1 resolver
        ("1.5e4", 15000.0),  # likewise
        ("2.", 2.0),
        (".5", 0.5),
        ("010", 10),  # not YAML 1.1's octal
        ("0x10", 16),
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("[1, 2]", [1, 2]),
        ("{a: 1, b: [x, 2.5]}", {"a": 1, "b": ["x", 2.5]}),
        ("x=y", "x=y"),
        ("hello world", "hello world"),
        ("'16'", "16"),  # quotes force a string
        ("yes", "yes"),  # YAML 1.2: not a bool
        ("on", "on"),
        ("2024-01-01", "2024-01-01"),  # no dates
        ("1:30", "1:30"),  # no sexagesimal
        ("a: b", "a: b"),  # block YAML is not a flow value
        ("- a", "- a"),
        ("-", "-"),
        ("a # b", "a # b"),  # nothing silently dropped as a comment
        ("#tag", "#tag"),
        ("[1, 2", "[1, 2"),  # broken flow: stays text
        ("!!python/object:os.system x", "!!python/object:os.system x"),
        ("", ""),
        ("data/wiki.train.raw", "data/wiki.train.raw"),
    ],
)
def test_values_are_yaml_flow_values(text: str, expected: Any) -> None:
    value = parse_value(text)
    assert value == expected
    assert type(value) is type(expected)


def test_special_floats() -> None:
    assert parse_value(".inf") == math.inf
    assert parse_value("-.inf") == -math.inf
    assert math.isnan(parse_value(".nan"))


def test_dotted_keys_nest_and_everything_after_the_first_equals_is_the_value() -> None:
    args = parse_args(["epochs=1", "model.transformer_config.hidden_dim=256", "a.b=c=d", "a.e=[1]"])
    assert args == {
        "epochs": 1,
        "model": {"transformer_config": {"hidden_dim": 256}},
        "a": {"b": "c=d", "e": [1]},
    }


def test_reads_sys_argv_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["train.py", "bsize=16", "lr=1e-4"])
    assert parse_args() == {"bsize": 16, "lr": 1e-4}
    assert parse_args([]) == {}


@pytest.mark.parametrize(
    "tokens",
    [
        ["epochs"],  # no `=`
        ["=1"],  # empty key
        ["a..b=1"],  # empty segment
        ["a.=1"],
        ["a=1", "a.b=2"],  # a value and a field of it
        ["a.b=2", "a=1"],
        ["a=1", "a=2"],  # given twice: silently keeping one would hide a mistake
    ],
)
def test_bad_tokens_are_config_errors(tokens: list[str]) -> None:
    with pytest.raises(ConfigError):
        parse_args(tokens)


def test_error_names_the_offending_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_args(["a=1", "a.b=2"])
    assert info.value.path == "a.b"
    with pytest.raises(ConfigError, match="expected key=value, got 'epochs'"):
        parse_args(["epochs"])


_SCALARS = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(alphabet="abcxyz_/", min_size=1, max_size=8),
)


@settings(max_examples=60, deadline=None)
@given(st.one_of(_SCALARS, st.lists(_SCALARS, max_size=4)))
def test_python_values_written_as_yaml_flow_come_back(value: Any) -> None:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    text = text.removesuffix("\n...").strip()
    assert parse_args([f"k={text}"]) == {"k": value}


@pytest.mark.parametrize("text", ["1e400", "-1e400", "[1, 1e999]"])
def test_a_number_past_a_floats_range_is_refused_not_made_infinite(text: str) -> None:
    with pytest.raises(WrongTypeError, match="past a float's range"):
        parse_value(text)
    assert parse_value(".inf") == math.inf  # infinity said in words stays allowed


def test_a_key_given_twice_inside_a_value_is_refused_as_on_the_command_line() -> None:
    with pytest.raises(ConflictError, match="given twice"):
        parse_args(["optim={lr: 0.1, lr: 0.2}"])
    assert parse_args(["x=[{a: 1}, {a: 2}]"]) == {"x": [{"a": 1}, {"a": 2}]}  # two mappings: fine


@dataclass
class Named(ConfigScript):
    run_name: str = "run"
    version: Optional[str] = None  # noqa: UP045
    steps: int = 1
    lr: float = 0.1
    either: int | str = 0
    tags: list[str] = field(default_factory=list)

    def unroll(self, metaconfig: Any) -> None:
        return None


def test_a_number_for_a_str_field_is_kept_as_typed() -> None:
    tokens = ["run_name=007", "version=1.10", "steps=007", "lr=1e3", "either=007", "tags=[007]"]
    want = Named(run_name="007", version="1.10", steps=7, lr=1000.0, either=7, tags=["7"])
    assert cli(Named(), tokens) == want
    assert deep_replace(Named(), parse_args(tokens)) == want
    # through ** the texts are gone: the number's own text, as the README says
    assert deep_replace(Named(), **parse_args(tokens)).run_name == "7"
    assert parse_args(tokens)["run_name"] == 7  # parse_args's values stay numbers
    swapped = deep_replace(Named(), parse_args(["run_name=42"]), steps=3)
    assert (swapped.run_name, swapped.steps) == ("42", 3)


@dataclass
class Holder(ConfigScript):
    named: Optional[Named] = None  # noqa: UP045
    inner: Optional["Holder"] = None  # noqa: UP045, UP037

    def unroll(self, metaconfig: Any) -> None:
        return None


def test_a_number_for_a_str_field_of_a_config_built_from_dotted_keys_is_kept_as_typed() -> None:
    # the Optional config is None: the dotted keys build it, and the typed text still holds
    built = cli(Holder(), ["named.run_name=007", "inner.named.version=1.10", "named.steps=007"])
    assert built.named == Named(run_name="007", steps=7)
    assert built.inner == Holder(named=Named(version="1.10"))


def test_deep_replace_takes_a_mapping_and_keywords_but_not_one_key_twice() -> None:
    assert deep_replace(Named(), {"steps": 2}, lr=0.5) == Named(steps=2, lr=0.5)
    with pytest.raises(ConflictError, match="given twice") as info:
        deep_replace(Named(), parse_args(["steps=2"]), steps=3)
    assert info.value.path == "steps"
    with pytest.raises(TypeError, match="a mapping of overrides"):
        deep_replace(Named(), "steps=2")
