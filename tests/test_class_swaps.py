"""Class swaps on the command line (``optim=SGDConfig``): which classes are allowed, what the
new node keeps, overrides on top in any order, sharing, conflicts, the trap module that a
refused swap never imports, ``--help``'s choices, and a swapped run through ``lm_demo.train``."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import swap_pkg
from demo_runs import TRAIN_RAW, VALID_RAW, call
from swap_pkg import Leaf, Momentum, Opt, Plain, Root, Tagged

from micro_config import cli, deep_replace, describe, load_snapshot, parse_args
from micro_config.errors import ConflictError, RefusedClassError, UnknownFieldError
from schemas.experiments import tiny
from schemas.optim import AdamWConfig, CosineAdamWConfig, SGDConfig

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def swap(config: object, *tokens: str) -> object:
    return deep_replace(config, **parse_args(list(tokens)))


# ---------------------------------------------------------------- parse_args


def test_parse_args_keeps_a_class_name_next_to_the_keys_under_it() -> None:
    for tokens in (["a=Momentum", "a.lr=1"], ["a.lr=1", "a=Momentum"]):
        args = parse_args(tokens)
        assert args == {"a": {"lr": 1}} and args["a"].own == "Momentum"
        assert repr(args) == "{'a': Overrides({'lr': 1}, own='Momentum')}"
    with pytest.raises(ConflictError):  # a value that cannot name a class still conflicts
        parse_args(["a=1", "a.lr=1"])
    with pytest.raises(ConflictError):
        parse_args(["a=Momentum", "a.lr=1", "a=Opt"])


# ---------------------------------------------------------------- what a swap builds


def test_a_short_name_swaps_the_class_and_keeps_the_shared_fields() -> None:
    leaf = Leaf(size=7)
    old = Root(a=Opt(lr=0.3, leaf=leaf, tag="x"))
    new = swap(old, "a=Momentum")
    assert type(new.a) is Momentum
    assert (new.a.lr, new.a.tag, new.a.momentum) == (0.3, "x", 0.5)  # shared kept, new default
    assert new.a.leaf is leaf  # kept as the same object
    assert type(old.a) is Opt and old.a.lr == 0.3  # the input is not mutated


@pytest.mark.parametrize("order", list(itertools.permutations(
    ["a=Momentum", "a.momentum=0", "a.lr=2", "a.leaf.size=4"])))
def test_overrides_under_a_swap_apply_on_top_in_any_order(order: tuple[str, ...]) -> None:
    new = swap(Root(a=Opt(tag="kept")), *order)
    assert new.a == Momentum(lr=2.0, leaf=Leaf(size=4), tag="kept", momentum=0.0)


def test_the_new_class_checks_the_values_given_with_the_swap() -> None:
    """Values typed with the swap are in the first construction: nesterov=true needs the
    momentum given next to it, not the default's."""
    new = swap(Root(), "a=Momentum", "a.nesterov=true", "a.momentum=0.2")
    assert new.a.nesterov and new.a.momentum == 0.2
    with pytest.raises(Exception, match="Nesterov needs momentum > 0") as info:
        swap(Root(), "a.momentum=0", "a=Momentum", "a.nesterov=true")
    assert info.value.path == "a"


def test_a_field_of_the_same_name_but_another_type_takes_the_default() -> None:
    new = swap(Root(pick=Opt(tag="text")), "pick=Tagged")
    assert new.pick == Tagged(tag=3)


def test_module_colon_class_and_python_forms() -> None:
    config = Root(a=Opt(lr=0.3))
    by_ref = swap(config, "a=swap_pkg:Momentum")
    dotted = deep_replace(config, a="swap_pkg.Momentum")
    by_name = deep_replace(config, a="Momentum", **{"a.momentum": 0.1})
    by_class = deep_replace(config, **{"a.momentum": 0.1}, a=Momentum)  # the class itself
    assert by_ref.a == dotted.a == Momentum(lr=0.3)
    assert by_name.a == by_class.a == Momentum(lr=0.3, momentum=0.1)


def test_an_empty_slot_and_list_items_and_the_same_class() -> None:
    config = Root(items=[Opt(lr=1.0), Opt(lr=2.0)])
    new = swap(config, "b=Momentum", "items.1=Momentum", "items.1.momentum=0.7", "a=Opt", "pick=Opt")
    assert new.b == Momentum() and new.pick == Opt()
    assert new.items[0] is config.items[0] and new.items[1] == Momentum(lr=2.0, momentum=0.7)
    assert new.a is config.a  # already that class: the node stays as it is


def test_a_text_for_a_str_field_is_a_value_not_a_swap() -> None:
    assert swap(Root(), "name=Momentum").name == "Momentum"
    built = swap(Root(), "b.tag=Momentum", "b.lr=2")  # texts inside a dict that builds a node
    assert built.b == Opt(lr=2.0, tag="Momentum")
    with pytest.raises(UnknownFieldError, match="name holds str 'root', not a config"):
        swap(Root(), "name=Momentum", "name.x=1")  # a text that is no swap, with keys under it


