"""The demo under torchrun: 2 CPU processes (gloo), one writer, the same config everywhere,
exact resume after SIGKILL of the whole job, the world size kept (tiny model, short runs)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from demo_runs import ROOT, LmRuns, call, env_for, losses, names, same_params, tiny_args

from lm_demo.distributed import CUBLAS_WORKSPACE, Placement, prepare_determinism
from micro_config import read_meta

# dropout 0: one process and two draw no random masks, so their losses can be compared
DDP = (
    "max_steps=12",
    "model.transformer_config.attn_dropout=0.0",
    "model.transformer_config.resid_dropout=0.0",
    "eval_every=6",
)
LIMIT = 150  # seconds for one torchrun launch on a busy 2-core machine
JOB_LIMIT = 2 * LIMIT  # the two jobs of the module fixture (see PHASES)


def torchrun(
    *args: str, root: Path, env: dict[str, str] | None = None, timeout: float = LIMIT
) -> subprocess.CompletedProcess[str]:
    """``torchrun --standalone --nproc_per_node=2 ARGS`` in its own session (so a SIGKILL of
    the job stays inside it)."""
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**env_for(root), "OMP_NUM_THREADS": "1", **(env or {})},
        start_new_session=True,
    )


# Each case runs the demo's command in its own torchrun job of 2 processes: a config mismatch
# (fails before training), the uninterrupted run, Ctrl-C, a run SIGKILLed with the whole job
# half-way through its step-9 checkpoint, and its resume. Two cases in one job would save a
# start-up, but joining a process group again in the same processes can hang under torchrun's
# agent store on a busy machine, so every case gets fresh processes.
PHASES = """
import json, os, sys
from lm_demo.train import main
for name, args, env, rank1_args in json.loads(sys.argv[1]):
    os.environ.pop("LM_DEMO_KILL_AT", None)
    os.environ.update(env)
    mine = args + (rank1_args if os.environ["RANK"] == "1" else [])
    code = main(mine)
    # one write of the whole line: the ranks share stdout, and print() writes the text and its
    # newline separately when the stream is unbuffered (PYTHONUNBUFFERED), so two ranks' lines
    # could run together
    os.write(1, f"rank {os.environ['RANK']} {name}: exit {code}\\n".encode())
"""


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The phases of PHASES, each in its own torchrun job and project root under the returned
    folder; their outputs joined."""
    root = tmp_path_factory.mktemp("ddp")
    script = root / "phases.py"
    script.write_text(PHASES)
    phases = [
        ("mismatch", tiny_args("max_steps=2"), {}, ["seed=1"]),  # rank 1 runs another config
        ("run", tiny_args(*DDP), {}, []),
    ]
    spelled = [
        (name, args, {**env, "MICRO_CONFIG_ROOT": str(root / name)}, rank1)
        for name, args, env, rank1 in phases
    ]
    outs = [torchrun(str(script), json.dumps([phase]), root=root) for phase in spelled]
    out = subprocess.CompletedProcess(
        [o.args for o in outs],
        max(o.returncode for o in outs),
        "".join(o.stdout for o in outs),
        "".join(o.stderr for o in outs),
    )
    return root, out


# not anchored to a line's start: rank 0's own output may end just before another rank's line
EXIT_LINE = re.compile(r"rank (\d+) (\w+): exit (-?\d+)")


def exits(out: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    """Each phase's exit code by rank: ``{"run": ["0", "0"], ...}``."""
    found: dict[str, list[str]] = {}
    for _, name, code in sorted(EXIT_LINE.findall(out.stdout)):
        found.setdefault(name, []).append(code)
    return found


@pytest.fixture(scope="module")
def two_process_run(job: tuple[Path, subprocess.CompletedProcess[str]]) -> Path:
    """The uninterrupted 2-process run of DDP."""
    root, out = job
    assert exits(out).get("run") == ["0", "0"], out.stderr[-3000:]
    return root / "run"


@pytest.mark.timeout(JOB_LIMIT)  # the job may start here
def test_the_job_ran_every_phase(job) -> None:
    _, out = job
    assert out.returncode == 0, out.stderr[-3000:]
    assert exits(out) == {"mismatch": ["2", "2"], "run": ["0", "0"]}
    assert "lm_demo/" not in out.stderr and "micro_config/" not in out.stderr  # no worker traceback


@pytest.mark.timeout(JOB_LIMIT)  # the job may start here
def test_two_processes_write_one_snapshot_and_one_set_of_checkpoints(two_process_run: Path) -> None:
    root = two_process_run
    assert sorted(p.name for p in (root / "snap").iterdir()) == ["run.yaml"]
    assert sorted(p.name for p in (root / "ck").iterdir()) == [
        ".lm_demo.lock", "metrics.jsonl", "step_000003", "step_000006", "step_000009", "step_000012",
    ]  # fmt: skip  (the lock: rank 0 holds the folder for the job)
    meta = read_meta(root / "snap/run.yaml")
    assert (meta["world_size"], meta["status"], meta["step"]) == (2, "finished", 12)
    assert meta["argv"][:3] == ["torchrun", "--nproc_per_node=2", "-m"]
    assert [s for s, _ in losses(root / "ck")] == list(range(1, 13))  # each step once
    state = torch.load(root / "ck/step_000012/state.pt", weights_only=True)
    assert state["world_size"] == 2 and len(state["rng_by_rank"]) == 2
    assert not torch.equal(state["rng_by_rank"][0]["torch"], state["rng_by_rank"][1]["torch"])


@pytest.mark.timeout(JOB_LIMIT)  # the job may start here
def test_one_and_two_processes_follow_the_same_loss_curve(
    two_process_run: Path, lm_runs: LmRuns, tmp_path: Path
) -> None:
    one = lm_runs.copy(tmp_path, *DDP)
    single, double = losses(one / "ck"), losses(two_process_run / "ck")
    assert [s for s, _ in single] == [s for s, _ in double]
    for (_, a), (_, b) in zip(single, double, strict=True):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)  # same global batches, other sum order
    tokens = [r["tokens"] for r in read_metrics_of(two_process_run) if "loss" in r]
    assert tokens == [step * 16 * 31 for step in range(1, 13)]  # global, not one rank's


