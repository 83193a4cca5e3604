"""micro_config: dataclass configs for deep learning, with exact, safe, diffable snapshots.

Importing this package is cheap and never imports torch, yaml or dacite: the serialization,
diff and command-line modules load on first use of one of their names.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    ConfigError,
    ConflictError,
    MalformedFileError,
    RefusedClassError,
    UnknownFieldError,
    WrongTypeError,
)
from .model_script import ConfigScriptModel, ModelConfigScript
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
    "parse_args": "arguments",
    "deep_replace": "overrides",
    "describe": "commandline",
    "cli": "commandline",
    "to_data": "snapshot.dump",
    "to_yaml": "snapshot.dump",
    "to_json": "snapshot.dump",
    "from_data": "snapshot.load",
    "from_yaml": "snapshot.load",
    "from_json": "snapshot.load",
    "save_snapshot": "snapshot.files",
    "load_snapshot": "snapshot.files",
    "read_meta": "snapshot.files",
    "diff": "commands.diff",
    "Change": "commands.diff",
    "migration": "snapshot.migrate",
    "rename_fields": "snapshot.migrate",
    "renamed_from": "snapshot.migrate",
    "MigrationWarning": "snapshot.migrate",
}

__all__ = [
    "ConfigError",
    "ConflictError",
    "MalformedFileError",
    "RefusedClassError",
    "UnknownFieldError",
    "WrongTypeError",
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
