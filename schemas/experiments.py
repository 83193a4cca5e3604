"""The demo's named experiments: functions returning a ``TrainLoop``, each a new tree per call.

Pick one with ``python -m lm_demo.train --config schemas.experiments:tiny [key=value ...]`` (or
``--config schemas/experiments.py:tiny``); ``python -m lm_demo.train --help`` lists them. Keep
your own the same way, in any module or ``.py`` file: a function returning a ``TrainLoop``.
"""

from __future__ import annotations

from micro_config import deep_replace

from . import default_train
from .train import TrainLoop

__all__ = ["default", "tiny", "wide"]


def default() -> TrainLoop:
    """The default run: 2 transformer blocks, 5 epochs (about a minute)."""
    return default_train()


def tiny() -> TrainLoop:
    """A smoke run of seconds: 1 tiny block, 32-byte chunks, 6 steps."""
    return deep_replace(
        default_train(),
        **{
            "train_dataset.max_len": 32,  # also model.dataset: the same node
            "eval_dataset.max_len": 32,
            "model.transformer_config": {
                "max_len": 32, "heads": 2, "hidden_dim": 32, "head_dim": 16,
                "intermediate_dim": 64, "num_blocks": 1,
            },
            "optim.warmup_steps": 2,
        },
        bsize=16,
        max_steps=6,
        eval_every=3,
        eval_batches=2,
        save_every=3,
        save_checkpoint_dir="checkpoints/tiny",
        run_name="tiny",
        progress=False,
    )


def wide() -> TrainLoop:
    """A wider, deeper model: 256 wide, 8 heads, 4 blocks, lr 1e-3."""
    return deep_replace(
        default_train(),
        **{
            "model.transformer_config": {
                "heads": 8, "hidden_dim": 256, "intermediate_dim": 1024, "num_blocks": 4,
            },
            "optim.lr": 1e-3,
        },
        save_checkpoint_dir="checkpoints/wide",
        run_name="wide",
    )
