"""The JSON Schema export, checked with the ``jsonschema`` package: real demo snapshots (YAML
through a safe loader, and JSON) are valid; mutated ones are invalid exactly when the loader
refuses them."""

from __future__ import annotations

import copy
import enum
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import jsonschema
import pytest
import yaml

from micro_config import ConfigError, from_data, from_json, load_snapshot, save_snapshot
from micro_config.snapshot.schema_export import json_schema

MOD = __name__


class Color(enum.Enum):
    RED = 1
    GREEN = 2


@dataclass
class Part:
    """A named, colored part."""

    name: str  # what the part is called
    color: Color = Color.RED


@dataclass
class Other:
    size: int = 1


@dataclass
class Sink:
    """Every kind of value the format has."""

    __version__ = 2
    part: Part
    mode: Literal["a", "b"] = "a"
    dims: tuple[int, ...] = (1, 2)
    pair: tuple[int, str] = (1, "x")
    path: Path = Path("a/b")
    tags: frozenset[str] = frozenset({"x", "y"})
    ratio: float = float("nan")
    big: float = float("-inf")
    maybe: Optional[int] = None  # noqa: UP045 - the spelling under test
    table: dict[str, float] = field(default_factory=lambda: {"a": 1.0})
    counts: dict[int, str] = field(default_factory=lambda: {1: "a"})  # written as pairs
    first: list[int] = field(default_factory=list)
    second: list[int] = field(default_factory=list)
    choice: Part | Other = field(default_factory=Other)
    anything: Any = None
    note: str = field(default="", metadata={"doc": "a free note"})


def sink() -> Sink:
    shared = [1, 2, 3]
    return Sink(Part("p", Color.GREEN), first=shared, second=shared, anything={"k": [1, (2, 3)]})


def validator(cls: type) -> jsonschema.Draft202012Validator:
    schema = json_schema(cls)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def loads(data: Any, cls: type, suffix: str) -> bool:
    """Does the loader take this (JSON as text: its _id_/_ref_ are the parser's business)?"""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a defaulted field warns; it still loads
            if suffix == ".json":
                from_json(json.dumps(data), cls)
            else:
                from_data(copy.deepcopy(data), cls)
    except ConfigError:
        return False
    return True


def snapshot_data(config: Any, tmp_path: Path, suffix: str) -> Any:
    path = save_snapshot(config, tmp_path / f"snap{suffix}")
    text = path.read_text()
    return yaml.safe_load(text) if suffix == ".yaml" else json.loads(text)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_every_kind_of_value_validates_as_written(tmp_path: Path, suffix: str) -> None:
    data = snapshot_data(sink(), tmp_path, suffix)
    if suffix == ".json":  # the JSON spellings are really there
        text = json.dumps(data)
        assert '"_ref_"' in text and '"_type_": "float"' in text and '"_type_": "list"' in text
    check = validator(Sink)
    assert list(check.iter_errors(data)) == []
    assert check.is_valid(data["config"])  # the bare tree too


