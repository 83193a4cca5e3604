"""What ``lm_demo.train`` and ``lm_demo.resume`` share: finding a saved config, and turning
bad input into one line on stderr and exit code 2."""

from __future__ import annotations

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


def config_file(path: str | Path) -> Path:
    """The snapshot a path stands for: the file itself, a checkpoint folder's ``config.yaml``,
    or, for a folder of checkpoints, the ``config.yaml`` of its newest one."""
    path = Path(path)
    if path.is_file():
        return path
    if (path / "config.yaml").is_file():
        return path / "config.yaml"
    if path.is_dir():
        steps = sorted(p for p in path.glob("step_*") if (p / "config.yaml").is_file())
        if steps:
            return steps[-1] / "config.yaml"
        raise ConfigError(f"no checkpoint with a config.yaml in {path}")
    raise ConfigError(f"no such snapshot or checkpoint folder: {path}")


def load_run_config(path: str | Path) -> Any:
    """The ``TrainLoop`` saved at ``path`` (see :func:`config_file`); no torch import."""
    from micro_config import load_snapshot
    from schemas import TrainLoop

    return load_snapshot(config_file(path), cls=TrainLoop)
