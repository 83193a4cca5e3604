"""Train the demo LM: ``python -m lm_demo.train [key=value ...] [--from PATH] [--overwrite]``.

Without ``--from`` the config is ``schemas.default_train()``; with it, the config saved in a
snapshot or checkpoint folder (rerun from scratch: the same config gives the same losses).
``key=value`` overrides apply on top; ``--help`` lists every key. Under ``torchrun`` every
process runs this same command (see README, "More than one process").
"""

from __future__ import annotations

import sys
from typing import Any

from micro_config import ConfigError, convert_path

from .checkpoint import load_run_config
from .console import fail, locate, run_command, take_flags, take_option, typed_command
from .distributed import launch

OVERWRITE = "--overwrite"

USAGE = """usage: python -m lm_demo.train [key=value ...] [--from SNAPSHOT_OR_CHECKPOINT] [--overwrite]

Trains a small transformer LM on the shipped corpus (defaults: about a minute on 2 CPU cores).
Writes checkpoints to save_checkpoint_dir and the run's config to snapshot_dir/run_name.yaml.
A folder that already holds a run's checkpoints is refused: resume that run with
`python -m lm_demo.resume snapshots/run.yaml`, pick another save_checkpoint_dir (and run_name),
or pass --overwrite to delete its checkpoints and start over.
"""


def read_config(file: Any) -> Any:
    """A ``TrainLoop`` from a snapshot file (the entry points are what knows the class)."""
    from micro_config import load_snapshot
    from schemas import TrainLoop

    return load_snapshot(file, cls=TrainLoop)


def main(argv: list[str] | None = None) -> int:
    from micro_config import cli
    from schemas import default_train

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from_path, rest = take_option(args, "--from")
        flags, overrides = take_flags(rest, OVERWRITE)
        if from_path is None:
            config = default_train()
        else:
            config = load_run_config(locate(from_path, convert_path(".")), read_config)
    except ConfigError as err:
        return fail(err)
    config = cli(config, overrides, usage=USAGE)  # --help: usage + every key, exit 0; errors: exit 2
    named = any(arg.startswith("save_checkpoint_dir=") for arg in overrides)
    return launch(
        config.check,
        lambda metaconfig: config.run(
            metaconfig,
            overwrite=OVERWRITE in flags,
            argv=typed_command("lm_demo.train", args),
            dir_from_file=from_path is not None and not named,
        ),
        config.deterministic,
    )


if __name__ == "__main__":
    run_command(main)
