"""Snapshot files: the document and its meta, atomic writes, alias bombs, cycles, schema drift,
error messages, and unrolling after a round trip."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from micro_config import (
    ConfigError,
    ConfigScriptDict,
    ConfigScriptList,
    MetaConfig,
    from_json,
    from_yaml,
    load_snapshot,
    read_meta,
    save_snapshot,
    to_json,
    to_yaml,
)
from micro_config.snapshot import load as load_module
from tests.configs_field_kinds import UNROLLS, Leaf, Node, Required

# hand-written test files leave most fields out: that drift is not what these tests check
pytestmark = pytest.mark.filterwarnings("ignore:schema drift")

LEAF = "tests.configs_field_kinds.Leaf"
NODE = "tests.configs_field_kinds.Node"


def sample() -> Node:
    shared = Leaf(name="shared", count=3)
    return Node(label="root", children=ConfigScriptList([shared, Leaf(name="own")]),
                named=ConfigScriptDict(a=shared), first=shared)


# ---------------------------------------------------------------------------- the document


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_document_holds_version_meta_and_config(tmp_path: Path, suffix: str) -> None:
    path = save_snapshot(sample(), tmp_path / "deep" / "er" / f"run{suffix}", meta={"step": 7})
    assert path == tmp_path / "deep" / "er" / f"run{suffix}" and path.is_file()
    text = path.read_text(encoding="utf-8")
    if suffix == ".json":
        assert list(json.loads(text)) == ["micro_config", "meta", "config"]
    else:
        assert text.startswith("micro_config: 1\nmeta:\n")
        assert "\nconfig:\n  _target_: tests.configs_field_kinds.Node\n" in text
        assert "&children-0" in text  # anchors named from the path inside the tree
    meta = read_meta(path)
    created = datetime.datetime.fromisoformat(meta["created"])
    assert created.utcoffset() == datetime.timedelta(0)
    assert meta["argv"][:3] == ["python", "-m", "pytest"] and meta["step"] == 7  # as typed
    assert not any(os.path.isabs(a) and "site-packages" in a for a in meta["argv"])
    assert meta["updated"] >= meta["created"]
    assert meta["versions"]["python"].count(".") == 2 and "micro_config" in meta["versions"]
    back = load_snapshot(path, Node)
    assert to_yaml(back) == to_yaml(sample())
    assert back.children[0] is back.first is back.named["a"]


def test_bare_trees_and_documents_both_load(tmp_path: Path) -> None:
    text = to_yaml(sample())
    assert to_yaml(from_yaml(text)) == text
    document = save_snapshot(sample(), tmp_path / "a.yaml").read_text(encoding="utf-8")
    assert to_yaml(from_yaml(document)) == text
    (tmp_path / "bare.yaml").write_text(text, encoding="utf-8")
    assert read_meta(tmp_path / "bare.yaml") == {}


def test_a_checkpoint_folder_means_its_config_file(tmp_path: Path) -> None:
    save_snapshot(sample(), tmp_path / "ckpt" / "config.yaml", meta={"step": 1})
    assert read_meta(tmp_path / "ckpt")["step"] == 1
    assert load_snapshot(tmp_path / "ckpt") == sample()
    with pytest.raises(ConfigError, match="checkpoint folder holds"):
        load_snapshot(tmp_path)


def test_git_commit_and_dirty_flag_are_recorded_inside_a_work_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    (repo / "tracked.txt").write_text("a")
    subprocess.run(["git", "add", "tracked.txt"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "y"], cwd=repo, check=True, env=env)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()
    monkeypatch.chdir(repo)
    assert read_meta(save_snapshot(Leaf(), tmp_path / "a.yaml"))["git"] == {"commit": head,
                                                                          "dirty": False}
    (repo / "tracked.txt").write_text("changed")
    assert read_meta(save_snapshot(Leaf(), tmp_path / "b.yaml"))["git"]["dirty"] is True
    monkeypatch.chdir(tmp_path)  # not a work tree: no git entry, no error
    assert "git" not in read_meta(save_snapshot(Leaf(), tmp_path / "c.yaml"))


def test_torch_version_only_when_torch_is_already_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    meta = read_meta(save_snapshot(Leaf(), tmp_path / "a.json"))
    assert "torch" not in meta["versions"] and "torch" not in sys.modules
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(__version__="9.9.9"))
    assert read_meta(save_snapshot(Leaf(), tmp_path / "b.json"))["versions"]["torch"] == "9.9.9"


def test_unknown_suffix_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.yaml, \.yml or \.json"):
        save_snapshot(Leaf(), tmp_path / "a.txt")
    with pytest.raises(ConfigError, match="no such file"):
        load_snapshot(tmp_path / "missing.yaml")


def test_unsupported_format_version_is_refused() -> None:
    with pytest.raises(ConfigError, match="version 2 is not supported") as err:
        from_yaml(f"micro_config: 2\nmeta: {{}}\nconfig:\n  _target_: {LEAF}\n")
    assert err.value.path == "micro_config"


# ---------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("fail_at", ["write", "fsync", "replace", "dump"])
def test_failure_half_way_leaves_the_earlier_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    path = save_snapshot(sample(), tmp_path / "run.yaml", meta={"step": 1})
    before = path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk on fire")

    new = Leaf(name="new")
    if fail_at == "write":  # a partial write, then the error
        real_fdopen = os.fdopen

        def half_writer(fd: int, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            handle = real_fdopen(fd, *args, **kwargs)
            real_write = handle.write
            handle.write = lambda text: (real_write(text[: len(text) // 2]), boom())  # type: ignore
            return handle

        monkeypatch.setattr(os, "fdopen", half_writer)
    elif fail_at == "dump":
        new = Leaf(anything=lambda: None)
    else:
        monkeypatch.setattr(os, fail_at, boom)
    with pytest.raises((OSError, ConfigError)):
        save_snapshot(new, path, meta={"step": 2})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.yaml"]  # no temporary left over


# ---------------------------------------------------------------------------- alias bombs, cycles


def bomb_yaml(levels: int) -> str:
    lines = [f"_target_: {LEAF}", "anything:", "- &b0 [1, 2]"]
    lines += [f"- &b{i} [*b{i - 1}, *b{i - 1}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_rebuilds_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    real = load_module._Builder._list
    monkeypatch.setattr(load_module._Builder, "_list",
                        lambda self, d, shape: built.append(1) or real(self, d, shape))
    leaf = from_yaml(bomb_yaml(40))  # 2**40 paths: only linear work can finish
    assert len(built) == 42  # each distinct list once (40 doublings, the base, the outer list)
    top = leaf.anything[40]
    assert top[0] is top[1]
    text = to_yaml(leaf)  # the shared lists are written once, with anchors
    assert len(text) < 5000 and text.count("*") == 80
    assert to_yaml(from_json(to_json(leaf))) == text


def test_json_alias_bomb_loads() -> None:
    leaf = from_yaml(bomb_yaml(40))
    again = from_json(to_json(leaf))
    assert again.anything[40][0] is again.anything[40][1]


def test_cycles_are_refused_when_saving(tmp_path: Path) -> None:
    node = Node()
    node.other = node
    with pytest.raises(ConfigError, match="cycle") as err:
        to_yaml(node)
    assert err.value.path == "other"
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ConfigError, match="cycle") as err:
        save_snapshot(Leaf(anything=loop), tmp_path / "a.json")
    assert err.value.path == "anything.0"
    assert not (tmp_path / "a.json").exists()


def test_cycles_are_refused_when_loading() -> None:
    with pytest.raises(ConfigError, match="cycle") as err:
        from_yaml(f"&top\n_target_: {NODE}\nother: *top\n")
    assert err.value.path == "other"
    with pytest.raises(ConfigError, match="cycle"):
        from_yaml(f"_target_: {LEAF}\nanything: &l [1, *l]\n")
    text = json.dumps({"_target_": NODE, "_id_": "top", "other": {"_ref_": "top"}})
    with pytest.raises(ConfigError, match="cyclic") as err:
        from_json(text)
    assert err.value.path == "other"


# ---------------------------------------------------------------------------- schema drift


def test_a_field_missing_from_the_file_takes_its_default_with_a_warning() -> None:
    text = f"_target_: {NODE}\nchildren:\n- _target_: {LEAF}\n  name: x\n"
    with pytest.warns(UserWarning, match=r"Leaf field\(s\) 'count', 'ratio'.*children\.0\.count"):
        node = from_yaml(text)
    assert node.children[0].name == "x" and node.children[0].count == 0


def test_a_field_the_class_no_longer_has_is_an_error_unless_not_strict() -> None:
    full = to_yaml(Leaf()).replace("count: 0", "cuont: 0")
    with pytest.raises(ConfigError, match="no field 'cuont'.*did you mean 'count'") as err:
        from_yaml(full)
    assert err.value.path == "cuont"
    with pytest.warns(UserWarning) as caught:
        leaf = from_yaml(full, strict=False)
    messages = " ".join(str(w.message) for w in caught)
    assert "'cuont'" in messages and "dropped" in messages and "'count'" in messages
    assert leaf.count == 0


def test_a_missing_required_field_is_an_error() -> None:
    with pytest.raises(ConfigError, match="missing required field 'needed'") as err:
        from_yaml(f"_target_: {NODE}\nother:\n  _target_: tests.configs_field_kinds.Required\n")
    assert err.value.path == "other.needed"
    assert from_yaml("_target_: tests.configs_field_kinds.Required\nneeded: 1\noptional: 2\n") == Required(1)


# ---------------------------------------------------------------------------- error messages


def test_malformed_text_names_the_line() -> None:
    with pytest.raises(ConfigError, match="malformed YAML at line 4.*at line 3"):
        from_yaml(f"_target_: {LEAF}\nname: x\ncount: [1, 2\nratio: 3\n")
    with pytest.raises(ConfigError, match="malformed JSON at line 2"):
        from_json('{"_target_": "x",\n "a": }')
    with pytest.raises(ConfigError, match="line 2"):
        load_module.parse_yaml("a: 1\n\tb: 2\n")


def test_wrong_types_name_the_path_and_the_expected_type() -> None:
    text = f"_target_: {NODE}\nchildren:\n- _target_: {LEAF}\n  count: many\n"
    with pytest.raises(ConfigError, match="expected int, got 'many'") as err:
        from_yaml(text)
    assert err.value.path == "children.0.count"
    with pytest.raises(ConfigError, match="expected float, got 'x'") as err:
        from_yaml(f"_target_: {LEAF}\nweights: [1.0, x]\n")
    assert err.value.path == "weights.1"  # the element, as the command line says it
    with pytest.raises(ConfigError, match="'GREN' is not a member of Color.*did you mean 'GREEN'") as err:
        from_yaml(f"_target_: {LEAF}\ncolor: GREN\n")
    assert err.value.path == "color"


def test_unknown_targets_name_the_path() -> None:
    with pytest.raises(ConfigError, match="no class 'Laef'.*did you mean 'Leaf'") as err:
        from_yaml(f"_target_: {NODE}\nother:\n  _target_: tests.configs_field_kinds.Laef\n")
    assert err.value.path == "other._target_"


def test_values_that_cannot_be_written_name_the_path() -> None:
    with pytest.raises(ConfigError, match="a function") as err:
        to_yaml(Node(children=ConfigScriptList([Leaf(anything={"fn": lambda x: x})])))
    assert err.value.path == "children.0.anything.fn"
    with open(__file__, encoding="utf-8") as handle, pytest.raises(ConfigError) as err:
        to_json(Leaf(anything=[1, handle]))
    assert err.value.path == "anything.1" and "TextIOWrapper" in str(err.value)


def test_errors_from_files_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"_target_: {LEAF}\ncount: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml") as err:
        load_snapshot(path)
    assert err.value.path == "count"


# ---------------------------------------------------------------------------- unrolling


def test_unrolling_after_a_round_trip_runs_each_body_as_often_as_before(tmp_path: Path) -> None:
    def unroll_counts(config: Node) -> dict[str, int]:
        UNROLLS.clear()
        config.unroll(MetaConfig(verbose=False))
        return dict(UNROLLS)

    original = sample()
    original.other = original.children[0]
    expected = unroll_counts(original)
    assert expected == {"Node": 1, "Leaf": 2}  # the shared leaf is built once
    for name in ("a.yaml", "a.json"):
        back = load_snapshot(save_snapshot(original, tmp_path / name), Node)
        assert unroll_counts(back) == expected
