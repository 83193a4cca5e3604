"""Checkpoint folders: ``step_NNNNNN/`` holding model, optimizer, loop state and config.

A folder is written under a temporary dot-name and renamed when every file is on disk, so a
folder named ``step_NNNNNN`` is always complete (a crash leaves only a temporary folder,
which is ignored and cleaned up). Loading walks from the newest folder back, skipping (with a
warning) any that cannot be read, e.g. after disk corruption or a manual truncation.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from micro_config import ConfigError

from .console import warn

FILES = ("model.pt", "optim.pt", "state.pt", "config.yaml")
STEP_RE = re.compile(r"^step_(\d+)$")  # a complete checkpoint folder's name
ReadConfig = Callable[[Path], Any]  # a config file -> the config object it holds


class DriftRefused(ConfigError):
    """A saved config lacks fields of its class: resuming would not be exact."""


def list_checkpoints(directory: str | os.PathLike[str]) -> list[Path]:
    """Complete checkpoint folders in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := STEP_RE.match(p.name))]
    # a folder without any file of the demo's (what remove_checkpoints leaves of one that held
    # other files) is not a checkpoint
    return [path for _, path in sorted(found)
            if path.is_dir() and any((path / name).is_file() for name in FILES)]


def is_own(step_dir: Path) -> bool:
    """Whether ``step_dir`` holds only what the demo writes there (so it may delete it)."""
    if step_dir.is_symlink():  # a link to elsewhere: what is behind it is not the demo's to delete
        return False
    try:
        return all(child.name in FILES and child.is_file() for child in step_dir.iterdir())
    except OSError:
        return False


