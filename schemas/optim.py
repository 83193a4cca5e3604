"""Optimizer configs (torch-free at import): AdamW, AdamW with a cosine decay, SGD with momentum.

Each unrolls to a function ``model -> (optimizer, lr_scheduler)``; ``grad_clip`` (max global
grad norm, None: off) is applied by the training loop. Schedules are fixed in steps, never in
the run's length, so extending a run on resume trains exactly as if it had been that long.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Optional

from micro_config import ConfigError, ConfigScript, MetaConfig

from .checks import check_float, check_int


class OptimizerConfig(ConfigScript):
    """What the optimizer configs share: a linear warm-up to ``lr`` over ``warmup_steps``
    (then constant; a subclass may change :meth:`lr_factor`) and the unroll."""

    lr: float
    grad_clip: float | None
    warmup_steps: int

    def check_common(self) -> None:
        check_float(self.lr, "lr", 0.0, float("inf"))
        if self.grad_clip is not None:
            check_float(self.grad_clip, "grad_clip", 0.0, float("inf"))
        check_int(self.warmup_steps, "warmup_steps", 0)

    @abstractmethod
    def optimizer(self, params: Iterable[Any]) -> Any:
        """The torch optimizer over ``params``, at the full rate ``lr``."""

    def lr_factor(self, step: int) -> float:
        """The factor of ``lr`` at optimizer step ``step`` (0-based)."""
        warmup = self.warmup_steps
        return min(1.0, (step + 1) / warmup) if warmup else 1.0

    def unroll(self, metaconfig: MetaConfig) -> Callable[[Any], tuple[Any, Any]]:
        """A function ``model -> (optimizer, lr_scheduler)``."""

        def build(model: Any) -> tuple[Any, Any]:
            import torch

            optimizer = self.optimizer(model.parameters())
            factor = self.lr_factor  # in a lambda: the scheduler's state_dict leaves it out
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: factor(step))
            return optimizer, scheduler

        return build


@dataclass
class AdamWConfig(OptimizerConfig):
    """AdamW with a linear warm-up to ``lr`` over ``warmup_steps``, then constant.

    The schedule does not depend on the run's length, so extending a run on resume trains
    exactly as if it had been that long from the start. ``grad_clip`` (max global grad norm,
    None: off) is applied by the training loop.
    """

    lr: float = 3e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = 1e-8
    grad_clip: Optional[float] = 1.0  # noqa: UP045 - users read this signature
    warmup_steps: int = 50

    def __post_init__(self) -> None:
        self.check_common()
        check_float(self.weight_decay, "weight_decay", 0.0, float("inf"))
        if len(self.betas) != 2:
            raise ConfigError(f"must be two numbers, got {self.betas!r}", "betas")
        for index, beta in enumerate(self.betas):
            check_float(beta, f"betas.{index}", 0.0, 1.0, high_open=True)
        check_float(self.eps, "eps", 0.0, float("inf"))

    def optimizer(self, params: Iterable[Any]) -> Any:
        import torch

        return torch.optim.AdamW(
            params, lr=self.lr, weight_decay=self.weight_decay, betas=tuple(self.betas), eps=self.eps
        )


@dataclass
class CosineAdamWConfig(AdamWConfig):
    """AdamW whose rate, after the warm-up, falls along a half cosine from ``lr`` to
    ``lr * min_ratio`` over the next ``decay_steps`` steps, then stays there."""

    decay_steps: int = 1000
    min_ratio: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self.decay_steps, "decay_steps", 1)
        check_float(self.min_ratio, "min_ratio", 0.0, 1.0)

    def lr_factor(self, step: int) -> float:
        if step < self.warmup_steps:
            return super().lr_factor(step)
        done = min(1.0, (step - self.warmup_steps) / self.decay_steps)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * done))


@dataclass
class SGDConfig(OptimizerConfig):
    """SGD with momentum (``nesterov``: Nesterov's), the same warm-up as AdamW, then constant."""

    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    grad_clip: Optional[float] = 1.0  # noqa: UP045 - users read this signature
    warmup_steps: int = 50

    def __post_init__(self) -> None:
        self.check_common()
        check_float(self.momentum, "momentum", 0.0, 1.0, high_open=True)
        check_float(self.weight_decay, "weight_decay", 0.0, float("inf"))
        if self.nesterov and self.momentum == 0:
            raise ConfigError("Nesterov momentum needs momentum > 0", "nesterov")

    def optimizer(self, params: Iterable[Any]) -> Any:
        import torch

        return torch.optim.SGD(
            params,
            lr=self.lr,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
        )
