"""How the ``micro-config`` command writes values, changes and leaf paths (one line each)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from typing import Any

from ..errors import BoundedText
from ..snapshot.format import AGAIN, FIRST, path_text, walk
from .diff import Change, children, tag

# ---------------------------------------------------------------- rendering values


def render(value: Any, limit: int = 160) -> str:
    """A value as a compact YAML flow value, cut to ``limit`` characters."""
    out = BoundedText(limit)
    put = out.put

    def emit(item: Any) -> bool:
        if isinstance(item, dict):
            if not put("{"):
                return False
            for i, (key, child) in enumerate(item.items()):
                if (i and not put(", ")) or not put(f"{key}: ") or not emit(child):
                    return False
            return put("}")
        if isinstance(item, list):
            if not put("["):
                return False
            for i, child in enumerate(item):
                if (i and not put(", ")) or not emit(child):
                    return False
            return put("]")
        return put(scalar(item))

    emit(value)
    return out.text()


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# ---------------------------------------------------------------- diff output

_COLORS = {"path": "\033[1m", "old": "\033[31m", "new": "\033[32m", "note": "\033[33m"}
_RESET = "\033[0m"
ABSENT = "<absent>"


def use_color(choice: str, stream: Any) -> bool:
    if choice != "auto":
        return choice == "always"
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def format_change(change: Change, color: bool = False) -> str:
    """``path: old -> new`` (one line), with the paths that share the change after it."""

    def paint(role: str, text: str) -> str:
        return f"{_COLORS[role]}{text}{_RESET}" if color else text

    if change.kind == "class":
        old, new = f"class {change.old}", str(change.new)
    elif change.kind == "sharing":
        old, new = (f"shared with {p}" if p is not None else "separate"
                    for p in (change.old, change.new))
    else:
        old = ABSENT if change.kind == "added" else render(change.old)
        new = ABSENT if change.kind == "removed" else render(change.new)
    line = f"{paint('path', change.path or '<root>')}: {paint('old', old)} -> {paint('new', new)}"
    if change.also:
        shown = ", ".join(change.also[:3])
        more = f" and {len(change.also) - 3} more" if len(change.also) > 3 else ""
        line += paint("note", f"  (also {shown}{more})")
    return line


def change_json(change: Change) -> dict[str, Any]:
    return {
        "path": change.path,
        "kind": change.kind,
        "old": change.old,
        "new": change.new,
        "also": list(change.also),
    }


# ---------------------------------------------------------------- show output


def path_lines(data: Any) -> Iterator[str]:
    """One ``dotted.path = value`` line per leaf; a shared node is written out at its first
    path and marked ``<shared: first.path>`` at every later one (the format's one walk over
    data: linear in distinct nodes, iterative)."""
    first: dict[int, str] = {}
    for where, value, what in walk(data, children):
        path = path_text(where)
        if what is AGAIN:
            yield f"{path} = <shared: {first[id(value)]}>"
        elif what is FIRST:
            first[id(value)] = path or "<root>"
            head = tag(value)
            if head is not None:
                yield f"{path + '.' if path else ''}{head[0]} = {head[1]}"
            elif not any(True for _ in children(value) or ()):  # an empty mapping
                yield f"{path or '<root>'} = {render(value)}"
        else:
            yield f"{path or '<root>'} = {render(value, limit=10**6)}"