def read_config_strictly(file: Path, read_config: ReadConfig, allow_drift: bool) -> Any:
    """``read_config(file)``; fields the file lacks (taking their defaults now) are an error
    naming them unless ``allow_drift``: a resume is exact or refused. Warnings of the load (a
    migration, an allowed drift) are printed as the demo's other warnings: one line each, once."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = read_config(file)
    for note in caught:
        text = str(note.message)
        if text.startswith("schema drift") and not allow_drift:
            raise DriftRefused(
                f"{file}: {text.removeprefix('schema drift: ')}; a resume would not be exact: "
                "pass --allow-drift (allow_drift=True) to accept"
            )
        warn(text)  # one `warning:` line, once per process (a resume reads two files)
    return config


def read_checkpoint_config(step_dir: Path, read_config: ReadConfig, allow_drift: bool = True) -> Any:
    """The config in ``step_dir/config.yaml``; a ConfigError names the checkpoint."""
    try:
        return read_config_strictly(step_dir / "config.yaml", read_config, allow_drift)
    except DriftRefused:
        raise
    except ConfigError as exc:
        raise ConfigError(f"checkpoint {step_dir} has an unreadable config.yaml: {exc}") from None


def load_run_config(path: str | Path, read_config: ReadConfig, allow_drift: bool = True) -> Any:
    """The config saved at ``path``, without importing torch: a snapshot file, a checkpoint
    folder's ``config.yaml``, or, for a folder of checkpoints, the config of its newest
    checkpoint whose ``config.yaml`` reads (falling back past others with a warning, as
    resuming does). ``read_config`` reads one file (the entry points know the class)."""
    path = Path(path)
    if path.is_file():
        return read_config_strictly(path, read_config, allow_drift)
    if (path / "config.yaml").is_file():
        return read_checkpoint_config(path, read_config, allow_drift)
    if not path.is_dir():
        raise ConfigError(f"no such snapshot or checkpoint folder: {path}")
    steps = [p for p in list_checkpoints(path) if (p / "config.yaml").is_file()]
    if not steps:
        raise ConfigError(f"no checkpoint with a config.yaml in {path}")
    for step in reversed(steps):
        try:
            return read_checkpoint_config(step, read_config, allow_drift)
        except DriftRefused:
            raise
        except ConfigError as exc:
            warn(f"{exc}; falling back to the previous checkpoint")
    raise ConfigError(f"no checkpoint in {path} has a readable config.yaml")


@dataclass
class Checkpoint:
    path: Path
    model: dict[str, Any]
    optim: dict[str, Any]
    state: dict[str, Any]
    config: Any  # the TrainLoop the checkpoint was written by
    skipped: list[Path] = field(default_factory=list)  # newer ones found unreadable


def step_name(step: int) -> str:
    return f"step_{step:06d}"


def _save_file(obj: Any, path: Path) -> None:
    import torch

    with open(path, "wb") as file:
        torch.save(obj, file)
        file.flush()
        os.fsync(file.fileno())


def save_checkpoint(
    directory: str | os.PathLike[str],
    step: int,
    *,
    model: dict[str, Any],
    optim: dict[str, Any],
    state: dict[str, Any],
    config: Any,
    meta: dict[str, Any] | None = None,
    after_file: Callable[[], None] | None = None,
) -> Path:
    """Write ``directory/step_NNNNNN`` atomically and return its path (``after_file``: a
    test hook run once the first file is written, to stop a save half-way)."""
    from micro_config import save_snapshot

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / step_name(step)
    tmp = directory / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    _save_file(model, tmp / "model.pt")
    if after_file is not None:
        after_file()
    _save_file(optim, tmp / "optim.pt")
    _save_file(state, tmp / "state.pt")
    save_snapshot(config, tmp / "config.yaml", meta={"step": step, **(meta or {})})
    if final.exists():  # left by a run that fell back past it, or a run now restarted
        if not is_own(final):  # check_step_folders refused this at the start: a file added since
            shutil.rmtree(tmp, ignore_errors=True)
            raise ConfigError(f"{final} holds files the demo did not write: it is not replaced")
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(directory)
    return final


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_temporaries(directory: str | os.PathLike[str]) -> None:
    """Delete half-written folders left by a crash."""
    directory = Path(directory)
    if directory.is_dir():
        for path in directory.glob(".step_*.tmp-*"):
            shutil.rmtree(path, ignore_errors=True)


def prune(directory: str | os.PathLike[str], keep: int) -> None:
    """Keep the ``keep`` newest checkpoints (0: keep all)."""
    if keep > 0:
        remove_checkpoints(list_checkpoints(directory)[:-keep])


def remove_checkpoints(paths: list[Path]) -> None:
    """Delete checkpoint folders the demo wrote. One that holds anything else keeps those
    files (a warning says so) and loses the demo's own, so that it is no checkpoint any more:
    a later resume must not take it for the newest one."""
    for path in paths:
        if is_own(path):
            shutil.rmtree(path, ignore_errors=True)
            continue
        for name in FILES:
            with contextlib.suppress(OSError):
                (path / name).unlink()
        warn(f"kept {path} with only the files the demo did not write (it is no checkpoint now)")


def load_checkpoint(
    path: str | os.PathLike[str], read_config: ReadConfig, allow_drift: bool = False
) -> Checkpoint:
    """Read one checkpoint folder; a ConfigError says what is wrong with it."""
    import torch

    path = Path(path)
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        raise ConfigError(f"checkpoint {path} is incomplete: missing {', '.join(missing)}")
    try:
        loaded = {
            name: torch.load(path / f"{name}.pt", map_location="cpu", weights_only=True)
            for name in ("model", "optim", "state")
        }
    except Exception as exc:  # a truncated or corrupt file: torch raises various types
        raise ConfigError(f"checkpoint {path} is corrupt: {_first_line(exc)}") from None
    wrong = _wrong_shape(loaded)
    if wrong:  # it loads, but is not what the demo writes: as unreadable as a truncated file
        raise ConfigError(f"checkpoint {path} is corrupt: {wrong}")
    config = read_checkpoint_config(path, read_config, allow_drift)
    return Checkpoint(path, loaded["model"], loaded["optim"], loaded["state"], config)


STATE_KEYS = ("step", "epoch", "position", "order", "rng")  # what state.pt holds (tokens: later)


def _wrong_shape(loaded: dict[str, Any]) -> str:
    """What is not as the demo writes it in loaded ``model``/``optim``/``state`` ("" when all
    is): the dicts and keys the resume reads, checked before anything uses them."""
    model, optim, state = loaded["model"], loaded["optim"], loaded["state"]
    if not isinstance(model, dict):
        return f"model.pt holds a {type(model).__name__}, not a state dict"
    if not isinstance(optim, dict) or not all(isinstance(optim.get(k), dict) for k in ("optimizer", "scheduler")):
        return "optim.pt does not hold the optimizer's and the scheduler's state dicts"
    if not isinstance(state, dict) or any(k not in state for k in STATE_KEYS):
        return f"state.pt does not hold the loop's state ({', '.join(STATE_KEYS)})"
    numbers = [state["step"], state["epoch"], state["position"], state.get("tokens", 0)]
    if any(type(n) is not int for n in numbers) or state["step"] < 0:
        return "state.pt holds no step, epoch and position numbers"
    rng = state["rng"]
    if not isinstance(rng, dict) or any(k not in rng for k in ("python", "torch", "shuffle")):
        return "state.pt holds no random state (python, torch, shuffle)"
    return ""


def load_latest(
    directory: str | os.PathLike[str], read_config: ReadConfig, allow_drift: bool = False
) -> Checkpoint:
    """The newest readable checkpoint in ``directory``, falling back past unreadable ones."""
    candidates = list_checkpoints(directory)
    if not candidates:
        raise ConfigError(f"no checkpoint in {directory}")
    skipped: list[Path] = []
    for path in reversed(candidates):
        try:
            checkpoint = load_checkpoint(path, read_config, allow_drift)
        except DriftRefused:
            raise
        except ConfigError as exc:
            warn(f"{exc}; falling back to the previous checkpoint")
            skipped.append(path)
        else:
            checkpoint.skipped = skipped
            return checkpoint
    raise ConfigError(f"no complete checkpoint in {directory} (all {len(candidates)} unreadable)")


def check_same_folder(source: Path, home: Path) -> None:
    """A resumed run writes (and prunes) where its checkpoint is, never in another run's
    folder: refuse when ``source`` is not ``home`` (the config's ``save_checkpoint_dir``)."""
    if source.resolve() != home.resolve():
        raise ConfigError(
            f"is {home}, but the checkpoint to resume is in {source}; a resumed run continues "
            f"in the folder it reads from: set save_checkpoint_dir={source}",
            "save_checkpoint_dir",
        )


def check_no_newer(checkpoint: Checkpoint, home: Path, discard: bool) -> None:
    """Refuse to resume from a checkpoint older than a readable one in ``home`` (doing so
    deletes the newer ones) unless ``discard``; unreadable ones fallen back past are fine."""
    step = checkpoint.state["step"]
    unreadable = {p.name for p in checkpoint.skipped}  # in ``home`` too (check_same_folder)
    newer = [p for p in list_checkpoints(home) if step_of(p) > step and p.name not in unreadable]
    if newer and not discard:
        raise ConfigError(
            f"{home} holds {len(newer)} checkpoint(s) newer than step {step} "
            f"({', '.join(p.name for p in newer)}); resuming from {checkpoint.path.name} "
            "would delete them: pass --discard-newer (discard_newer=True) to do so, or copy "
            "the folder and resume from the copy"
        )


def _recorded_run(snapshot: Path, root: str) -> tuple[str, Path] | None:
    """The checkpoint folder a run's snapshot records, as written and resolved; None for a
    file that is no run's snapshot (or cannot be read)."""
    from micro_config import convert_path, read_meta

    try:
        before = read_meta(snapshot).get("checkpoint_dir")
    except ConfigError:
        return None
    return (before, Path(convert_path(before, root)).resolve()) if isinstance(before, str) else None


def check_snapshot_free(snapshot: Path, home: Path, root: str, overwrite: bool) -> None:
    """A run writes ``snapshot``: refuse when that would replace a file that is not a run's
    snapshot (hand-written YAML, a ``save_snapshot`` of yours) or, unless ``overwrite``, the
    snapshot of a run in another checkpoint folder (its record, and the command that resumes it)."""
    from .console import shown

    try:
        if not snapshot.exists():
            return
    except OSError:  # a name too long, say: check_writable says what is wrong with it
        return
    recorded = _recorded_run(snapshot, root)
    if recorded is None:
        raise ConfigError(
            f"{shown(snapshot)} is there and is no run's snapshot, so this run would replace it: "
            "set run_name (or snapshot_dir) to write the run's snapshot elsewhere",
            "run_name",
        )
    if recorded[1] != home.resolve() and not overwrite:
        raise ConfigError(
            f"{shown(snapshot)} records the run in {recorded[0]}: set run_name (or snapshot_dir) "
            "for this one, or pass --overwrite (overwrite=True) to point it at this run (that "
            "run's checkpoints are untouched)",
            "run_name",
        )


def note_snapshot_owner(snapshot: Path, home: Path, root: str) -> None:
    """Warn when the snapshot about to be rewritten described a run in another folder."""
    recorded = _recorded_run(snapshot, root) if snapshot.is_file() else None
    if recorded is not None and recorded[1] != home.resolve():
        warn(
            f"{snapshot} described the run in {recorded[0]}; it now describes this one "
            f"(that run's checkpoints are untouched)"
        )


def check_step_folders(home: Path, steps: set[int]) -> None:
    """Refuse a run that would write a ``step_NNNNNN`` folder (one of ``steps``) holding a file
    the demo did not write, or that is a link or a file: saving a checkpoint there would
    replace it."""
    if not home.is_dir():
        return
    for path in sorted(home.iterdir()):
        found = STEP_RE.match(path.name)
        if found is None or int(found.group(1)) not in steps or is_own(path):
            continue
        from .console import shown

        if path.is_symlink() or not path.is_dir():
            what = "a link" if path.is_symlink() else "a file"
            raise ConfigError(
                f"{shown(path)} is {what}, where this run writes a checkpoint folder: move it",
                "save_checkpoint_dir",
            )
        theirs = sorted(p.name for p in path.iterdir() if p.name not in FILES)
        raise ConfigError(
            f"{shown(path)} holds files the demo did not write ({', '.join(theirs[:3])}), and "
            "this run writes its checkpoints there: move them out of the folder first",
            "save_checkpoint_dir",
        )


LOCK_FILE = ".lm_demo.lock"  # in a checkpoint folder: which run writes there now (its pid)


class FolderLock:
    """A checkpoint folder held by the run writing in it: an exclusive ``flock`` on its
    :data:`LOCK_FILE`, which the system releases if the process dies (kill -9 included), so a
    second run started into the same folder (a command launched twice, a job requeued while the
    first still runs) is refused instead of both writing there."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    @classmethod
    def take(cls, home: Path) -> FolderLock:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): nothing to hold
            return cls(None)
        home.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"cannot open {home / LOCK_FILE}, which says which run writes this folder: "
                f"{exc.strerror or exc}", "save_checkpoint_dir"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            from .console import shown

            raise ConfigError(
                f"another run (pid {holder}) is writing in {shown(home)} now: wait for it to "
                "end, or set save_checkpoint_dir (and run_name) to another folder",
                "save_checkpoint_dir",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(fd)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock; the file stays (removing it would race)
            self.fd = None


def check_folder_free(home: Path, snapshot: Path, overwrite: bool) -> list[Path]:
    """A new run never silently replaces another run's checkpoints: a ConfigError naming the
    flag that overwrites them and the command that resumes them, unless ``overwrite``.
    Returns the checkpoints a new run will delete."""
    old = list_checkpoints(home)
    if old and not overwrite:
        from .console import launcher, shown

        raise ConfigError(
            f"{shown(home)} holds another run's checkpoints (newest {old[-1].name}): continue "
            f"it with `{' '.join(launcher())} -m lm_demo.resume {shown(home)}`, start over with --overwrite "
            "(overwrite=True; deletes them), or set save_checkpoint_dir (and run_name) to a "
            "new folder",
            "save_checkpoint_dir",
        )
    return old


class Checkpointer:
    """Writes a run's checkpoints and keeps its snapshot ``<snapshot_dir>/<run_name>.yaml``
    current (its ``meta`` says the status, the step and the newest checkpoint). ``config`` is
    saved as it is (the runtime never looks inside); ``meta`` is added to every file (run
    name, folder as configured, start time, command, world size). Only a writer (rank 0)
    touches the disk; the others call the same methods, which do nothing."""

    def __init__(
        self,
        directory: Path,
        config: Any,
        snapshot: Path,
        keep: int,
        meta: dict[str, Any],
        *,
        may_prune: bool = True,
        writer: bool = True,
    ) -> None:
        self.directory = directory
        self.config = config
        self.snapshot = snapshot
        self.keep = keep
        self.meta = meta
        self.may_prune = may_prune
        self.writer = writer
        self.last: Path | None = None

    def start_fresh(self, old: list[Path]) -> None:
        """Delete the ``old`` checkpoints a new run was allowed to overwrite."""
        if not self.writer:
            return
        if old:
            warn(f"new run (--overwrite): removing {len(old)} old checkpoint(s) from {self.directory}")
            remove_checkpoints(old)
        remove_temporaries(self.directory)

    def drop_stale(self, checkpoint: Checkpoint) -> None:
        """Drop what a resume from ``checkpoint`` makes stale: newer checkpoints (an abandoned
        future, or the unreadable ones fallen back past) and half-written folders."""
        if not self.writer:
            return
        step = checkpoint.state["step"]
        newer = [p for p in list_checkpoints(self.directory) if step_of(p) > step]
        if newer:
            warn(f"removing {len(newer)} checkpoint(s) newer than step {step}")
            remove_checkpoints(newer)
        remove_temporaries(self.directory)

    def save(
        self,
        step: int,
        model: Any,
        optimizer: Any,
        scheduler: Any,
        loop: dict,
        after_file: Callable[[], None] | None = None,
    ) -> Path:
        """Write ``step_NNNNNN`` (rank 0 only), prune, and point the snapshot at it."""
        self.last = self.directory / step_name(step)
        if not self.writer:
            return self.last
        optim = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
        self.last = save_checkpoint(
            self.directory,
            step,
            model=model.state_dict(),
            optim=optim,
            state=loop,
            config=self.config,
            meta=self._meta(),
            after_file=after_file,
        )
        if self.may_prune:
            prune(self.directory, self.keep)
        elif self.keep and len(list_checkpoints(self.directory)) > self.keep:
            warn(
                f"keeping every checkpoint in {self.directory}: it is outside the project root "
                "and was named by a file, not on the command line"
            )
        self.write_snapshot(step, "running")
        return self.last

    def write_snapshot(self, step: int, status: str) -> None:
        from micro_config import save_snapshot

        if not self.writer:
            return
        meta = {**self._meta(), "status": status, "step": step}
        if self.last is not None:
            meta["checkpoint"] = self.last.name
        save_snapshot(self.config, self.snapshot, meta=meta)

    def _meta(self) -> dict[str, Any]:
        return {**self.meta, "updated": now()}


def now() -> str:
    """UTC time to the second, as ``meta.created`` is written."""
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def step_of(path: Path) -> int:
    return int(path.name.split("_")[1])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
