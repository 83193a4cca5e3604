"""THE walk over config objects: one identity rule, one path type, no recursion.

**Identity rule** (the one place it is stated): a value is *memoised* — visited once, however many
places hold it, and treated as one object by every user of this module — when it is a *node*
(a dataclass instance, or a ``ConfigScriptList`` / ``ConfigScriptDict`` wrapper) or a plain
*container* (``list``, ``tuple``, ``dict``), mutable or not. Everything else (numbers, strings,
Enums, Paths, sets) is a leaf. So a node met twice is one unrolled object, one anchor, one node
after loading, one node for ``deep_replace``; a tuple shared a million times is walked once.

**Paths** are tuples of keys — field names (``str``), list/tuple indices (``int``) and dict keys
— such as ``("model", "layers", 0)``, rendered one way by :func:`render`: ``model.layers.0``.

Both walks here (:func:`walk`, pre-order, and :func:`transform`, post-order) are iterative, so a
10 000-deep chain needs no recursion limit, and linear in the number of distinct objects. A value
that contains itself is a :class:`~micro_config.errors.ConfigError` naming the path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from inspect import getattr_static
from itertools import compress
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from .errors import ConfigError

Path = tuple[Any, ...]
_UNSET = object()
_CONTAINERS = (list, tuple, dict)


def render(path: Path) -> str:
    """``("model", "layers", 0)`` -> ``"model.layers.0"`` (the root is ``""``)."""
    return ".".join(map(str, path))


def is_dataclass_instance(value: object) -> bool:
    """A dataclass instance that is not a list/dict wrapper (a dataclass *class* is not one)."""
    return _kind(type(value)) == NODE


def is_node(value: object) -> bool:
    """A value whose identity means something: a dataclass instance or a ConfigScript
    (``ConfigScriptList`` / ``ConfigScriptDict`` are ConfigScripts but not dataclasses)."""
    return _kind(type(value)) >= NODE


# What a type is, asked once per type: the identity rule in one table (LEAF is the only falsy kind).
LEAF, SEQUENCE, MAPPING, NODE, WRAPPED_SEQUENCE, WRAPPED_MAPPING = range(6)


class _Kinds(dict):
    def __missing__(self, cls: type) -> int:
        node = hasattr(cls, "__dataclass_fields__") or hasattr(cls, "_micro_config_node")
        if issubclass(cls, dict):
            kind = WRAPPED_MAPPING if node else MAPPING
        elif issubclass(cls, list | tuple):
            kind = WRAPPED_SEQUENCE if node else SEQUENCE
        else:
            kind = NODE if node else LEAF
        self[cls] = kind
        return kind


_KINDS = _Kinds()
_kind = _KINDS.__getitem__
kind_of = _kind  # a type's kind, at C speed (LEAF, the only falsy kind, is a leaf)


def is_memoised(value: object) -> bool:
    """The identity rule: nodes and plain containers are walked once and kept as one object."""
    return _kind(type(value)) != LEAF


_FIELDS: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """Every dataclass field of ``cls`` (``init=False`` ones too), in order; cached per class."""
    names = _FIELDS.get(cls)
    if names is None:
        fields = getattr(cls, "__dataclass_fields__", None)
        if fields is None or _undeclared_fields(cls):  # @dataclass forgotten: the usual slip
            what = "a ConfigScript" if fields is None else "a subclass of a dataclass"
            raise ConfigError(
                f"{cls.__qualname__} is {what} but not a dataclass: put @dataclass on "
                f"the line above 'class {cls.__name__}'"
            )
        names = _FIELDS[cls] = tuple(fields)
    return names


def _undeclared_fields(cls: type) -> bool:
    """Whether ``cls`` (a subclass of a dataclass, not one itself) annotates fields of its own,
    which @dataclass would have made fields: without it they are left out of every field list."""
    if "__dataclass_fields__" in cls.__dict__:
        return False
    own = cls.__dict__.get("__annotations__", {})
    return any("ClassVar" not in str(ann) for ann in own.values())


def children(value: Any) -> list[tuple[Any, Any]]:
    """The direct children of ``value`` as ``(key, child)``: fields (a field that
    ``__post_init__`` has not set yet is left out), list/tuple indices or dict keys."""
    kind = _kind(type(value))
    if kind == MAPPING or kind == WRAPPED_MAPPING:
        return list(value.items())
    if kind == SEQUENCE or kind == WRAPPED_SEQUENCE:
        return list(enumerate(value))
    if kind == NODE:
        names = _FIELDS.get(type(value)) or field_names(type(value))
        try:  # one C call (never through __dict__: see fields_getter)
            return list(zip(names, fields_getter(type(value))(value), strict=True))  # type: ignore[misc]
        except AttributeError:  # a field __post_init__ has not set yet
            pass
        out = []
        for name in names:
            child = getattr(value, name, _UNSET)
            if child is not _UNSET:
                out.append((name, child))
        return out
    return []


_FIRST_TIME: Any = object()  # Visit.first_where of a value met for the first time


class Visit(NamedTuple):
    """One place in the tree, as :func:`walk` reaches it. Its path is kept as a linked chain
    of keys and expanded only when asked (``path``, ``first``), so walking a chain of any depth
    is linear; a consumer that renders every path pays for the text it makes, no more."""

    where: Any  # this place's path, linked: (the parent's ``where``, key); None for the root
    value: Any
    first_where: Any  # a memoised value met before: its first place, linked; else _FIRST_TIME
    parent: Any  # the container or node holding this place (None for the root)
    key: Any  # field name, index or dict key within ``parent`` (None for the root)

    @property
    def path(self) -> Path:
        """Keys from the root to this place (() for the root)."""
        return expand(self.where)

    @property
    def again(self) -> bool:
        """A memoised value met before (not descended into again)."""
        return self.first_where is not _FIRST_TIME

    @property
    def first(self) -> Path | None:
        """The path a value met again was first reached at; None at its first place."""
        return None if self.first_where is _FIRST_TIME else expand(self.first_where)


def walk(root: Any) -> Iterator[Visit]:
    """Every place in the tree, depth-first in field order, leaves included. A memoised value
    (see the identity rule) reached again is yielded once more with ``first`` set and not
    descended into, so the walk is linear in the number of distinct objects."""
    return _walk(root, True)  # type: ignore[return-value]


def distinct(root: Any) -> Iterator[tuple[Any, Any, list[tuple[Any, Any]]]]:
    """Each memoised value reachable from ``root`` once (pre-order), as ``(where, value, its
    children)``: the cheap form of :func:`walk` for callers that skip repeats and leaves;
    ``expand(where)`` is the path it was first reached at."""
    return _walk(root, False)  # type: ignore[return-value]


def expand(where: Any) -> Path:
    """The path of a place :func:`distinct` reports (kept as a linked chain of keys while
    walking, so a deep chain costs linear time; expanded only when asked)."""
    keys = []
    while where is not None:
        where, key = where
        keys.append(key)
    return tuple(reversed(keys))


def _walk(root: Any, places: bool) -> Iterator[Any]:
    first: dict[int, Any] = {}
    alive: list[Any] = []  # each memoised value met: its id stays its own (see each_once)
    on_path: set[int] = set()
    stack: list[Any] = [(root, None, None, None)]  # (value, where, parent, key)
    kinds = _KINDS
    while stack:
        item = stack.pop()
        if type(item) is int:  # leaving a memoised value
            on_path.discard(item)
            continue
        value, where, parent, key = item
        kind = kinds[type(value)]
        if kind == LEAF:
            if places:
                yield Visit(where, value, _FIRST_TIME, parent, key)
            continue
        ident = id(value)
        if ident in first:
            if ident in on_path:
                raise ConfigError("cycle: this value contains itself", render(expand(where)))
            if places:
                yield Visit(where, value, first[ident], parent, key)
            continue
        first[ident] = where
        alive.append(value)
        kids = children(value)
        yield Visit(where, value, _FIRST_TIME, parent, key) if places else (where, value, kids)
        on_path.add(ident)
        stack.append(ident)
        for k, child in reversed(kids):
            if places or kinds[type(child)]:
                stack.append((child, (where, k), value, k))


def each_once(root: Any, skip: Any = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """The fast form, for per-object bookkeeping on hot paths (the unroll staleness record):
    each memoised value reachable from ``root`` once (pre-order), as ``(value, own)`` where
    ``own`` is the tuple of its children (a mapping's: its length, keys, then values), without
    paths; a value whose ``id`` is in ``skip`` is neither yielded nor entered. The inner loop
    stays in C where it can (a leaf is never pushed). A cycle is a ConfigError (no path)."""
    kinds = _KINDS
    kind_of = kinds.__getitem__
    seen: set[int] = set()
    # the values seen, kept alive while walking: a field read through a property may return a
    # new object at each read, and one freed could hand its id to the next (taken for seen)
    alive: list[Any] = []
    on_path: set[int] = set()
    todo = [root] if kinds[type(root)] else []
    while todo:
        value = todo.pop()
        if type(value) is int:  # only markers are ints: leaving ``value``
            on_path.discard(value)
            continue
        ident = id(value)
        if ident in seen:
            if ident in on_path:
                for _ in walk(root):  # the slow walk finds the cycle again, with its path
                    pass
                raise ConfigError("cycle: this value contains itself")
            continue
        if ident in skip:
            continue
        seen.add(ident)
        alive.append(value)
        own, inner = own_state(value)
        yield value, own
        on_path.add(ident)
        todo.append(ident)
        todo.extend(compress(inner, map(kind_of, map(type, inner))))


def values_getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The values of ``names`` from a mapping (an instance ``__dict__``, a parsed mapping), as
    a tuple in one C call; KeyError if one is missing. The one such getter (plan uses it)."""
    if len(names) == 1:
        name = names[0]
        return lambda d: (d[name],)
    return itemgetter(*names) if names else lambda d: ()


def fields_live_in_dict(cls: type, names: tuple[str, ...]) -> bool:
    """Whether the fields ``names`` of ``cls`` are plain instance attributes, kept in the
    instance ``__dict__`` (no class attribute with ``__set__``: a property, a slot)."""
    return not any(hasattr(type(getattr_static(cls, n, None)), "__set__") for n in names)


class _FieldsGetter(dict):
    """class -> a getter of all its fields' values, as one tuple in one C call
    (``operator.attrgetter``); None for a class that is not a dataclass node (a wrapper).

    It reads attributes, not the instance ``__dict__``: since Python 3.11 an instance keeps its
    attributes inline until ``__dict__`` is asked for, and asking builds the dict for good,
    which makes every later ``config.field`` read about 2.5x slower (the unroll bodies', the
    user's). Read through ``getattr``, a property or slot field is read as :func:`children`
    reads it."""

    def __missing__(self, cls: type) -> Callable[[Any], tuple[Any, ...]] | None:
        get = None
        if _kind(cls) == NODE:
            names = field_names(cls)
            if len(names) == 1:
                name = names[0]
                get = lambda value: (getattr(value, name),)  # noqa: E731
            else:
                get = attrgetter(*names) if names else lambda value: ()
        self[cls] = get
        return get


fields_getter = _FieldsGetter().__getitem__
"""``fields_getter(cls)(value)``: a node's field values, as :func:`own_state` reads them (the
unroll wrapper calls it inline, on its hot path); None for a class it cannot serve,
AttributeError for a field not set yet: then :func:`own_state`'s slow form."""


def own_state(value: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A memoised value's own state, as :func:`each_once` yields it, and the children it descends
    into: a node's field values (those set: a field ``__post_init__`` has not set yet is left
    out), a sequence's items, a mapping's length, keys, then values (it descends into the
    values). Defined here once: the unroll staleness record uses it too."""
    cls = type(value)
    kind = _kind(cls)
    if kind == NODE:
        try:
            own = fields_getter(cls)(value)  # type: ignore[misc]
        except (TypeError, AttributeError):  # a wrapper, a field not set yet
            own = tuple(c for _, c in children(value))
        return own, own
    if kind == SEQUENCE or kind == WRAPPED_SEQUENCE:
        own = tuple(value)
        return own, own
    inner = tuple(value.values())
    return (len(value), *value, *inner), inner


def descendant_nodes(root: Any) -> Iterator[Any]:
    """Every node reachable from ``root`` (itself included when it is one), each once."""
    for _, value, _ in distinct(root):
        if is_node(value):
            yield value


def transform(
    root: Any,
    leave: Callable[[Any, list[tuple[Any, Any]], Path], Any],
    memo: dict[int, Any] | None = None,
) -> Any:
    """Post-order rebuild: ``leave(value, new_children, path)`` is called once per memoised
    value (children first), where ``new_children`` are ``(key, result)`` pairs; its result
    stands for that value at every place that holds it. Leaves stand for themselves. ``memo``
    (id -> result) may be seeded to replace a value without visiting it."""
    memo = {} if memo is None else memo
    keep: list[Any] = []  # the values whose ids are in memo stay alive during the walk
    on_path: set[int] = set()
    # frames: [value, path, kids, index, results]
    if not is_memoised(root):
        return root
    if id(root) in memo:
        return memo[id(root)]
    frames: list[list[Any]] = [[root, None, children(root), 0, []]]
    on_path.add(id(root))
    while frames:
        frame = frames[-1]
        value, path, kids, index, results = frame
        if index < len(kids):
            frame[3] = index + 1
            key, child = kids[index]
            if not is_memoised(child):
                results.append((key, child))
                continue
            ident = id(child)
            if ident in memo:
                results.append((key, memo[ident]))
                continue
            child_path = (path, key)
            if ident in on_path:
                raise ConfigError("cycle: this value contains itself", render(expand(child_path)))
            on_path.add(ident)
            frames.append([child, child_path, children(child), 0, []])
            continue
        frames.pop()
        result = leave(value, results, path)  # ``path``: a ``where`` (see expand)
        on_path.discard(id(value))
        memo[id(value)] = result
        keep.append(value)
        if frames:
            parent = frames[-1]
            parent[4].append((parent[2][parent[3] - 1][0], result))
    return memo[id(root)]
