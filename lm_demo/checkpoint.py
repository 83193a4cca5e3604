"""Checkpoint folders: ``step_NNNNNN/`` holding model, optimizer, loop state and config.

A folder is written under a temporary dot-name and renamed when every file is on disk, so a
folder named ``step_NNNNNN`` is always complete (a crash leaves only a temporary folder,
which is ignored and cleaned up). Loading walks from the newest folder back, skipping (with a
warning) any that cannot be read, e.g. after disk corruption or a manual truncation.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from micro_config import ConfigError

from .cli import list_checkpoints, read_checkpoint_config, warn

FILES = ("model.pt", "optim.pt", "state.pt", "config.yaml")


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
) -> Path:
    """Write ``directory/step_NNNNNN`` atomically and return its path."""
    from micro_config import save_snapshot

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / step_name(step)
    tmp = directory / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    _save_file(model, tmp / "model.pt")
    _save_file(optim, tmp / "optim.pt")
    _save_file(state, tmp / "state.pt")
    save_snapshot(config, tmp / "config.yaml", meta={"step": step, **(meta or {})})
    if final.exists():  # left by a run that fell back past it, or a run now restarted
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
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read one checkpoint folder; a ConfigError says what is wrong with it."""

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
    config = read_checkpoint_config(path)
    return Checkpoint(path, loaded["model"], loaded["optim"], loaded["state"], config)


def load_latest(directory: str | os.PathLike[str]) -> Checkpoint:
    """The newest readable checkpoint in ``directory``, falling back past unreadable ones."""
    candidates = list_checkpoints(directory)
    if not candidates:
        raise ConfigError(f"no checkpoint in {directory}")
    skipped: list[Path] = []
    for path in reversed(candidates):
        try:
            checkpoint = load_checkpoint(path)
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


def note_snapshot_owner(snapshot: Path, home: Path, convert: Callable[[str], Any]) -> None:
    """Warn when the snapshot about to be rewritten described a run in another folder."""
    from micro_config import read_meta

    if not snapshot.is_file():
        return
    try:
        before = read_meta(snapshot).get("checkpoint_dir")
    except ConfigError:
        return
    if isinstance(before, str) and Path(convert(before)).resolve() != home.resolve():
        warn(
            f"{snapshot} described the run in {before}; it now describes this one "
            f"(that run's checkpoints are untouched)"
        )


class Checkpointer:
    """Writes a run's checkpoints and keeps its snapshot ``<snapshot_dir>/<run_name>.yaml``
    current (its ``meta`` says the status, the step and the newest checkpoint)."""

    def __init__(self, directory: Path, config: Any, snapshot: Path, keep: int) -> None:
        self.directory = directory
        self.config = config
        self.snapshot = snapshot
        self.keep = keep
        self.meta = {"run_name": config.run_name, "checkpoint_dir": config.save_checkpoint_dir}
        self.last: Path | None = None

    def start_fresh(self) -> None:
        old = list_checkpoints(self.directory)
        if old:
            warn(f"new run: removing {len(old)} old checkpoint(s) from {self.directory}")
            remove_checkpoints(old)
        remove_temporaries(self.directory)

    def load_states(
        self, checkpoint: Checkpoint, model: Any, optimizer: Any, scheduler: Any
    ) -> None:
        """Load the checkpoint's states; deletes nothing (see :meth:`drop_stale`)."""
        try:
            model.load_state_dict(checkpoint.model)
            optimizer.load_state_dict(checkpoint.optim["optimizer"])
            scheduler.load_state_dict(checkpoint.optim["scheduler"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ConfigError(
                f"checkpoint {checkpoint.path} does not fit this run: {_first_line(exc)}"
            ) from None
        self.last = checkpoint.path

    def drop_stale(self, checkpoint: Checkpoint) -> None:
        """Drop what a resume from ``checkpoint`` makes stale: newer checkpoints (an abandoned
        future, or the unreadable ones fallen back past) and half-written folders."""
        step = checkpoint.state["step"]
        newer = [p for p in list_checkpoints(self.directory) if step_of(p) > step]
        if newer:
            warn(f"removing {len(newer)} checkpoint(s) newer than step {step}")
            remove_checkpoints(newer)
        remove_temporaries(self.directory)

    def save(self, step: int, model: Any, optimizer: Any, scheduler: Any, loop: dict) -> Path:
        optim = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
        self.last = save_checkpoint(
            self.directory,
            step,
            model=model.state_dict(),
            optim=optim,
            state=loop,
            config=self.config,
            meta=self.meta,
        )
        prune(self.directory, self.keep)
        self.write_snapshot(step, "running")
        return self.last

    def write_snapshot(self, step: int, status: str) -> None:
        from micro_config import save_snapshot

        meta = {**self.meta, "status": status, "step": step}
        if self.last is not None:
            meta["checkpoint"] = self.last.name
        save_snapshot(self.config, self.snapshot, meta=meta)


def step_of(path: Path) -> int:
    return int(path.name.split("_")[1])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
