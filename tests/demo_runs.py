"""Tiny LM demo runs for the tests: the configs, the commands, and what to compare.

A run lives in a folder that is its own project root (``ck/`` checkpoints, ``snap/run.yaml``
snapshot, both configured relative to it; data files absolute), so a run can be copied and
resumed in the copy: in process with ``metaconfig(folder)``, in a subprocess with
``run_module(..., root=folder)``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from lm_demo.metrics import read_metrics
from micro_config import MetaConfig, cli
from schemas import TrainLoop, default_train

ROOT = Path(__file__).resolve().parents[1]
TRAIN_RAW = ROOT / "lm_demo/data/wikitext-tiny/wiki.train.raw"
VALID_RAW = TRAIN_RAW.with_name("wiki.valid.raw")

TINY = (
    "model.transformer_config.hidden_dim=32",
    "model.transformer_config.heads=2",
    "model.transformer_config.head_dim=16",
    "model.transformer_config.intermediate_dim=64",
    "model.transformer_config.num_blocks=1",
    "model.transformer_config.max_len=32",
    "train_dataset.max_len=32",
    "eval_dataset.max_len=32",
    f"train_dataset.f_path={TRAIN_RAW}",
    f"eval_dataset.f_path={VALID_RAW}",
    "bsize=16",
    "eval_batches=2",
    "eval_every=5",
    "save_every=3",
    "keep_checkpoints=0",
    "optim.warmup_steps=4",
    "progress=false",
    "num_threads=1",
    "save_checkpoint_dir=ck",
    "snapshot_dir=snap",
)


def tiny_args(*extra: str) -> list[str]:
    """TINY, then ``extra``; a later key replaces an earlier one."""
    return list({arg.split("=", 1)[0]: arg for arg in (*TINY, *extra)}.values())


def tiny(*extra: str) -> TrainLoop:
    return cli(default_train(), tiny_args(*extra))


def metaconfig(folder: Path) -> MetaConfig:
    """A MetaConfig whose project root is the run's folder."""
    return MetaConfig(verbose=False, project_root=str(folder))


def train(folder: Path, *extra: str) -> object:
    """Train ``tiny(*extra)`` in process with ``folder`` as the project root."""
    return tiny(*extra).unroll(metaconfig(folder))


def losses(checkpoint_dir: Path) -> list[tuple[int, float]]:
    return [
        (r["step"], r["loss"]) for r in read_metrics(checkpoint_dir / "metrics.jsonl") if "loss" in r
    ]


def same_params(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("step_*"))


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by relative path: to show nothing there changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def env_for(root: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LM_DEMO_KILL_AT", None)
    if root is not None:
        env["MICRO_CONFIG_ROOT"] = str(root)
    return env


def run_module(
    *args: str, root: Path | None = None, cwd: Path = ROOT, timeout: float = 120, env: dict | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS`` (``root``: the project root its configs are relative to)."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**env_for(root), **(env or {})},
    )


class LmRuns:
    """Tiny runs trained once per session (keyed by their overrides); each test gets a copy."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.trained: dict[tuple[tuple[str, ...], tuple[str, ...]], Path] = {}

    def copy(self, to: Path, *extra: str, resume: tuple[str, ...] = ()) -> Path:
        """A copy, in ``to``, of the run of ``tiny(*extra)``; returns ``to``. With ``resume``,
        that run then resumed by ``python -m lm_demo.resume snap/run.yaml *resume`` (in
        process): its checkpoints up to then stay, its snapshot is rewritten."""
        key = (tuple(extra), tuple(resume))
        if key not in self.trained:
            folder = self.base / hashlib.sha1(repr(key).encode()).hexdigest()[:12]
            if resume:
                self.copy(folder, *extra)
                code, _, err = call("lm_demo.resume", str(folder / "snap/run.yaml"), *resume,
                                    root=folder)
                assert code == 0, err[-2000:]
            else:
                train(folder, *extra)
            self.trained[key] = folder
        shutil.copytree(self.trained[key], to, dirs_exist_ok=True)
        return to

    # Runs other tests train too (test_lm_demo), so diffing them costs one short resume.
    RUN_A = ("max_steps=3",)
    RESUME_A = ("max_steps=6",)
    RUN_B = ("max_steps=10", "optim.lr=0.01")

    def two_runs(self, to: Path) -> Path:
        """``to``, holding ``a/``: the run of ``tiny(*RUN_A)`` resumed with ``RESUME_A``
        (``ck/step_000003`` written before the resume, ``ck/step_000006`` by it,
        ``snap/run.yaml`` rewritten by it), and ``b/``: the run of ``tiny(*RUN_B)``."""
        self.copy(to / "a", *self.RUN_A, resume=self.RESUME_A)
        self.copy(to / "b", *self.RUN_B)
        return to


def call(module: str, *args: str, root: Path) -> tuple[int, str, str]:
    """``python -m MODULE ARGS`` in this process (no torch start-up to pay): exit code,
    stdout, stderr. ``root`` is the project root its configs are relative to."""
    import contextlib
    import importlib
    import io

    main = importlib.import_module(module).main
    out, err = io.StringIO(), io.StringIO()
    before = os.environ.get("MICRO_CONFIG_ROOT")
    os.environ["MICRO_CONFIG_ROOT"] = str(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:
                code = exit_.code
    finally:
        if before is None:
            del os.environ["MICRO_CONFIG_ROOT"]
        else:
            os.environ["MICRO_CONFIG_ROOT"] = before
    return code, out.getvalue(), err.getvalue()
