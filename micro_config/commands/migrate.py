"""``micro-config migrate OLD [-o NEW | --in-place]``: rewrite a snapshot at the current class
versions (docs/format.md, "Versions and migrations").

The file is rebuilt by the loader, so the registered migrations run exactly as they do when a
run loads it (same safety rules: classes are imported only from --allow packages), then written
back with ``save_snapshot`` (atomic: a failure leaves the original as it was). The old ``meta``
is kept, plus a ``migrated`` entry listing the steps. The changes are printed as ``diff`` prints
them. Without ``-o`` or ``--in-place`` nothing is written.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..snapshot.files import read_data, read_text, save_snapshot, snapshot_file
from ..snapshot.migrate import MigrationWarning
from .diff import diff_data
from .refs import importable_cwd
from .report import format_change, use_color
from .sources import allowed_packages

EXAMPLES = """\
examples:
  micro-config migrate snapshots/old_run.yaml --allow schemas            # dry run: the diff
  micro-config migrate snapshots/old_run.yaml -o snapshots/run_v2.yaml --allow schemas
  micro-config migrate checkpoints/run/step_000200 --in-place --allow schemas

exit status: 0 done (or nothing to migrate), 2 error; the original is never left half-written."""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "migrate",
        help="rewrite a snapshot at the current class versions",
        description="Load a snapshot (or a checkpoint folder's config) through the registered "
        "migrations and write it back at the current class versions, printing what changed.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("old", metavar="OLD", help="a snapshot (.yaml/.yml/.json) or checkpoint folder")
    where = p.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="NEW", help="write the migrated snapshot here")
    where.add_argument("--in-place", action="store_true", help="replace OLD (atomically)")
    p.add_argument("--allow", action="append", metavar="PKG",
                   help="a package classes may be imported from (repeatable; also $MICRO_CONFIG_ALLOW)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="color the changes (auto: only on a terminal, and not when $NO_COLOR)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:

    source = snapshot_file(Path(args.old))
    old_tree, meta = read_data(source)
    importable_cwd()
    root, steps = rebuild(source, allowed_packages(args.allow))
    target = source if args.in_place else Path(args.output) if args.output else None
    if not steps:
        print(f"{source}: nothing to migrate (every class is at its current version)")
        if target is None or target == source:
            return 0
    new_meta = dict(meta)
    if steps:
        new_meta["migrated"] = [*_as_list(meta.get("migrated")), *steps]
    if target is not None:
        if target.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise ConfigError(f"{target}: a snapshot file ends in .yaml, .yml or .json")
        save_snapshot(root, target, meta=new_meta, record=False)  # the run's provenance, as it was
        new_tree, _ = read_data(target)
    else:
        from ..snapshot.dump import to_data

        new_tree = to_data(root)
    color = use_color(args.color, sys.stdout)
    for step in steps:
        print(f"migrated: {step}")
    for change in diff_data(old_tree, new_tree):
        print(format_change(change, color))
    if target is None:
        print("(dry run: nothing written; pass -o NEW or --in-place to write)")
    else:
        print(f"wrote {target}")
    return 0


def rebuild(source: Path, allow: tuple[str, ...]) -> tuple[Any, list[str]]:
    """The tree of ``source`` rebuilt through the migrations, and the steps that ran."""
    from ..snapshot.load import from_json, from_yaml

    load = from_json if source.suffix.lower() == ".json" else from_yaml
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            root = load(read_text(source), allow_modules=allow)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None
    steps: list[str] = []
    for w in caught:
        if issubclass(w.category, MigrationWarning):
            steps.extend(getattr(w.message, "steps", ()))
        else:
            print(f"micro-config: warning: {' '.join(str(w.message).split())}", file=sys.stderr)
    return root, steps


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [] if value is None else [value]
