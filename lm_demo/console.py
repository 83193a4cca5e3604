"""What ``lm_demo.train`` and ``lm_demo.resume`` share: finding a saved config, and turning
bad input into one line on stderr and exit code 2."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from micro_config import ConfigError

STEP_RE = re.compile(r"^step_(\d+)$")  # a complete checkpoint folder's name
_warned: set[str] = set()


def warn(message: str) -> None:
    """One ``warning:`` line on stderr; the same warning is given once per process."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr, flush=True)


def fail(err: ConfigError | str) -> int:
    print(f"error: {err}", file=sys.stderr, flush=True)
    return 2


def guarded(body: Callable[[], Any]) -> int:
    """Run ``body``: 0 when it finishes, 2 with one line for bad input, 130 on Ctrl-C."""
    try:
        body()
    except ConfigError as err:
        return fail(err)
    except KeyboardInterrupt:
        print("\ninterrupted: continue with `python -m lm_demo.resume <snapshot>`", file=sys.stderr)
        return 130
    return 0


def take_option(args: list[str], name: str) -> tuple[str | None, list[str]]:
    """Remove ``name VALUE`` or ``name=VALUE`` from ``args``: ``(VALUE or None, rest)``."""
    rest: list[str] = []
    value: str | None = None
    items = iter(args)
    for arg in items:
        if arg == name:
            value = next(items, None)
            if value is None:
                raise ConfigError(f"{name} needs a path")
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1 :]
        else:
            rest.append(arg)
    return value, rest


def list_checkpoints(directory: str | os.PathLike[str]) -> list[Path]:
    """Complete checkpoint folders in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := STEP_RE.match(p.name))]
    return [path for _, path in sorted(found) if path.is_dir()]


def read_checkpoint_config(step_dir: Path) -> Any:
    """The ``TrainLoop`` in ``step_dir/config.yaml``; a ConfigError names the checkpoint."""
    from micro_config import load_snapshot
    from schemas import TrainLoop

    try:
        return load_snapshot(step_dir / "config.yaml", cls=TrainLoop)
    except ConfigError as exc:
        raise ConfigError(f"checkpoint {step_dir} has an unreadable config.yaml: {exc}") from None


def load_run_config(path: str | Path) -> Any:
    """The ``TrainLoop`` saved at ``path``, without importing torch: a snapshot file, a
    checkpoint folder's ``config.yaml``, or, for a folder of checkpoints, the config of its
    newest checkpoint whose ``config.yaml`` reads (falling back past others with a warning,
    as resuming does)."""
    from micro_config import load_snapshot
    from schemas import TrainLoop

    path = Path(path)
    if path.is_file():
        return load_snapshot(path, cls=TrainLoop)
    if (path / "config.yaml").is_file():
        return read_checkpoint_config(path)
    if not path.is_dir():
        raise ConfigError(f"no such snapshot or checkpoint folder: {path}")
    steps = [p for p in list_checkpoints(path) if (p / "config.yaml").is_file()]
    if not steps:
        raise ConfigError(f"no checkpoint with a config.yaml in {path}")
    for step in reversed(steps):
        try:
            return read_checkpoint_config(step)
        except ConfigError as exc:
            warn(f"{exc}; falling back to the previous checkpoint")
    raise ConfigError(f"no checkpoint in {path} has a readable config.yaml")
