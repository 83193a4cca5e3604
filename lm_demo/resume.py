"""Continue a run exactly: ``python -m lm_demo.resume PATH [key=value ...] [flags]``.

PATH is a snapshot (``snapshots/run.yaml``: the newest complete checkpoint of its
``save_checkpoint_dir`` is loaded), a checkpoint folder (``.../step_000200``: that one), or a
folder of checkpoints (its newest complete one); a PATH not found from the current folder is
looked for from the project root. Overrides such as ``max_steps=...`` or ``epochs=...`` extend
the run; one that changes the model's shape is refused.

The run continues in the folder it reads from: resuming a copy of a run's folder writes to
the copy (its ``save_checkpoint_dir`` is set to it), never to the original. Resuming from a
checkpoint older than the newest one of its folder needs ``--discard-newer``, since the newer
ones are then deleted. A saved config lacking fields of today's classes needs
``--allow-drift``; a checkpoint of another number of processes ``--allow-world-size-change``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from micro_config import ConfigError, MetaConfig, convert_path

from .checkpoint import STEP_RE, load_run_config
from .console import fail, first_process, locate, run_command, take_flags, typed_command
from .distributed import launch
from .train import read_config

DISCARD = "--discard-newer"
DRIFT = "--allow-drift"
WORLD = "--allow-world-size-change"

USAGE = """usage: python -m lm_demo.resume PATH [key=value ...] [--discard-newer] [--allow-drift]
                                [--allow-world-size-change]

PATH: a snapshot (snapshots/run.yaml), a checkpoint folder (checkpoints/run/step_000200) or a
folder of checkpoints (checkpoints/run). The run continues in the folder of the checkpoint.
Resuming from a checkpoint older than the newest deletes the newer ones: --discard-newer says
you mean it. A saved config that lacks fields (filled with today's defaults) is refused unless
--allow-drift; another number of processes than the checkpoint's unless
--allow-world-size-change. `python -m lm_demo.resume PATH --help` lists the keys.
"""


def main(argv: list[str] | None = None) -> int:
    from micro_config import cli
    from schemas.train import check_resumable

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0].startswith("-") or ("=" in args[0] and not os.path.lexists(args[0])):
        return fail(f"the snapshot or checkpoint PATH comes first, then key=value and options "
                    f"(got {args[0]} first)")
    path = locate(args[0], convert_path("."))
    if any(a.partition("=")[0] == "--overwrite" for a in args):  # train's: a resume writes into its run
        return fail("--overwrite is an option of a new run (python -m lm_demo.train); a resume "
                    "continues its run in the run's own folders")
    try:
        flags, overrides = take_flags(args[1:], DISCARD, DRIFT, WORLD)
        saved = load_run_config(path, read_config, allow_drift=DRIFT in flags)
    except ConfigError as err:
        return fail(err)
    config = cli(saved, overrides, usage=USAGE)
    root = MetaConfig(verbose=False)
    from_file = not path.is_dir()
    if path.is_dir():
        resume_from = path
        if config.save_checkpoint_dir == saved.save_checkpoint_dir:  # not overridden
            folder = path.parent if STEP_RE.match(path.name) else path
            config = continue_in(config, folder, root)
    else:  # a snapshot: the checkpoints of the run it describes
        resume_from = Path(root.convert_path(saved.save_checkpoint_dir))

    def body(metaconfig: MetaConfig) -> None:
        check_resumable(saved, config)
        config.run(
            metaconfig,
            resume_from=str(resume_from),
            discard_newer=DISCARD in flags,
            allow_drift=DRIFT in flags,
            allow_world_size_change=WORLD in flags,
            argv=typed_command("lm_demo.resume", args),
            dir_from_file=from_file,
        )

    return launch(config.check, body, config.deterministic)


def continue_in(config: Any, folder: Path, metaconfig: MetaConfig) -> Any:
    """``config`` writing its checkpoints to ``folder`` (the one the checkpoint is read from,
    e.g. a copy of the run's folder), so a resume never writes to, or prunes, another run."""
    from micro_config import deep_replace

    here = Path(metaconfig.convert_path(config.save_checkpoint_dir)).resolve()
    if folder.resolve() == here:
        return config
    root = Path(metaconfig.convert_path(".")).resolve()
    try:  # keep the config portable: relative to the project root when inside it
        name = str(folder.resolve().relative_to(root))
    except ValueError:
        name = str(folder.resolve())
    if first_process():  # (every rank of a torchrun job comes here)
        print(f"continuing in {name}, the checkpoint's folder (the config said {here})")
    return deep_replace(config, save_checkpoint_dir=name)


if __name__ == "__main__":
    run_command(main)
