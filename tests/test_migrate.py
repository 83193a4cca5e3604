"""Class versions and migrations: chains, sharing, renamed classes and fields, failures, files
from the future, the versions table, and the demo's real old run (tests/data/v1)."""

from __future__ import annotations

import importlib
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import tests.configs_field_kinds  # noqa: F401 - the root class of the documents below
from micro_config import ConfigError, from_yaml, load_snapshot, read_meta, save_snapshot, to_yaml
from micro_config.errors import MalformedFileError
from micro_config.snapshot.migrate import (
    MigrationWarning,
    migration,
    rename_fields,
    renamed_from,
)

HERE = Path(__file__).parent
OLD_RUN = HERE / "data" / "v1"
MOD = __name__  # the module of the test classes below, as their _target_ names hold it


@dataclass
class Block:
    """Version 3: ``width`` was ``size`` (v1 -> v2); ``scale`` was ``factor`` * 10 (v2 -> v3)."""

    __version__ = 3
    width: int = 1
    scale: float = 1.0


CALLS: list[dict] = []
rename_fields(Block, 1, size="width")


@migration(Block, 2)
def _factor_to_scale(fields: dict) -> None:
    CALLS.append(dict(fields))
    fields["scale"] = fields.pop("factor") * 10


@dataclass
class Net:
    __version__ = 2
    first: Block = field(default_factory=Block)
    second: Block = field(default_factory=Block)
    lr_warmup: int = 0
    lr_decay: int = 0


@migration(Net, 1)
def _split_schedule(fields: dict) -> dict:
    warmup, decay = fields.pop("schedule")
    return {**fields, "lr_warmup": warmup, "lr_decay": decay}  # a new mapping is fine too


@dataclass
class Moved:
    """Was ``<this module>.OldName``; unversioned (version 1)."""

    x: int = 0


renamed_from(Moved, f"{MOD}.OldName", "gone_package.models.OldName")


@dataclass
class Broken:
    __version__ = 2
    x: int = 0


@migration(Broken, 1)
def _fails(fields: dict) -> None:
    raise KeyError("y")


@dataclass
class Gap:
    __version__ = 3  # no step from 1
    x: int = 0


@migration(Gap, 2)
def _only_two(fields: dict) -> None:
    pass


def doc(config: str, versions: str = "") -> str:
    return f"micro_config: 1\nmeta: {{}}\n{versions}config:\n{config}"


V1_NET = f"""\
  _target_: {MOD}.Net
  first: &shared
    _target_: {MOD}.Block
    size: 4
    factor: 0.5
  second: *shared
  schedule: [10, 100]
"""


def test_a_chain_of_steps_runs_once_on_a_shared_node_and_keeps_it_shared() -> None:
    CALLS.clear()
    with pytest.warns(MigrationWarning) as caught:
        net = from_yaml(doc(V1_NET), Net)
    assert net.first is net.second  # still one node
    assert net.first == Block(width=4, scale=5.0)
    assert (net.lr_warmup, net.lr_decay) == (10, 100)
    assert CALLS == [{"width": 4, "factor": 0.5}]  # step 2 saw step 1's output, once
    message = str(caught[0].message)
    assert f"{MOD}.Block version 1 -> 3 (1 node)" in message
    assert f"{MOD}.Net version 1 -> 2 (1 node)" in message


def test_json_shared_nodes_are_migrated_once_too() -> None:
    from micro_config import from_json

    CALLS.clear()
    import json

    config = {
        "_target_": f"{MOD}.Net",
        "first": {"_target_": f"{MOD}.Block", "_id_": "first", "size": 2, "factor": 0.1},
        "second": {"_ref_": "first"},
        "schedule": [1, 2],
    }
    text = json.dumps({"micro_config": 1, "meta": {}, "config": config})
    with pytest.warns(MigrationWarning, match="Block version 1 -> 3"):
        net = from_json(text, Net)
    assert net.first is net.second and net.first == Block(width=2, scale=1.0)
    assert len(CALLS) == 1


