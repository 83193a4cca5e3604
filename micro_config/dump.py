"""Config tree -> normalised data -> YAML or JSON text (the format is in docs/format.md).

Three steps, each one walk: :func:`to_data` turns the tree into plain dicts/lists/scalars (a
shared node becomes one shared data object); the YAML writer turns that data into libyaml events
itself (so anchor names are readable and no Python representer runs); the JSON writer adds
``_id_``/``_ref_`` for shared objects and markers for nan/inf before ``json.dumps``.
How a typed value is written depends on its field's annotation: see :class:`Shape`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import gc
import json
import math
import pathlib
import re
import types
import typing
from collections.abc import Iterator
from typing import Any

from .coerce import field_types
from .errors import ConfigError, short_repr
from .script import ConfigScriptDict, ConfigScriptList

TARGET, TYPE, VALUE, ID, REF = "_target_", "_type_", "value", "_id_", "_ref_"
RESERVED = frozenset({TARGET, TYPE, ID, REF})
_NoneType = type(None)
_UNIONS = (typing.Union, types.UnionType)
_SEQUENCES = (list, typing.Sequence, typing.MutableSequence, typing.Iterable, typing.Collection)
_MAPPINGS = (dict, typing.Mapping, typing.MutableMapping)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a big dump or load allocates millions of objects
    that live on, and the collector would rescan them again and again (a third of the time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def target_name(cls: type) -> str:
    """The ``_target_`` text of a class: ``<module>.<QualName>``."""
    return f"{cls.__module__}.{cls.__qualname__}"


# ------------------------------------------------------------------------- annotation shapes


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


def _strip(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Annotated, typing.Final, typing.ClassVar):
            annotation = typing.get_args(annotation)[0]
        elif hasattr(annotation, "__supertype__"):  # NewType
            annotation = annotation.__supertype__
        else:
            return annotation


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
    if origin in _UNIONS:
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


@functools.cache
def _dump_plan(cls: type) -> tuple[str, tuple[tuple[str, Shape], ...]]:
    return target_name(cls), tuple((name, shape) for name, shape, _ in class_fields(cls))


# ---------------------------------------------------------------------------- tree -> data

_BUSY = object()  # memo entry of a node being written: meeting it again means a cycle
_SCALARS = frozenset({str, int, bool, _NoneType, float})


class _ToData:
    """One conversion: identity memo (shared object -> one data object) and cycle check."""

    def __init__(self) -> None:
        self.memo: dict[int, Any] = {}
        self.shared: set[int] = set()  # ids of data objects reached more than once

    def _enter(self, obj: Any) -> Any:
        """The data already made for ``obj`` (marking it shared), or None after marking it busy."""
        hit = self.memo.get(id(obj))
        if hit is None:
            self.memo[id(obj)] = _BUSY
            return None
        if hit is _BUSY:
            raise ConfigError("cycle: this node contains itself")
        self.shared.add(id(hit))
        return hit

    def value(self, v: Any, shape: Shape) -> Any:
        t = type(v)
        if t in _SCALARS:
            return v
        if t is list:
            return self._list(v, shape.item)
        if t is dict:
            return self._dict(v, shape)
        if hasattr(t, "__dataclass_fields__"):
            return self._node(v, t)
        if t is tuple:
            return self._tuple(v, shape)
        if t is set or t is frozenset:
            return self._set(v, t, shape)
        if isinstance(v, enum.Enum):
            if shape.str_as is t:
                return v.name
            return {TYPE: target_name(t), VALUE: v.name}
        if isinstance(v, pathlib.PurePath):
            text = v.as_posix() if isinstance(v, pathlib.PurePosixPath) else str(v)
            if shape.str_as is not None and isinstance(v, shape.str_as):
                return text
            return {TYPE: "path", VALUE: text}
        if isinstance(v, ConfigScriptList):
            return self._wrapper(v, t, shape.list_as, shape.item)
        if isinstance(v, ConfigScriptDict):
            return self._wrapper(v, t, shape.dict_as, shape)
        if t is str or isinstance(v, str | int | float):  # a str/int/float subclass
            raise ConfigError(
                f"cannot write {short_repr(v)}: a {t.__name__} (subclass of a built-in type) "
                "without a known representation; convert it to the plain type"
            )
        what = "a function" if callable(v) else f"a {t.__module__}.{t.__qualname__}"
        raise ConfigError(
            f"cannot write {short_repr(v)} ({what}) to a snapshot: configs may hold only "
            "dataclasses, str, int, float, bool, None, list, tuple, dict, set, Enum and Path"
        )

    def _node(self, obj: Any, cls: type) -> dict[str, Any]:
        hit = self._enter(obj)
        if hit is not None:
            return hit
        target, fields = _dump_plan(cls)
        out: dict[str, Any] = {TARGET: target}
        scalars = _SCALARS
        for name, shape in fields:
            v = getattr(obj, name)
            if type(v) in scalars:
                out[name] = v
                continue
            try:
                out[name] = self.value(v, shape)
            except ConfigError as exc:
                raise exc.under(name) from None
        self.memo[id(obj)] = out
        return out

    def _list(self, v: list[Any], item: Shape) -> list[Any]:
        hit = self._enter(v)
        if hit is not None:
            return hit
        out = self._items(v, item)
        self.memo[id(v)] = out
        return out

    def _items(self, v: Any, item: Shape) -> list[Any]:
        scalars = _SCALARS
        out = []
        for index, x in enumerate(v):
            if type(x) in scalars:
                out.append(x)
                continue
            try:
                out.append(self.value(x, item))
            except ConfigError as exc:
                raise exc.under(index) from None
        return out

    def _tuple(self, v: tuple[Any, ...], shape: Shape) -> Any:
        if shape.items is not None and len(shape.items) == len(v):
            out = []
            for index, (x, item) in enumerate(zip(v, shape.items, strict=True)):
                try:
                    out.append(self.value(x, item))
                except ConfigError as exc:
                    raise exc.under(index) from None
        else:
            out = self._items(v, shape.item)
        return out if shape.list_as is tuple else {TYPE: "tuple", VALUE: out}

    def _set(self, v: set[Any] | frozenset[Any], t: type, shape: Shape) -> Any:
        plain = shape.list_as is t
        hit = self._enter(v) if t is set else None  # a set is mutable: its identity can matter
        if hit is not None:
            return hit
        try:
            ordered = sorted(v)
        except TypeError:  # mixed element types: still one fixed order
            ordered = sorted(v, key=lambda x: (type(x).__name__, repr(x)))
        items = self._items(ordered, shape.item)
        out = items if plain else {TYPE: t.__name__, VALUE: items}
        if t is set:
            self.memo[id(v)] = out
        return out

    def _dict(self, v: dict[Any, Any], shape: Shape) -> Any:
        hit = self._enter(v)
        if hit is not None:
            return hit
        out = self._mapping(v, shape.key, shape.value)
        self.memo[id(v)] = out
        return out

    def _mapping(self, v: dict[Any, Any], key_shape: Shape, value_shape: Shape) -> Any:
        """A plain mapping when every key is a str and none is reserved, else a ``dict`` marker
        holding ``[key, value]`` pairs."""
        plain = all(type(k) is str for k in v) and RESERVED.isdisjoint(v)
        scalars = _SCALARS
        if plain:
            out: dict[str, Any] = {}
            for k, x in v.items():
                if type(x) in scalars:
                    out[k] = x
                    continue
                try:
                    out[k] = self.value(x, value_shape)
                except ConfigError as exc:
                    raise exc.under(k) from None
            return out
        pairs = []
        for k, x in v.items():
            try:
                pairs.append([self.value(k, key_shape), self.value(x, value_shape)])
            except ConfigError as exc:
                raise exc.under(str(k)) from None
        return {TYPE: "dict", VALUE: pairs}

    def _wrapper(self, v: Any, t: type, annotated: type | None, inner: Shape) -> Any:
        """A ConfigScriptList/Dict: plain when the annotation names exactly its class,
        else a marker naming the class."""
        hit = self._enter(v)
        if hit is not None:
            return hit
        if isinstance(v, list):
            payload: Any = self._items(v, inner)
        else:
            payload = self._mapping(v, inner.key, inner.value)
        plain = annotated is t and not (isinstance(payload, dict) and TYPE in payload)
        out = payload if plain else {TYPE: target_name(t), VALUE: payload}
        self.memo[id(v)] = out
        return out


def _convert(config: Any) -> tuple[Any, set[int]]:
    conv = _ToData()
    return conv.value(config, ANY), conv.shared


def to_data(config: Any) -> Any:
    """The normalised data of a config tree (docs/format.md): plain dicts/lists/scalars, a
    config node a dict with ``_target_`` first, a shared node one and the same data object."""
    with gc_paused():
        return _convert(config)[0]


# ---------------------------------------------------------------------------- anchor names

_ANCHOR_DROP = re.compile(r"[^A-Za-z0-9_-]")


class _Namer:
    """Readable, unique anchor/id names from the path of the first place of a shared object."""

    def __init__(self, shared: set[int]) -> None:
        self.shared = shared
        self.names: dict[int, str] = {}
        self.used: set[str] = set()
        self.stack: list[Any] = []  # keys from the root to the current place

    def new(self, obj: Any) -> str:
        path = ".".join(str(k) for k in self.stack)
        base = _ANCHOR_DROP.sub("", path.replace(".", "-")) or "root"
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}-{n}"
        self.used.add(name)
        self.names[id(obj)] = name
        return name


def _child_key(parent: dict[str, Any], key: str) -> str | None:
    """The path segment of a mapping entry (a marker's ``value`` adds none)."""
    return None if key == VALUE and TYPE in parent else key


def shared_ids(data: Any) -> set[int]:
    """Ids of the dicts/lists reached more than once in ``data`` (for data not made here)."""
    seen: set[int] = set()
    shared: set[int] = set()
    stack = [data]
    while stack:
        d = stack.pop()
        if type(d) is dict or type(d) is list:
            if id(d) in seen:
                shared.add(id(d))
                continue
            seen.add(id(d))
            stack.extend(d.values() if type(d) is dict else d)
    return shared


# ---------------------------------------------------------------------------- data -> YAML


def _yaml() -> Any:
    import yaml

    return yaml


@functools.cache
def _yaml_kit() -> tuple[Any, ...]:
    yaml = _yaml()
    dumper = getattr(yaml, "CDumper", None) or yaml.Dumper
    resolvers = yaml.resolver.Resolver.yaml_implicit_resolvers
    return yaml, dumper, resolvers


_STR_EVENTS: dict[str, Any] = {}
# Strings a YAML 1.2 core-schema parser would read as null/bool/int/float are quoted as well,
# so the file means the same to every parser.
_YAML12 = re.compile(
    r"~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)


def _str_event(s: str) -> Any:
    """A scalar event for a string, quoted when a YAML 1.1 resolver would read it as another
    type ("yes", "1e3", "null", "", "~", "0x10", ...); cached, since keys repeat."""
    event = _STR_EVENTS.get(s)
    if event is None:
        yaml, _, resolvers = _yaml_kit()
        candidates = resolvers.get(s[0] if s else "", []) + resolvers.get(None, [])
        plain = not any(regexp.match(s) for _, regexp in candidates) and not _YAML12.fullmatch(s)
        event = yaml.ScalarEvent(None, None, (plain, True), s)
        if len(_STR_EVENTS) > 100_000:
            _STR_EVENTS.clear()
        _STR_EVENTS[s] = event
    return event


def float_text(x: float) -> str:
    """PyYAML's spelling of a float: ``.nan``, ``.inf``, ``-.inf``, or ``repr`` with a ``.0``
    before a bare exponent (``1e+17`` -> ``1.0e+17``) so YAML 1.1 reads it as a float."""
    if x != x:
        return ".nan"
    if x in (math.inf, -math.inf):
        return ".inf" if x > 0 else "-.inf"
    text = repr(x).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


class _Events:
    """Data -> a list of libyaml events, anchors on first places, aliases elsewhere."""

    def __init__(self, shared: set[int]) -> None:
        yaml = _yaml()
        self.yaml = yaml
        self.namer = _Namer(shared)
        self.out: list[Any] = []
        self.map_start = yaml.MappingStartEvent(None, None, True, flow_style=False)
        self.seq_start = yaml.SequenceStartEvent(None, None, True, flow_style=False)
        self.map_end = yaml.MappingEndEvent()
        self.seq_end = yaml.SequenceEndEvent()
        plain = (True, False)
        self.consts = {
            True: yaml.ScalarEvent(None, None, plain, "true"),
            False: yaml.ScalarEvent(None, None, plain, "false"),
            None: yaml.ScalarEvent(None, None, plain, "null"),
        }

    def scalar(self, d: Any) -> Any:
        t = type(d)
        if t is str:
            return _STR_EVENTS.get(d) or _str_event(d)
        if t is int:
            return self.yaml.ScalarEvent(None, None, (True, False), str(d))
        if t is float:
            return self.yaml.ScalarEvent(None, None, (True, False), float_text(d))
        if t is bool or d is None:
            return self.consts[d]
        raise ConfigError(f"cannot write {short_repr(d)} as YAML")

    def value(self, d: Any) -> None:
        t = type(d)
        if t is dict:
            self.mapping(d)
        elif t is list:
            self.sequence(d)
        else:
            self.out.append(self.scalar(d))

    def _start(self, d: Any, plain_event: Any, cls: Any) -> bool:
        """Append the start event (anchored, or an alias); False when it was an alias."""
        namer = self.namer
        if id(d) in namer.shared:
            name = namer.names.get(id(d))
            if name is not None:
                self.out.append(self.yaml.AliasEvent(name))
                return False
            self.out.append(cls(namer.new(d), None, True, flow_style=False))
            return True
        self.out.append(plain_event)
        return True

    def mapping(self, d: dict[Any, Any]) -> None:
        if not self._start(d, self.map_start, self.yaml.MappingStartEvent):
            return
        out, stack, str_events = self.out, self.namer.stack, _STR_EVENTS
        for k, v in d.items():
            out.append(str_events.get(k) or _str_event(k) if type(k) is str else self.scalar(k))
            t = type(v)
            if t is dict or t is list:
                segment = _child_key(d, k)
                if segment is None:
                    self.value(v)
                else:
                    stack.append(segment)
                    self.value(v)
                    stack.pop()
            elif t is str:
                out.append(str_events.get(v) or _str_event(v))
            else:
                out.append(self.scalar(v))
        out.append(self.map_end)

    def sequence(self, d: list[Any]) -> None:
        if not self._start(d, self.seq_start, self.yaml.SequenceStartEvent):
            return
        out, stack = self.out, self.namer.stack
        for index, v in enumerate(d):
            t = type(v)
            if t is dict or t is list:
                stack.append(index)
                self.value(v)
                stack.pop()
            else:
                out.append(self.scalar(v))
        out.append(self.seq_end)


def _emit_yaml(events: list[Any]) -> str:
    yaml, dumper, _ = _yaml_kit()
    yaml_events = [yaml.StreamStartEvent(), yaml.DocumentStartEvent(explicit=False)]
    yaml_events += events
    yaml_events += [yaml.DocumentEndEvent(explicit=False), yaml.StreamEndEvent()]
    return yaml.emit(yaml_events, Dumper=dumper, allow_unicode=True)


def yaml_text(data: Any, shared: set[int] | None = None, *, document: bool = False) -> str:
    """YAML text of normalised data. With ``document=True`` the top-level mapping's keys
    (``micro_config``, ``meta``, ``config``) add nothing to anchor names."""
    with gc_paused():
        writer = _Events(shared_ids(data) if shared is None else shared)
        if document and type(data) is dict:
            writer.out.append(writer.map_start)
            for k, v in data.items():
                writer.out.append(_str_event(k))
                writer.value(v)
            writer.out.append(writer.map_end)
        else:
            writer.value(data)
        return _emit_yaml(writer.out)


def to_yaml(config: Any) -> str:
    """The YAML text of a config tree (docs/format.md): deterministic, readable anchors."""
    with gc_paused():
        data, shared = _convert(config)
        return yaml_text(data, shared)


# ---------------------------------------------------------------------------- data -> JSON



def _float_marker(x: float) -> dict[str, str]:
    return {TYPE: "float", VALUE: "nan" if x != x else ("inf" if x > 0 else "-inf")}


class _Jsonable:
    """Data -> JSON-ready data: ``_id_`` on the first place of a shared object, ``{"_ref_"}``
    elsewhere (a shared list is wrapped as a ``list`` marker to carry its id), nan/inf as
    ``float`` markers."""

    def __init__(self, shared: set[int]) -> None:
        self.namer = _Namer(shared)

    def value(self, d: Any) -> Any:
        t = type(d)
        if t is dict:
            return self.mapping(d)
        if t is list:
            return self.sequence(d)
        if t is float and not math.isfinite(d):
            return _float_marker(d)
        return d

    def _ident(self, d: Any) -> tuple[str | None, Any]:
        namer = self.namer
        if id(d) not in namer.shared:
            return None, None
        name = namer.names.get(id(d))
        if name is not None:
            return None, {REF: name}
        return namer.new(d), None

    def mapping(self, d: dict[str, Any]) -> dict[str, Any]:
        name, ref = self._ident(d)
        if ref is not None:
            return ref
        out: dict[str, Any] = {}
        if name is not None and not (TARGET in d or TYPE in d):
            out[ID] = name
        stack = self.namer.stack
        for k, v in d.items():
            t = type(v)
            if t is dict or t is list:
                segment = _child_key(d, k)
                if segment is not None:
                    stack.append(segment)
                out[k] = self.value(v)
                if segment is not None:
                    stack.pop()
            elif t is float and not math.isfinite(v):
                out[k] = _float_marker(v)
            else:
                out[k] = v
            if name is not None and k in (TARGET, TYPE) and ID not in out:
                out[ID] = name  # right after the first key
        return out

    def sequence(self, d: list[Any]) -> Any:
        name, ref = self._ident(d)
        if ref is not None:
            return ref
        stack = self.namer.stack
        out = []
        for index, v in enumerate(d):
            t = type(v)
            if t is dict or t is list:
                stack.append(index)
                out.append(self.value(v))
                stack.pop()
            elif t is float and not math.isfinite(v):
                out.append(_float_marker(v))
            else:
                out.append(v)
        if name is not None:
            return {TYPE: "list", ID: name, VALUE: out}
        return out


def json_text(data: Any, shared: set[int] | None = None, *, document: bool = False) -> str:
    """JSON text (RFC 8259, indented) of normalised data; see :func:`yaml_text`."""
    with gc_paused():
        writer = _Jsonable(shared_ids(data) if shared is None else shared)
        if document and type(data) is dict:
            ready: Any = {k: writer.value(v) for k, v in data.items()}
        elif not writer.namer.shared:
            ready = data  # nothing to add unless a nan/inf is met
            try:
                return json.dumps(ready, indent=2, ensure_ascii=False, allow_nan=False)
            except ValueError:
                ready = writer.value(data)
        else:
            ready = writer.value(data)
        return json.dumps(ready, indent=2, ensure_ascii=False, allow_nan=False)


def to_json(config: Any) -> str:
    """The JSON text of a config tree (docs/format.md)."""
    with gc_paused():
        data, shared = _convert(config)
        return json_text(data, shared)


# ---------------------------------------------------------------------------- documents


def document_text(config: Any, meta: dict[str, Any], fmt: str, version: int = 1) -> str:
    """A snapshot document (``micro_config``, ``meta``, ``config``) as ``"yaml"`` or ``"json"``
    text. Anchor/id names come from paths inside ``config`` (or ``meta``), not the document."""
    with gc_paused():
        conv = _ToData()
        try:
            meta_data = conv.value(dict(meta), ANY)
        except ConfigError as exc:
            raise exc.under("meta") from None
        doc = {"micro_config": version, "meta": meta_data, "config": conv.value(config, ANY)}
        write = yaml_text if fmt == "yaml" else json_text
        return write(doc, conv.shared, document=True)
