"""The one identity-aware view of a config tree: what a node is, and what its children are.

A *node* is a dataclass instance (every ``ConfigScript`` is one) or a ``ConfigScriptList`` /
``ConfigScriptDict``. Plain lists, tuples and dicts inside fields are walked through, so a config
held in a plain list is still found, but only nodes have identity that matters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, NamedTuple

from .errors import ConfigError

_UNSET = object()


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
            child = getattr(value, f.name, _UNSET)
            if child is not _UNSET:  # an init=False field __post_init__ has not set yet
                yield f.name, child
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield str(index), item
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key), item


def descendant_nodes(root: Any) -> Iterator[Any]:
    """Every node reachable from ``root`` (itself included when it is one), each exactly once,
    depth-first in field order. Plain containers are walked through once each too, so shared
    tuples cannot make the walk exponential. Something that contains itself is a ``ConfigError``."""
    seen: set[int] = set()
    on_stack: set[int] = set()

    def visit(value: Any, path: str) -> Iterator[Any]:
        node = is_node(value)
        if not node and not isinstance(value, list | tuple | dict):
            return
        key = id(value)
        if key in on_stack:
            raise ConfigError("cycle: this node contains itself", path)
        if key in seen:
            return
        seen.add(key)
        on_stack.add(key)
        if node:
            yield value
        for name, child in children(value):
            yield from visit(child, f"{path}.{name}" if path else name)
        on_stack.discard(key)

    yield from visit(root, "")


class Visit(NamedTuple):
    """One place in the tree, as :func:`walk` reaches it."""

    path: str  # dotted path of this place ("" for the root)
    value: Any
    first_path: str | None  # for a node already reached elsewhere: the path it was first seen at
    parent: Any  # the container holding this place (None for the root)
    key: str | None  # field name, list index or dict key (as text) within ``parent``


def walk(root: Any) -> Iterator[Visit]:
    """Every place in the tree, depth-first in field order, leaves included.

    A node reached a second time is yielded once more with ``first_path`` set and is not
    descended into again, so the walk is linear in the number of distinct nodes however much
    they are shared. Plain lists, tuples and dicts are walked through. A cycle is a
    ``ConfigError``.
    """
    first: dict[int, str] = {}
    on_stack: set[int] = set()

    def visit(value: Any, path: str, parent: Any, key: str | None) -> Iterator[Visit]:
        node = is_node(value)
        if node and id(value) in first and id(value) not in on_stack:
            yield Visit(path, value, first[id(value)], parent, key)
            return
        if id(value) in on_stack:
            raise ConfigError("cycle: this node contains itself", path)
        if node:
            first[id(value)] = path
        yield Visit(path, value, None, parent, key)
        if not node and not isinstance(value, list | tuple | dict):
            return
        on_stack.add(id(value))
        for name, child in children(value):
            yield from visit(child, f"{path}.{name}" if path else name, value, name)
        on_stack.discard(id(value))

    yield from visit(root, "", None, None)