def test_versions_in_the_table_pick_where_the_chain_starts() -> None:
    CALLS.clear()
    table = f"versions:\n  {MOD}.Block: 2\n"
    text = doc(f"  _target_: {MOD}.Block\n  width: 3\n  factor: 0.25\n", table)
    with pytest.warns(MigrationWarning, match="version 2 -> 3"):
        assert from_yaml(text, Block) == Block(width=3, scale=2.5)
    assert CALLS == [{"width": 3, "factor": 0.25}]


def test_current_versions_load_without_migrating_and_the_table_is_written(tmp_path: Path) -> None:
    net = Net(first=Block(2, 0.5), lr_warmup=3)
    path = save_snapshot(net, tmp_path / "net.yaml")
    text = path.read_text()
    assert f"versions:\n  {MOD}.Block: 3\n  {MOD}.Net: 2\nconfig:" in text
    assert "__version__" not in text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_snapshot(path, Net) == net
    json_path = save_snapshot(net, tmp_path / "net.json")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_snapshot(json_path, Net) == net


def test_unversioned_trees_write_no_table(tmp_path: Path) -> None:
    path = save_snapshot(Moved(3), tmp_path / "m.yaml")
    assert "\nversions:" not in path.read_text()  # (meta has its own versions of python etc.)


def test_a_bare_tree_is_read_at_the_current_versions() -> None:
    block = Block(width=7, scale=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert from_yaml(to_yaml(block), Block) == block


def test_a_renamed_class_loads_from_its_old_names() -> None:
    for old in (f"{MOD}.OldName", "gone_package.models.OldName"):
        with pytest.warns(MigrationWarning, match=f"{old} -> {MOD}.Moved"):
            assert from_yaml(doc(f"  _target_: {old}\n  x: 5\n"), Moved) == Moved(5)


def test_a_renamed_class_loads_from_its_old_names_in_a_bare_tree_too() -> None:
    # a bare tree (to_yaml) is read at today's versions, but a class may have moved since
    text = f"_target_: {MOD}.Net\nfirst:\n  _target_: {MOD}.Block\n  width: 2\n  scale: 1.0\nsecond:\n" \
           f"  _target_: {MOD}.Block\n  width: 3\n  scale: 1.0\nlr_warmup: 1\nlr_decay: 2\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no old name: nothing migrated, no warning
        assert from_yaml(text, Net) == Net(Block(2), Block(3), 1, 2)
    moved = "_target_: gone_package.models.OldName\nx: 4\n"
    with pytest.warns(MigrationWarning, match=f"gone_package.models.OldName -> {MOD}.Moved"):
        assert from_yaml(moved, Moved) == Moved(4)
    with pytest.warns(MigrationWarning):  # and it writes back under the new name
        assert to_yaml(from_yaml(moved, Moved)) == to_yaml(Moved(4))


LATE_MODULE = """
from dataclasses import dataclass
from micro_config import ConfigScript
from micro_config.snapshot.migrate import rename_fields, renamed_from
@dataclass
class Late(ConfigScript):
    __version__ = 2
    width: int = 0
    def unroll(self, metaconfig=None):
        return self
rename_fields(Late, 1, size="width")
renamed_from(Late, "PKG.gone.Early")
"""


TOP_MODULE = """
from dataclasses import dataclass
from typing import Any
from micro_config import ConfigScript
from micro_config.snapshot.migrate import migration
@dataclass
class Top(ConfigScript):
    __version__ = 2
    anything: Any = None
    seen: int = 0
    made: Any = None
    def unroll(self, metaconfig=None):
        return self
@migration(Top, 1)
def _read_child(fields):  # sees its child at today's version; makes a node at today's version
    fields["seen"] = fields["anything"]["width"]
    fields["made"] = {"_target_": "PKG.mod.Late", "width": 9}
"""


@pytest.mark.parametrize(("package", "target"), [("late1", "mod.Late"), ("late2", "gone.Early")])
def test_a_child_of_a_module_not_imported_yet_is_migrated_before_its_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: str, target: str
) -> None:
    # the child's module is imported by the load (inside the allowed package), its node
    # migrated first, so the parent's migration reads its new field; a node the parent's
    # migration makes is at today's version and is not migrated again
    (tmp_path / package).mkdir()
    # an old name is known once its declaring module is imported: here by the package, as
    # docs/format.md asks (the pass imports the package while looking for the old module)
    declares = "from . import mod  # noqa: F401\n" if "gone" in target else ""
    (tmp_path / package / "__init__.py").write_text(declares)
    (tmp_path / package / "mod.py").write_text(LATE_MODULE.replace("PKG", package))
    (tmp_path / package / "top.py").write_text(TOP_MODULE.replace("PKG", package))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        top = importlib.import_module(f"{package}.top")
        assert (f"{package}.mod" in sys.modules) == bool(declares)
        text = doc(f"  _target_: {package}.top.Top\n  anything:\n    _target_: {package}.{target}\n"
                   "    size: 3\n", f"versions:\n  {package}.top.Top: 1\n")
        with pytest.warns(MigrationWarning, match=f"{package}.mod.Late version 1 -> 2 \\(1 node\\)"):
            loaded = from_yaml(text, top.Top, allow_modules=(package,))
        assert (loaded.anything.width, loaded.seen, loaded.made.width) == (3, 3, 9)
    finally:
        for name in [n for n in sys.modules if n.startswith(package)]:
            del sys.modules[name]


