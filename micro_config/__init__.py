"""micro_config: dataclass configs for deep learning, with exact, safe, diffable snapshots.

Importing this package is cheap and never imports torch, yaml or dacite: the serialization,
diff and command-line modules load on first use of one of their names.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import ConfigError
from .model import ConfigScriptModel, ModelConfigScript
from .paths import convert_path
from .script import (
    ConfigScript,
    ConfigScriptDict,
    ConfigScriptList,
    ConfigScriptNoCache,
    MetaConfig,
)

__version__ = "0.2.0"

# name -> module that defines it, imported on first access (PEP 562).
_LAZY = {
    "parse_args": "overrides",
    "deep_replace": "overrides",
    "describe": "script_cli",
    "cli": "script_cli",
    "to_data": "dump",
    "to_yaml": "dump",
    "to_json": "dump",
    "from_data": "load",
    "from_yaml": "load",
    "from_json": "load",
    "save_snapshot": "snapshot",
    "load_snapshot": "snapshot",
    "read_meta": "snapshot",
    "diff": "diffing",
    "Change": "diffing",
}

__all__ = [
    "ConfigError",
    "ConfigScript",
    "ConfigScriptDict",
    "ConfigScriptList",
    "ConfigScriptModel",
    "ConfigScriptNoCache",
    "MetaConfig",
    "ModelConfigScript",
    "convert_path",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'micro_config' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
