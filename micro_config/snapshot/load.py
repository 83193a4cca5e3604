"""Normalised data -> config tree, and the ``from_data``/``from_yaml``/``from_json`` entry points.

Rebuilding goes bottom-up, memoised on the identity of each parsed mapping/list, so an alias
(a JSON ``_ref_``) rebuilds to one shared object and an alias bomb costs linear time. Parsing
is in ``parse``, class resolution and its safety rules in ``resolve``, the per-class plans
(and the dacite slow path) in ``plans``, schema drift in ``drift``.
"""

from __future__ import annotations

import enum
import pathlib
from collections.abc import Iterable
from typing import Any

from ..errors import (
    ConfigError,
    MalformedFileError,
    RefusedClassError,
    UnknownFieldError,
    WrongTypeError,
    did_you_mean,
    short_repr,
)
from ..plan import (
    ANY,
    BUILD,
    CHECK,
    PLANS,
    SEQ,
    Plan,
    Shape,
    actions_of,
    mapping_class,
    plan_of,
    shape_of,
    target_name,
    via_dacite,
)
from ..script import ConfigScriptList
from ..tree import is_node
from .drift import Drift
from .format import (
    DEPTH_LIMIT,
    FORMAT_VERSION,
    ID,
    NONFINITE,
    REF,
    TARGET,
    TYPE,
    VALUE,
    depth_error,
    is_document,
    split_document,
)
from .gcpause import gc_paused, recursion_room
from .migrate import VERSIONS, Migrated, migrate_tree, renamed_class, resolver_lookup
from .parse import parse_json, parse_json_unchecked, parse_yaml, parse_yaml_unchecked
from .resolve import Resolver

__all__ = ["FORMAT_VERSION", "from_data", "from_json", "from_yaml", "parse_json", "parse_yaml"]

_BUSY = object()  # memo entry of a node being built: meeting it again means a cycle
_FRAMES_PER_LEVEL = 6  # calls of the builder per level of data (build, _mapping, _node, ...)
_COLLECTIONS = {"tuple": tuple, "set": set, "frozenset": frozenset, "list": list}  # marker kinds
_MARKER_KINDS = (*_COLLECTIONS, "path", "float", "dict")  # every _type_ that names no class


