"""Model configs (torch-free at import; the module is built in ``unroll``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from micro_config import (
    ConfigError,
    ConfigScript,
    MetaConfig,
    ModelConfigScript,
    migration,
    rename_fields,
)

from .checks import check_float, check_int
from .data import WikiDataConfig

# The fields that fix the parameters' shapes: a checkpoint only fits a model that agrees on them.
SHAPE_FIELDS = ("max_len", "heads", "hidden_dim", "head_dim", "intermediate_dim", "num_blocks")


@dataclass
class TransformerConfig(ConfigScript):
    """Hyperparameters of the decoder-only transformer. ``head_dim`` is the size of one
    attention head, so ``hidden_dim`` need not divide by ``heads``.

    Version 2: ``attn_dim`` is now ``head_dim``, and the one ``dropout`` is now two rates (see
    the migration below, which reads version-1 snapshots)."""

    __version__ = 2
    max_len: int = 64
    heads: int = 4
    hidden_dim: int = 128
    head_dim: int = 32  # the size of one attention head
    intermediate_dim: int = 512
    num_blocks: int = 2
    attn_dropout: float = 0.1  # on the attention weights
    resid_dropout: float = 0.1  # on the embeddings and on each block's residual branches

    def __post_init__(self) -> None:
        check_int(self.max_len, "max_len", 2)
        for name in ("heads", "hidden_dim", "head_dim", "intermediate_dim", "num_blocks"):
            check_int(getattr(self, name), name, 1)
        for name in ("attn_dropout", "resid_dropout"):
            check_float(getattr(self, name), name, 0.0, 1.0, high_open=True)

    def unroll(self, metaconfig: MetaConfig) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


rename_fields(TransformerConfig, 1, attn_dim="head_dim")


@migration(TransformerConfig, 1)
def _split_dropout(fields: dict[str, Any]) -> None:
    """Version 1 had one ``dropout`` for both places: both rates keep it (the same model)."""
    if "dropout" in fields:  # absent: both rates take their defaults
        fields["attn_dropout"] = fields["resid_dropout"] = fields.pop("dropout")


@dataclass
class LMModelConfig(ModelConfigScript):
    """The language model: its tokenizer comes from ``dataset``, its shape from
    ``transformer_config``. In the default tree ``dataset`` is the training dataset itself."""

    dataset: WikiDataConfig = field(default_factory=WikiDataConfig)
    transformer_config: TransformerConfig = field(default_factory=TransformerConfig)

    def __post_init__(self) -> None:
        check_max_len(self.dataset, self.transformer_config, "dataset.max_len")

    def unroll(self, metaconfig: MetaConfig) -> Any:
        dataset = self.dataset.unroll(metaconfig)
        hparams = self.transformer_config.unroll(metaconfig)
        from lm_demo.transformer import LMModel

        module = LMModel(vocab_size=dataset.tokenizer.vocab_size, **hparams)
        return self.place_and_load(module, metaconfig)


def check_max_len(data: WikiDataConfig, transformer: TransformerConfig, field_path: str) -> None:
    """A dataset's chunks must fit the model's learned positions."""
    if data.max_len > transformer.max_len:
        raise ConfigError(
            f"{data.max_len} is longer than model.transformer_config.max_len="
            f"{transformer.max_len}; raise that too",
            field_path,
        )
