"""What an annotation says about how a value is written and read back (docs/format.md).

Both sides ask the same question of a field's annotation: does a plain YAML/JSON list, string or
mapping stand for a tuple, a Path or Enum, a wrapper, a dataclass? Where it cannot tell, the
writer adds a marker. :func:`shape_of` answers once per annotation.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import pathlib
import types
import typing
from typing import Any

from .convert import _strip, field_types
from .script import ConfigScriptDict, ConfigScriptList

_NoneType = type(None)
UNIONS = (typing.Union, types.UnionType)
_SEQUENCES = (list, typing.Sequence, typing.MutableSequence, typing.Iterable, typing.Collection)
_MAPPINGS = (dict, typing.Mapping, typing.MutableMapping)


class Shape:
    """What an annotation says about the payload written for it, computed once per annotation.

    ``list_as``: the type a plain YAML/JSON list becomes (None: an ordinary list).
    ``str_as``: the type a plain string becomes (a Path or Enum class; None: a str).
    ``dict_as``: the type a plain mapping becomes (a ConfigScriptDict class; None: a dict).
    ``node``: the dataclass a mapping without ``_target_`` stands for (None: none).
    ``item`` / ``items`` / ``key`` / ``value``: shapes of the elements (positional for tuples).
    ``classes``: the classes a ``_target_`` or typed marker must subclass here (None: any).
    """

    __slots__ = ("list_as", "str_as", "dict_as", "node", "item", "items", "key", "value", "classes")

    def __init__(self, classes: tuple[type, ...] | None = None) -> None:
        self.list_as: type | None = None
        self.str_as: type | None = None
        self.dict_as: type | None = None
        self.node: type | None = None
        self.item: Shape = self
        self.items: tuple[Shape, ...] | None = None
        self.key: Shape = self
        self.value: Shape = self
        self.classes = classes
        if classes is not None:  # only ANY refers to itself
            self.item = self.key = self.value = ANY


ANY = Shape()


def shape_of(annotation: Any) -> Shape:
    """The (cached) :class:`Shape` of an annotation."""
    try:
        return _shape_cached(annotation)
    except TypeError:  # an unhashable annotation object
        return _shape(annotation)


@functools.lru_cache(maxsize=4096)
def _shape_cached(annotation: Any) -> Shape:
    return _shape(annotation)


def _shape(annotation: Any) -> Shape:
    ann = _strip(annotation)
    if ann is Any or ann is object or not _is_checkable(ann):
        return ANY
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin in UNIONS:
        return _union_shape([shape_of(arm) for arm in args if arm is not _NoneType])
    if origin is typing.Literal:
        return Shape(tuple({type(arg) for arg in args}))
    cls = origin if origin is not None else ann
    if not isinstance(cls, type):
        return ANY
    shape = Shape((cls,))
    if dataclasses.is_dataclass(cls):
        shape.node = cls
    elif issubclass(cls, enum.Enum) or issubclass(cls, pathlib.PurePath):
        shape.str_as = cls
    elif issubclass(cls, ConfigScriptDict) or cls in _MAPPINGS:
        shape.dict_as = cls if issubclass(cls, ConfigScriptDict) else None
        shape.classes = (dict,) if cls in _MAPPINGS else (cls,)
        if len(args) == 2:
            shape.key, shape.value = shape_of(args[0]), shape_of(args[1])
        elif len(args) == 1:  # ConfigScriptDict[V]
            shape.value = shape_of(args[0])
    elif issubclass(cls, ConfigScriptList) or cls in _SEQUENCES:
        shape.list_as = cls if issubclass(cls, ConfigScriptList) else list
        shape.classes = (cls,) if issubclass(cls, ConfigScriptList) else (list, tuple)
        if args:
            shape.item = shape_of(args[0])
    elif cls in (tuple, set, frozenset, typing.AbstractSet, typing.MutableSet):
        shape.list_as = cls if cls in (tuple, frozenset) else set
        shape.classes = (shape.list_as,)
        if cls is tuple and args:
            if len(args) == 2 and args[1] is Ellipsis:
                shape.item = shape_of(args[0])
            else:
                shape.items = () if args == ((),) else tuple(shape_of(a) for a in args)
        elif args:
            shape.item = shape_of(args[0])
    return shape


def _is_checkable(ann: Any) -> bool:
    return not isinstance(ann, str | typing.ForwardRef | typing.TypeVar)


def _union_shape(arms: list[Shape]) -> Shape:
    if len(arms) == 1:
        return arms[0]
    if any(arm.classes is None for arm in arms):
        return ANY
    shape = Shape(tuple(c for arm in arms for c in arm.classes))  # type: ignore[union-attr]
    lists = [arm for arm in arms if arm.list_as is not None]
    if len(lists) == 1:  # exactly one sequence type: a plain list means that one
        shape.list_as, shape.item, shape.items = lists[0].list_as, lists[0].item, lists[0].items
    strs = [arm for arm in arms if arm.str_as is not None]
    if len(strs) == 1 and str not in shape.classes:  # type: ignore[operator]
        shape.str_as = strs[0].str_as
    dicts = [arm for arm in arms if dict in arm.classes or arm.dict_as is not None]  # type: ignore
    if len(dicts) == 1:
        shape.dict_as, shape.key, shape.value = dicts[0].dict_as, dicts[0].key, dicts[0].value
    nodes = [arm.node for arm in arms if arm.node is not None]
    if len(nodes) == 1 and not dicts:
        shape.node = nodes[0]
    return shape


@functools.cache
def class_fields(cls: type) -> tuple[tuple[str, Shape, Any], ...]:
    """``(name, shape, annotation)`` of every ``init`` field of a dataclass, in order."""
    hints = field_types(cls)
    return tuple(
        (f.name, shape_of(hints[f.name]), hints[f.name]) for f in dataclasses.fields(cls) if f.init
    )
