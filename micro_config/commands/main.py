"""The ``micro-config`` command line (also ``python -m micro_config``): diff, show, validate.

Files are read as normalised data (docs/format.md) without importing any class, so ``diff``
and ``show`` are safe on any file; only ``module:attr`` arguments import code, and only the
module the user names. Exit codes follow diff(1): 0 same / OK, 1 different, 2 error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ..errors import ConfigError, did_you_mean, short_repr
from ..snapshot.files import read_data, read_text, snapshot_file
from ..tree import is_node
from . import codegen as code_command
from . import graph as graph_command
from . import migrate as migrate_command
from . import schema as schema_command
from .diff import diff_data
from .report import change_json, format_change, path_lines, use_color

PROG = "micro-config"
ALLOW_ENV = "MICRO_CONFIG_ALLOW"
_OBJECT_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")

# ---------------------------------------------------------------- resolving A and B


def import_object(spec: str) -> Any:
    """The config named by ``module:attr``: the attribute itself, or what calling it with no
    argument returns (a function such as ``schemas:default_train``, or a config class)."""
    module_name, _, attr = spec.partition(":")
    importable_cwd()
    try:
        value: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ConfigError(f"{spec}: no module named {err.name!r}") from None
    except Exception as err:  # the user's module failed: say so in one line
        raise ConfigError(f"{spec}: importing {module_name} failed: {_one_line(err)}") from None
    owner = module_name
    for name in attr.split("."):
        if not hasattr(value, name):
            public = [n for n in dir(value) if not n.startswith("_")]
            raise ConfigError(f"{spec}: {owner} has no {name!r}{did_you_mean(name, public)}")
        value = getattr(value, name)
        owner = f"{owner}.{name}"
    if not is_node(value) and callable(value):
        try:
            value = value()
        except Exception as err:
            raise ConfigError(f"{spec}: calling it failed: {_one_line(err)}") from None
    if not is_node(value):
        raise ConfigError(f"{spec}: holds {type(value).__name__} {short_repr(value)}, not a config object")
    return value


def importable_cwd() -> None:
    """Let modules in the current folder import, as under ``python -m`` (the console script's
    ``sys.path`` starts with its own folder instead)."""
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())


def is_object_spec(spec: str) -> bool:
    """``module:attr`` rather than a path (an existing file wins)."""
    return bool(_OBJECT_SPEC.match(spec)) and not Path(spec).exists()


def load_source(spec: str) -> tuple[Any, dict[str, Any]]:
    """``(tree, meta)`` as normalised data for a command-line argument."""
    return read_data(import_object(spec) if is_object_spec(spec) else Path(spec))


# ---------------------------------------------------------------- validate


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def allowed_packages(given: Sequence[str] | None) -> tuple[str, ...]:
    """``--allow`` values and ``$MICRO_CONFIG_ALLOW``, each comma-separated, empties dropped."""
    raw = [*(given or ()), os.environ.get(ALLOW_ENV, "")]
    return tuple(dict.fromkeys(p.strip() for item in raw for p in item.split(",") if p.strip()))


def rebuild(spec: str, allow: tuple[str, ...]) -> tuple[Any, list[str]]:
    """Rebuild the classes under the snapshot safety rules; return the root and the warnings."""
    from ..snapshot.dump import to_data
    from ..snapshot.load import from_data, from_json, from_yaml

    importable_cwd()
    recorder = _Recorder()
    logger = logging.getLogger("micro_config")
    logger.addHandler(recorder)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if is_object_spec(spec):
                obj = import_object(spec)
                package = type(obj).__module__.partition(".")[0]
                root = from_data(to_data(obj), allow_modules=(package, *allow))
            else:
                path = snapshot_file(Path(spec))
                parse = from_json if path.suffix.lower() == ".json" else from_yaml
                try:
                    root = parse(read_text(path), allow_modules=allow)
                except ConfigError as err:
                    raise ConfigError(f"{path}: {_cli_wording(str(err))}") from None
    finally:
        logger.removeHandler(recorder)
    return root, [str(w.message) for w in caught] + recorder.messages


def _cli_wording(message: str) -> str:
    """The loader's advice names its keyword; on the command line it is the --allow option."""
    return re.sub(r"allow_modules=\('([\w.]+)',\)", r"--allow \1", message)


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
    data, _ = load_source(args.a)
    if args.paths:
        for line in path_lines(data):
            print(line)
    else:
        from ..snapshot.emit import json_text, yaml_text

        text = json_text(data) if args.json else yaml_text(data)
        sys.stdout.write(text.rstrip("\n") + "\n")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    root, found = rebuild(args.a, allowed_packages(args.allow))
    for message in found:
        print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)
    if found and args.strict:
        print(f"{PROG}: error: {len(found)} warning(s) and --strict", file=sys.stderr)
        return 2
    if not is_node(root):  # a file holding plain data (or a snapshot without its config)
        print(f"{PROG}: error: {args.a}: not a config tree (its root is a "
              f"{type(root).__name__}, not a config class)", file=sys.stderr)
        return 2
    print(f"OK: {args.a} ({type(root).__module__}.{type(root).__qualname__})")
    return 0


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + traceback-like noise
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _sources(names: str) -> str:
    return f"""\
{names} a snapshot (.yaml/.yml/.json), a checkpoint folder holding config.yaml,
or module:attr naming a config object or a function returning one (it imports only that
module). Files are read without importing any class, so any file is safe to diff or show."""

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
  micro-config validate snapshots/run.yaml --allow schemas
  MICRO_CONFIG_ALLOW=schemas,lm_demo micro-config validate checkpoints/run/step_000100
  micro-config validate snapshots/old_run.yaml --allow schemas --strict

Classes are imported only from the packages allowed by --allow (repeatable, or comma-
separated) and $MICRO_CONFIG_ALLOW; a class already imported needs no allowance.
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
    p.add_argument("--allow", action="append", metavar="PKG",
                   help="a package classes may be imported from (repeatable)")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.set_defaults(run=run_validate)
    for command in (migrate_command, code_command, schema_command, graph_command):  # commands/<name>.py: add_parser(sub) and run(args)
        command.add_parser(sub)
    return parser


def _one_line(error: object) -> str:
    if isinstance(error, str | ConfigError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status (0 same/OK, 1 different, 2 error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.run(args)
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else 0
    except (_UsageError, ConfigError) as err:
        print(f"{PROG}: error: {_one_line(str(err))}", file=sys.stderr)
    except BrokenPipeError:  # output piped into head: nothing left to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # never a traceback for bad input or a broken file
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
    return 2
