"""Where a command's A and B come from: a snapshot path, a checkpoint folder or a
``module:attr`` / ``file.py:attr`` reference, read as normalised data (:func:`load_source`, no
class imported) or rebuilt under the snapshot safety rules (:func:`rebuild`) with the packages
``validate`` and ``code`` allow (``--allow``, ``$MICRO_CONFIG_ALLOW``, the project's own)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..paths import project_root
from ..snapshot.files import in_file, read_data, read_text, snapshot_file, snapshot_format
from .refs import importable_cwd, is_ref, load_ref

ALLOW_ENV = "MICRO_CONFIG_ALLOW"

# ---------------------------------------------------------------- resolving A and B


def load_source(spec: str) -> tuple[Any, dict[str, Any]]:
    """``(tree, meta)`` as normalised data for a command-line argument (a PATH that does not
    exist here is also tried relative to the project root)."""
    if is_ref(spec) and not os.path.lexists(project_root() / spec):
        return read_data(load_ref(spec))
    return read_data(Path(spec), from_root=True)


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def allowed_packages(given: Sequence[str] | None) -> tuple[str, ...]:
    """``--allow`` values and ``$MICRO_CONFIG_ALLOW``, each comma-separated, empties dropped."""
    raw = [*(given or ()), os.environ.get(ALLOW_ENV, "")]
    return tuple(dict.fromkeys(p.strip() for item in raw for p in item.split(",") if p.strip()))


def project_packages(root: Path | None = None) -> tuple[str, ...]:
    """The project's own packages, allowed by default: the folders of the project root
    (:func:`micro_config.paths.project_root`) that hold an ``__init__.py``, except names of
    the standard library. Anything else (stdlib, site-packages) still needs ``--allow``."""
    root = project_root() if root is None else root
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return ()
    return tuple(
        name for name in entries
        if name.isidentifier() and name not in sys.stdlib_module_names
        and (root / name / "__init__.py").is_file()
    )


def importable_root() -> None:
    """Let the project's own packages import from a sub-folder, too."""
    root = str(project_root())
    if root not in sys.path:
        sys.path.insert(1 if sys.path and sys.path[0] in ("", os.getcwd()) else 0, root)


def rebuild(spec: str, allow: tuple[str, ...]) -> tuple[Any, list[str]]:
    """Rebuild the classes under the snapshot safety rules; return the root and the warnings."""
    from ..snapshot.dump import to_data
    from ..snapshot.load import from_data, from_json, from_yaml

    importable_cwd()
    importable_root()
    recorder = _Recorder()
    logger = logging.getLogger("micro_config")
    logger.addHandler(recorder)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if is_ref(spec) and not os.path.lexists(project_root() / spec):
                obj = load_ref(spec)
                package = type(obj).__module__.partition(".")[0]
                root = from_data(to_data(obj), allow_modules=(package, *allow))
            else:
                path = snapshot_file(Path(spec), from_root=True)
                parse = from_yaml if snapshot_format(path) == "yaml" else from_json
                text = read_text(path)
                try:
                    root = parse(text, allow_modules=allow)
                except ConfigError as err:
                    err.message = _cli_wording(err.message)
                    raise in_file(err, path) from None
    finally:
        logger.removeHandler(recorder)
    return root, [str(w.message) for w in caught] + recorder.messages


def _cli_wording(message: str) -> str:
    """The loader's advice names its keyword; on the command line it is the --allow option."""
    return re.sub(r"allow_modules=\('([\w.]+)',\)", r"--allow \1", message)



def rebuild_allowed(args: argparse.Namespace) -> tuple[Any, list[str], tuple[str, ...]]:
    """:func:`rebuild` of ``args.a`` under the rules of ``validate`` (and ``code``): the
    packages ``--allow`` and ``$MICRO_CONFIG_ALLOW`` name, and the project's own unless
    ``--no-project``. Returns the root, the warnings and the project packages it allowed."""
    allow = allowed_packages(args.allow)
    own = () if args.no_project else tuple(p for p in project_packages() if p not in allow)
    root, found = rebuild(args.a, (*allow, *own))
    return root, found, own


def add_allow_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow", action="append", metavar="PKG",
                   help="a package classes may be imported from (repeatable)")
    p.add_argument("--no-project", action="store_true",
                   help="do not allow the project's own packages by default")
