"""The demo's console: warnings and errors as one line on stderr, exit codes, options taken
from the command line, paths shown and found the way a user types them. Knows no config class."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from micro_config import ConfigError
from micro_config.commandline import HELP, unknown_option

_warned: set[str] = set()


class Stopped(KeyboardInterrupt):
    """Ctrl-C inside a run, carrying the advice that fits the moment (resume or restart)."""

    def __init__(self, advice: str) -> None:
        super().__init__(advice)
        self.advice = advice


def first_process() -> bool:
    """Whether this is rank 0 of a torchrun job (or the only process): the one that talks."""
    return os.environ.get("RANK", "0") == "0"


def warn(message: str) -> None:
    """One ``warning:`` line on stderr; the same warning is given once per process, and by
    rank 0 only (every rank makes the same checks)."""
    if message not in _warned and first_process():
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr, flush=True)


def fail(err: ConfigError | str) -> int:
    """Print ``error: ...`` (one line) and return 2. An error every rank agreed on (see
    ``Dist.agree``) is printed by rank 0 only; one a single rank met, by that rank."""
    if first_process() or not getattr(err, "agreed", False):
        print("error: " + str(err).replace("\n", " "), file=sys.stderr, flush=True)
    return 2


def guarded(body: Callable[[], Any]) -> int:
    """Run ``body``: 0 when it finishes, 2 with one line for bad input, 130 on Ctrl-C."""
    try:
        body()
    except ConfigError as err:
        return fail(err)
    except KeyboardInterrupt as stop:
        if first_process():
            advice = getattr(stop, "advice", "interrupted")
            print(f"\n{advice}", file=sys.stderr, flush=True)
        return 130
    return 0


def run_command(main: Callable[[], int]) -> None:
    """``sys.exit(main())``, ending quietly when stdout is a closed pipe (``--help | head``)."""
    try:
        code = main()
        sys.stdout.flush()
    except SystemExit as exit_:
        code = exit_.code
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
    except BrokenPipeError:
        _silence_stdout()
        code = 0
    sys.exit(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush raises nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def take_option(args: list[str], name: str) -> tuple[str | None, list[str]]:
    """Remove ``name VALUE`` or ``name=VALUE`` from ``args``: ``(VALUE or None, rest)``."""
    rest: list[str] = []
    value: str | None = None
    items = iter(args)
    for arg in items:
        if arg == name:
            found = next(items, None)
            if found is None:
                raise ConfigError(f"{name} needs a path")
        elif arg.startswith(name + "="):
            found = arg[len(name) + 1 :]
        else:
            rest.append(arg)
            continue
        if value is not None:  # not "the last one wins": which one was meant is unclear
            raise ConfigError(f"{name} is given twice ({value} and {found}): give it once")
        value = found
    return value, rest


def take_flags(args: list[str], *names: str, options: tuple[str, ...] = ()) -> tuple[set[str], list[str]]:
    """Remove the flags ``names`` from ``args``: ``(flags given, rest)``. Any other argument
    starting with ``-`` (but ``-h``/``--help``) is a ConfigError worded as the library's
    ``cli`` words it (naming the closest of ``names`` and ``options``, the command's other
    options, already taken out); so is a flag given twice."""
    for arg in args:
        if arg.startswith("-") and arg not in names and arg not in HELP:
            raise ConfigError(unknown_option(arg, (*names, *HELP), options))
    for name in names:
        if args.count(name) > 1:
            raise ConfigError(f"{name} is given twice")
    return {a for a in args if a in names}, [a for a in args if a not in names]



def locate(path: str, root: str | os.PathLike[str]) -> Path:
    """``path`` as typed when it exists from the current folder, else relative to the project
    ``root`` when it exists there (so documented commands work from a sub-folder)."""
    given = Path(path)
    if given.exists() or given.is_absolute():
        return given
    from_root = Path(root) / given
    return from_root if from_root.exists() else given


def shown(path: str | os.PathLike[str]) -> str:
    """``path`` as a user would type it here: relative to the current folder when inside it,
    and quoted for the shell when it needs to be (a space, a quote, a ``$``), so that the
    commands the demo prints can be pasted as they are."""
    absolute = Path(os.path.abspath(path))
    try:
        text = str(absolute.relative_to(Path.cwd()))
    except ValueError:
        text = str(absolute)
    return shlex.quote(text)


def launcher() -> list[str]:
    """How this process was started, as typed: ``python`` or, under torchrun, ``torchrun``
    with its process count (multi-node options are the user's to repeat)."""
    if "TORCHELASTIC_RUN_ID" in os.environ or int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        per_node = os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1"))
        return ["torchrun", f"--nproc_per_node={per_node}"]
    return ["python"]


def typed_command(module: str, args: list[str]) -> list[str]:
    """The command as a user types it, for a snapshot's ``meta.argv`` (no machine path)."""
    return [*launcher(), "-m", module, *args]