def test_an_unknown_old_name_is_still_the_loaders_error() -> None:
    with pytest.raises(ConfigError, match="no class"):
        from_yaml(doc(f"  _target_: {MOD}.NeverWas\n  x: 5\n"), Moved)


def test_a_failing_migration_names_class_step_and_path() -> None:
    text = doc(f"  _target_: {MOD}.Net\n  first:\n    _target_: {MOD}.Broken\n    x: 1\n")
    with pytest.raises(ConfigError) as err:
        from_yaml(text, Net)
    assert err.value.path == "first"
    assert "Broken from version 1 to 2 failed: KeyError: 'y'" in str(err.value)
    assert "_fails" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_step_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"no migration of Gap from version 1 to 2"):
        from_yaml(doc(f"  _target_: {MOD}.Gap\n  x: 1\n"), Gap)


def test_a_file_from_the_future_is_a_clear_error() -> None:
    text = doc(
        f"  _target_: {MOD}.Net\n  first:\n    _target_: {MOD}.Block\n    width: 1\n",
        f"versions:\n  {MOD}.Block: 4\n  {MOD}.Net: 2\n",
    )
    with pytest.raises(MalformedFileError) as err:
        from_yaml(text, Net)
    assert err.value.path == "first"
    assert "version 4 in the file, but this code has version 3" in str(err.value)


@pytest.mark.parametrize("table", ["versions: [1]\n", "versions:\n  a.B: zero\n", "versions:\n  a.B: 0\n"])
def test_a_malformed_versions_table_is_refused(table: str) -> None:
    with pytest.raises(MalformedFileError) as err:
        from_yaml(doc(f"  _target_: {MOD}.Moved\n  x: 1\n", table), Moved)
    assert err.value.path.startswith("versions")


def test_registering_a_step_outside_the_versions_is_refused() -> None:
    with pytest.raises(ConfigError, match="from 1 to 2"):
        migration(Block, 3)
    with pytest.raises(ConfigError, match="from 1 to 0"):
        migration(Moved, 1)


def test_rename_refuses_when_both_names_are_present() -> None:
    text = doc(f"  _target_: {MOD}.Block\n  size: 1\n  width: 2\n  factor: 1.0\n")
    with pytest.raises(ConfigError, match="both 'width' and the field renamed to it"):
        from_yaml(text, Block)


@dataclass
class Bag:
    __version__ = 2
    items: list = field(default_factory=list)


rename_fields(Bag, 1, things="items")


@pytest.mark.timeout(20)
def test_shared_plain_lists_are_walked_once_an_alias_bomb_migrates_in_linear_time() -> None:
    levels = ["    - &l0 [1]"] + [f"    - &l{i} [*l{i - 1}, *l{i - 1}]" for i in range(1, 40)]
    text = doc(f"  _target_: {MOD}.Bag\n  things:\n" + "\n".join(levels) + "\n")
    with pytest.warns(MigrationWarning, match="Bag version 1 -> 2"):
        bag = from_yaml(text, Bag)
    assert bag.items[39][0] is bag.items[39][1] is bag.items[38]  # 2**39 paths, one list each


