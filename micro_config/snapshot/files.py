"""Snapshot files: a run's resolved config tree plus where it came from, written atomically.

A snapshot is a document ``{micro_config: 1, meta: {...}, config: <tree>}`` in YAML or JSON
(by suffix). ``meta`` records the UTC creation time, ``argv``, the git commit and dirty flag when
run inside a git work tree, the versions of python, micro_config and (if imported) torch, and
whatever the caller adds.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..tree import is_node
from .format import FORMAT_VERSION, TARGET

FOLDER_FILES = ("config.yaml", "config.yml", "config.json")  # what a checkpoint folder holds
_GIT_TIMEOUT = 2.0


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    raise ConfigError(f"{path}: a snapshot file ends in .yaml, .yml or .json")


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=_GIT_TIMEOUT
        )
    except (OSError, subprocess.SubprocessError):  # no git, or it hangs
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(cwd: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` for the git work tree holding ``cwd``, else None."""
    folder = Path(cwd) if cwd is not None else Path.cwd()
    commit = _git(["rev-parse", "HEAD"], folder)
    if not commit:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], folder)
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def provenance(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``meta`` block of a new snapshot; ``extra`` (the caller's) is added last."""
    from .. import __version__

    meta: dict[str, Any] = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(sys.argv),
    }
    git = git_state()
    if git is not None:
        meta["git"] = git
    versions = {"python": platform.python_version(), "micro_config": __version__}
    torch = sys.modules.get("torch")  # only when the run imported it: never import it here
    if torch is not None and hasattr(torch, "__version__"):
        versions["torch"] = str(torch.__version__)
    meta["versions"] = versions
    if extra:
        meta.update(extra)
    return meta


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, flushed and fsynced, then ``os.replace``:
    a crash or an error half-way leaves the previous file as it was."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _file_mode(path: Path) -> int:
    """The mode the file would get from a plain ``open`` (mkstemp makes it private)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def save_snapshot(
    config: Any,
    path: str | os.PathLike[str],
    *,
    meta: Mapping[str, Any] | None = None,
    schema: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``config`` as a snapshot document to ``path`` (YAML or JSON by suffix), creating
    parent folders, atomically. Returns the path. ``schema``: a JSON Schema URL or path, named
    in a first ``# yaml-language-server: $schema=`` line (YAML)."""
    from .dump import document_text

    target = Path(path)
    text = document_text(config, provenance(meta), _format(target), FORMAT_VERSION)
    if schema is not None:  # for editors (micro-config schema writes the schema)
        if _format(target) != "yaml" or "\n" in os.fspath(schema):
            raise ConfigError(f"{target}: only a YAML snapshot names its schema (a comment line; JSON has none)")
        text = f"# yaml-language-server: $schema={os.fspath(schema)}\n{text}"
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(target, text)
    return target


def snapshot_path(path: str | os.PathLike[str]) -> Path:
    """``path`` itself, or the config file inside a checkpoint folder."""
    given = Path(path)
    if given.is_dir():
        for name in FOLDER_FILES:
            if (given / name).is_file():
                return given / name
        raise ConfigError(f"{given}: a checkpoint folder holds {' or '.join(FOLDER_FILES)}")
    return given


def _read(path: str | os.PathLike[str]) -> tuple[Path, str]:
    file = snapshot_path(path)
    _format(file)  # a wrong suffix is reported before the file is read
    try:
        return file, file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such snapshot file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read it ({exc})") from None


def _parse(path: str | os.PathLike[str]) -> tuple[Path, Any]:
    from .parse import parse_json, parse_yaml

    file, text = _read(path)
    parse = parse_yaml if _format(file) == "yaml" else parse_json
    try:
        return file, parse(text)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc.message}", exc.path) from None


def load_snapshot(
    path: str | os.PathLike[str],
    cls: type | None = None,
    *,
    allow_modules: Iterable[str] | str = (),
    strict: bool = True,
) -> Any:
    """Rebuild the config tree of a snapshot file (or of a checkpoint folder's config file);
    the safety rules and arguments are those of :func:`micro_config.from_data`."""
    from .load import from_data
    from .parse import _parse_json, _parse_yaml

    file, text = _read(path)
    parse = _parse_yaml if _format(file) == "yaml" else _parse_json
    try:
        return from_data(parse(text), cls, allow_modules=allow_modules, strict=strict)
    except ConfigError as exc:
        exc.message = f"{exc.message} (in {file})"
        exc.args = (exc._render(),)
        raise


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``meta`` block of a snapshot (``{}`` for a bare tree); no class is imported."""
    file, data = _parse(path)
    if isinstance(data, dict) and "micro_config" in data and "config" in data:
        meta = data.get("meta")
        if meta is None:
            return {}
        if not isinstance(meta, dict):
            raise ConfigError(f"{file}: meta is not a mapping", "meta")
        return meta
    return {}


# ------------------------------------------- reading for diff/show (normalised data)

SNAPSHOT_SUFFIXES = (".yaml", ".yml", ".json")
CHECKPOINT_CONFIG = "config"  # + one of SNAPSHOT_SUFFIXES


def read_data(source: Any) -> tuple[Any, dict[str, Any]]:
    """``(tree, meta)`` as normalised data from a config object, a snapshot path (.yaml, .yml,
    .json), a checkpoint folder holding ``config.yaml``, or data that is already normalised.
    A snapshot of another format version is a ConfigError."""
    if isinstance(source, str | os.PathLike):
        return _read_file(Path(source))
    if is_node(source):
        from ..snapshot.dump import to_data

        return to_data(source), {}
    if isinstance(source, dict | list):
        return _unwrap(source)
    raise ConfigError(
        f"cannot diff a {type(source).__name__}: give a config object, a snapshot file "
        "(.yaml/.yml/.json) or a checkpoint folder"
    )


def snapshot_file(path: Path) -> Path:
    """The snapshot file ``path`` names: itself, or the ``config.yaml`` (``.yml``, ``.json``)
    of a checkpoint folder."""
    if path.is_dir():
        for suffix in SNAPSHOT_SUFFIXES:
            inner = path / f"{CHECKPOINT_CONFIG}{suffix}"
            if inner.is_file():
                return inner
        raise ConfigError(f"{path}: not a checkpoint folder (it holds no {CHECKPOINT_CONFIG}.yaml)")
    if path.suffix.lower() not in SNAPSHOT_SUFFIXES:
        raise ConfigError(f"{path}: not a snapshot (expected a .yaml, .yml or .json file)")
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder")
    return path


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read it ({err})") from None


def _read_file(path: Path) -> tuple[Any, dict[str, Any]]:
    from ..snapshot.parse import parse_json, parse_yaml

    path = snapshot_file(path)
    text = read_text(path)
    parse = parse_json if path.suffix.lower() == ".json" else parse_yaml
    try:
        data = parse(text)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    return _unwrap(data)


def _unwrap(data: Any) -> tuple[Any, dict[str, Any]]:
    """Split a snapshot document into its tree and meta; a bare tree has no meta."""
    if isinstance(data, dict) and "micro_config" in data and "config" in data and TARGET not in data:
        from ..snapshot.format import FORMAT_VERSION

        if data["micro_config"] != FORMAT_VERSION:
            raise ConfigError(
                f"snapshot format version {data['micro_config']!r} is not supported (this "
                f"micro_config reads version {FORMAT_VERSION})",
                "micro_config",
            )
        meta = data.get("meta")
        return data["config"], meta if isinstance(meta, dict) else {}
    return data, {}
