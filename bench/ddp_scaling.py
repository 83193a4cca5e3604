"""How much faster is the default demo on 2 processes (torchrun, DDP over gloo) than on 1?

Run: ``python bench/ddp_scaling.py`` (about 2 minutes on 2 idle CPU cores). Prints steps per
second of the default demo config with 1 process (plain ``python -m lm_demo.train``) and with 2
(``torchrun --standalone --nproc_per_node=2``), each process on one math thread, and their
ratio. ``bsize`` is the global batch in both, so 2 processes do the same work per step, split.

Each figure comes from two runs of different lengths, timed by the wall clock: their difference
cancels the fixed costs (start-up, torch import, rendezvous, data, model, the final checkpoint
and evaluation), leaving the per-step cost. Periodic evaluation and checkpoints are pushed past
the end. The best of ``ROUNDS`` is reported (other work on the machine only slows a round down).
On a 2-core machine expect well under 2x: the two processes share the cores with torchrun,
gloo's all-reduce of every gradient and the per-step loss sum.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHORT, LONG = 10, 90
ROUNDS = 2


def timed(folder: Path, steps: int, processes: int) -> float:
    """Wall seconds of one whole default run of ``steps`` steps on ``processes`` processes."""
    args = [
        f"max_steps={steps}",
        "eval_every=1000000",
        "save_every=1000000",
        "eval_batches=1",
        "num_threads=1",
        "progress=false",
        f"save_checkpoint_dir={folder / 'ck'}",
        f"snapshot_dir={folder / 'snap'}",
    ]
    launcher = [sys.executable]
    if processes > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    subprocess.run(
        [*launcher, "-m", "lm_demo.train", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def steps_per_second(base: Path, processes: int, round_: int) -> float:
    long = timed(base / f"{processes}-{round_}-long", LONG, processes)
    short = timed(base / f"{processes}-{round_}-short", SHORT, processes)
    return (LONG - SHORT) / max(long - short, 1e-9)


def main() -> int:
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(ROUNDS):
            for processes in rates:
                rates[processes].append(steps_per_second(Path(tmp), processes, round_))
    one, two = max(rates[1]), max(rates[2])
    for processes, rate in ((1, one), (2, two)):
        rounds = ", ".join(f"{r:.2f}" for r in rates[processes])
        print(f"{processes} process{'es' if processes > 1 else '  '}: {rate:6.2f} steps/s  (rounds: {rounds})")
    print(f"ratio 2 / 1 processes: {two / one:.2f}x  (cores on this machine: {os.cpu_count()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