class _Builder:
    """One rebuild: memo by parsed-object identity, class resolution, drift notes."""

    def __init__(self, allowed: tuple[str, ...], strict: bool) -> None:
        self.memo: dict[int, Any] = {}
        resolver = Resolver(allowed)
        self.resolve = resolver.resolve
        self.placed = resolver.placed  # read directly for the usual _target_
        self.strs: dict[type, dict[str, Any]] = {}
        self.drift = Drift(strict)
        self.migrated = Migrated()  # this load's migrations (from_data sets a document's)
        self.moved: dict[tuple[str, Shape], type] = {}  # old class names met, by place

    # -- values

    def build(self, d: Any, shape: Shape) -> Any:
        t = type(d)
        if t is dict or t is list:
            key = id(d)
            hit = self.memo.get(key)
            if hit is not None:
                if hit is _BUSY:
                    raise MalformedFileError("cycle: this node contains itself")
                return hit
            self.memo[key] = _BUSY
            out = self._mapping(d, shape) if t is dict else self._list(d, shape)
            self.memo[key] = out
            return out
        if t is str and shape.str_as is not None:
            return self._str(d, shape.str_as)
        return d

    def _mapping(self, d: dict[Any, Any], shape: Shape) -> Any:
        target = d.get(TARGET)
        if target is not None:
            cls = self.placed.get((target, shape)) if type(target) is str else None
            if cls is None:
                cls = self._class(d, target, shape)
            return self._node(d, cls)
        if TYPE in d:
            return self._marker(d, shape)
        if shape.node is not None:  # a hand-written mapping; the annotation names the class
            return self._node(d, shape.node)
        if shape.nodes is not None:  # ... or several classes: the first that takes it
            return self._first_fitting(d, shape.nodes)
        return self._dict(d, shape)

    def _class(self, d: dict[Any, Any], target: Any, shape: Shape) -> type:
        """The class ``target`` names, placed at ``shape``. An old name of a renamed class
        (migrate.renamed_from) stands for the class it names now: ``d`` is migrated to it."""
        moved = self.moved.get((target, shape)) if type(target) is str else None
        if moved is None:
            try:
                return self.resolve(target, shape, marker=False)
            except ConfigError as exc:
                now = renamed_class(target)
                if now is None:
                    raise exc.under(TARGET) from None
            try:
                moved = self.moved[(target, shape)] = self.resolve(target_name(now), shape, marker=False)
            except ConfigError as exc:
                raise exc.under(TARGET) from None
        self.migrated.late(d, target, moved, renamed=True)
        return moved

    def _first_fitting(self, d: dict[Any, Any], classes: tuple[type, ...]) -> Any:
        """A hand-written mapping (no ``_target_``) where a union names several config classes:
        built as plan.mapping_class picks (one build: linear, whatever the nesting). No class
        with all its keys: an UnknownFieldError at the key, as the command line says it."""
        cls = mapping_class(classes, d)
        if cls is not None:
            return self._node(d, cls)
        names = [c.__qualname__ for c in classes]
        fields = {n for c in classes for n in plan_of(c).names}
        stray = [k for k in d if k not in fields]
        if stray:
            raise UnknownFieldError(
                f"no class that may stand here ({', '.join(names)}) has this field"
                f"{did_you_mean(str(stray[0]), fields)}", str(stray[0]))
        raise UnknownFieldError(
            f"no class that may stand here ({', '.join(names)}) has all of "
            f"{', '.join(map(str, d))}: name one with {TARGET}")

    def _str(self, d: str, cls: type) -> Any:
        """An Enum member by name, or a Path (each text made once per load: both immutable)."""
        table = self.strs.get(cls)
        if table is None:
            table = self.strs[cls] = dict(cls.__members__) if issubclass(cls, enum.Enum) else {}
        value = table.get(d)
        if value is None:
            if issubclass(cls, enum.Enum):
                raise WrongTypeError(
                    f"{d!r} is not a member of {cls.__qualname__}{did_you_mean(d, table)}"
                )
            value = table[d] = cls(d)
        return value

    def _child(self, d: Any, shape: Shape, key: Any) -> Any:
        try:
            return self.build(d, shape)
        except ConfigError as exc:
            raise exc.under(key) from None

    def _items(self, d: list[Any], item: Shape, items: tuple[Shape, ...] | None = None) -> list[Any]:
        if items is not None and len(items) == len(d):
            return [self._child(x, s, i) for i, (x, s) in enumerate(zip(d, items, strict=True))]
        build = self.build
        plain_str = item.str_as is None
        out = []
        for i, x in enumerate(d):
            tx = type(x)
            if plain_str and tx is not dict and tx is not list:
                out.append(x)
                continue
            try:
                out.append(build(x, item))
            except ConfigError as exc:
                raise exc.under(i) from None
        return out

    def _list(self, d: list[Any], shape: Shape) -> Any:
        out = self._items(d, shape.item, shape.items)
        kind = shape.list_as
        if kind is None or kind is list:
            return out
        try:
            made = kind(out)
        except TypeError:  # an unhashable set element: name it, as the command line does
            raise _unhashable(out, kind) from None
        if len(made) < len(out) and len({(type(x), x) for x in out}) > len(made):
            raise _merged(out, kind)  # 0 and False, 1 and 1.0: one item, and one type lost
        return made

    def _dict(self, d: dict[Any, Any], shape: Shape) -> Any:
        for reserved in (ID, REF, TARGET):
            if reserved in d:
                raise MalformedFileError(f"{reserved!r} is reserved and not allowed here", reserved)
        value, key = shape.value, shape.key
        out = {
            (k if key.str_as is None or type(k) is not str else self._str(k, key.str_as)): (
                v if type(v) is not dict and type(v) is not list and value.str_as is None
                else self._child(v, value, k)
            )
            for k, v in d.items()
        }
        return shape.dict_as(out) if shape.dict_as is not None else out

    def _marker(self, d: dict[Any, Any], shape: Shape) -> Any:
        if len(d) != 2 or VALUE not in d:
            raise MalformedFileError(
                f"a {TYPE} marker has exactly the keys {TYPE!r} and {VALUE!r}, not {sorted(d)}"
            )
        return self._marker_value(d[TYPE], d[VALUE], shape)

    def _marker_value(self, kind: Any, payload: Any, shape: Shape) -> Any:
        builder = _COLLECTIONS.get(kind) if type(kind) is str else None
        if builder is not None:
            self._expect(payload, list, kind)
            typed = shape.list_as is builder  # the place says what its items are (Enums, Paths)
            items = self._items(payload, shape.item if typed else ANY, shape.items if typed else None)
            try:
                return builder(items)
            except TypeError:
                raise _unhashable(items, builder) from None
        if kind == "path":
            self._expect(payload, str, kind)
            return self._str(payload, pathlib.Path)
        if kind == "float":
            if type(payload) is not str or payload not in NONFINITE:
                raise WrongTypeError(
                    f"a float marker holds 'nan', 'inf' or '-inf', not {short_repr(payload)}"
                )
            return NONFINITE[payload]
        if kind == "dict":
            self._expect(payload, list, kind)
            return self._pairs(payload, shape.key, shape.value)
        if type(kind) is str and "." not in kind:  # no class name: a mistyped kind
            raise MalformedFileError(
                f"{short_repr(kind)} is no marker kind nor an Enum or wrapper class"
                f"{did_you_mean(kind, _MARKER_KINDS)}", TYPE)
        try:
            cls = self.resolve(kind, shape, marker=True)
        except ConfigError as exc:
            raise type(exc)(exc.message, TYPE) from None  # its kind kept
        if issubclass(cls, enum.Enum):
            self._expect(payload, str, cls.__qualname__)
            return self._str(payload, cls)
        if issubclass(cls, ConfigScriptList):
            self._expect(payload, list, cls.__qualname__)
            return cls(self._items(payload, ANY))
        mapping = self.build(payload, ANY)
        self._expect(mapping, dict, cls.__qualname__)
        return cls(mapping)

    def _pairs(self, payload: list[Any], key: Shape, value: Shape) -> dict[Any, Any]:
        out = {}
        for index, pair in enumerate(payload):
            if type(pair) is not list or len(pair) != 2:
                raise MalformedFileError(f"a dict marker holds [key, value] pairs, not {short_repr(pair)}", str(index))
            k = self._child(pair[0], key, index)
            try:
                if k in out:  # as a plain mapping's key given twice (parse refuses it)
                    raise MalformedFileError(
                        f"the key {short_repr(k)} is given twice (or equals an earlier key)", str(index)
                    )
                out[k] = self._child(pair[1], value, index)
            except TypeError:
                raise WrongTypeError(f"unhashable dict key {short_repr(k)}", str(index)) from None
        return out

    @staticmethod
    def _expect(payload: Any, kind: type, what: str) -> None:
        if not isinstance(payload, kind):
            raise MalformedFileError(f"a {what} marker holds a {kind.__name__}, not {short_repr(payload)}")

    def _node(self, d: dict[Any, Any], cls: type) -> Any:
        plan = PLANS.get(cls) or plan_of(cls)
        kwargs = d.copy()
        kwargs.pop(TARGET, None)
        try:  # every field, nothing else: the usual case
            values = plan.values(kwargs) if len(kwargs) == len(plan.names) else None
        except KeyError:
            values = None
        if values is not None:
            types = tuple(map(type, values))
            todo = plan.by_types.get(types)
            if todo is None:
                todo = plan.actions(types)
        else:
            present = self.drift.reconcile(cls, plan, kwargs, d)
            todo = actions_of(present, [type(kwargs[k]) for k, _ in present])
        slow: list[str] | None = None
        strs = self.strs
        for k, what, f, arg in todo:
            v = kwargs[k]
            if what is SEQ:
                if set(map(type, v)) <= arg:  # checked already: the common list[float], tuple[int, ...]
                    if f.seq is list or f.seq is set:  # mutable: a shared (anchored) one stays shared
                        made = self.memo.get(id(v))
                        if type(made) is not f.seq:
                            made = self.memo[id(v)] = f.seq(v)
                        kwargs[k] = made
                    else:
                        kwargs[k] = f.seq(v)
                    continue
                what, arg = BUILD, f.shape
            elif what is CHECK:
                if not arg(v):
                    slow = [k] if slow is None else [*slow, k]
                continue
            try:
                if what is BUILD:
                    v = self.build(v, arg)
                else:  # STR: a text met before in this load (the usual case), else made now
                    table = strs.get(arg)
                    made = table.get(v) if table is not None else None
                    v = made if made is not None else self._str(v, arg)
            except ConfigError as exc:
                raise exc.under(k) from None
            kwargs[k] = v
            if type(v) not in f.exact and f.check is not None and not f.check(v):
                slow = [k] if slow is None else [*slow, k]
        if slow is not None:
            try:
                kwargs.update(via_dacite(plan, {k: kwargs[k] for k in slow}))
            except WrongTypeError:
                self._refuse_in_file_order(plan, slow, d)
                raise
        try:
            return cls(**kwargs)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"building {cls.__qualname__} failed: {type(exc).__name__}: {exc}"
            ) from None


    def _refuse_in_file_order(self, plan: Plan, names: list[str], d: dict[Any, Any]) -> None:
        """A set field refused: its items checked again in the file's order (the rule
        iterates the set, whose order is not the file's), so that the error names the index
        the file has, as the command line does. Only on the way to an error."""
        for k in names:
            f, raw = plan.fields[k], d.get(k)
            if type(raw) is list and f.shape.list_as in (set, frozenset):
                f.load([self._child(x, f.shape.item, i) for i, x in enumerate(raw)], k)


