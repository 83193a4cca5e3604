"""Cheap value checks for the demo schemas: they run in ``__post_init__`` (so a bad override
fails at once, before torch is imported) and raise a ConfigError naming the field."""

from __future__ import annotations

import os
from typing import Any

from micro_config import ConfigError


def check_int(value: Any, field: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"must be an integer >= {minimum}, got {value!r}", field)


def check_optional_int(value: Any, field: str, minimum: int) -> None:
    if value is not None:
        check_int(value, field, minimum)


def check_float(
    value: Any, field: str, low: float, high: float, *, high_open: bool = False
) -> None:
    """``low <= value <= high`` (``< high`` when ``high_open``); ints are accepted."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        ok = low <= value < high if high_open else low <= value <= high
    if not ok:
        bound = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ConfigError(f"must be a number in {bound}, got {value!r}", field)


def check_file(path: str, field: str) -> None:
    """A ConfigError naming ``path`` unless it is an existing file."""
    if not os.path.isfile(path):
        what = "is a folder, not a file" if os.path.isdir(path) else "not found"
        raise ConfigError(f"data file {what}: {path}", field)
