"""The one identity-aware view of a config tree: what a node is, and what its children are.

A *node* is a dataclass instance (every ``ConfigScript`` is one) or a ``ConfigScriptList`` /
``ConfigScriptDict``. Plain lists, tuples and dicts inside fields are walked through, so a config
held in a plain list is still found, but only nodes have identity that matters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from .errors import ConfigError


def is_dataclass_instance(value: object) -> bool:
    # type(value), not value: a dataclass *class* is not an instance.
    return hasattr(type(value), "__dataclass_fields__")


def is_node(value: object) -> bool:
    """A value whose identity means something: a dataclass instance or a ConfigScript
    (``ConfigScriptList`` / ``ConfigScriptDict`` are ConfigScripts but not dataclasses)."""
    cls = type(value)
    return hasattr(cls, "__dataclass_fields__") or hasattr(cls, "_micro_config_node")


def children(value: Any) -> Iterator[tuple[str, Any]]:
    """The direct children of ``value`` as ``(key, child)``: fields, list indices or dict keys."""
    if is_dataclass_instance(value):
        for f in dataclasses.fields(value):
            yield f.name, getattr(value, f.name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield str(index), item
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key), item


def descendant_nodes(root: Any) -> Iterator[Any]:
    """Every node reachable from ``root`` (itself included when it is one), each exactly once,
    depth-first in field order. A node that contains itself is a ``ConfigError``."""
    seen: set[int] = set()
    on_stack: set[int] = set()

    def visit(value: Any, path: str) -> Iterator[Any]:
        node = is_node(value)
        if node:
            key = id(value)
            if key in on_stack:
                raise ConfigError("cycle: this node contains itself", path)
            if key in seen:
                return
            seen.add(key)
            on_stack.add(key)
            yield value
        elif not isinstance(value, list | tuple | dict):
            return
        for name, child in children(value):
            yield from visit(child, f"{path}.{name}" if path else name)
        if node:
            on_stack.discard(id(value))

    yield from visit(root, "")
