"""What differs between two config trees: two runs, or a run and the current defaults.

Everything here works on *normalised data* (docs/format.md): a config node is a dict whose first
key is ``_target_``, a marker is ``{_type_, value}``, and a shared node is one and the same Python
object at every place. Files are parsed into that form without importing any class, so diffing
any file is safe. The walk pairs the nodes of the two trees and is memoised on the identity of
each pair, so it costs time linear in the distinct nodes: an alias bomb is cheap. What the
children of a data value are (:func:`entries`) is stated here once, for the diff and for
``show --paths``, which walks it with the format's one walk over data (``format.walk``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..snapshot.files import read_data
from ..snapshot.format import LEAF, TARGET, TYPE, walk
from ..snapshot.gcpause import gc_paused

# Marker kinds whose payload is a value, not a ConfigScriptList/Dict to walk into.
BUILTIN_MARKERS = frozenset({"tuple", "set", "frozenset", "path", "dict", "float"})


@dataclass(frozen=True)
class Change:
    """One difference, at a dotted path that ``deep_replace`` accepts.

    ``kind`` is ``changed`` / ``added`` / ``removed`` (``old`` / ``new`` are normalised data,
    ``None`` on the missing side), ``class`` (``old`` / ``new`` are the ``_target_`` names) or
    ``sharing`` (``old`` / ``new``: the earlier path holding the very same node in that tree, or
    ``None`` where the node at ``path`` is a separate one). ``also`` lists the other paths that
    reach the same place through a shared node: the change is reported once, not at each of them.
    """

    path: str
    kind: str
    old: Any
    new: Any
    also: tuple[str, ...] = ()


# ---------------------------------------------------------------- the shape of normalised data


def is_marker(value: Any) -> bool:
    return isinstance(value, dict) and TYPE in value and set(value) <= {TYPE, "value"}


def is_wrapper(value: Any) -> bool:
    """A ``ConfigScriptList``/``ConfigScriptDict`` marker: its payload is walked like a node."""
    return (
        is_marker(value)
        and value[TYPE] not in BUILTIN_MARKERS
        and isinstance(value.get("value"), list | dict)
    )


def tag(value: Any) -> tuple[str, str] | None:
    """``("_target_", class name)`` of a config node, ``("_type_", class name)`` of a wrapper."""
    if isinstance(value, dict):
        if TARGET in value:
            return TARGET, value[TARGET]
        if is_wrapper(value):
            return TYPE, value[TYPE]
    return None


def is_flat(value: list) -> bool:
    """A list of plain values (shown and compared as one value, not item by item)."""
    return not any(isinstance(item, dict | list) for item in value)


def entries(value: Any) -> dict[str, Any] | list[Any] | None:
    """The children of ``value`` to walk, keyed as ``deep_replace`` paths key them, or None
    for a leaf: node fields, wrapper payload items, plain dict keys, items of a list that
    holds containers."""
    if isinstance(value, dict):
        if TARGET in value:
            return {k: v for k, v in value.items() if k != TARGET}
        if is_wrapper(value):
            payload = value["value"]
            return payload if isinstance(payload, dict) or not is_flat(payload) else None
        if is_marker(value):
            return None
        return value
    if isinstance(value, list) and not is_flat(value):
        return value
    return None


def walk_items(kids: dict[str, Any] | list[Any]) -> Iterator[tuple[str, Any]]:
    if isinstance(kids, dict):
        for key, child in kids.items():
            yield str(key), child
    else:
        for index, child in enumerate(kids):
            yield str(index), child


def children(value: Any) -> Iterator[tuple[str, Any]] | None:
    """:func:`entries` in the form ``format.walk`` takes: ``(key, child)`` pairs, or None."""
    kids = entries(value)
    return None if kids is None else walk_items(kids)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------- leaf equality


def same_float(x: float, y: float) -> bool:
    """Bit-exact: nan equals nan (any payload), -0.0 differs from 0.0."""
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return struct.pack("<d", x) == struct.pack("<d", y)


def _unmark_float(value: Any) -> Any:
    # JSON writes nan/inf as a float marker; compare it as the float it stands for.
    if is_marker(value) and value[TYPE] == "float" and isinstance(value.get("value"), str):
        try:
            return float(value["value"])
        except ValueError:
            return value
    return value


def same_value(x: Any, y: Any, _seen: set[tuple[int, int]] | None = None) -> bool:
    """Deep, type-strict equality of two data values (``1 != 1.0 != True``), floats bit-exact.
    Memoised on pairs of containers, so shared data inside a value is compared once."""
    x, y = _unmark_float(x), _unmark_float(y)
    if type(x) is not type(y):
        return False
    if isinstance(x, float):
        return same_float(x, y)
    if not isinstance(x, list | dict):
        return x is y or x == y
    if x is y:
        return True
    seen = set() if _seen is None else _seen
    pair = (id(x), id(y))
    if pair in seen:
        return True
    seen.add(pair)
    if len(x) != len(y):
        return False
    if isinstance(x, list):
        return all(same_value(i, j, seen) for i, j in zip(x, y, strict=True))
    return x.keys() == y.keys() and all(same_value(v, y[k], seen) for k, v in x.items())


# ---------------------------------------------------------------- the paired walk

_Chain = tuple[tuple[int, int], str, "Any"]  # (pair, path where the pair was expanded, parent)
_MISSING = object()  # the side of a pair where an entry does not exist (added / removed)


def _pair_key(pair: tuple[Any, Any]) -> tuple[int, int]:
    return id(pair[0]), id(pair[1])


def _pair_children(pair: tuple[Any, Any]) -> Iterator[tuple[Any, tuple[Any, Any]]] | None:
    """The children of a pair of data values, as pairs (``_MISSING`` on the side that lacks
    the entry), keyed as :func:`entries` keys them; None when the pair is compared as two
    values (a leaf, a marker, a flat list, or two different kinds of container)."""
    x, y = pair
    if x is _MISSING or y is _MISSING:
        return None
    kx, ky = entries(x), entries(y)
    if kx is None or ky is None or type(kx) is not type(ky) or _kind(x) != _kind(y):
        return None
    return _paired(kx, ky)


def _paired(kx: Any, ky: Any) -> Iterator[tuple[Any, tuple[Any, Any]]]:
    if isinstance(kx, list):
        for index in range(max(len(kx), len(ky))):
            yield index, (_unmark_float(kx[index]) if index < len(kx) else _MISSING,
                          _unmark_float(ky[index]) if index < len(ky) else _MISSING)
        return
    for key, child in kx.items():
        yield key, (_unmark_float(child), _unmark_float(ky[key]) if key in ky else _MISSING)
    for key, child in ky.items():
        if key not in kx:
            yield key, (_MISSING, _unmark_float(child))


class _Differ:
    def __init__(self) -> None:
        # id -> (partner in the other tree, path of first meeting); the objects stay alive in
        # the trees being compared, so ids cannot be recycled during the walk.
        self.seen_a: dict[int, tuple[Any, str]] = {}
        self.seen_b: dict[int, tuple[Any, str]] = {}
        self.places: dict[tuple[int, int], list[str]] = {}
        self.found: list[tuple[str, str, Any, Any, _Chain | None]] = []

    def note(self, path: str, kind: str, old: Any, new: Any, chain: _Chain | None) -> None:
        self.found.append((path, kind, old, new, chain))

    def walk(self, root: str, a: Any, b: Any) -> None:
        """Pair the two trees with the format's one walk over data (``format.walk``, over
        pairs, "met before" meaning the same pair): iterative, linear in distinct pairs."""
        # the walk's place (a linked path) of each expanded pair -> (that place, kept alive so
        # its id stays its own; its dotted path; its chain)
        expanded: dict[int, tuple[Any, str, _Chain | None]] = {id(None): (None, root, None)}
        for where, (x, y), what in walk((_unmark_float(a), _unmark_float(b)), _pair_children,
                                        _pair_key):
            if where is None:
                path, chain = root, None
            else:
                _, parent_path, chain = expanded[id(where[0])]
                path = join(parent_path, str(where[1]))
            if x is _MISSING:
                self.note(path, "added", None, y, chain)
            elif y is _MISSING:
                self.note(path, "removed", x, None, chain)
            elif what is LEAF:
                # a shared list/dict/set of plain values still has an identity that can differ
                if type(x) is type(y) and isinstance(x, list | dict) and not self.meet(
                    path, x, y, chain
                ):
                    continue
                if not same_value(x, y):
                    self.note(path, "changed", x, y, chain)
            elif self.meet(path, x, y, chain):  # FIRST: the pair is expanded here
                chain = ((id(x), id(y)), path, chain)
                expanded[id(where)] = (where, path, chain)
                tx, ty = tag(x), tag(y)
                if tx != ty:
                    self.note(path, "class", tx[1] if tx else None, ty[1] if ty else None, chain)

    def meet(self, path: str, x: Any, y: Any, chain: _Chain | None) -> bool:
        """Record that ``x`` and ``y`` stand at ``path``; report a sharing mismatch; return
        whether the pair still has to be compared (False when it was met before)."""
        seen_a, seen_b = self.seen_a.get(id(x)), self.seen_b.get(id(y))
        if seen_a is None:
            self.seen_a[id(x)] = (y, path)
        if seen_b is None:
            self.seen_b[id(y)] = (x, path)
        paired = seen_a is not None and seen_b is not None and seen_a[0] is y and seen_b[0] is x
        if (seen_a is not None or seen_b is not None) and not paired:
            old = seen_a[1] if seen_a is not None else None
            new = seen_b[1] if seen_b is not None else None
            self.note(path, "sharing", old, new, chain)
        places = self.places.setdefault((id(x), id(y)), [])
        places.append(path)
        return len(places) == 1

    def also(self, path: str, chain: _Chain | None) -> tuple[str, ...]:
        """The other paths reaching ``path``: through each shared node on the way, every other
        place that node was met at. Linear in depth, not in the (maybe exponential) path count."""
        out: list[str] = []
        while chain is not None:
            pair, base, chain = chain
            suffix = path[len(base) :]  # "" or ".rest": the root is met once, never here
            out.extend(place + suffix for place in self.places[pair][1:])
        return tuple(out)

    def changes(self) -> list[Change]:
        return [
            Change(path, kind, old, new, self.also(path, chain))
            for path, kind, old, new, chain in self.found
        ]


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if tag(value) is not None:
        return "node"
    return "dict"


def diff_data(a: Any, b: Any, root: str = "") -> list[Change]:
    """The changes from normalised data ``a`` to normalised data ``b``, paths under ``root``."""
    differ = _Differ()
    with gc_paused():  # same_value recurses: room on the stack for the format's depth
        differ.walk(root, a, b)
    return differ.changes()


# ---------------------------------------------------------------- the API


def diff(a: Any, b: Any, *, meta: bool = False) -> list[Change]:
    """Every difference from ``a`` to ``b``, in depth-first field order of ``a``.

    ``a`` and ``b`` are config objects, snapshot paths or checkpoint folders (or normalised
    data). With ``meta=True`` the snapshots' ``meta`` blocks are compared too, under ``meta.``.
    Applying the ``changed`` values to ``a`` with ``deep_replace(a, **{c.path: c.new})`` gives
    a tree that diffs empty against ``b`` when only values differ.
    """
    tree_a, meta_a = read_data(a)
    tree_b, meta_b = read_data(b)
    changes = diff_data(tree_a, tree_b)
    if meta:
        changes += diff_data(meta_a, meta_b, root="meta")
    return changes
