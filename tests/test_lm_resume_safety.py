"""The LM demo never loses a run's files to bad input or to a resume from somewhere else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from test_lm_demo import ROOT, run_module, tiny, tiny_args

from lm_demo.cli import load_run_config
from lm_demo.resume import main as resume_main
from micro_config import ConfigError, MetaConfig, load_snapshot, read_meta
from schemas import TrainLoop


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("step_*"))


def test_a_run_failing_on_bsize_keeps_the_previous_runs_checkpoints(tmp_path: Path) -> None:
    tiny(tmp_path, "max_steps=3").unroll(MetaConfig(verbose=False))
    ck = tmp_path / "run/ck"
    before = names(ck)
    metrics = (ck / "metrics.jsonl").read_text()
    assert before == ["step_000003"]
    with pytest.raises(ConfigError) as info:
        tiny(tmp_path, "max_steps=3", "bsize=100000").unroll(MetaConfig(verbose=False))
    assert info.value.path == "bsize"
    assert names(ck) == before
    assert (ck / "metrics.jsonl").read_text() == metrics


def test_cli_failing_on_bsize_exits_2_and_keeps_the_checkpoints(tmp_path: Path) -> None:
    tiny(tmp_path, "max_steps=3").unroll(MetaConfig(verbose=False))
    out = run_module("lm_demo.train", *tiny_args(tmp_path, "max_steps=3", "bsize=100000"))
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error: bsize:")
    assert "removing" not in out.stderr
    assert names(tmp_path / "run/ck") == ["step_000003"]


def snapshot_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by relative path: to show nothing there changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_resuming_a_copied_folder_continues_in_the_copy(tmp_path: Path, capsys) -> None:
    tiny(tmp_path, "max_steps=6").unroll(MetaConfig(verbose=False))
    orig = tmp_path / "run/ck"
    copy = tmp_path / "copy"
    shutil.copytree(orig, copy)
    untouched = snapshot_of(orig)
    # From its newest checkpoint: fine, and every new file goes to the copy.
    assert resume_main([str(copy), "max_steps=8"]) == 0
    assert snapshot_of(orig) == untouched
    assert names(copy) == ["step_000003", "step_000006", "step_000008"]
    saved = load_snapshot(copy / "step_000008/config.yaml", cls=TrainLoop)
    assert Path(saved.save_checkpoint_dir) == copy.resolve()
    err = capsys.readouterr().err
    assert f"described the run in {orig}" in err  # the snapshot now points at the copy
    assert "removing" not in err


def test_resuming_an_older_checkpoint_needs_discard_newer(tmp_path: Path, capsys) -> None:
    tiny(tmp_path, "max_steps=6").unroll(MetaConfig(verbose=False))
    orig = tmp_path / "run/ck"
    copy = tmp_path / "copy"
    shutil.copytree(orig, copy)
    untouched, copied = snapshot_of(orig), snapshot_of(copy)
    assert resume_main([str(copy / "step_000003"), "max_steps=5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "--discard-newer" in err and "step_000006" in err
    assert snapshot_of(copy) == copied and snapshot_of(orig) == untouched
    assert resume_main([str(copy / "step_000003"), "max_steps=5", "--discard-newer"]) == 0
    assert "removing 1 checkpoint(s) newer than step 3" in capsys.readouterr().err
    assert names(copy) == ["step_000003", "step_000005"]
    assert snapshot_of(orig) == untouched


def test_run_refuses_a_checkpoint_outside_save_checkpoint_dir(tmp_path: Path) -> None:
    tiny(tmp_path, "max_steps=3", name="a").unroll(MetaConfig(verbose=False))
    tiny(tmp_path, "max_steps=3", name="b").unroll(MetaConfig(verbose=False))
    before = snapshot_of(tmp_path)
    with pytest.raises(ConfigError) as info:
        tiny(tmp_path, "max_steps=6", name="b").run(
            MetaConfig(verbose=False), resume_from=str(tmp_path / "a/ck/step_000003")
        )
    assert info.value.path == "save_checkpoint_dir"
    assert str(tmp_path / "a/ck") in str(info.value)
    assert snapshot_of(tmp_path) == before


def test_falling_back_past_an_unreadable_checkpoint_needs_no_flag(tmp_path: Path) -> None:
    tiny(tmp_path, "max_steps=6").unroll(MetaConfig(verbose=False))
    ck = tmp_path / "run/ck"
    (ck / "step_000006/optim.pt").write_bytes(b"garbage")
    result = tiny(tmp_path, "max_steps=7").run(MetaConfig(verbose=False), resume_from=str(ck))
    assert result.train_log[0]["step"] == 4
    assert names(ck) == ["step_000003", "step_000006", "step_000007"]


def test_resume_from_a_folder_falls_back_past_a_truncated_config(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    tiny(tmp_path, "max_steps=6").unroll(MetaConfig(verbose=False))
    ck = tmp_path / "run/ck"
    config = ck / "step_000006/config.yaml"
    config.write_text(config.read_text()[:300])  # cut inside the meta block
    capsys.readouterr()
    monkeypatch.setenv("MICRO_CONFIG_ROOT", str(ROOT))  # config paths: the project's
    monkeypatch.chdir(tmp_path)  # PATH: relative to the working directory, as typed
    assert resume_main(["run/ck", "max_steps=7"]) == 0
    err = capsys.readouterr().err
    assert err.count("falling back to the previous checkpoint") == 1, err  # said once
    assert "checkpoint run/ck/step_000006 has an unreadable config.yaml" in err
    assert names(ck) == ["step_000003", "step_000006", "step_000007"]
    assert read_meta(ck / "step_000007/config.yaml")["step"] == 7


def test_load_run_config_says_when_no_config_reads(tmp_path: Path, capsys) -> None:
    tiny(tmp_path, "max_steps=6").unroll(MetaConfig(verbose=False))
    ck = tmp_path / "run/ck"
    for step in ("step_000003", "step_000006"):
        (ck / step / "config.yaml").write_text("micro_config: 1\nmeta: {}\n")
    with pytest.raises(ConfigError, match="no checkpoint in .* has a readable config.yaml"):
        load_run_config(ck)
    assert capsys.readouterr().err.count("falling back") == 2
    assert resume_main([str(ck)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: no checkpoint in")


def test_model_errors_name_the_full_path_and_keep_the_checkpoints(tmp_path: Path) -> None:
    tiny(tmp_path, "max_steps=3").unroll(MetaConfig(verbose=False))
    ck = tmp_path / "run/ck"
    before = snapshot_of(ck)
    absent = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(ConfigError) as info:
        tiny(tmp_path, "max_steps=3", f"model.device={absent}").unroll(MetaConfig(verbose=False))
    assert str(info.value) == f"model.device: {absent!r} is not available on this machine"
    other = torch.nn.Linear(2, 2)
    torch.save(other.state_dict(), tmp_path / "other.pt")
    with pytest.raises(ConfigError) as info:
        tiny(tmp_path, "max_steps=3", f"model.checkpoint_path={tmp_path / 'other.pt'}").unroll(
            MetaConfig(verbose=False)
        )
    assert info.value.path == "model.checkpoint_path"
    assert "does not fit the model: " in str(info.value) and "\n" not in str(info.value)
    assert "2 unexpected keys (weight, bias)" in str(info.value)
    assert snapshot_of(ck) == before
