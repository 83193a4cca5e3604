"""How much does ``TrainLoop`` cost over a bare, hand-written loop on the same model and data?

Run: ``python bench/train_overhead.py`` (about 40 s on 2 idle CPU cores). Prints steps per second of
both loops, measured alternately in one process, their ratio (target >= 0.98), and the time
spent writing the config snapshot and a whole checkpoint.

Both loops run on one thread and are timed in CPU seconds of this process, so that other
work on the machine disturbs the ratio as little as possible (wall time on a busy 2-core
machine varies by several times from round to round). The TrainLoop figure comes from two runs of different lengths: their difference cancels the
fixed costs (loading data, building the model, the start and end snapshots and the final
checkpoint), leaving the per-step cost of the loop with its logging and metrics. Evaluation and
periodic checkpoints are pushed past the end of both runs (the final one-batch evaluation
cancels out); the progress bar is off so the output stays readable. The best of a few rounds
is reported, since other processes on the machine only ever slow a round down.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from lm_demo.checkpoint import save_checkpoint
from lm_demo.state import rng_state, setup_torch
from micro_config import MetaConfig, cli, save_snapshot
from schemas import TrainLoop, default_train

SHORT, LONG = 10, 60  # TrainLoop run lengths; the hand loop runs LONG - SHORT steps
ROUNDS = 3


def config_in(folder: Path, steps: int) -> TrainLoop:
    return cli(
        default_train(),
        [
            f"max_steps={steps}",
            "eval_every=1000000",
            "save_every=1000000",
            "eval_batches=1",
            "num_threads=1",
            "progress=false",
            f"save_checkpoint_dir={folder / 'ck'}",
            f"snapshot_dir={folder / 'snap'}",
        ],
    )


def timed_train_loop(folder: Path, steps: int) -> float:
    config = config_in(folder, steps)
    start = time.process_time()
    config.unroll(MetaConfig(verbose=False))
    return time.process_time() - start


def timed_hand_loop(folder: Path, steps: int) -> float:
    """The loop one would write by hand: same data, model, optimizer, shuffling and clipping."""
    config = config_in(folder, steps)
    metaconfig = MetaConfig(verbose=False)
    setup_torch(config.seed, config.deterministic, config.num_threads)
    chunks = config.train_dataset.unroll(metaconfig).chunks
    model = config.model.unroll(metaconfig)
    optimizer, scheduler = config.optim.unroll(metaconfig)(model)
    order = torch.randperm(len(chunks), generator=torch.Generator().manual_seed(config.seed))
    model.train()
    start = time.process_time()
    for step in range(steps):
        batch = chunks[order[step * config.bsize : (step + 1) * config.bsize]]
        loss, _ = model.get_loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip)
        optimizer.step()
        scheduler.step()
    return time.process_time() - start


def checkpoint_costs(folder: Path, repeats: int = 5) -> tuple[float, float]:
    """Mean seconds to write the snapshot alone, and a whole checkpoint folder."""
    config = config_in(folder, 1)
    metaconfig = MetaConfig(verbose=False)
    model = config.model.unroll(metaconfig)
    optimizer, scheduler = config.optim.unroll(metaconfig)(model)
    snap, whole = [], []
    for step in range(repeats):
        start = time.perf_counter()
        save_snapshot(config, folder / "snap" / "bench.yaml", meta={"step": step})
        snap.append(time.perf_counter() - start)
        start = time.perf_counter()
        save_checkpoint(
            folder / "ck",
            step,
            model=model.state_dict(),
            optim={"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
            state={"step": step, "rng": rng_state(torch.Generator())},
            config=config,
        )
        whole.append(time.perf_counter() - start)
    return statistics.mean(snap), statistics.mean(whole)


def main() -> int:
    steps = LONG - SHORT
    hand_rates, loop_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        timed_hand_loop(folder, 5)  # warm-up: first kernels, allocator
        for round_ in range(ROUNDS):
            hand_rates.append(steps / timed_hand_loop(folder, steps))
            long = timed_train_loop(folder / f"{round_}-long", LONG)
            per_run = long - timed_train_loop(folder / f"{round_}-short", SHORT)
            loop_rates.append(steps / per_run)
        snapshot_s, checkpoint_s = checkpoint_costs(folder)
    hand, loop = max(hand_rates), max(loop_rates)
    print(f"hand-written loop: {hand:7.2f} steps/s  (rounds: {_fmt(hand_rates)})")
    print(f"TrainLoop:         {loop:7.2f} steps/s  (rounds: {_fmt(loop_rates)})")
    ratio = loop / hand
    print(f"ratio TrainLoop / hand-written: {ratio:.3f}  (target >= 0.98)")
    print(
        f"per checkpoint: snapshot {snapshot_s * 1000:.1f} ms, whole checkpoint folder "
        f"{checkpoint_s * 1000:.1f} ms"
    )
    return 0


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
