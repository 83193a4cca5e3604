"""Continue a run exactly: ``python -m lm_demo.resume PATH [key=value ...]``.

PATH is a snapshot (``snapshots/run.yaml``: the newest complete checkpoint of its
``save_checkpoint_dir`` is loaded), a checkpoint folder (``.../step_000200``: that one), or a
folder of checkpoints (its newest complete one). Overrides such as ``max_steps=...`` or
``epochs=...`` extend the run; one that changes the model's shape is refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

from micro_config import ConfigError, MetaConfig

from .cli import fail, guarded, load_run_config

USAGE = """usage: python -m lm_demo.resume PATH [key=value ...]

PATH: a snapshot (snapshots/run.yaml), a checkpoint folder (checkpoints/run/step_000200) or a
folder of checkpoints (checkpoints/run). `python -m lm_demo.resume PATH --help` lists the keys.
"""


def main(argv: list[str] | None = None) -> int:
    from micro_config import cli
    from schemas.train import check_resumable

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    path, overrides = Path(args[0]), args[1:]
    try:
        saved = load_run_config(path)
    except ConfigError as err:
        return fail(err)
    config = cli(saved, overrides, usage=USAGE)
    metaconfig = MetaConfig(verbose=False)
    if path.is_dir():
        resume_from = path
    else:  # a snapshot: the checkpoints of the run it describes
        resume_from = Path(metaconfig.convert_path(config.save_checkpoint_dir))

    def body() -> None:
        check_resumable(saved, config)
        config.run(metaconfig, resume_from=str(resume_from))

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