def read_metrics_of(root: Path) -> list[dict]:
    from lm_demo.metrics import read_metrics

    return read_metrics(root / "ck/metrics.jsonl")


@pytest.mark.timeout(JOB_LIMIT + 2 * LIMIT)
def test_sigkill_of_the_whole_job_then_resume_is_exact(two_process_run: Path, tmp_path: Path) -> None:
    killed = tmp_path
    out = torchrun("-m", "lm_demo.train", *tiny_args(*DDP), root=killed, env={"LM_DEMO_KILL_AT": "9:save"})
    assert out.returncode != 0  # SIGKILL of the whole job, torchrun included
    assert names(killed / "ck") == ["step_000003", "step_000006"]  # step 9 was half-written
    assert read_meta(killed / "snap/run.yaml")["status"] == "running"  # nobody could say more
    out = torchrun("-m", "lm_demo.resume", "snap/run.yaml", root=killed)
    assert out.returncode == 0, out.stderr[-3000:]
    final = torch.load(killed / "ck/step_000012/model.pt", weights_only=True)
    reference = torch.load(two_process_run / "ck/step_000012/model.pt", weights_only=True)
    assert same_params(reference, final)
    assert losses(killed / "ck") == losses(two_process_run / "ck")
    assert not list((killed / "ck").glob(".step_*"))
    assert read_meta(killed / "snap/run.yaml")["status"] == "finished"


@pytest.mark.timeout(JOB_LIMIT)  # the job may start here
def test_another_world_size_is_refused_unless_allowed(two_process_run: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(two_process_run, tmp_path, dirs_exist_ok=True)
    code, _, err = call("lm_demo.resume", "snap/run.yaml", "max_steps=13", root=tmp_path)
    assert code == 2
    assert err.startswith("error: checkpoint ") and len(err.splitlines()) == 1
    assert "written by 2 process(es), this run has 1" in err and "--allow-world-size-change" in err
    assert names(tmp_path / "ck")[-1] == "step_000012"
    code, _, err = call(
        "lm_demo.resume", "snap/run.yaml", "max_steps=13", "--allow-world-size-change", root=tmp_path
    )
    assert code == 0, err
    assert "equivalent, not bit-identical" in err
    assert read_meta(tmp_path / "snap/run.yaml")["world_size"] == 1


@pytest.mark.timeout(JOB_LIMIT)  # the job may start here
def test_a_rank_with_another_config_stops_every_rank(job) -> None:
    root, out = job
    assert exits(out)["mismatch"] == ["2", "2"]  # every rank, through the clean exit path
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: rank(s) 1 run another config than rank 0 (hash of the resolved snapshot differs):"
        " give every process the same command, files and code"
    ]  # once (rank 0), and no other phase had an error
    assert not (root / "mismatch/ck").exists() and not (root / "mismatch/snap").exists()


@pytest.mark.timeout(LIMIT)
def test_ctrl_c_stops_every_rank_cleanly_with_one_advice(tmp_path: Path) -> None:
    out = torchrun(
        "-m", "lm_demo.train", *tiny_args("max_steps=4"), root=tmp_path, env={"LM_DEMO_KILL_AT": "2:interrupt"}
    )  # fmt: skip
    assert out.returncode != 0
    advice = [line for line in out.stderr.splitlines() if line.startswith("interrupted")]
    assert len(advice) == 1, out.stderr[-2000:]  # rank 0 only
    assert "torchrun --nproc_per_node=2 -m lm_demo.train --from" in advice[0]
    assert "exitcode  : 130" in out.stderr  # every rank left through the same clean path
    assert "lm_demo/" not in out.stderr  # no worker traceback
    assert read_meta(tmp_path / "snap/run.yaml")["status"] == "interrupted"


def test_placement_comes_from_torchruns_environment() -> None:
    assert Placement.from_env({}) == Placement(0, 1, 0)
    placed = Placement.from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (placed.rank, placed.world_size, placed.local_rank, placed.distributed) == (3, 4, 1, True)


def test_deterministic_runs_set_the_cublas_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    prepare_determinism(False)
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    prepare_determinism(True)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")  # the user's own choice stays
    prepare_determinism(True)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine: CUDA cases skipped")
def test_a_deterministic_cuda_run_repeats_bit_for_bit(tmp_path: Path) -> None:
    args = tiny_args("max_steps=3", "model.device=cuda")
    for name in ("a", "b"):
        out = subprocess.run([sys.executable, "-m", "lm_demo.train", *args], capture_output=True,
                             text=True, cwd=ROOT, env=env_for(tmp_path / name), timeout=LIMIT)  # fmt: skip
        assert out.returncode == 0, out.stderr
    assert losses(tmp_path / "a/ck") == losses(tmp_path / "b/ck")