def _unhashable(items: list[Any], kind: type) -> ConfigError:
    for index, item in enumerate(items):
        try:
            hash(item)
        except TypeError:
            return WrongTypeError(f"a {kind.__name__} holds hashable items, not {short_repr(item)}", str(index))
    return WrongTypeError(f"cannot make a {kind.__name__}")


def _merged(items: list[Any], kind: type) -> ConfigError:
    first: dict[Any, Any] = {}
    for index, item in enumerate(items):
        other = first.setdefault(item, item)
        if type(other) is not type(item):
            return WrongTypeError(
                f"{short_repr(item)} and {short_repr(other)} are one item of a {kind.__name__}",
                str(index),
            )
    return WrongTypeError(f"items of different types merge in a {kind.__name__}")


def from_data(
    data: Any,
    cls: type | None = None,
    *,
    allow_modules: Iterable[str] | str = (),
    strict: bool = True,
) -> Any:
    """Rebuild a config tree from normalised data (a bare tree or a snapshot document).

    ``cls``: the expected root class (a root that is not one is a ConfigError); its top-level
    package may be imported to resolve classes. ``allow_modules``: more packages that may be
    imported. ``strict=False``: fields the class no longer has are dropped with a warning.
    """
    # a bare tree is read at the current class versions; migrations bring older nodes up to date
    versions = data.get(VERSIONS) if is_document(data) else False
    data = split_document(data)[0]  # format.py: the document's shape and version, checked once
    allowed = (allow_modules,) if isinstance(allow_modules, str) else tuple(allow_modules)
    if cls is not None and cls.__module__ != "__main__":
        allowed += (cls.__module__.split(".")[0],)
    builder = _Builder(allowed, strict)
    if versions is not False:  # a bare tree is read at today's versions (a moved class: _class)
        builder.migrated = migrate_tree(data, versions, resolver_lookup(builder.resolve))
    with gc_paused(), recursion_room(_FRAMES_PER_LEVEL * DEPTH_LIMIT):
        try:
            root = builder.build(data, shape_of(cls) if cls is not None else ANY)
        except RecursionError:  # data that did not come through parse's depth check
            raise depth_error() from None
    if cls is not None and not isinstance(root, cls):
        kind = RefusedClassError if is_node(root) else MalformedFileError  # no config at all
        raise kind(f"the file holds {short_repr(root)}, not a {cls.__qualname__}")
    builder.drift.warn(data)
    builder.migrated.warn()
    return root


def from_yaml(
    text: str | bytes,
    cls: type | None = None,
    *,
    allow_modules: Iterable[str] | str = (),
    strict: bool = True,
) -> Any:
    """Rebuild a config tree from YAML text (see :func:`from_data`). Text with nothing in it
    (empty, or only comments) is a MalformedFileError: no writer makes it (``null`` is None)."""
    with gc_paused():  # one pause; the parsed data is freed before the collector runs again
        return from_data(parse_yaml_unchecked(text), cls, allow_modules=allow_modules, strict=strict)


def from_json(
    text: str | bytes,
    cls: type | None = None,
    *,
    allow_modules: Iterable[str] | str = (),
    strict: bool = True,
) -> Any:
    """Rebuild a config tree from JSON text (see :func:`from_data`)."""
    with gc_paused():  # one pause; the parsed data is freed before the collector runs again
        return from_data(parse_json_unchecked(text), cls, allow_modules=allow_modules, strict=strict)
