"""Optimizer config (torch-free at import)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from micro_config import ConfigError, ConfigScript, MetaConfig

from .checks import check_float, check_int


@dataclass
class AdamWConfig(ConfigScript):
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
        check_float(self.lr, "lr", 0.0, float("inf"))
        check_float(self.weight_decay, "weight_decay", 0.0, float("inf"))
        if len(self.betas) != 2:
            raise ConfigError(f"must be two numbers, got {self.betas!r}", "betas")
        for index, beta in enumerate(self.betas):
            check_float(beta, f"betas.{index}", 0.0, 1.0, high_open=True)
        check_float(self.eps, "eps", 0.0, float("inf"))
        if self.grad_clip is not None:
            check_float(self.grad_clip, "grad_clip", 0.0, float("inf"))
        check_int(self.warmup_steps, "warmup_steps", 0)

    def unroll(self, metaconfig: MetaConfig) -> Callable[[Any], tuple[Any, Any]]:
        """A function ``model -> (optimizer, lr_scheduler)``."""
        import torch

        def build(model: torch.nn.Module) -> tuple[torch.optim.Optimizer, Any]:
            optimizer = torch.optim.AdamW(
                model.parameters(),
                lr=self.lr,
                weight_decay=self.weight_decay,
                betas=tuple(self.betas),
                eps=self.eps,
            )
            warmup = self.warmup_steps
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0
            )
            return optimizer, scheduler

        return build
