"""Train the demo LM: ``python -m lm_demo.train [key=value ...] [--config REF | --from PATH]``.

Without ``--config`` or ``--from`` the config is ``schemas.default_train()``; ``--config`` names
one in Python (``module:attr`` or ``path/to/file.py:attr``: a ``TrainLoop`` or a function returning
one, such as the experiments of ``schemas.experiments``); ``--from`` takes the config saved in a
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

USAGE = """usage: python -m lm_demo.train [key=value ...] [--config REF | --from SNAPSHOT_OR_CHECKPOINT]
                             [--overwrite]

Trains a small transformer LM on the shipped corpus (defaults: about a minute on 2 CPU cores).
Writes checkpoints to save_checkpoint_dir and the run's config to snapshot_dir/run_name.yaml.
A folder that already holds a run's checkpoints is refused: resume that run with
`python -m lm_demo.resume snapshots/run.yaml`, pick another save_checkpoint_dir (and run_name),
or pass --overwrite to delete its checkpoints and start over.

--config REF starts from a config in Python: REF is module:attr or path/to/file.py:attr,
naming a TrainLoop or a function returning one. The shipped experiments (schemas/experiments.py):
{experiments}
"""


def read_config(file: Any) -> Any:
    """A ``TrainLoop`` from a snapshot file (the entry points are what knows the class)."""
    from micro_config import load_snapshot
    from schemas import TrainLoop

    return load_snapshot(file, cls=TrainLoop)


def experiments() -> str:
    """One line per function of ``schemas.experiments``: its REF and what it runs."""
    from schemas import experiments as module

    lines = []
    for name in module.__all__:
        doc = (getattr(module, name).__doc__ or "").strip().splitlines()
        lines.append(f"  schemas.experiments:{name:<8} {doc[0] if doc else ''}".rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from micro_config import cli
    from micro_config.commands.refs import load_ref
    from schemas import TrainLoop, default_train

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from_path, rest = take_option(args, "--from")
        ref, rest = take_option(rest, "--config")
        flags, overrides = take_flags(rest, OVERWRITE, options=("--config", "--from"))
        if from_path is not None and ref is not None:
            raise ConfigError("--config and --from both name the config: give one")
        if ref is not None:
            config = load_ref(ref, expect=TrainLoop)
        elif from_path is None:
            config = default_train()
        else:
            config = load_run_config(locate(from_path, convert_path(".")), read_config)
    except ConfigError as err:
        return fail(err)
    usage = USAGE.format(experiments=experiments())
    config = cli(config, overrides, usage=usage)  # --help: usage + every key, exit 0; errors: exit 2
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
