"""Config schemas of the LM demo. Importing them never imports torch.

``default_train()`` is the default run: a small transformer LM on the shipped corpus, with the
training dataset shared between ``train_dataset`` and ``model.dataset``.
"""

from __future__ import annotations

from .data import TRAIN_FILE, VALID_FILE, WikiDataConfig
from .model import LMModelConfig, TransformerConfig
from .optim import AdamWConfig
from .train import TrainLoop

__all__ = [
    "AdamWConfig",
    "LMModelConfig",
    "TrainLoop",
    "TransformerConfig",
    "WikiDataConfig",
    "default_train",
]


def default_train() -> TrainLoop:
    """The default config tree (a new one on every call)."""
    max_len = 64
    train_dataset = WikiDataConfig(f_path=TRAIN_FILE, max_len=max_len)
    eval_dataset = WikiDataConfig(f_path=VALID_FILE, max_len=max_len)
    model = LMModelConfig(
        dataset=train_dataset,  # the same object: loaded once, written once in snapshots
        transformer_config=TransformerConfig(
            max_len=max_len,
            heads=4,
            hidden_dim=128,
            head_dim=32,
            intermediate_dim=512,
            num_blocks=2,
            attn_dropout=0.1,
            resid_dropout=0.1,
        ),
    )
    return TrainLoop(
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        model=model,
        optim=AdamWConfig(lr=3e-3, weight_decay=0.01, betas=(0.9, 0.99), warmup_steps=50),
        epochs=5,
        bsize=32,
        seed=0,
        eval_every=100,
        save_every=200,
        save_checkpoint_dir="checkpoints/run",
        snapshot_dir="snapshots",
        run_name="run",
    )
