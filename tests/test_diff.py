"""micro_config.diff on normalised data, config objects, snapshot files and real lm_demo runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_config import (
    ConfigError,
    ConfigScriptList,
    deep_replace,
    diff,
    load_snapshot,
    save_snapshot,
    to_yaml,
)
from micro_config.commands.diff import Change, diff_data, same_value
from tests.diff_trees import (
    Leaf,
    Pair,
    Root,
    copy_data,
    data_trees,
    leaf_fields,
    leaf_paths,
    roots,
    set_path,
)

if TYPE_CHECKING:
    from demo_runs import LmRuns


def dataset(max_len: int = 256) -> dict[str, Any]:
    return {"_target_": "schemas.WikiDataConfig", "f_path": "train.raw", "max_len": max_len}


def train(ds: dict[str, Any] | None = None, shared: bool = True, **top: Any) -> dict[str, Any]:
    ds = ds or dataset()
    model = {"_target_": "schemas.LMModelConfig", "dataset": ds if shared else dict(ds),
             "transformer_config": {"_target_": "schemas.TransformerConfig", "hidden_dim": 64}}
    tree = {"_target_": "schemas.TrainLoop", "train_dataset": ds, "model": model,
            "optim": {"_target_": "schemas.AdamWConfig", "lr": 1e-3, "betas": [0.9, 0.999]},
            "extra": {"note": "x"}, "datasets": [dataset(8), dataset(16)]}
    tree.update(top)
    return tree


def test_same_tree_and_its_copy_have_no_changes() -> None:
    tree = train()
    assert diff_data(tree, tree) == []
    assert diff_data(tree, copy_data(tree)) == []


def test_a_changed_value_is_one_line_at_its_dotted_path() -> None:
    a, b = train(), train()
    b["optim"]["lr"] = 3e-4
    assert diff_data(a, b) == [Change("optim.lr", "changed", 1e-3, 3e-4)]


def test_a_change_in_a_shared_node_is_reported_once_with_the_other_paths() -> None:
    changes = diff_data(train(dataset(256)), train(dataset(512)))
    assert changes == [
        Change("train_dataset.max_len", "changed", 256, 512, also=("model.dataset.max_len",))
    ]


def test_sharing_that_differs_is_reported_and_the_values_under_it_too() -> None:
    separate = train(shared=False)
    separate["model"]["dataset"]["max_len"] = 8
    assert diff_data(train(), separate) == [
        Change("model.dataset", "sharing", "train_dataset", None),
        Change("model.dataset.max_len", "changed", 256, 8),
    ]
    assert diff_data(train(shared=False), train())[0] == Change(
        "model.dataset", "sharing", None, "train_dataset"
    )


def test_shared_with_a_different_place() -> None:
    def with_eval(tree: dict[str, Any], eval_dataset: dict[str, Any]) -> dict[str, Any]:
        return {"eval_dataset": eval_dataset, **tree}  # field order: eval before model

    a = with_eval(train(), dataset())
    b = with_eval(train(), {})
    b["eval_dataset"] = b["model"]["dataset"] = dataset()  # shared, but not with train_dataset
    changes = diff_data(a, b)
    assert [(c.path, c.kind, c.old, c.new) for c in changes] == [
        ("model.dataset", "sharing", "train_dataset", "eval_dataset")
    ]


def test_class_change_then_fields_added_and_removed() -> None:
    a, b = train(), train()
    b["optim"] = {"_target_": "schemas.SGDConfig", "lr": 1e-3, "momentum": 0.9}
    assert diff_data(a, b) == [
        Change("optim", "class", "schemas.AdamWConfig", "schemas.SGDConfig"),
        Change("optim.betas", "removed", [0.9, 0.999], None),
        Change("optim.momentum", "added", None, 0.9),
    ]


def test_plain_dict_fields_are_compared_per_key() -> None:
    a, b = train(), train(extra={"note": "y", "seed": 3})
    assert diff_data(a, b) == [
        Change("extra.note", "changed", "x", "y"),
        Change("extra.seed", "added", None, 3),
    ]
    assert diff_data(b, a)[1] == Change("extra.seed", "removed", 3, None)


def test_lists_of_configs_item_by_item_with_added_and_removed_at_the_tail() -> None:
    a = train()
    b = train(datasets=[dataset(8), dataset(32), dataset(64)])
    assert diff_data(a, b) == [
        Change("datasets.1.max_len", "changed", 16, 32),
        Change("datasets.2", "added", None, dataset(64)),
    ]
    assert diff_data(b, a)[-1] == Change("datasets.2", "removed", dataset(64), None)


def test_a_list_of_plain_values_is_one_value() -> None:
    a, b = train(), train()
    b["optim"]["betas"] = [0.9, 0.99]
    assert diff_data(a, b) == [Change("optim.betas", "changed", [0.9, 0.999], [0.9, 0.99])]


def test_floats_compare_bit_exactly() -> None:
    nan, other_nan = float("nan"), -float("nan")
    assert diff_data({"x": nan}, {"x": other_nan}) == []
    assert [c.path for c in diff_data({"x": 0.0}, {"x": -0.0})] == ["x"]
    assert [c.path for c in diff_data({"x": 1.0}, {"x": 1})] == ["x"]  # type-strict
    assert [c.path for c in diff_data({"x": 1}, {"x": True})] == ["x"]
    assert diff_data({"x": nan}, {"x": {"_type_": "float", "value": "nan"}}) == []
    assert same_value([0.1 + 0.2], [0.30000000000000004])
    assert not same_value([0.1 + 0.2], [0.3])


def test_markers_are_leaves_but_wrapper_markers_are_walked() -> None:
    a = {"_target_": "m.A", "t": {"_type_": "tuple", "value": [1, 2]}}
    b = {"_target_": "m.A", "t": {"_type_": "tuple", "value": [1, 3]}}
    assert diff_data(a, b) == [Change("t", "changed", a["t"], b["t"])]
    wrap = {"_type_": "m.Heads", "value": {"main": {"_target_": "m.H", "dim": 4}}}
    other = {"_type_": "m.Heads", "value": {"main": {"_target_": "m.H", "dim": 8}}}
    assert diff_data({"_target_": "m.R", "heads": wrap}, {"_target_": "m.R", "heads": other}) == [
        Change("heads.main.dim", "changed", 4, 8)
    ]
    renamed = {"_type_": "m.Other", "value": wrap["value"]}
    assert diff_data({"h": wrap}, {"h": renamed}) == [Change("h", "class", "m.Heads", "m.Other")]


def test_a_node_replaced_by_a_value_is_one_change() -> None:
    a, b = train(), train()
    b["model"] = None
    assert diff_data(a, b) == [Change("model", "changed", a["model"], None)]


def bomb(doublings: int, value: int) -> dict[str, Any]:
    node: dict[str, Any] = {"_target_": "m.B", "v": value}
    for _ in range(doublings):
        node = {"_target_": "m.B", "l": node, "r": node}
    return node


def test_alias_bomb_is_linear() -> None:
    # 2**40 paths, 41 distinct nodes: only a memoised walk finishes (timing lives in bench/).
    changes = diff_data(bomb(40, 1), bomb(40, 2))
    assert len(changes) == 1
    change = changes[0]
    assert change.path == ".".join(["l"] * 40 + ["v"])
    assert len(change.also) == 40  # one other place per level, not 2**40 - 1 paths
    assert change.also[0] == ".".join(["l"] * 39 + ["r", "v"])
    assert diff_data(bomb(40, 1), bomb(40, 1)) == []


def test_meta_is_compared_under_meta() -> None:
    assert diff_data({"git": {"commit": "a"}}, {"git": {"commit": "b"}}, root="meta") == [
        Change("meta.git.commit", "changed", "a", "b")
    ]


# ---------------------------------------------------------------- properties on data


@settings(max_examples=60, deadline=None)
@given(data_trees())
def test_a_tree_equals_itself_and_its_copy(tree: dict[str, Any]) -> None:
    assert diff_data(tree, tree) == []
    assert diff_data(tree, copy_data(tree)) == []


@settings(max_examples=60, deadline=None)
@given(data_trees(), st.data())
def test_applying_the_changes_gives_the_other_tree(tree: dict[str, Any], data: st.DataObject):
    def mutate(value: Any) -> Any:
        return data.draw(st.integers(-5, 5)) if data.draw(st.booleans()) else value

    other = copy_data(tree, mutate)
    changes = diff_data(tree, other)
    assert {c.kind for c in changes} <= {"changed"}
    patched = copy_data(tree)
    for change in changes:
        set_path(patched, change.path, change.new)
    assert diff_data(patched, other) == []
    # every sharer of a changed node is named, so nothing is reported twice
    paths = [c.path for c in changes] + [p for c in changes for p in c.also]
    assert len(paths) == len(set(paths))


@settings(max_examples=40, deadline=None)
@given(data_trees(), data_trees())
def test_diff_is_symmetric_in_paths(a: dict[str, Any], b: dict[str, Any]) -> None:
    forward = diff_data(a, b)
    backward = diff_data(b, a)
    swap = {"added": "removed", "removed": "added"}
    assert sorted((c.path, swap.get(c.kind, c.kind)) for c in forward if c.kind != "sharing") == \
        sorted((c.path, c.kind) for c in backward if c.kind != "sharing")
    assert (forward == []) == (backward == [])
    for change in forward:
        if change.kind == "changed":
            assert not same_value(change.old, change.new)
            assert not (isinstance(change.old, float) and math.isnan(change.old)
                        and isinstance(change.new, float) and math.isnan(change.new))


# ---------------------------------------------------------------- config objects and files


@settings(max_examples=40, deadline=None)
@given(roots(), st.data())
def test_deep_replace_with_the_reported_changes_gives_the_other_tree(
    root: Root, data: st.DataObject
) -> None:
    assert diff(root, root) == []
    other = root
    for path in data.draw(st.lists(st.sampled_from(leaf_paths(root)), max_size=4)):
        other = deep_replace(other, **{path: data.draw(leaf_fields[path.rsplit(".", 1)[1]])})
    for key in data.draw(st.lists(st.sampled_from(["x", "w"]), max_size=2)):
        other = deep_replace(other, **{f"pair.extra.{key}": data.draw(st.integers(0, 9))})
    if data.draw(st.booleans()):
        other = deep_replace(other, rate=data.draw(st.floats(allow_nan=True)))
    changes = diff(root, other)
    assert {c.kind for c in changes} <= {"changed", "added"}  # deep_replace keeps sharing
    patched = deep_replace(root, **{c.path: c.new for c in changes})
    assert diff(patched, other) == []


def test_objects_and_their_snapshots_diff_empty(tmp_path) -> None:
    shared = Leaf(i=1, f=2.5, nums=[1, 2])
    items = ConfigScriptList([shared, Leaf(f=float("nan"))])
    root = Root(Pair(shared, Leaf(f=-0.0), {"x": 1}), shared, items, rate=float("inf"))
    yaml_path = save_snapshot(root, tmp_path / "run.yaml")
    json_path = save_snapshot(root, tmp_path / "run.json")
    step = tmp_path / "step_000001"
    step.mkdir()
    (step / "config.yaml").write_text(yaml_path.read_text())
    for saved in (yaml_path, json_path, step, str(step)):
        assert diff(root, saved) == [], saved
        assert diff(saved, root) == [], saved
    changed = deep_replace(root, **{"solo.f": 0.0})
    assert diff(yaml_path, changed) == [
        Change("pair.left.f", "changed", 2.5, 0.0, also=("solo.f", "items.0.f"))
    ]
    assert diff(yaml_path, json_path) == []
    assert all(c.path.startswith("meta.") for c in diff(yaml_path, json_path, meta=True))
    assert len(diff(changed, root, meta=True)) == 1  # objects have no meta


def test_bad_inputs_are_config_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        diff(tmp_path / "missing.yaml", Root())
    with pytest.raises(ConfigError, match="not a checkpoint folder") as info:
        diff(tmp_path, Root())
    assert "name one" not in str(info.value)
    for step in ("step_000003", "step_000006"):  # a run's folder: the checkpoints inside named
        (tmp_path / "run" / step).mkdir(parents=True)
        (tmp_path / "run" / step / "config.yaml").write_text(to_yaml(Root()))
    with pytest.raises(ConfigError, match=r"it holds checkpoint folders: name one, e.g. .*run/step_000006$"):
        diff(tmp_path / "run", Root())
    assert diff(tmp_path / "run" / "step_000006", Root()) == []
    with pytest.raises(ConfigError, match="not a snapshot"):
        diff(tmp_path / "notes.txt", Root())
    with pytest.raises(ConfigError, match="cannot read 3 as a config"):
        diff(3, Root())
    (tmp_path / "bad.yaml").write_text("config: [\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        diff(tmp_path / "bad.yaml", Root())


# ---------------------------------------------------------------- real lm_demo runs


def test_two_runs_with_different_overrides(lm_runs: LmRuns, tmp_path: Path) -> None:
    from schemas import default_train

    here = lm_runs.two_runs(tmp_path)
    changes = diff(here / "a/ck/step_000003", here / "b/snap/run.yaml")
    assert changes == [
        Change("optim.lr", "changed", default_train().optim.lr, 0.01),
        Change("max_steps", "changed", 3, 10),
    ]


def test_a_run_and_its_resume(lm_runs: LmRuns, tmp_path: Path) -> None:
    a = lm_runs.two_runs(tmp_path) / "a"
    step3, step6, snapshot = a / "ck/step_000003", a / "ck/step_000006", a / "snap/run.yaml"
    assert diff(step3, snapshot) == [Change("max_steps", "changed", 3, 6)]
    assert diff(step6, snapshot) == []
    with_meta = diff(step3, step6, meta=True)
    assert with_meta[0] == Change("max_steps", "changed", 3, 6)
    assert {c.path.split(".")[0] for c in with_meta[1:]} == {"meta"}
    assert Change("meta.step", "changed", 3, 6) in with_meta
    rebuilt = load_snapshot(snapshot)
    assert rebuilt.model.dataset is rebuilt.train_dataset
    assert diff(rebuilt, snapshot) == []


def test_a_run_against_the_current_defaults(lm_runs: LmRuns, tmp_path: Path) -> None:
    from demo_runs import tiny_args

    from schemas import default_train

    snapshot = lm_runs.two_runs(tmp_path) / "a/snap/run.yaml"
    defaults = default_train()
    changes = diff(snapshot, defaults)
    assert {c.kind for c in changes} == {"changed"}  # same classes, same sharing
    overridden = {arg.split("=", 1)[0] for arg in tiny_args(*lm_runs.RESUME_A)}
    assert {c.path for c in changes} == overridden
    # a value of the shared dataset is reported once, at its first place, naming the others
    assert Change("train_dataset.max_len", "changed", 32, defaults.train_dataset.max_len,
                  also=("model.dataset.max_len",)) in changes
    # the reported old values are the run's overrides: applying them rebuilds the run
    rerun = deep_replace(default_train(), **{c.path: c.old for c in changes})
    assert diff(rerun, snapshot) == []


def test_shared_plain_lists_keep_their_identity() -> None:
    betas = [0.9, 0.99]
    shared = {"_target_": "m.R", "a": {"_target_": "m.O", "betas": betas}, "b": betas}
    separate = {"_target_": "m.R", "a": {"_target_": "m.O", "betas": [0.9, 0.99]},
                "b": [0.9, 0.99]}
    assert diff_data(shared, separate) == [Change("b", "sharing", "a.betas", None)]
    assert diff_data(separate, copy_data(separate)) == []


def test_checkpoint_folders_and_format_versions(tmp_path) -> None:
    root = Root()
    for name in ("config.yml", "config.json"):
        folder = tmp_path / name.replace(".", "_")
        save_snapshot(root, folder / name)
        assert diff(folder, root) == []
    (tmp_path / "v2.yaml").write_text("micro_config: 2\nmeta: {}\nconfig: {_target_: m.A}\n")
    with pytest.raises(ConfigError, match="format version 2"):
        diff(tmp_path / "v2.yaml", root)
