"""Pieces of the training loop that are not the loop itself: RNG state, evaluation, metrics."""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


@dataclass
class RunResult:
    """What ``TrainLoop.unroll`` returns: the trained model and this process's logs."""

    model: torch.nn.Module
    step: int
    epoch: int
    train_log: list[dict[str, Any]] = field(default_factory=list)
    eval_log: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: Path | None = None


@dataclass
class Cursor:
    """Where the loop stands: optimizer steps taken, epoch, position in this epoch's
    shuffled ``order`` of chunks, and training tokens seen so far (the ``tokens`` log). With
    the RNG states it is all a resume needs."""

    step: int
    epoch: int
    position: int
    order: torch.Tensor
    tokens: int = 0

    @classmethod
    def start(cls, count: int, shuffle: torch.Generator) -> Cursor:
        return cls(0, 0, 0, torch.randperm(count, generator=shuffle))

    def next_batch(self, chunks: torch.Tensor, bsize: int, shuffle: torch.Generator) -> Any:
        """The next ``bsize`` chunks; a new epoch (reshuffled) when too few are left."""
        if self.position + bsize > len(self.order):
            self.epoch, self.position = self.epoch + 1, 0
            self.order = torch.randperm(len(self.order), generator=shuffle)
        indices = self.order[self.position : self.position + bsize]
        self.position += bsize
        return chunks[indices]

    def state_dict(self, shuffle: torch.Generator) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "position": self.position,
            "order": self.order,
            "tokens": self.tokens,
            "rng": rng_state(shuffle),
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], shuffle: torch.Generator, tokens_per_step: int
    ) -> Cursor:
        """The cursor saved in ``state``; every RNG is set back as it was at that moment.
        A checkpoint from before the token count was saved gets ``step * tokens_per_step``."""
        set_rng_state(state["rng"], shuffle)
        tokens = state.get("tokens", state["step"] * tokens_per_step)
        return cls(state["step"], state["epoch"], state["position"], state["order"], tokens)


def setup_torch(seed: int, deterministic: bool, num_threads: int | None) -> None:
    """Seed every generator the run draws from; make CPU kernels bitwise reproducible."""
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(deterministic)
    random.seed(seed)
    torch.manual_seed(seed)


def rng_state(shuffle: torch.Generator) -> dict[str, Any]:
    """Every RNG state the loop depends on: python ``random``, torch's global CPU generator
    (dropout, initialisation) and the loop's own shuffling generator."""
    return {
        "python": random.getstate(),
        "torch": torch.get_rng_state(),
        "shuffle": shuffle.get_state(),
    }


def set_rng_state(state: dict[str, Any], shuffle: torch.Generator) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(state["torch"])
    shuffle.set_state(state["shuffle"])


@torch.no_grad()
def evaluate(
    model: Any, chunks: torch.Tensor, bsize: int, max_batches: int | None, device: torch.device
) -> dict[str, float]:
    """Token-weighted mean loss over the first ``max_batches`` batches (all when None), in
    order and without dropout, so evaluating never touches a random generator."""
    was_training = model.training
    model.eval()
    total_loss = 0.0
    total_tokens = 0
    for index, start in enumerate(range(0, chunks.shape[0], bsize)):
        if max_batches is not None and index >= max_batches:
            break
        _, logs = model.get_loss(chunks[start : start + bsize].to(device))
        total_loss += logs["loss"] * logs["tokens"]
        total_tokens += logs["tokens"]
    model.train(was_training)
    loss = total_loss / max(total_tokens, 1)
    return {"eval_loss": loss, "eval_bits_per_byte": loss / math.log(2)}


class MetricsLog:
    """``metrics.jsonl``: one JSON object per line, per train step and per eval.

    On resume the lines after the checkpoint's step (written before a crash) are dropped, so
    the file always reads as one uninterrupted run.
    """

    def __init__(self, path: Path, keep_until: int | None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = (
            []
            if keep_until is None
            else [line for line in read_metrics(path) if line.get("step", 0) <= keep_until]
        )
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as file:
            file.writelines(json.dumps(record) + "\n" for record in kept)
        os.replace(tmp, path)
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, record: dict[str, Any]) -> None:
        self.file.write(json.dumps(record) + "\n")

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a metrics file; a line cut short by a crash is skipped."""
    if not os.path.exists(path):
        return []
    records = []
    with open(path, encoding="utf-8") as file:
        for line in file:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records
