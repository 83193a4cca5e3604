"""What a script's command line can change (``describe``) and the one call that applies it (``cli``)."""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Sequence
from typing import Any

from .convert import type_name
from .errors import ConfigError, short_repr
from .overrides import child_slot, deep_replace, parse_args
from .tree import Visit, is_dataclass_instance, is_node, walk


def describe(config: Any) -> str:
    """Every overridable dotted path with its type and current value, one per line. A shared
    node is listed once, at its first path, with a note naming the other paths that reach it."""
    visits = list(walk(config))
    also: dict[int, list[str]] = {}
    for visit in visits:
        if visit.first_path is not None:
            also.setdefault(id(visit.value), []).append(visit.path)
    annotations: dict[str, Any] = {"": type(config)}
    hidden: set[int] = set()  # containers whose entries are not listed one by one
    lines = []
    for visit in visits:
        if not visit.path:
            continue
        annotation = _annotation(visit, annotations)
        annotations[visit.path] = annotation
        if id(visit.parent) in hidden or _derived(visit):
            hidden.add(id(visit.value))
            continue
        if visit.first_path is not None:
            lines.append(f"{visit.path}: {type(visit.value).__name__}  (same node as {visit.first_path})")
            continue
        lines.append(_line(visit, annotation, also.get(id(visit.value), [])))
        if not is_node(visit.value) and not _holds_nodes(visit.value):
            hidden.add(id(visit.value))  # a list of numbers is one value, not one line per item
    return "\n".join(lines)


def _annotation(visit: Visit, annotations: dict[str, Any]) -> Any:
    parent_path = visit.path[: -(len(visit.key) + 1)] if len(visit.path) > len(visit.key) else ""
    found = child_slot(visit.parent, annotations.get(parent_path, Any), visit.key)
    return found[2] if found is not None else Any


def _derived(visit: Visit) -> bool:
    """A field computed in ``__post_init__`` (``init=False``): shown nowhere, set nowhere."""
    parent = visit.parent
    if not is_dataclass_instance(parent) or isinstance(parent, list | dict):
        return False
    return not type(parent).__dataclass_fields__[visit.key].init


def _holds_nodes(value: Any) -> bool:
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list | tuple):
        return False
    return any(is_node(item) or _holds_nodes(item) for item in value)


def _line(visit: Visit, annotation: Any, others: list[str]) -> str:
    value = visit.value
    if is_node(value):
        text = f"{visit.path}: {type(value).__name__}"
    elif _holds_nodes(value):
        text = f"{visit.path}: {type_name(annotation)}"
    else:
        shown = value.name if isinstance(value, enum.Enum) else short_repr(value)  # as typed
        text = f"{visit.path}: {type_name(annotation)} = {shown}"
    if others:
        text += f"  (shared; also reached as {', '.join(others)})"
    return text


def cli(config: Any, argv: Sequence[str] | None = None, *, usage: str | None = None) -> Any:
    """The one call a script needs: ``config = cli(config)``. ``--help``/``-h`` prints ``usage``
    (default: a one-line synopsis) and what can be overridden, and exits 0; otherwise returns
    ``config`` with the ``key=value`` overrides of the command line applied. Bad input prints
    one ``error:`` line to stderr and exits 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--help" in args or "-h" in args:
        if usage is None:
            prog = os.path.basename(sys.argv[0]) or "script"
            usage = f"usage: {prog} key=value ...  (dotted keys; values are YAML flow values)"
        print(usage.rstrip("\n"))
        print(describe(config))
        raise SystemExit(0)
    try:
        return deep_replace(config, **parse_args(args))
    except ConfigError as exc:
        print("error: " + str(exc).replace("\n", " "), file=sys.stderr)
        raise SystemExit(2) from None
