"""The LM demo never loses a run's files to bad input or to a resume from somewhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_lm_demo import run_module, tiny, tiny_args

from micro_config import ConfigError, MetaConfig


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
