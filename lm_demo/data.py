"""Byte-level tokenizer and a dataset over wikitext-2-raw style text files."""

from __future__ import annotations

import os

import torch

from micro_config import ConfigError


class ByteTokenizer:
    """Text <-> UTF-8 bytes: a fixed vocabulary of 256, nothing to download or train."""

    vocab_size = 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, tokens: list[int]) -> str:
        return bytes(tokens).decode("utf-8", errors="replace")


def check_data_file(path: str, field: str = "f_path") -> None:
    """A ConfigError naming ``path`` when it is not a readable file (checked before any work)."""
    if not os.path.isfile(path):
        what = "is a folder, not a file" if os.path.isdir(path) else "not found"
        raise ConfigError(f"data file {what}: {path}", field)


class WikitextDataset(torch.utils.data.Dataset):
    """A text file cut into consecutive, non-overlapping chunks of ``max_len`` byte tokens.

    Works on the real ``wikitext-2-raw/wiki.train.raw`` and on the tiny corpus shipped with
    the demo. The whole file is held as one int64 tensor of shape ``(len(self), max_len)``,
    so a batch is one indexing operation.
    """

    def __init__(self, path: str, max_len: int) -> None:
        check_data_file(path)
        if max_len < 2:
            raise ConfigError(f"must be at least 2, got {max_len}", "max_len")
        self.path = path
        self.max_len = max_len
        self.tokenizer = ByteTokenizer()
        with open(path, "rb") as file:
            raw = file.read()
        count = len(raw) // max_len
        if count == 0:
            raise ConfigError(
                f"{path} holds {len(raw)} bytes, fewer than one chunk of max_len={max_len}",
                "f_path",
            )
        flat = torch.frombuffer(bytearray(raw[: count * max_len]), dtype=torch.uint8)
        self.chunks = flat.view(count, max_len).long()

    def __len__(self) -> int:
        return self.chunks.shape[0]

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.chunks[index]
