"""Resolve paths relative to the project root, so configs can keep portable relative paths."""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "MICRO_CONFIG_ROOT"
_ROOT_MARKERS = ("pyproject.toml", ".git")


def project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """``$MICRO_CONFIG_ROOT`` if set, else the nearest ancestor of ``start`` (default: cwd)
    holding ``pyproject.toml`` or ``.git``, else ``start`` itself."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).expanduser()
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in _ROOT_MARKERS):
            return folder
    return here


def convert_path(
    path: str | os.PathLike[str] | None, root: str | os.PathLike[str] | None = None
) -> str | None:
    """Turn a config path into an absolute one.

    ``None`` stays ``None``; ``~`` is expanded; an absolute path is returned unchanged;
    a relative path is joined to ``root`` if given, else to :func:`project_root`.
    Called at unroll time, so configs (and their snapshots) never hold machine paths.
    """
    if path is None:
        return None
    expanded = os.path.expanduser(os.fspath(path))
    if os.path.isabs(expanded):
        return expanded
    base = Path(root).expanduser() if root is not None else project_root()
    return str(base / expanded)
