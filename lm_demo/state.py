"""Where a run stands and every random generator it draws from: what a checkpoint's
``state.pt`` holds, beside the model and optimizer states."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import torch


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


DEFAULT_THREADS = torch.get_num_threads()  # torch's own choice, before any run changed it


def setup_torch(seed: int, deterministic: bool, num_threads: int | None) -> None:
    """Seed every generator the run draws from; make CPU kernels bitwise reproducible. The
    thread count is set every time (None: torch's default), since it changes the float sums:
    a run in a process where an earlier run set another count still computes the same bits."""
    torch.set_num_threads(num_threads if num_threads is not None else DEFAULT_THREADS)
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


def reseed_rank(seed: int, rank: int) -> None:
    """After the model is built (the same on every rank), give each rank other than 0 its own
    torch generator, so dropout masks differ between ranks; rank 0 draws as one process does."""
    if rank > 0:
        torch.manual_seed(seed + 7919 * rank)


def set_rank_rng(state: dict[str, Any], rank: int) -> None:
    """Set this rank's torch generator back as saved (a checkpoint of several processes keeps
    every rank's); a rank the checkpoint did not have keeps its fresh seed."""
    by_rank = state.get("rng_by_rank")
    if by_rank and rank < len(by_rank) and rank > 0:
        torch.set_rng_state(by_rank[rank]["torch"])
