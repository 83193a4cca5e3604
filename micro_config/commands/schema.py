"""``micro-config schema module:Class [-o FILE]``: the JSON Schema (draft 2020-12) of the
snapshots of a config class, for editors (the YAML language server) and other tools.

``module:attr`` may name a config class, a config object, or a function returning one (as for
``diff``); only that module is imported.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError, did_you_mean
from ..tree import is_node
from .refs import importable_cwd

EXAMPLES = """\
examples:
  micro-config schema schemas.train:TrainLoop -o train.schema.json
  micro-config schema schemas:default_train --id https://example.org/train.schema.json

Point the YAML language server at it with a first line in the snapshot
  # yaml-language-server: $schema=train.schema.json
(save_snapshot(..., schema=...) writes that line), or in VS Code's settings:
  "yaml.schemas": {"train.schema.json": "snapshots/*.yaml"}"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "schema",
        help="the JSON Schema of a config class's snapshots",
        description="Write the JSON Schema (draft 2020-12) of snapshot documents and bare "
        "trees of a config class: every field with its type, nested classes by $ref, "
        "required fields, no unknown fields, descriptions from docstrings and comments.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", metavar="module:Class", help="a config class (or object, or function)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (atomically), not stdout")
    p.add_argument("--id", metavar="URL", help="the schema's $id")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..snapshot.schema_export import json_schema

    cls = config_class(args.spec)
    text = json.dumps(json_schema(cls, schema_id=args.id), indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_file(Path(args.output), text)
        print(f"wrote {args.output} (JSON Schema of {cls.__module__}.{cls.__qualname__})")
    return 0


def config_class(spec: str) -> type:
    """The class ``module:attr`` names: the attribute when it is a class, else the class of the
    config object it is (or that calling it returns)."""
    module_name, colon, attr = spec.partition(":")
    if not colon or not module_name or not attr:
        raise ConfigError(f"{spec}: expected module:Class (e.g. schemas.train:TrainLoop)")
    importable_cwd()
    try:
        value: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ConfigError(f"{spec}: no module named {err.name!r}") from None
    except Exception as err:
        raise ConfigError(f"{spec}: importing {module_name} failed: {type(err).__name__}: {err}") from None
    for name in attr.split("."):
        if not hasattr(value, name):
            public = [n for n in dir(value) if not n.startswith("_")]
            raise ConfigError(f"{spec}: no {name!r} there{did_you_mean(name, public)}")
        value = getattr(value, name)
    if isinstance(value, type):
        return value
    if not is_node(value) and callable(value):
        try:
            value = value()
        except Exception as err:
            raise ConfigError(f"{spec}: calling it failed: {type(err).__name__}: {err}") from None
    if not is_node(value):
        raise ConfigError(f"{spec}: not a config class or config object")
    return type(value)


def write_file(path: Path, data: str | bytes) -> None:
    """Write via a temporary file in the same folder and ``os.replace``: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
