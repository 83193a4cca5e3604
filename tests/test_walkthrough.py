"""The original micro_config README's walkthrough, with our package and small stand-in objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from micro_config import (
    ConfigScript,
    ConfigScriptDict,
    ConfigScriptList,
    MetaConfig,
    ModelConfigScript,
    convert_path,
    deep_replace,
    parse_args,
)

LOADS: list[str] = []


class FakeDataset:
    def __init__(self, path: str, max_len: int) -> None:
        LOADS.append(path)
        self.path, self.max_len = path, max_len


@dataclass
class WikiDataConfig(ConfigScript):
    f_path: str = "data/wikitext-2-raw/wiki.train.raw"
    max_len: int = 256

    def unroll(self, metaconfig: MetaConfig) -> FakeDataset:
        return FakeDataset(convert_path(self.f_path), self.max_len)


@dataclass
class TransformerConfig(ConfigScript):
    max_len: int = 256
    heads: int = 12
    hidden_dim: int = 768

    def unroll(self, metaconfig: MetaConfig) -> dict[str, int]:
        return {"max_len": self.max_len, "heads": self.heads, "hidden_dim": self.hidden_dim}


@dataclass
class LMModelConfig(ModelConfigScript):
    dataset: WikiDataConfig = field(default_factory=WikiDataConfig)
    transformer_config: TransformerConfig = field(default_factory=TransformerConfig)

    def unroll(self, metaconfig: MetaConfig) -> dict[str, Any]:
        return {
            "dataset": self.dataset.unroll(metaconfig),
            "transformer": self.transformer_config.unroll(metaconfig),
            "device": self.device or metaconfig.device,
        }


@dataclass
class TrainLoop(ConfigScript):
    train_dataset: Any = None
    eval_dataset: Any = None
    model: Any = None
    epochs: int = 10
    bsize: int = 32
    extra_evals: ConfigScriptList = field(default_factory=ConfigScriptList)
    heads: ConfigScriptDict = field(default_factory=ConfigScriptDict)

    def unroll(self, metaconfig: MetaConfig) -> dict[str, Any]:
        return {
            "train": self.train_dataset.unroll(metaconfig),
            "eval": self.eval_dataset.unroll(metaconfig),
            "model": self.model.unroll(metaconfig),
            "extra": self.extra_evals.unroll(metaconfig),
            "heads": self.heads.unroll(metaconfig),
            "epochs": self.epochs,
            "bsize": self.bsize,
        }


def make_script() -> TrainLoop:
    train = WikiDataConfig(f_path="data/wikitext-2-raw/wiki.train.raw", max_len=256)
    evald = WikiDataConfig(f_path="data/wikitext-2-raw/wiki.valid.raw", max_len=256)
    model = LMModelConfig(dataset=train, transformer_config=TransformerConfig(hidden_dim=768))
    return TrainLoop(
        train_dataset=train,
        eval_dataset=evald,
        model=model,
        extra_evals=ConfigScriptList([evald]),
        heads=ConfigScriptDict({"lm": TransformerConfig(hidden_dim=64)}),
        epochs=10,
        bsize=16,
    )


def test_hierarchical_config_shares_the_dataset_loaded_once() -> None:
    LOADS.clear()
    out = make_script().unroll(MetaConfig(verbose=False, device="cpu"))
    assert out["train"] is out["model"]["dataset"]
    assert out["extra"][0] is out["eval"]
    assert len(LOADS) == 2  # train and valid, each once
    assert out["train"].path.endswith("data/wikitext-2-raw/wiki.train.raw")
    assert out["model"]["device"] == "cpu"
    assert out["heads"]["lm"]["hidden_dim"] == 64


def test_command_line_overrides_through_parse_args_and_deep_replace() -> None:
    argv = ["epochs=1", "bsize=16", "model.transformer_config.hidden_dim=256",
            "train_dataset.max_len=128"]
    script = make_script()
    new = deep_replace(script, **parse_args(argv))
    assert (new.epochs, new.bsize) == (1, 16)
    assert new.model.transformer_config.hidden_dim == 256
    assert new.model.dataset is new.train_dataset  # sharing survives the override
    assert new.train_dataset.max_len == 128
    assert new.eval_dataset is new.extra_evals[0]
    assert script.epochs == 10 and script.train_dataset.max_len == 256  # input untouched
    LOADS.clear()
    out = new.unroll(MetaConfig(verbose=False))
    assert out["train"] is out["model"]["dataset"] and out["train"].max_len == 128
    assert len(LOADS) == 2
