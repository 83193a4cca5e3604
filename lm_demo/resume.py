"""Continue a run exactly: ``python -m lm_demo.resume PATH [key=value ...]``.

PATH is a snapshot (``snapshots/run.yaml``: the newest complete checkpoint of its
``save_checkpoint_dir`` is loaded), a checkpoint folder (``.../step_000200``: that one), or a
folder of checkpoints (its newest complete one). Overrides such as ``max_steps=...`` or
``epochs=...`` extend the run; one that changes the model's shape is refused.

The run continues in the folder it reads from: resuming a copy of a run's folder writes to
the copy (its ``save_checkpoint_dir`` is set to it), never to the original. Resuming from a
checkpoint older than the newest one of its folder needs ``--discard-newer``, since the newer
ones are then deleted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from micro_config import ConfigError, MetaConfig

from .cli import STEP_RE, fail, guarded, load_run_config

DISCARD = "--discard-newer"

USAGE = """usage: python -m lm_demo.resume PATH [key=value ...] [--discard-newer]

PATH: a snapshot (snapshots/run.yaml), a checkpoint folder (checkpoints/run/step_000200) or a
folder of checkpoints (checkpoints/run). The run continues in the folder of the checkpoint.
Resuming from a checkpoint older than the newest deletes the newer ones: --discard-newer says
you mean it. `python -m lm_demo.resume PATH --help` lists the keys.
"""


def main(argv: list[str] | None = None) -> int:
    from micro_config import cli
    from schemas.train import check_resumable

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    path, rest = Path(args[0]), args[1:]
    discard_newer = DISCARD in rest
    overrides = [arg for arg in rest if arg != DISCARD]
    try:
        saved = load_run_config(path)
    except ConfigError as err:
        return fail(err)
    config = cli(saved, overrides, usage=USAGE)
    metaconfig = MetaConfig(verbose=False)
    if path.is_dir():
        resume_from = path
        if config.save_checkpoint_dir == saved.save_checkpoint_dir:  # not overridden
            folder = path.parent if STEP_RE.match(path.name) else path
            config = continue_in(config, folder, metaconfig)
    else:  # a snapshot: the checkpoints of the run it describes
        resume_from = Path(metaconfig.convert_path(saved.save_checkpoint_dir))

    def body() -> None:
        check_resumable(saved, config)
        config.run(metaconfig, resume_from=str(resume_from), discard_newer=discard_newer)

    return guarded(body)


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
    print(f"continuing in {name}, the checkpoint's folder (the config said {here})")
    return deep_replace(config, save_checkpoint_dir=name)


if __name__ == "__main__":
    sys.exit(main())