# ---------------------------------------------------------------- micro-config migrate


def migrate_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from micro_config.commands.main import main

    code = main(["migrate", *args, "--allow", MOD.partition(".")[0]])
    out, err = capsys.readouterr()
    return code, out, err


def test_migrate_writes_the_current_versions_and_prints_the_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(doc(V1_NET).replace("meta: {}", "meta:\n  run_name: r"))
    new = tmp_path / "new.yaml"
    code, out, err = migrate_cli(capsys, str(old), "-o", str(new))
    assert code == 0, err
    assert f"migrated: {MOD}.Net version 1 -> 2 (1 node)" in out
    assert "first.factor: 0.5 -> (removed)" in out or "first.factor" in out
    assert "lr_warmup" in out and "schedule" in out
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no migration left to run
        again = load_snapshot(new, Net)
    with pytest.warns(MigrationWarning):
        assert again == load_snapshot(old, Net)
    text = new.read_text()
    assert "run_name: r" in text and f"- {MOD}.Net version 1 -> 2 (1 node)" in text
    # the run's provenance as it was: nothing of the migrating machine (git, python, time)
    assert read_meta(new) == {"run_name": "r", "migrated": [
        f"{MOD}.Block version 1 -> 3 (1 node)", f"{MOD}.Net version 1 -> 2 (1 node)"]}
    assert f"versions:\n  {MOD}.Block: 3\n  {MOD}.Net: 2\n" in text
    assert text.count("&") == 1  # the shared block is still one anchored node


def test_migrate_dry_run_writes_nothing_and_in_place_replaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.json"
    save_snapshot(Net(), old)
    text = doc(V1_NET)
    (tmp_path / "old.yaml").write_text(text)
    code, out, _ = migrate_cli(capsys, str(tmp_path / "old.yaml"))
    assert code == 0 and "dry run" in out and (tmp_path / "old.yaml").read_text() == text
    code, out, _ = migrate_cli(capsys, str(tmp_path / "old.yaml"), "--in-place")
    assert code == 0 and "wrote" in out
    assert "versions:" in (tmp_path / "old.yaml").read_text()
    code, out, _ = migrate_cli(capsys, str(old))
    assert code == 0 and "nothing to migrate" in out


def test_a_failing_migration_leaves_the_original_intact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.yaml"
    text = doc(f"  _target_: {MOD}.Broken\n  x: 1\n")
    old.write_text(text)
    code, _, err = migrate_cli(capsys, str(old), "--in-place")
    assert code == 2
    assert "Broken from version 1 to 2 failed" in err and err.count("\n") == 1
    assert old.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["old.yaml"]  # no temporary left behind


# ---------------------------------------------------------------- the demo's real old run


def test_the_demo_snapshot_written_before_the_change_loads_through_the_migration() -> None:
    from schemas import TrainLoop

    with pytest.warns(MigrationWarning, match=r"TransformerConfig version 1 -> 2 \(1 node\)"):
        config = load_snapshot(OLD_RUN / "snapshot.yaml", TrainLoop)
    t = config.model.transformer_config
    assert (t.head_dim, t.attn_dropout, t.resid_dropout, t.hidden_dim) == (4, 0.1, 0.1, 8)
    assert config.model.dataset is config.train_dataset  # sharing kept