def test_a_class_in_a_module_of_the_annotated_class_package_is_imported() -> None:
    new = swap(Root(), "a=swap_pkg.extra:Extra", "a.beta=0.1")
    assert type(new.a).__qualname__ == "Extra" and new.a.beta == 0.1
    assert swap(Root(), "a=Extra").a.beta == 0.9  # now imported: its short name works too


@pytest.mark.timeout(10)
def test_many_texts_for_keys_that_are_not_there_cost_no_hint_each() -> None:
    """Looking for swaps works out no did-you-mean: one error, after one pass."""
    wide = Root(items=[Opt(tag=str(i)) for i in range(5_000)])
    tokens = [f"nope{i}=x" for i in range(5_000)]
    with pytest.raises(UnknownFieldError, match="nope0"):
        swap(wide, *tokens)


@pytest.mark.timeout(10)
def test_many_swaps_cost_one_rebuild_per_key_length() -> None:
    wide = Root(items=[Opt(tag=str(i)) for i in range(3_000)])
    new = swap(wide, *(f"items.{i}=Momentum" for i in range(3_000)), "items.7.momentum=0.1")
    assert all(type(item) is Momentum for item in new.items) and new.items[7].momentum == 0.1
    assert new.items[5].tag == "5" and new.items[5].leaf is wide.items[5].leaf


# ---------------------------------------------------------------- sharing and conflicts


def test_a_shared_node_swapped_through_one_path_is_swapped_everywhere() -> None:
    node = Opt(lr=0.2)
    config = Root(a=node, b=node, items=[node])
    new = swap(config, "b=Momentum", "a.momentum=0.3")  # the field set through the other path
    assert new.a is new.b is new.items[0]
    assert new.a == Momentum(lr=0.2, momentum=0.3)
    same = swap(config, "a=Momentum", "b=Momentum")  # the same swap through two paths
    assert same.a is same.b and type(same.a) is Momentum


def test_conflicting_swaps_and_replacements_of_a_swapped_node_are_refused() -> None:
    node = Opt()
    config = Root(a=node, b=node)
    with pytest.raises(ConflictError, match="swaps the same node to"):
        swap(config, "a=Momentum", "b=Opt")
    with pytest.raises(ConflictError, match="class swap"):
        deep_replace(config, a="Momentum", b=Opt(lr=5.0))
    with pytest.raises(ConflictError, match="class swap"):
        deep_replace(config, a="Momentum", b=None)
    holder = Root(items=[node])
    with pytest.raises(ConflictError, match="conflicts with the override of 'items"):  # its list
        deep_replace(holder, **{"items.0": "Momentum", "items": []})


# ---------------------------------------------------------------- refusals


def test_an_unknown_short_name_gets_a_did_you_mean_over_the_allowed_classes() -> None:
    with pytest.raises(RefusedClassError, match=r"no config class 'Momentom'.*did you mean 'Momentum'") as info:
        swap(Root(), "a=Momentom")
    assert info.value.path == "a"
    with pytest.raises(RefusedClassError, match="valid names: .*Momentum, Opt"):
        swap(Root(), "a=Zzz")
    with pytest.raises(RefusedClassError, match="did you mean 'SGDConfig'"):
        swap(tiny(), "optim=SDGConfig")


def test_a_class_that_does_not_fit_is_refused() -> None:
    with pytest.raises(RefusedClassError, match="cannot stand here: expected Opt or a subclass"):
        swap(Root(), "a=swap_pkg:Plain")
    with pytest.raises(RefusedClassError, match="cannot stand here"):
        deep_replace(Root(), a=Plain)
    with pytest.raises(RefusedClassError, match="no class 'Nope' in module 'swap_pkg'"):
        swap(Root(), "a=swap_pkg:Nope")
    with pytest.raises(UnknownFieldError, match="did you mean 'a.momentum'"):
        swap(Root(), "a=Momentum", "a.momentom=1")
    with pytest.raises(UnknownFieldError, match="no such field in Tagged, the class pick=Tagged put "):
        swap(Root(pick=Opt()), "pick=Tagged", "pick.lr=1")  # a field of the old class only
    assert Plain.__module__ == swap_pkg.__name__


def test_a_swap_of_a_shared_node_must_fit_every_place_holding_it() -> None:
    """The new node replaces the old one everywhere (identity is meaning), so a class that one
    of those places does not admit is refused at once, naming that place, not at save."""
    node = Opt()
    config = Root(a=node, pick=node)
    with pytest.raises(RefusedClassError, match=r"Tagged cannot replace this node: it is also held at a, which expects Opt") as info:
        swap(config, "pick=Tagged")
    assert info.value.path == "pick"
    new = swap(config, "pick=Momentum")  # fits both places
    assert new.a is new.pick and type(new.a) is Momentum