def set_at(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data[key]
    if value is DELETE:
        del data[last]
    else:
        data[last] = value


DELETE = object()

SINK_CASES = [
    ("config.part.color", "BLUE", False),  # bad enum name
    ("config.part.color", "red", False),  # names are case-sensitive on load
    ("config.part.name", DELETE, False),  # missing required field
    ("config.mode", "c", False),  # not one of the Literal's values
    ("config.maybe", "3", False),  # wrong type
    ("config.maybe", True, False),  # a bool is not an int
    ("config.pair", [1, 2], False),  # wrong type inside a tuple
    ("config.pair", [1, "x", 3], False),  # too long
    ("config.extra", 1, False),  # unknown field
    ("config.part._target_", f"{MOD}.Nope", False),  # wrong _target_: no such class
    ("config.choice", {"size": 2}, True),  # without _target_, the first arm that fits (dacite)
    ("config.choice", {"_target_": f"{MOD}.Part", "size": 2}, False),  # _target_ decides
    ("config.choice", {"_target_": f"{MOD}.Other", "size": 2}, True),
    ("config.note", DELETE, True),  # a field with a default may be left out
    ("config.part.color", "GREEN", True),
    ("versions", {f"{MOD}.Sink": 3}, False),  # a file from the future
    ("versions", {f"{MOD}.Part": 2}, False),  # ... where newer code gave a class its first version
    ("meta", None, True),
    ("confg", {}, False),  # a mistyped document block
    ("$schema", "train.schema.json", True),  # an editor's link to the schema (JSON files)
    ("config", {"_ref_": "x"}, False),  # the root is never a reference
    ("config.counts", {"a": "b"}, False),  # a plain object's keys are text, not ints
    ("config.counts", {"_type_": "dict", "value": [["a", "b"]]}, False),  # the key's type
    ("config.counts", {"_type_": "dict", "value": [[2, "b"]]}, True),
    ("config.counts", {}, True),
]


@pytest.mark.parametrize(("where", "value", "valid"), SINK_CASES)
def test_schema_and_loader_agree_on_mutations(tmp_path: Path, where: str, value: Any, valid: bool) -> None:
    for suffix in (".yaml", ".json"):
        data = snapshot_data(sink(), tmp_path, suffix)
        set_at(data, where, value)
        assert validator(Sink).is_valid(data) is valid, suffix
        assert loads(data, Sink, suffix) is valid, suffix


def test_descriptions_come_from_docstrings_comments_and_metadata() -> None:
    defs = json_schema(Sink)["$defs"]
    assert defs[f"{MOD}.Sink"]["description"] == "Every kind of value the format has."
    assert defs[f"{MOD}.Part"]["properties"]["name"]["description"] == "what the part is called"
    assert defs[f"{MOD}.Sink"]["properties"]["note"]["description"] == "a free note"
    assert defs[f"{MOD}.Sink"]["properties"]["maybe"]["description"] == "the spelling under test"
    assert defs[f"{MOD}.Sink"]["required"] == ["part"]
    assert defs[f"{MOD}.Sink"]["properties"]["pair"]["anyOf"][0]["prefixItems"] == [
        {"type": "integer"}, {"type": "string"}]


# ---------------------------------------------------------------- the demo's real snapshots


@pytest.fixture(scope="module")
def demo_check() -> jsonschema.Draft202012Validator:
    from schemas import TrainLoop

    return validator(TrainLoop)


def test_the_snapshots_a_demo_run_writes_are_valid(
    lm_runs: Any, tmp_path: Path, demo_check: jsonschema.Draft202012Validator
) -> None:
    from schemas import TrainLoop

    run = lm_runs.copy(tmp_path / "run", "max_steps=6")
    written = [run / "snap" / "run.yaml", *sorted((run / "ck").glob("step_*/config.yaml"))]
    assert len(written) >= 2
    for path in written:
        assert list(demo_check.iter_errors(yaml.safe_load(path.read_text()))) == [], path
    as_json = save_snapshot(load_snapshot(written[0], TrainLoop), tmp_path / "run.json")
    assert list(demo_check.iter_errors(json.loads(as_json.read_text()))) == []


DEMO_CASES = [
    ("config.bsize", "32", False),  # wrong type
    ("config.model.transformer_config.attn_dropout", True, False),  # a bool is not a float
    ("config.optim.lrr", 0.1, False),  # unknown field
    ("config.optim._target_", "schemas.optim.AdamW", False),  # wrong _target_
    ("config.optim._target_", "schemas.data.WikiDataConfig", False),  # a class that does not fit
    ("config.max_steps", None, True),
    ("config.optim.grad_clip", DELETE, True),  # defaulted (with a warning)
]


@pytest.mark.parametrize(("where", "value", "valid"), DEMO_CASES)
def test_demo_mutations_schema_and_loader_agree(
    tmp_path: Path, demo_check: jsonschema.Draft202012Validator, where: str, value: Any, valid: bool
) -> None:
    from schemas import TrainLoop, default_train

    for suffix in (".yaml", ".json"):
        data = snapshot_data(default_train(), tmp_path, suffix)
        assert demo_check.is_valid(data)
        set_at(data, where, value)
        assert demo_check.is_valid(data) is valid, suffix
        assert loads(data, TrainLoop, suffix) is valid, suffix


def test_schema_command_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from micro_config.commands.main import main

    out = tmp_path / "train.schema.json"
    assert main(["schema", "schemas.train:TrainLoop", "-o", str(out), "--id", "urn:x"]) == 0
    schema = json.loads(out.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:x" and "schemas.model.TransformerConfig" in schema["$defs"]
    assert main(["schema", "schemas:default_train"]) == 0  # a function returning a config
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["$defs"] == schema["$defs"]
    assert main(["schema", "schemas.train:NoSuch"]) == 2
    assert "no 'NoSuch' there" in capsys.readouterr().err


def test_save_snapshot_can_point_editors_at_the_schema(tmp_path: Path) -> None:
    from schemas import TrainLoop, default_train

    path = save_snapshot(default_train(), tmp_path / "run.yaml", schema="train.schema.json")
    assert path.read_text().startswith("# yaml-language-server: $schema=train.schema.json\n")
    assert load_snapshot(path, TrainLoop) == default_train()
    with pytest.raises(ConfigError, match="JSON"):
        save_snapshot(default_train(), tmp_path / "run.json", schema="x.json")


@pytest.mark.parametrize(("key", "keys", "valid"), [
    (Color, {"RED": 1}, True), (Color, {"PURPLE": 1}, False),  # an Enum key: a member's name
    (Path, {"a/b": 1}, True),
    (Literal["a", "b"], {"c": 1}, False), (Literal[1, "a"], {"1": 1}, False),
    (int, {"1": 1}, False), (int, {}, True),  # int keys are written as pairs: text is never one
])
def test_a_plain_objects_keys_are_held_to_the_key_type_as_the_loader_holds_them(
    key: Any, keys: dict[str, int], valid: bool
) -> None:
    @dataclass
    class Keyed:
        d: dict[key, int] = field(default_factory=dict)  # type: ignore[valid-type]

    Keyed.__annotations__["d"] = dict[key, int]
    assert validator(Keyed).is_valid({"d": keys}) is valid
    assert loads({"d": keys}, Keyed, ".json") is valid


def test_a_table_entry_newer_than_the_code_is_refused_with_no_node_of_its_class(tmp_path: Path) -> None:
    data = snapshot_data(Sink(Part("p"), choice=Part("q")), tmp_path, ".yaml")
    data["versions"][f"{MOD}.Other"] = 2  # no Other in this tree
    assert not validator(Sink).is_valid(data)
    with pytest.raises(ConfigError, match="written by newer code") as err:
        from_data(data, Sink)
    assert err.value.path == f"versions.{MOD}.Other"


def test_a_json_list_marker_needs_no_id_in_the_schema_as_in_the_loader(tmp_path: Path) -> None:
    data = snapshot_data(sink(), tmp_path, ".json")
    data["config"]["anything"] = {"_type_": "list", "value": [1, 2]}
    assert validator(Sink).is_valid(data)
    assert loads(data, Sink, ".json")


@pytest.mark.parametrize("versions", [None, {}, {f"{MOD}.Elsewhere": 7}])
def test_a_null_or_foreign_versions_table_is_read_alike(tmp_path: Path, versions: Any) -> None:
    for suffix in (".yaml", ".json"):  # (a class this code does not know is not checked)
        data = snapshot_data(Part("p"), tmp_path, suffix)
        data["versions"] = versions
        assert validator(Part).is_valid(data) and loads(data, Part, suffix), suffix