def test_migrate_rewrites_the_real_old_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from micro_config.commands.main import main
    from schemas import TrainLoop

    old = tmp_path / "old.yaml"
    old.write_bytes((OLD_RUN / "snapshot.yaml").read_bytes())
    new = tmp_path / "new.yaml"
    assert main(["migrate", str(old), "-o", str(new), "--allow", "schemas"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "migrated: schemas.model.TransformerConfig version 1 -> 2 (1 node)"
    assert out[1:6] == [
        "model.transformer_config.attn_dim: 4 -> <absent>",
        "model.transformer_config.dropout: 0.1 -> <absent>",
        "model.transformer_config.head_dim: <absent> -> 4",
        "model.transformer_config.attn_dropout: <absent> -> 0.1",
        "model.transformer_config.resid_dropout: <absent> -> 0.1",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        migrated = load_snapshot(new, TrainLoop)
    with pytest.warns(MigrationWarning):
        assert migrated == load_snapshot(old, TrainLoop)
    # what today's code writes for that config is what migrate wrote: diff finds nothing
    fresh = save_snapshot(migrated, tmp_path / "fresh.yaml")
    assert main(["diff", str(new), str(fresh)]) == 0
    assert main(["diff", str(old), str(new)]) == 1  # and the old file differs by those 5 lines
    assert len(capsys.readouterr().out.splitlines()) == 5
    assert old.read_bytes() == (OLD_RUN / "snapshot.yaml").read_bytes()


@pytest.fixture
def old_run_copy(tmp_path: Path) -> Path:
    """A project root holding a copy of tests/data/v1 at the same relative place."""
    shutil.copytree(OLD_RUN, tmp_path / "tests" / "data" / "v1")
    return tmp_path


def test_resume_of_an_old_checkpoint_through_the_migration_is_exact(old_run_copy: Path) -> None:
    """Resuming from step 1 of the old run (its ``config.yaml`` at version 1, migrated on load)
    ends at the bits of an uninterrupted run of the same config. Both are computed here: the
    last bits of a step differ between machines and torch builds, so the old run's own step 2
    is matched to rounding only (its losses, as logged, exactly)."""
    import torch
    from demo_runs import call, losses, same_params

    run = old_run_copy / "tests" / "data" / "v1" / "run"
    snapshot = old_run_copy / "tests" / "data" / "v1" / "snapshot.yaml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MigrationWarning)
        code, _, err = call("lm_demo.train", "--from", str(snapshot), "save_checkpoint_dir=fresh",
                            "snapshot_dir=fresh", root=old_run_copy)
        assert code == 0, err
        fresh = old_run_copy / "fresh"
        # step 1 as computed here, under the old run's version-1 config file
        shutil.rmtree(run / "step_000002")
        for name in ("model.pt", "optim.pt", "state.pt"):
            shutil.copyfile(fresh / "step_000001" / name, run / "step_000001" / name)
        assert "attn_dim: 4" in (run / "step_000001" / "config.yaml").read_text()
        code, out, err = call("lm_demo.resume", str(run / "step_000001"), root=old_run_copy)
    assert code == 0, err
    assert "resuming from" in out
    again = torch.load(run / "step_000002" / "model.pt", weights_only=True)
    assert same_params(torch.load(fresh / "step_000002" / "model.pt", weights_only=True), again)
    before = torch.load(OLD_RUN / "run" / "step_000002" / "model.pt", weights_only=True)
    assert again.keys() == before.keys()
    assert all(torch.allclose(again[k], before[k], rtol=0, atol=1e-5) for k in again)
    assert losses(run) == losses(fresh) == losses(OLD_RUN / "run")


def test_train_from_an_old_snapshot_reproduces_its_losses(old_run_copy: Path) -> None:
    from demo_runs import call

    snapshot = old_run_copy / "tests" / "data" / "v1" / "snapshot.yaml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MigrationWarning)
        code, _, err = call(
            "lm_demo.train", "--from", str(snapshot), "save_checkpoint_dir=again",
            "snapshot_dir=again", root=old_run_copy,
        )
    assert code == 0, err
    metrics = (old_run_copy / "again" / "metrics.jsonl").read_text()
    assert metrics == (OLD_RUN / "run" / "metrics.jsonl").read_text()


def test_a_versions_entry_with_no_node_imports_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tablepkg").mkdir()
    (tmp_path / "tablepkg" / "__init__.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    text = doc(f"  _target_: {MOD}.Moved\n  x: 1\n", "versions:\n  tablepkg.Thing: 9\n")
    assert from_yaml(text, Moved, allow_modules=("tablepkg",)) == Moved(1)  # a class this code lacks
    assert not (tmp_path / "ran").exists() and "tablepkg" not in sys.modules
