"""Train the demo LM: ``python -m lm_demo.train [key=value ...] [--from PATH]``.

Without ``--from`` the config is ``schemas.default_train()``; with it, the config saved in a
snapshot or checkpoint folder (rerun from scratch: the same config gives the same losses).
``key=value`` overrides apply on top; ``--help`` lists every key.
"""

from __future__ import annotations

import sys

from micro_config import ConfigError, MetaConfig

from .cli import fail, guarded, load_run_config, take_option

USAGE = """usage: python -m lm_demo.train [key=value ...] [--from SNAPSHOT_OR_CHECKPOINT]

Trains a small transformer LM on the shipped corpus (defaults: about a minute on 2 CPU cores).
Writes checkpoints to save_checkpoint_dir and the run's config to snapshot_dir/run_name.yaml.
Continue a stopped run with: python -m lm_demo.resume snapshots/run.yaml
"""


def main(argv: list[str] | None = None) -> int:
    from micro_config import cli
    from schemas import default_train

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from_path, overrides = take_option(args, "--from")
        config = default_train() if from_path is None else load_run_config(from_path)
    except ConfigError as err:
        return fail(err)
    config = cli(config, overrides, usage=USAGE)  # --help: usage + every key, exit 0; errors: exit 2
    return guarded(lambda: config.unroll(MetaConfig(verbose=False)))


if __name__ == "__main__":
    sys.exit(main())
