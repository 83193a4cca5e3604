"""Small stand-in configs for the parse_args / deep_replace / convert / cli tests.

String annotations on purpose (``from __future__ import annotations``), so every test also
checks that annotations are resolved.
"""

from __future__ import annotations

import enum
import pathlib
from dataclasses import dataclass, field
from typing import Any, Literal

from micro_config import ConfigScript, ConfigScriptDict, ConfigScriptList, ModelConfigScript


class Act(enum.Enum):
    RELU = "relu"
    GELU = "gelu"


@dataclass
class WikiDataConfig(ConfigScript):
    f_path: str = "data/wikitext-2-raw/wiki.train.raw"
    max_len: int = 256

    def unroll(self, metaconfig: Any) -> Any:
        return ("dataset", self.f_path, self.max_len)


@dataclass
class TransformerConfig(ConfigScript):
    max_length: int = 256
    heads: int = 12
    hidden_dim: int = 768
    dropout: float = 0.1
    act: Act = Act.GELU
    dims: tuple[int, ...] = (1, 2)

    def unroll(self, metaconfig: Any) -> Any:
        return ("transformer", self.hidden_dim)


@dataclass
class LMModelConfig(ModelConfigScript):
    dataset: WikiDataConfig = field(default_factory=WikiDataConfig)
    transformer_config: TransformerConfig = field(default_factory=TransformerConfig)

    def unroll(self, metaconfig: Any) -> Any:
        return ("model", self.dataset.unroll(metaconfig), self.transformer_config.unroll(metaconfig))


@dataclass
class AdamWConfig(ConfigScript):
    lr: float = 1e-4
    weight_decay: float = 0.01

    def unroll(self, metaconfig: Any) -> Any:
        return ("adamw", self.lr)


@dataclass
class TrainLoop(ConfigScript):
    train_dataset: Any = None
    eval_dataset: Any = None
    model: Any = None
    optim: AdamWConfig | None = None
    epochs: int = 10
    bsize: int = 32
    save_checkpoint_dir: str = ""
    mode: Literal["train", "eval"] = "train"
    out: pathlib.Path | None = None
    opts: dict[str, float] = field(default_factory=lambda: {"a": 1.0})
    tags: list[str] = field(default_factory=list)

    def unroll(self, metaconfig: Any) -> Any:
        return (self.model.unroll(metaconfig), self.train_dataset.unroll(metaconfig))


@dataclass
class Heads(ConfigScript):
    heads: ConfigScriptDict[TransformerConfig] = field(default_factory=ConfigScriptDict)
    datasets: ConfigScriptList[WikiDataConfig] = field(default_factory=ConfigScriptList)
    layers: list[TransformerConfig] = field(default_factory=list)

    def unroll(self, metaconfig: Any) -> Any:
        return None


@dataclass(frozen=True)
class FrozenLeaf(ConfigScript):
    value: int = 0

    def unroll(self, metaconfig: Any) -> Any:
        return self.value


@dataclass(frozen=True)
class FrozenPair(ConfigScript):
    left: FrozenLeaf = field(default_factory=FrozenLeaf)
    right: FrozenLeaf = field(default_factory=FrozenLeaf)
    total: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", self.left.value + self.right.value)

    def unroll(self, metaconfig: Any) -> Any:
        return self.total


@dataclass
class Derived(ConfigScript):
    size: int = 2
    cache: Any = field(init=False, repr=False)  # set once by hand, not by __post_init__

    def unroll(self, metaconfig: Any) -> Any:
        return self.size


@dataclass
class Checked(ConfigScript):
    size: int = 1

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("size must be >= 0")

    def unroll(self, metaconfig: Any) -> Any:
        return self.size


@dataclass
class Node(ConfigScript):
    """Two fields that may hold the same child: the alias-bomb and hypothesis tests."""

    a: Any = None
    b: Any = None
    x: int = 0

    def unroll(self, metaconfig: Any) -> Any:
        return self.x


def walkthrough() -> TrainLoop:
    """The original README's tree: one dataset referenced by the model and the train loop."""
    train = WikiDataConfig(f_path="data/wikitext-2-raw/wiki.train.raw", max_len=256)
    evaluate = WikiDataConfig(f_path="data/wikitext-2-raw/wiki.valid.raw", max_len=256)
    model = LMModelConfig(dataset=train, transformer_config=TransformerConfig(max_length=256))
    return TrainLoop(
        train_dataset=train,
        eval_dataset=evaluate,
        model=model,
        optim=AdamWConfig(lr=1e-4, weight_decay=0.01),
        epochs=10,
        bsize=16,
        save_checkpoint_dir="outputs/lm_checkpoints",
    )
