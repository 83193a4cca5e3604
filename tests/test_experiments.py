"""Named experiments (``--config REF``), the SGD and cosine-schedule optimizers, and references
``module:attr`` / ``path/to/file.py:attr`` as the demo and ``micro-config`` read them."""

from __future__ import annotations

import json
import math
import sys
import textwrap
from pathlib import Path

import pytest
from demo_runs import TRAIN_RAW, VALID_RAW, call

from micro_config import ConfigError, load_snapshot, to_yaml
from micro_config.commands.main import main as micro_config_main
from micro_config.commands.refs import is_ref, load_ref
from micro_config.errors import UnknownFieldError
from schemas import TrainLoop, experiments
from schemas.optim import AdamWConfig, CosineAdamWConfig, SGDConfig

DATA = (f"train_dataset.f_path={TRAIN_RAW}", f"eval_dataset.f_path={VALID_RAW}")


def train(root: Path, *args: str) -> tuple[int, str, str]:
    """``python -m lm_demo.train ARGS`` in this process, paths relative to ``root``."""
    return call("lm_demo.train", *args, *DATA, root=root)


def train_losses(run_dir: Path) -> list[float]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r["loss"] for r in map(json.loads, lines) if "loss" in r]


# ---------------------------------------------------------------- the experiments


@pytest.mark.parametrize("name", experiments.__all__)
def test_each_experiment_is_a_fresh_valid_train_loop(name: str) -> None:
    make = getattr(experiments, name)
    first, second = make(), make()
    assert isinstance(first, TrainLoop) and first is not second
    assert first.model.dataset is first.train_dataset  # the demo's sharing is kept
    assert to_yaml(first) == to_yaml(second)


def test_help_lists_the_shipped_experiments() -> None:
    code, out, _ = call("lm_demo.train", "--help", root=Path.cwd())
    assert code == 0
    assert "--config REF" in out
    for name in experiments.__all__:
        doc = getattr(experiments, name).__doc__.splitlines()[0]
        assert f"  schemas.experiments:{name:<8} {doc}\n" in out


def test_tiny_experiment_trains_in_seconds(tmp_path: Path) -> None:
    code, out, err = train(tmp_path, "--config", "schemas.experiments:tiny")
    assert code == 0, err
    losses = train_losses(tmp_path / "checkpoints" / "tiny")
    assert len(losses) == experiments.tiny().max_steps and all(map(math.isfinite, losses))
    saved = load_snapshot(tmp_path / "snapshots" / "tiny.yaml")
    assert saved.model.transformer_config.num_blocks == 1
    assert saved.model.dataset is saved.train_dataset


def test_a_config_in_a_python_file_with_sgd_trains(tmp_path: Path) -> None:
    """--config path/to/file.py:attr, a function returning a TrainLoop whose optimizer is SGD
    with momentum; overrides apply on top, and the snapshot records the class."""
    (tmp_path / "my_runs.py").write_text(textwrap.dedent("""
        from micro_config import deep_replace
        from schemas.experiments import tiny
        from schemas.optim import SGDConfig

        def sgd():
            return deep_replace(tiny(), optim=SGDConfig(lr=0.3, momentum=0.9, warmup_steps=1))
    """))
    code, _, err = train(tmp_path, "--config", f"{tmp_path / 'my_runs.py'}:sgd",
                         "optim.nesterov=true", "max_steps=4")
    assert code == 0, err
    losses = train_losses(tmp_path / "checkpoints" / "tiny")
    assert len(losses) == 4 and losses[-1] < losses[0]
    saved = load_snapshot(tmp_path / "snapshots" / "tiny.yaml")
    assert saved.optim == SGDConfig(lr=0.3, momentum=0.9, nesterov=True, warmup_steps=1)
    import torch

    state = torch.load(tmp_path / "checkpoints" / "tiny" / "step_000004" / "optim.pt")
    assert "momentum_buffer" in next(iter(state["optimizer"]["state"].values()))


def test_cosine_schedule_trains_and_decays(tmp_path: Path) -> None:
    (tmp_path / "cosine.py").write_text(textwrap.dedent("""
        from micro_config import deep_replace
        from schemas.experiments import tiny
        from schemas.optim import CosineAdamWConfig

        config = deep_replace(tiny(), optim=CosineAdamWConfig(warmup_steps=1, decay_steps=4))
    """))
    code, _, err = train(tmp_path, "--config", f"{tmp_path / 'cosine.py'}:config")
    assert code == 0, err
    lines = (tmp_path / "checkpoints" / "tiny" / "metrics.jsonl").read_text().splitlines()
    rates = [r["lr"] for r in map(json.loads, lines) if "lr" in r]
    lr = CosineAdamWConfig().lr
    expected = [lr * CosineAdamWConfig(warmup_steps=1, decay_steps=4).lr_factor(s) for s in range(6)]
    assert rates == pytest.approx(expected)
    assert rates[0] == pytest.approx(lr) and rates[-1] == pytest.approx(lr * 0.1)
    assert all(map(math.isfinite, train_losses(tmp_path / "checkpoints" / "tiny")))