def test_a_field_of_another_class_names_the_swap_that_brings_it() -> None:
    with pytest.raises(UnknownFieldError) as info:
        swap(tiny(), "optim.momentum=0.8")
    assert str(info.value).endswith("; SGDConfig has it: swap first with optim=SGDConfig")
    assert info.value.path == "optim.momentum"
    with pytest.raises(UnknownFieldError) as info:
        swap(tiny(), "optim.lrr=1")  # a plain typo: no swap named
    assert "swap" not in str(info.value)


def test_a_refused_swap_imports_nothing() -> None:
    """trap_pkg.evil holds subclasses that would fit: only the import rule refuses them."""
    for tokens, config in (
        (["a=trap_pkg.evil:EvilSwap"], Root()),
        (["a=trap_pkg.evil.EvilSwap"], Root()),
        (["optim=trap_pkg.evil:EvilOpt"], tiny()),
        (["a=EvilSwap"], Root()),
    ):
        with pytest.raises(RefusedClassError):
            swap(config, *tokens)
        assert "trap_pkg" not in sys.modules and "trap_pkg.evil" not in sys.modules


def test_the_trap_records_an_import_and_the_demo_refuses_it(tmp_path: Path) -> None:
    """Through the real entry point, in a fresh process: the refusal is one error line and no
    TRAP_IMPORTED file appears; importing the trap does write it (so the check can fail)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)])}
    refused = subprocess.run(
        [sys.executable, "-m", "lm_demo.train", "optim=trap_pkg.evil:EvilOpt", "max_steps=1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: optim: refusing to import 'trap_pkg.evil'")
    assert not (tmp_path / "TRAP_IMPORTED").exists() and not (tmp_path / "checkpoints").exists()
    subprocess.run([sys.executable, "-c", "import trap_pkg.evil"], cwd=tmp_path, env=env,
                   check=True, timeout=120)
    assert (tmp_path / "TRAP_IMPORTED").exists()


# ---------------------------------------------------------------- --help


def test_describe_names_the_classes_of_each_polymorphic_field() -> None:
    lines = describe(Root(items=[Opt()])).splitlines()
    names = "Momentum, Opt"  # (+ Extra once swap_pkg.extra is imported)
    assert any(line.startswith("a: Opt  (swap with a=NAME: ") and names in line for line in lines)
    assert any(line.startswith("b: Optional[Opt] = None  (swap with b=NAME: ") for line in lines)
    pick = next(line for line in lines if line.startswith("pick:"))
    assert pick.endswith(", Tagged)") and "Momentum, Opt" in pick
    assert "items.0: Opt  (swap with items.0=NAME: " in "\n".join(lines)
    assert "leaf: Leaf" in lines  # one class only: no note


def test_help_pins_the_choices_of_optim() -> None:
    """In a fresh process: only the classes the demo imports are listed."""
    done = subprocess.run([sys.executable, "-m", "lm_demo.train", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert "optim: AdamWConfig  (swap with optim=NAME: AdamWConfig, CosineAdamWConfig, SGDConfig)" in lines
    assert "model: LMModelConfig" in lines and "optim.lr: float = 0.003" in lines


def test_help_after_a_swap_lists_the_new_class_fields(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli(tiny(), ["optim=SGDConfig", "--help"])
    assert info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("optim: SGDConfig") for line in lines)
    assert any(line.startswith("optim.momentum: float = ") for line in lines)
    assert not any(line.startswith("optim.betas") for line in lines)  # AdamW's, swapped out


def test_cli_swaps_and_reports_a_bad_name_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert type(cli(tiny(), ["optim=CosineAdamWConfig"]).optim) is CosineAdamWConfig
    with pytest.raises(SystemExit) as info:
        cli(tiny(), ["optim=Adam"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: optim: no config class 'Adam'") and err.count("\n") == 1


# ---------------------------------------------------------------- a swapped run


def test_a_swapped_optimizer_trains_and_the_snapshot_records_the_class(tmp_path: Path) -> None:
    args = ["--config", "schemas.experiments:tiny", "optim.momentum=0.9", "optim=SGDConfig",
            "optim.lr=0.3", "max_steps=2", "run_name=sgd", "save_checkpoint_dir=checkpoints/sgd",
            f"train_dataset.f_path={TRAIN_RAW}", f"eval_dataset.f_path={VALID_RAW}"]
    code, _, err = call("lm_demo.train", *args, root=tmp_path)
    assert code == 0, err
    lines = (tmp_path / "checkpoints" / "sgd" / "metrics.jsonl").read_text().splitlines()
    losses = [r["loss"] for r in map(json.loads, lines) if "loss" in r]
    assert len(losses) == 2 and all(map(math.isfinite, losses))
    text = (tmp_path / "snapshots" / "sgd.yaml").read_text()
    assert "_target_: schemas.optim.SGDConfig" in text
    saved = load_snapshot(tmp_path / "snapshots" / "sgd.yaml")
    assert type(saved.optim) is SGDConfig
    assert (saved.optim.momentum, saved.optim.lr) == (0.9, 0.3)
    assert saved.optim.warmup_steps == tiny().optim.warmup_steps == 2  # kept from AdamW
    assert isinstance(tiny().optim, AdamWConfig)
