"""Dataset configs (torch-free at import; the dataset is built in ``unroll``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from micro_config import ConfigScript, MetaConfig

from .checks import check_file, check_int

TRAIN_FILE = "lm_demo/data/wikitext-tiny/wiki.train.raw"
VALID_FILE = "lm_demo/data/wikitext-tiny/wiki.valid.raw"


@dataclass
class WikiDataConfig(ConfigScript):
    """A wikitext-2-raw style file cut into chunks of ``max_len`` byte tokens.

    ``f_path`` stays relative (portable snapshots) and is resolved against the project root
    at unroll. Point it at the real ``wikitext-2-raw/wiki.train.raw`` to train on wikitext.
    """

    f_path: str = TRAIN_FILE
    max_len: int = 64

    def __post_init__(self) -> None:
        check_int(self.max_len, "max_len", 2)

    def check(self, metaconfig: MetaConfig) -> None:
        """Fail fast (no torch import) when the file is missing."""
        check_file(metaconfig.convert_path(self.f_path), "f_path")

    def unroll(self, metaconfig: MetaConfig) -> Any:
        self.check(metaconfig)
        from lm_demo.data import WikitextDataset

        return WikitextDataset(metaconfig.convert_path(self.f_path), self.max_len)
