"""The ``micro-config`` command line (also ``python -m micro_config``): diff, show, validate.

Files are read as normalised data (docs/format.md) without importing any class, so ``diff``
and ``show`` are safe on any file; only ``module:attr`` arguments import code, and only the
module the user names. Exit codes follow diff(1): 0 same / OK, 1 different, 2 error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import MESSAGE_LIMIT, PATH_LIMIT, ConfigError, cut_text
from ..paths import project_root
from ..tree import is_node
from . import codegen as code_command
from . import graph as graph_command
from . import migrate as migrate_command
from . import schema as schema_command
from .diff import diff_data
from .report import change_json, format_change, path_lines, use_color
from .sources import add_allow_options, load_source, rebuild_allowed

PROG = "micro-config"
# ---------------------------------------------------------------- commands


def run_diff(args: argparse.Namespace) -> int:
    tree_a, meta_a = load_source(args.a)
    tree_b, meta_b = load_source(args.b)
    changes = diff_data(tree_a, tree_b)
    if args.meta:
        changes += diff_data(meta_a, meta_b, root="meta")
    if args.json:
        from ..snapshot.emit import json_text  # nan/inf and shared values as in the snapshot format

        print(json_text([change_json(c) for c in changes]))
    else:
        color = use_color(args.color, sys.stdout)
        for change in changes:
            print(format_change(change, color))
    return 1 if changes else 0


def run_show(args: argparse.Namespace) -> int:
    from ..snapshot.emit import json_text, yaml_text
    from ..snapshot.gcpause import gc_paused

    data, _ = load_source(args.a)
    if args.paths:
        with gc_paused():  # room for values as deep as the format allows
            lines = list(path_lines(data))
        for line in lines:
            print(line)
    else:
        text = json_text(data, indent=2) if args.json else yaml_text(data)
        sys.stdout.write(text.rstrip("\n") + "\n")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    root, found, own = rebuild_allowed(args)
    for message in found:
        print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)
    if found and args.strict:
        print(f"{PROG}: error: {len(found)} warning(s) and --strict", file=sys.stderr)
        return 2
    if not is_node(root):  # a file holding plain data (or a snapshot without its config)
        print(f"{PROG}: error: not a config tree: its root is a {type(root).__name__}, not a "
              f"config class (in {args.a})", file=sys.stderr)
        return 2
    print(f"OK: {args.a} ({type(root).__module__}.{type(root).__qualname__})")
    if own:  # one more line on success: what the default allowed
        print(f"allowed the project's own packages ({project_root()}): {', '.join(own)}")
    return 0


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + traceback-like noise
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _sources(names: str) -> str:
    return f"""\
{names} a snapshot (.yaml/.yml/.json), a checkpoint folder holding config.yaml,
or module:attr (or path/to/file.py:attr) naming a config object or a function returning one
(it imports only that module). Files are read without importing any class, so any file is
safe to diff or show."""

_DIFF_EXAMPLES = """\
examples:
  micro-config diff snapshots/run_a.yaml snapshots/run_b.yaml
  micro-config diff checkpoints/run/step_000100 checkpoints/run/step_000200 --meta
  micro-config diff snapshots/run.yaml schemas:default_train   # what changed in the defaults
  micro-config diff a.yaml b.json --json | jq '.[].path'

exit status: 0 same, 1 different, 2 error (as diff(1))."""

_SHOW_EXAMPLES = """\
examples:
  micro-config show snapshots/run.yaml
  micro-config show checkpoints/run/step_000100 --paths | grep max_len
  micro-config show schemas:default_train --json"""

_VALIDATE_EXAMPLES = """\
examples:
  micro-config validate snapshots/run.yaml
  MICRO_CONFIG_ALLOW=mylib micro-config validate checkpoints/run/step_000100
  micro-config validate snapshots/old_run.yaml --strict --no-project --allow schemas

Classes are imported only from the allowed packages: the project's own (the folders with an
__init__.py in the project root: the nearest folder up holding pyproject.toml or .git, or
$MICRO_CONFIG_ROOT; printed on stderr), those given by --allow (repeatable, or comma-
separated) and $MICRO_CONFIG_ALLOW; a class already imported needs no allowance. Standard
library and site-packages modules always need --allow. A PATH that does not exist here is
also looked for in the project root.
exit status: 0 OK, 2 error (with --strict, warnings such as a field missing from the file
are errors too)."""


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description="Compare, print and check micro_config snapshots and configs.",
        epilog="examples:\n  micro-config diff runs/a.yaml runs/b.yaml\n"
        "  micro-config show runs/a.yaml --paths\n  micro-config validate runs/a.yaml "
        "--allow schemas\n\n'micro-config COMMAND --help' tells more.",
        formatter_class=raw,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("diff", help="what differs between two configs",
                       description="Print one line per difference: path: old -> new.\n\n"
                       + _sources("A and B may each be"), epilog=_DIFF_EXAMPLES, formatter_class=raw)
    p.add_argument("a", metavar="A", help="the old config")
    p.add_argument("b", metavar="B", help="the new config")
    p.add_argument("--json", action="store_true", help="a JSON list of changes, for machines")
    p.add_argument("--meta", action="store_true", help="also compare the snapshots' meta blocks")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="color the output (auto: only on a terminal, and not when $NO_COLOR)")
    p.set_defaults(run=run_diff)

    p = sub.add_parser("show", help="print the resolved tree",
                       description="Print the resolved tree as YAML (or JSON).\n\n" + _sources("A may be"),
                       epilog=_SHOW_EXAMPLES, formatter_class=raw)
    p.add_argument("a", metavar="A", help="the config to show")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--json", action="store_true", help="JSON instead of YAML")
    how.add_argument("--paths", action="store_true",
                     help="one 'dotted.path = value' line per leaf; shared nodes marked")
    p.set_defaults(run=run_show)

    p = sub.add_parser("validate", help="rebuild the classes under the safety rules",
                       description="Rebuild the config under the snapshot safety rules and "
                       "print OK or the error.", epilog=_VALIDATE_EXAMPLES, formatter_class=raw)
    p.add_argument("a", metavar="A", help="a snapshot, checkpoint folder or module:attr")
    add_allow_options(p)
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.set_defaults(run=run_validate)
    for command in (migrate_command, code_command, schema_command, graph_command):  # commands/<name>.py: add_parser(sub) and run(args)
        command.add_parser(sub)
    return parser


def _one_line(error: object) -> str:
    """One line of at most MESSAGE_LIMIT + PATH_LIMIT characters (a ConfigError is bounded
    already; an unexpected error may carry, e.g., a 100 KB file name)."""
    if isinstance(error, str | ConfigError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return cut_text(" ".join(text.split()), MESSAGE_LIMIT + PATH_LIMIT)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status (0 same/OK, 1 different, 2 error)."""
    parser = build_parser()
    code = 1
    try:
        try:
            args = parser.parse_args(argv)
            code = args.run(args)
        except SystemExit as done:  # --help and --version
            code = done.code if isinstance(done.code, int) else 0
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except (_UsageError, ConfigError) as err:
        print(f"{PROG}: error: {_one_line(str(err))}", file=sys.stderr)
    except BrokenPipeError:  # output piped into head: nothing left to say
        _silence_stdout()
        return code
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # never a traceback for bad input or a broken file
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
    return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's flush at exit has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit
