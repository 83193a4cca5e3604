"""What a script's command line can change (``describe``) and the one call that applies it (``cli``)."""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Sequence
from typing import Any

from .arguments import parse_args
from .convert import type_name
from .errors import ConfigError, closest, did_you_mean, short_repr
from .overrides import deep_replace
from .plan import annotated_walk, plan_of
from .swap import class_names, swap_classes
from .tree import Path, Visit, is_dataclass_instance, is_memoised, is_node, render, transform


def describe(config: Any) -> str:
    """Every overridable dotted path with its type and current value, one per line. A shared
    node is listed once, at its first path, with a note naming the other paths that reach it;
    a field whose annotation admits more than one config class names the classes a swap
    (``optim=SGDConfig``) may put there. One walk of the tree (tree.walk): linear in the number of distinct objects."""
    visits = list(annotated_walk(config))
    holds = _holding_nodes(config)
    also: dict[int, list[Path]] = {}
    for visit, _ in visits:
        if visit.again and id(visit.value) in holds:
            also.setdefault(id(visit.value), []).append(visit.path)
    hidden: set[int] = set()  # containers whose entries are not listed one by one
    choices = _Choices()
    lines = []
    for visit, annotation in visits:
        if visit.where is None:
            continue
        if id(visit.parent) in hidden or _derived(visit):
            if is_memoised(visit.value) and not visit.again:
                hidden.add(id(visit.value))
            continue
        path = render(visit.path)
        if visit.again and id(visit.value) in holds:
            what = "node" if is_node(visit.value) else type(visit.value).__name__
            name = type(visit.value).__name__ if is_node(visit.value) else type_name(annotation)
            lines.append(f"{path}: {name}  (same {what} as {render(visit.first)})")
            continue
        line = _line(path, visit.value, annotation, id(visit.value) in holds,
                     also.get(id(visit.value), []))
        if visit.value is None or is_node(visit.value):
            line += choices.of(annotation, path)
        lines.append(line)
        if id(visit.value) not in holds and is_memoised(visit.value):
            hidden.add(id(visit.value))  # a list of numbers is one value, not one line per item
    return "\n".join(lines)


class _Choices:
    """The note on a polymorphic field's line (its annotation admits more than one config
    class): the classes a swap may put there, worked out once per annotation."""

    def __init__(self) -> None:
        self.memo: dict[Any, str] = {}

    def of(self, annotation: Any, path: str) -> str:
        try:
            names = self.memo[annotation]
        except KeyError:
            names = self.memo[annotation] = self._names(annotation)
        except TypeError:  # an unhashable annotation object
            names = self._names(annotation)
        return f"  (swap with {path}=NAME: {names})" if names else ""

    @staticmethod
    def _names(annotation: Any) -> str:
        classes = swap_classes(annotation)
        return ", ".join(class_names(classes)) if len(classes) > 1 else ""


_HOLDS = object()


def _holding_nodes(root: Any) -> set[int]:
    """Ids of the nodes, and of the containers holding a node at any depth (one post-order
    walk, so a shared tuple nested 40 deep costs 40 steps)."""
    memo: dict[int, Any] = {}

    def leave(value: Any, results: list[tuple[Any, Any]], where: Any) -> Any:
        if is_node(value) or any(r is _HOLDS for _, r in results):
            return _HOLDS
        return None

    transform(root, leave, memo)
    return {key for key, r in memo.items() if r is _HOLDS}


def _derived(visit: Visit) -> bool:
    """A field computed in ``__post_init__`` (``init=False``): shown nowhere, set nowhere."""
    parent = visit.parent
    return is_dataclass_instance(parent) and visit.key in plan_of(type(parent)).derived


def _line(path: str, value: Any, annotation: Any, holds: bool, others: list[Path]) -> str:
    if is_node(value):
        text = f"{path}: {type(value).__name__}"
    elif holds:
        text = f"{path}: {type_name(annotation)}"
    else:
        shown = value.name if isinstance(value, enum.Enum) else short_repr(value)  # as typed
        text = f"{path}: {type_name(annotation)} = {shown}"
    if others:
        shown_paths = ", ".join(render(p) for p in others[:5])
        more = f" and {len(others) - 5} more" if len(others) > 5 else ""
        text += f"  (shared; also reached as {shown_paths}{more})"
    return text


HELP = ("--help", "-h")


def unknown_option(arg: str, flags: Sequence[str] = HELP, options: Sequence[str] = ()) -> str:
    """The one line for ``arg``, an argument starting with ``-`` that a command does not take:
    ``flags`` are its options that take no value (``--flag=x`` says so), ``options`` its others
    (offered as the closest name too). ``--epochs=3`` is an override typed argparse-style: the
    hint is ``epochs=3``, unless the flag is nearly an option's name (``--confg=x``).
    Shared by :func:`cli` and scripts' own options."""
    flag, sep, value = arg.partition("=")
    if flag in flags:
        return f"{flag} takes no value (give {flag} alone)"
    names = (*flags, *options)
    key = flag.lstrip("-")
    # --seed=3 is an override typed argparse-style, unless it is an option mistyped (--confg=x)
    if sep and closest(flag, names, cutoff=0.8) is None and key.replace("_", "").replace(".", "").isalnum():
        return f"unknown option {short_repr(flag)}: overrides are key=value (did you mean {key}={value}?)"
    return f"unknown option {short_repr(flag)}{did_you_mean(flag, names)}"


def cli(config: Any, argv: Sequence[str] | None = None, *, usage: str | None = None) -> Any:
    """The one call a script needs: ``config = cli(config)``. Returns ``config`` with the
    ``key=value`` overrides of the command line applied. ``--help``/``-h`` prints ``usage``
    (default: a one-line synopsis) and what can be overridden in the config those overrides
    make (after ``optim=SGDConfig``, the fields of an ``SGDConfig``), and exits 0. Bad input
    prints one ``error:`` line to stderr and exits 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    wants_help = "--help" in args or "-h" in args
    try:  # with --help too: what is listed is the config these overrides make (a class swap)
        for arg in args:  # a key is a name: an argument starting with "-" is an option
            if arg.startswith("-") and arg not in HELP:
                raise ConfigError(unknown_option(arg))
        config = deep_replace(config, parse_args([a for a in args if a not in HELP]))
    except ConfigError as exc:
        print("error: " + str(exc).replace("\n", " "), file=sys.stderr)
        raise SystemExit(2) from None
    if wants_help:
        if usage is None:
            prog = os.path.basename(sys.argv[0]) or "script"
            usage = f"usage: {prog} key=value ...  (dotted keys; values are YAML flow values)"
        print(usage.rstrip("\n"))
        print(describe(config))
        raise SystemExit(0)
    return config
