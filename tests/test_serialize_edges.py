"""Edge cases of dump/load found by the acceptance audit: bools for numbers, nan's bits,
text that UTF-8 cannot carry, and a snapshot document cut before its config."""

from __future__ import annotations

import enum
import json
import math
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from micro_config import (
    ConfigError,
    ConfigScript,
    from_json,
    from_yaml,
    load_snapshot,
    to_json,
    to_yaml,
)


@dataclass
class Typed(ConfigScript):
    n: int = 0
    f: float = 0.0
    s: Any = None

    def unroll(self, metaconfig: Any = None) -> Any:
        return self.n


TARGET = f"{__name__}.Typed"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (f"_target_: {TARGET}\nn: true\nf: 0.0\ns: null\n", "n"),
        (f"_target_: {TARGET}\nn: 0\nf: false\ns: null\n", "f"),
    ],
)
def test_a_bool_is_not_a_number_on_load(text: str, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_yaml(text, Typed)
    assert info.value.path == path and "bool" in str(info.value)
    with pytest.raises(ConfigError):
        from_json(f'{{"_target_": "{TARGET}", "{path}": true}}', Typed)


def test_an_int_for_a_float_field_still_loads() -> None:
    assert from_yaml(f"_target_: {TARGET}\nn: 0\nf: 3\ns: null\n", Typed).f == 3


def test_nan_comes_back_as_pythons_own_nan_bit_for_bit() -> None:
    bits = struct.pack(">d", float("nan"))
    for dump, load in ((to_yaml, from_yaml), (to_json, from_json)):
        back = load(dump(Typed(f=float("nan"))), Typed).f
        assert math.isnan(back) and struct.pack(">d", back) == bits, dump.__name__


@pytest.mark.parametrize("dump", [to_yaml, to_json])
def test_text_utf8_cannot_carry_is_a_config_error_with_its_path(dump: Any) -> None:
    with pytest.raises(ConfigError) as info:
        dump(Typed(s={"ok": "fine", "bad": ["x", "\ud800"]}))
    assert info.value.path == "s.bad.1"
    assert "UTF-8" in str(info.value)


def test_a_snapshot_cut_before_its_config_is_refused(tmp_path: Path) -> None:
    cut = tmp_path / "cut.yaml"
    cut.write_text("micro_config: 1\nmeta: {}\n")
    with pytest.raises(ConfigError, match="config"):
        load_snapshot(cut)
    done = subprocess.run(
        [sys.executable, "-m", "micro_config", "validate", str(cut)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr


class Hue(enum.Enum):
    RED = "r"


@dataclass
class Marked(ConfigScript):
    hues: list[Hue] = field(default_factory=list)
    paths: tuple[Path, ...] = ()
    kinds: set[Hue] = field(default_factory=set)

    def unroll(self, metaconfig: Any = None) -> Any:
        return self


def test_a_collection_marker_holds_items_of_its_places_type_in_yaml_as_in_json() -> None:
    marked = {"hues": ("list", ["RED"]), "paths": ("tuple", ["x"]), "kinds": ("set", ["RED"])}
    want = Marked([Hue.RED], (Path("x"),), {Hue.RED})
    yaml_text = f"_target_: {__name__}.Marked\n" + "".join(
        f"{k}: {{_type_: {kind}, value: {items}}}\n" for k, (kind, items) in marked.items()).replace("'", "")
    json_text = json.dumps({"_target_": f"{__name__}.Marked",
                            **{k: {"_type_": kind, "value": items} for k, (kind, items) in marked.items()}})
    assert from_yaml(yaml_text, Marked) == from_json(json_text, Marked) == want
