"""Snapshot files: THE one layer that finds, reads and writes them.

A snapshot is a document ``{micro_config: 1, meta: {...}, config: <tree>}`` in YAML or JSON
(picked by the suffix: ``.yaml``/``.yml``/``.json``). Every reader goes through here:
:func:`snapshot_file` finds the file (a path, or the ``config.yaml``/``.yml``/``.json`` of a
checkpoint folder), :func:`read_text` reads it (regular files only, at most
:data:`~.format.SIZE_LIMIT` bytes, both checked before reading), the parser comes from
the suffix, and :func:`~.format.split_document` checks the version. :func:`load_snapshot`
rebuilds classes by the very path of ``from_yaml``/``from_json``; :func:`read_data` and
:func:`read_meta` give plain data for ``diff``/``show`` and never import a class.

``meta`` (written by :func:`save_snapshot`):

- ``created``: UTC time of the first write. A caller that re-saves a run's snapshot keeps the
  run's start time by passing it back: ``save_snapshot(cfg, path, meta={"created": old})``
  (e.g. ``read_meta(path)["created"]``); every key of ``meta=`` wins over the defaults.
- ``updated``: UTC time of this write (always now).
- ``argv``: the command as typed, without machine paths: ``["python", "-m", "pkg.mod", ...]``
  or ``["micro-config", ...]`` for a console script (:func:`typed_argv`); pass ``argv`` in
  ``meta=`` to record another form.
- ``git`` (``commit``, ``dirty``) inside a git work tree, ``versions`` of python, micro_config
  and (if the run imported it) torch, then whatever the caller adds.

Writing is atomic (a temporary file in the same folder, fsynced, then renamed). A temporary file
is named ``.<name>.<host>-<pid>.<random>.tmp``; a save removes those of its folder whose writer
process (on this host) is gone, so a killed save does not leave its file behind forever.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import os
import platform
import re
import socket
import stat
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MalformedFileError, short_repr
from ..tree import is_node
from .format import SIZE_LIMIT, split_document, unnamed_marker

SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}
FOLDER_FILES = ("config.yaml", "config.yml", "config.json")  # what a checkpoint folder holds
_GIT_TIMEOUT = 2.0


# ------------------------------------------------------------------ finding and reading


def snapshot_format(path: str | os.PathLike[str]) -> str:
    """``"yaml"`` or ``"json"``, from the suffix."""
    fmt = SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise MalformedFileError(f"{_named(path)}: not a snapshot (a snapshot file ends in .yaml, .yml or .json)")
    return fmt


def snapshot_file(path: str | os.PathLike[str], *, from_root: bool = False) -> Path:
    """The snapshot file ``path`` names: itself, or the config file of a checkpoint folder.
    ``from_root``: a relative path that does not exist here is also tried relative to the
    project root (:func:`micro_config.paths.project_root`), as the command line does."""
    try:
        return _snapshot_file(Path(path), from_root)
    except OSError as exc:  # a name too long for the system, a folder that cannot be listed
        raise ConfigError(f"{_named(path)}: cannot read it ({exc.strerror or exc})") from None


def _named(path: str | os.PathLike[str]) -> str:
    """A path as an error message shows it: cut in the middle past 200 characters."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:100]}...{text[-97:]}"


def _snapshot_file(given: Path, from_root: bool) -> Path:
    if from_root and not given.is_absolute() and not os.path.lexists(given):
        from ..paths import project_root

        there = project_root() / given
        if os.path.lexists(there):
            given = there
    if given.is_dir():
        for name in FOLDER_FILES:
            if (given / name).is_file():
                return given / name
        inside = _checkpoints_in(given)
        hint = f"; it holds checkpoint folders: name one, e.g. {given / inside[-1]}" if inside else ""
        raise ConfigError(f"{_named(given)}: not a checkpoint folder (a checkpoint folder holds "
                          f"{', '.join(FOLDER_FILES[:-1])} or {FOLDER_FILES[-1]}){hint}")
    snapshot_format(given)  # a wrong suffix is reported before the file is looked at
    if not os.path.lexists(given):
        raise ConfigError(f"{_named(given)}: no such file or folder (a snapshot or checkpoint folder)")
    return given