def test_schedules() -> None:
    adamw = AdamWConfig(warmup_steps=4)
    assert [adamw.lr_factor(s) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    cosine = CosineAdamWConfig(warmup_steps=2, decay_steps=2, min_ratio=0.5)
    assert [cosine.lr_factor(s) for s in range(6)] == pytest.approx([0.5, 1.0, 1.0, 0.75, 0.5, 0.5])
    assert SGDConfig(warmup_steps=0).lr_factor(0) == 1.0


@pytest.mark.parametrize(("config", "path"), [
    (lambda: SGDConfig(momentum=1.0), "momentum"),
    (lambda: SGDConfig(momentum=0.0, nesterov=True), "nesterov"),
    (lambda: SGDConfig(lr=-1.0), "lr"),
    (lambda: CosineAdamWConfig(decay_steps=0), "decay_steps"),
    (lambda: CosineAdamWConfig(min_ratio=2.0), "min_ratio"),
])
def test_bad_optimizer_values_name_the_field(config, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config()
    assert caught.value.path == path


# ---------------------------------------------------------------- wrong references


@pytest.mark.parametrize(("ref", "message"), [
    ("schemas:TransformerConfig", "holds a TransformerConfig, but this command runs a TrainLoop"),
    ("schemas.optim:AdamWConfig", "holds an AdamWConfig, but this command runs a TrainLoop"),
    ("schemas", "is not a reference: give module:attr"),
    (":x", "is not a reference"),
    ("schemas.experiments:tinny", "has no 'tinny' (did you mean 'tiny'?)"),
    ("schemas.nowhere:tiny", "no module named 'schemas.nowhere'"),
    ("no/such/file.py:tiny", "no such file"),
])
def test_a_wrong_config_ref_is_one_line(tmp_path: Path, ref: str, message: str) -> None:
    code, out, err = train(tmp_path, "--config", ref)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "checkpoints").exists()


def test_a_missing_name_offers_the_modules_configs_not_what_it_imports() -> None:
    with pytest.raises(UnknownFieldError) as err:
        load_ref("schemas.experiments:nope")
    offered = str(err.value).partition("valid names: ")[2]
    assert "tiny" in offered and "wide" in offered  # its configs and functions
    assert "deep_replace" not in offered and "annotations" not in offered and "TrainLoop" not in offered


def test_config_and_from_together_are_refused(tmp_path: Path) -> None:
    code, _, err = train(tmp_path, "--config", "schemas.experiments:tiny", "--from", "x.yaml")
    assert code == 2 and "give one" in err


def test_config_given_twice_is_refused_not_last_wins(tmp_path: Path) -> None:
    code, out, err = train(tmp_path, "--config", "schemas.experiments:tiny", "--config=schemas.experiments:wide")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--config is given twice" in err
    assert not (tmp_path / "checkpoints").exists()
    code, out, err = train(tmp_path, "--overwrite", "--overwrite")
    assert (code, out, err) == (2, "", "error: --overwrite is given twice\n")


@pytest.mark.parametrize(("typo", "meant"), [("--overwirte", "--overwrite"), ("--confg=x", "--config")])
def test_a_mistyped_option_is_one_line_with_the_closest(tmp_path: Path, typo: str, meant: str) -> None:
    code, out, err = train(tmp_path, typo)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"unknown option {typo.partition('=')[0]!r} (did you mean {meant!r}?)" in err


@pytest.mark.parametrize("typed", ["--max_steps=3", "--optim=SGDConfig", "--seed=3"])
def test_an_override_typed_as_an_option_gets_the_key_value_hint_as_cli_gives_it(tmp_path: Path, typed: str) -> None:
    # (--optim is about as near --from as --seed is to --help: an override, not a typo)
    code, out, err = train(tmp_path, typed)
    assert (code, out) == (2, "")
    key, _, value = typed[2:].partition("=")
    assert err == f"error: unknown option '--{key}': overrides are key=value (did you mean {key}={value}?)\n"
    assert not (tmp_path / "checkpoints").exists()


def test_refs_resolve_the_same_object_by_module_or_file() -> None:
    assert is_ref("schemas.experiments:tiny") and is_ref("schemas/experiments.py:tiny")
    assert not is_ref("snapshots/run.yaml")
    by_module = load_ref("schemas.experiments:tiny", expect=TrainLoop)
    by_file = load_ref("schemas/experiments.py:tiny", expect=TrainLoop)
    assert to_yaml(by_module) == to_yaml(by_file)
    assert "experiments" not in sys.modules  # the file is the module schemas.experiments


def test_a_file_outside_packages_is_loaded_under_its_name(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "exp_outside.py").write_text(textwrap.dedent("""
        from dataclasses import dataclass

        @dataclass
        class Point:
            x: int = 1

        here = Point(x=2)
    """))
    point = load_ref(f"{tmp_path / 'exp_outside.py'}:here")
    assert type(point).__module__ == "exp_outside" and point.x == 2
    status = micro_config_main(["diff", f"{tmp_path / 'exp_outside.py'}:here",
                                f"{tmp_path / 'exp_outside.py'}:Point"])
    assert (status, capsys.readouterr().out) == (1, "x: 2 -> 1\n")


def test_micro_config_diff_takes_file_refs(capsys: pytest.CaptureFixture[str]) -> None:
    status = micro_config_main(["diff", "schemas/experiments.py:default", "schemas.experiments:wide"])
    out = capsys.readouterr().out
    assert status == 1
    assert "model.transformer_config.num_blocks: 2 -> 4" in out.splitlines()
    assert "optim.lr: 0.003 -> 0.001" in out.splitlines()


def test_micro_config_show_takes_file_refs(capsys: pytest.CaptureFixture[str]) -> None:
    assert micro_config_main(["show", "schemas/experiments.py:tiny", "--paths"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "model.dataset = <shared: train_dataset>" in lines
    assert "max_steps = 6" in lines