def read_text(path: str | os.PathLike[str]) -> str:
    """The UTF-8 text of a snapshot file. Anything that is not a regular file (a FIFO, a
    device, ``/dev/zero`` through a symlink) and a file over SIZE_LIMIT bytes are refused
    before a byte is read."""
    try:
        info = os.stat(path)  # follows symlinks: what would be read
    except FileNotFoundError:
        raise ConfigError(f"{_named(path)}: no such file or folder (a snapshot)") from None
    except OSError as exc:
        raise ConfigError(f"{_named(path)}: cannot read it ({exc.strerror or exc})") from None
    _check_regular(path, info)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the stat, opening cannot hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError(f"{_named(path)}: cannot read it ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as handle:
        _check_regular(path, os.fstat(handle.fileno()))  # the file actually opened
        data = handle.read(SIZE_LIMIT + 1)
    if len(data) > SIZE_LIMIT:
        raise _too_big(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedFileError(f"{_named(path)}: not UTF-8 text (byte {exc.start})") from None


def _check_regular(path: Any, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
        raise MalformedFileError(f"{_named(path)}: {kind}, not a snapshot file (only regular files are read)")
    if info.st_size > SIZE_LIMIT:
        raise _too_big(path)


def _too_big(path: Any) -> ConfigError:
    return MalformedFileError(f"{_named(path)}: larger than the {SIZE_LIMIT // 2**20} MB a snapshot file may be")


def in_file(exc: ConfigError, file: Path) -> ConfigError:
    """The error, its message naming the file (the path stays the path in the tree): how
    every error about a file's content is worded, by the library and the commands."""
    exc.message = f"{exc.message} (in {_named(file)})"
    exc.args = (exc._render(),)
    return exc


def read_document(path: str | os.PathLike[str], *, from_root: bool = False) -> tuple[Path, Any]:
    """``(file, data)``: a snapshot file parsed to plain data (cycles and depth checked)."""
    from .parse import parse_json, parse_yaml

    file = snapshot_file(path, from_root=from_root)
    parse = parse_yaml if snapshot_format(file) == "yaml" else parse_json
    text = read_text(file)
    try:
        return file, parse(text)
    except ConfigError as exc:
        raise in_file(exc, file) from None


def _checkpoints_in(folder: Path) -> list[str]:
    """The names of the checkpoint folders directly inside ``folder``, sorted (a run's folder
    of ``step_NNNNNN``: the last is the newest); bounded, for an error message only."""
    try:
        names = sorted(p.name for p in itertools.islice(folder.iterdir(), 10_000)
                       if any((p / name).is_file() for name in FOLDER_FILES))
    except OSError:
        return []
    return names


def read_data(source: Any, *, from_root: bool = False) -> tuple[Any, dict[str, Any]]:
    """``(tree, meta)`` as normalised data from a config object, a snapshot path, a
    checkpoint folder, or data that is already normalised. No class is imported."""
    if isinstance(source, str | os.PathLike):
        file, data = read_document(source, from_root=from_root)
        try:
            tree, meta = split_document(data)
            if type(tree) is not dict:  # an empty file, a list, a scalar: no config in it
                raise MalformedFileError(
                    f"not a config tree: the file holds {short_repr(tree)}, not a mapping "
                    "(a snapshot, or a config's fields)"
                )
            where = unnamed_marker(tree)  # diff, show and graph read these as names
            if where is not None:
                raise MalformedFileError("a class or kind is named by a string", where)
        except ConfigError as exc:
            raise in_file(exc, file) from None
        return tree, meta or {}
    if is_node(source):
        from .dump import to_data

        return to_data(source), {}
    if isinstance(source, dict | list):
        tree, meta = split_document(source)
        return tree, meta or {}
    raise ConfigError(
        f"cannot read {short_repr(source)} as a config: give a config object, a snapshot file "
        "(.yaml/.yml/.json) or a checkpoint folder"
    )


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``meta`` block of a snapshot (``{}`` for a bare tree); no class is imported."""
    return read_data(Path(path))[1]


def load_snapshot(
    path: str | os.PathLike[str],
    cls: type | None = None,
    *,
    allow_modules: Iterable[str] | str = (),
    strict: bool = True,
) -> Any:
    """Rebuild the config tree of a snapshot file (or of a checkpoint folder's config file)
    by the same path as :func:`micro_config.from_yaml` / ``from_json``; the safety rules and
    arguments are those of :func:`micro_config.from_data`. Errors name the file."""
    from .load import from_json, from_yaml

    file = snapshot_file(path)
    load = from_yaml if snapshot_format(file) == "yaml" else from_json
    text = read_text(file)
    try:
        return load(text, cls, allow_modules=allow_modules, strict=strict)
    except ConfigError as exc:
        raise in_file(exc, file) from None


# ------------------------------------------------------------------ provenance


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


def typed_argv(argv: list[str] | None = None) -> list[str]:
    """The command as a user typed it, without machine paths: the interpreter by its name
    (``python -m pkg.mod args``), a console script by its name (``micro-config args``), a
    script path relative to the current folder. ``argv`` defaults to ``sys.orig_argv``."""
    given = list(argv if argv is not None else getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    if not given:
        return []
    out = [os.path.basename(given[0]) or given[0]]
    rest = given[1:]
    i = 0
    while i < len(rest) and rest[i].startswith("-") and rest[i] not in ("-m", "-c", "-"):
        out.append(rest[i])  # interpreter options (-u, -O, -X dev ...)
        i += 1
    if i < len(rest) and rest[i] not in ("-m", "-c", "-"):
        script = rest[i]
        if os.path.isabs(script):
            inside_cwd = not os.path.relpath(script).startswith("..")
            if not inside_cwd:  # a console script (or a script elsewhere): by its name
                return [os.path.basename(script), *rest[i + 1 :]]
            script = os.path.relpath(script)
        out.append(script)
        i += 1
    return out + rest[i:]


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def provenance(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``meta`` block of a snapshot written now; ``extra`` (the caller's) wins, so
    ``{"created": ...}`` keeps a run's start time across re-saves."""
    from .. import __version__

    now = _now()
    meta: dict[str, Any] = {"created": now, "updated": now, "argv": typed_argv()}
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
        meta["updated"] = now
    return meta


# ------------------------------------------------------------------ writing


_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40] or "host"
_TEMP = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>[0-9]+)\.[A-Za-z0-9_]+\.tmp$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files a killed save left in ``folder``: only names of this
    module's own pattern, written on this host by a process that no longer runs."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _TEMP.match(name)
        if match is None or match["host"] != _HOST or _alive(int(match["pid"])):
            continue
        path = Path(folder) / name
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
                removed.append(path)
    return removed


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, flushed and fsynced, then ``os.replace``:
    a crash or an error half-way leaves the previous file as it was."""
    remove_stale_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{_HOST}-{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
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


def _main_classes(config: Any) -> list[str]:
    """Names of the classes in ``config`` defined in ``__main__`` (no other process has them)."""
    from ..tree import descendant_nodes

    return sorted({type(v).__qualname__ for v in descendant_nodes(config) if type(v).__module__ == "__main__"})


def save_snapshot(
    config: Any,
    path: str | os.PathLike[str],
    *,
    meta: Mapping[str, Any] | None = None,
    strict: bool = False,
    schema: str | os.PathLike[str] | None = None,
    record: bool = True,
) -> Path:
    """Write ``config`` as a snapshot document to ``path`` (YAML or JSON by suffix), creating
    parent folders, atomically. Returns the path. ``meta``: keys added to (or replacing) the
    provenance, see the module docstring; ``record=False`` writes ``meta`` alone, recording
    nothing of this process (``micro-config migrate`` keeps a run's own provenance). A config whose classes live in ``__main__`` cannot be
    loaded by any other process: a warning, or with ``strict=True`` a ConfigError. ``schema``:
    a JSON Schema URL or path, named in a first ``# yaml-language-server: $schema=`` line (YAML)."""
    from .dump import document_text

    target = Path(path)
    text = document_text(config, provenance(meta) if record else dict(meta or {}), snapshot_format(target))
    local = _main_classes(config)  # (after the dump, which refuses a cycle with its path)
    if local:
        message = (
            f"{target}: {', '.join(local[:3])} {'is' if len(local) == 1 else 'are'} defined in "
            "__main__ (the running script), so no other process can load this snapshot; put "
            "config classes in an importable module"
        )
        if strict:
            raise ConfigError(message)
        warnings.warn(message, stacklevel=2)
    if schema is not None:  # for editors (micro-config schema writes the schema)
        if snapshot_format(target) != "yaml" or "\n" in os.fspath(schema):
            raise ConfigError(f"{target}: only a YAML snapshot names its schema (a comment line; JSON has none)")
        text = f"# yaml-language-server: $schema={os.fspath(schema)}\n{text}"
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(target, text)
    return target
