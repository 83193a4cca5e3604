"""YAML/JSON text -> normalised data -> config tree, safely (the format is in docs/format.md).

Parsing never imports a class. Rebuilding goes bottom-up, memoised on the identity of each
parsed mapping/list, so an alias (a JSON ``_ref_``) rebuilds to one shared object and an alias
bomb costs linear time. Each class gets a plan once (fields, shapes, checks); a value that already
has its field's type goes straight to the constructor, anything else goes through dacite, which
converts what it can and words the error otherwise. Class resolution is in ``_resolve``.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import importlib
import json
import pathlib
import sys
import types
import typing
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from .coerce import field_types, type_name, unwrap_optional
from .dump import (
    ANY,
    ID,
    REF,
    TARGET,
    TYPE,
    VALUE,
    Shape,
    _strip,
    class_fields,
    gc_paused,
    shape_of,
)
from .errors import ConfigError, did_you_mean, short_repr
from .script import ConfigScript, ConfigScriptDict, ConfigScriptList

FORMAT_VERSION = 1
_NoneType = type(None)
_BUSY = object()
_UNIONS = (typing.Union, types.UnionType)
_NONFINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


# ------------------------------------------------------------------------------ text -> data


def _yaml() -> Any:
    import yaml

    return yaml


def _parse_yaml(text: str | bytes) -> Any:
    yaml = _yaml()
    loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        start = exc.context_mark
        if exc.context and start is not None and mark is not None and start.line != mark.line:
            problem += f" ({exc.context} at line {start.line + 1})"
        if "constructor for the tag" in problem:
            problem += " (snapshots use no language-specific YAML tags)"
        raise ConfigError(f"malformed YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML: {exc}") from None
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. an impossible !!timestamp
        raise ConfigError(f"malformed YAML: {exc}") from None


def _check_acyclic(data: Any) -> None:
    """A ConfigError if ``data`` contains itself (YAML can say so with an alias)."""
    done: set[int] = set()
    on_path: set[int] = set()

    def visit(d: Any, path: str) -> None:
        key = id(d)
        if key in done:
            return
        if key in on_path:
            raise ConfigError("cycle: this node contains itself", path)
        on_path.add(key)
        items = d.items() if type(d) is dict else enumerate(d)
        for k, v in items:
            if type(v) is dict or type(v) is list:
                visit(v, f"{path}.{k}" if path else str(k))
        on_path.discard(key)
        done.add(key)

    if type(data) is dict or type(data) is list:
        visit(data, "")


def parse_yaml(text: str | bytes) -> Any:
    """YAML text -> normalised data (safe loader; no class is imported; a cycle is refused)."""
    with gc_paused():
        data = _parse_yaml(text)
        _check_acyclic(data)
        return data


class _RefError(Exception):
    pass


def _json_hook() -> Callable[[dict[str, Any]], Any]:
    """The object hook that resolves ``_id_``/``_ref_`` and unwraps ``float``/``list`` markers.
    JSON objects complete bottom-up in document order, so an id is known before any later ref."""
    ids: dict[str, Any] = {}

    def hook(d: dict[str, Any]) -> Any:
        ident = d.pop(ID, None)
        if ident is None:
            if REF in d:
                name = d[REF]
                if len(d) != 1 or type(name) is not str:
                    raise _RefError(f"a {REF} object has exactly one key, holding a name")
                hit = ids.get(name)
                if hit is None:
                    raise _RefError(
                        f"{REF} {name!r} names no object defined before it (a forward or "
                        "cyclic reference)"
                    )
                return hit
            kind = d.get(TYPE)
            if kind == "float" and len(d) == 2 and d.get(VALUE) in _NONFINITE:
                return _NONFINITE[d[VALUE]]
            if kind == "list" and len(d) == 2 and type(d.get(VALUE)) is list:
                return d[VALUE]
            return d
        if type(ident) is not str or ident in ids:
            raise _RefError(f"{ID} {ident!r} is not a new name")
        if d.get(TYPE) == "list" and len(d) == 2 and type(d.get(VALUE)) is list:
            d = d[VALUE]
        ids[ident] = d
        return d

    return hook


def _ref_path(data: Any, path: str = "") -> str | None:
    """The path of the first ``_ref_``/``_id_`` object in raw JSON data (for error messages)."""
    if type(data) is dict:
        if REF in data or ID in data:
            return path
        items: Iterable[tuple[Any, Any]] = data.items()
    elif type(data) is list:
        items = enumerate(data)
    else:
        return None
    for k, v in items:
        found = _ref_path(v, f"{path}.{k}" if path else str(k))
        if found is not None:
            return found
    return None


def _parse_json(text: str | bytes) -> Any:
    try:
        return json.loads(text, object_hook=_json_hook())
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except _RefError as exc:
        path = _locate_bad_ref(text)
        raise ConfigError(str(exc), path or "") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"malformed JSON: {exc}") from None


def _locate_bad_ref(text: str | bytes) -> str | None:
    """Replay the ids/refs top-down on the raw data to find where the bad one is."""
    raw = json.loads(text)
    ids: set[str] = set()

    def visit(d: Any, path: str) -> str | None:
        if type(d) is dict:
            if REF in d:
                return None if d.get(REF) in ids and len(d) == 1 else path
            items: Iterable[tuple[Any, Any]] = d.items()
        elif type(d) is list:
            items = enumerate(d)
        else:
            return None
        for k, v in items:
            if k == ID:
                continue
            bad = visit(v, f"{path}.{k}" if path else str(k))
            if bad is not None:
                return bad
        if type(d) is dict and ID in d:
            if d[ID] in ids or type(d[ID]) is not str:
                return path
            ids.add(d[ID])
        return None

    return visit(raw, "")


def parse_json(text: str | bytes) -> Any:
    """JSON text -> normalised data: ``_ref_`` resolved to the one shared object, ``_id_``
    removed, nan/inf markers turned back into floats. No class is imported."""
    with gc_paused():
        return _parse_json(text)


# ------------------------------------------------------------------------------ class safety


def _module_allowed(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def _lookup(parts: list[str], i: int) -> Any:
    """``parts[i:]`` looked up in the imported module ``parts[:i]`` without running code
    (``__dict__`` only: no module ``__getattr__``, no descriptors)."""
    obj: Any = sys.modules.get(".".join(parts[:i]))
    for part in parts[i:]:
        if obj is None:
            return None
        obj = vars(obj).get(part) if hasattr(obj, "__dict__") else None
    return obj


def _resolve_name(name: Any, allowed: tuple[str, ...]) -> Any:
    """The object a dotted name denotes. Found among imported modules without importing;
    otherwise a module is imported only when it lies inside ``allowed``."""
    if type(name) is not str:
        raise ConfigError(f"a class name must be a string, not {short_repr(name)}")
    parts = name.split(".")
    dunder = [p for p in parts[1:] if p.startswith("__")]  # no __class__, __globals__, ...
    if len(parts) < 2 or dunder or not all(p.isidentifier() for p in parts):
        hint = " (a class defined inside a function cannot be loaded)" if "<locals>" in name else ""
        raise ConfigError(f"{name!r} is not a <module>.<Class> name{hint}")
    imported = 0  # length of the longest imported module prefix
    for i in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:i]) in sys.modules:
            imported = max(imported, i)
            found = _lookup(parts, i)
            if found is not None:
                return found
    if imported == len(parts) - 1 and not _module_allowed(name, allowed):
        module = sys.modules[".".join(parts[:-1])]
        classes = [k for k, v in vars(module).items() if isinstance(v, type)]
        raise ConfigError(
            f"no class {parts[-1]!r} in module {module.__name__!r}{did_you_mean(parts[-1], classes)}"
        )
    candidates = [i for i in range(len(parts) - 1, 0, -1) if _module_allowed(".".join(parts[:i]), allowed)]
    if not candidates:
        trusted = ", ".join(repr(a) for a in allowed) or "none"
        raise ConfigError(
            f"refusing to import {'.'.join(parts[:-1])!r} for {name!r}: it is not imported yet "
            f"and not inside the allowed packages ({trusted}); import it first or pass "
            f"allow_modules=({parts[0]!r},)"
        )
    for i in candidates:
        module = ".".join(parts[:i])
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module.startswith(exc.name):
                continue  # that prefix is not a module; try a shorter one
            raise ConfigError(f"importing {module!r} for {name!r} failed: {exc}") from None
        except Exception as exc:
            raise ConfigError(
                f"importing {module!r} for {name!r} failed: {type(exc).__name__}: {exc}"
            ) from None
        found = _lookup(parts, i)
        if found is not None:
            return found
    raise ConfigError(f"no class {name!r}")


def _mentioned_classes(annotation: Any, out: set[type]) -> None:
    annotation = _strip(annotation)
    if isinstance(annotation, type):
        out.add(annotation)
    for arg in typing.get_args(annotation):
        _mentioned_classes(arg, out)


_known: dict[str, Any] = {"count": -1, "classes": frozenset()}


def _field_type_classes() -> frozenset[type]:
    """Every class named in a field annotation of some ConfigScript subclass (recomputed
    when new subclasses appear): the plain dataclasses and Enums a config may hold."""
    subclasses: list[type] = []
    todo = [ConfigScript]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in subclasses:
                subclasses.append(sub)
                todo.append(sub)
    if len(subclasses) != _known["count"]:
        classes: set[type] = set()
        for sub in subclasses:
            if dataclasses.is_dataclass(sub):
                for annotation in field_types(sub).values():
                    _mentioned_classes(annotation, classes)
        _known.update(count=len(subclasses), classes=frozenset(classes))
    return _known["classes"]


def _fits(cls: type, shape: Shape) -> bool:
    return shape.classes is None or issubclass(cls, shape.classes)


def _expected(shape: Shape) -> str:
    return " | ".join(sorted(c.__qualname__ for c in shape.classes or ()))


# ------------------------------------------------------------------------------ class plans


def _check_of(annotation: Any) -> Callable[[Any], bool] | None:
    """A predicate: does a built value already have this type? None: anything does."""
    ann = _strip(annotation)
    if ann is Any or ann is object or isinstance(ann, str | typing.ForwardRef | typing.TypeVar):
        return None
    if ann is None or ann is _NoneType:
        return lambda v: v is None
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in _UNIONS:
        arms = [_check_of(arm) for arm in args]
        if any(arm is None for arm in arms):
            return None
        return lambda v: any(arm(v) for arm in arms)  # type: ignore[misc]
    if origin is typing.Literal:
        return lambda v: any(type(v) is type(o) and v == o for o in args)
    cls = origin if origin is not None else ann
    if not isinstance(cls, type):
        return None
    if cls is float:
        return lambda v: type(v) is float or type(v) is int  # an int is a fine float
    if cls is int:
        return lambda v: type(v) is int
    if not args or origin is type:
        return lambda v: isinstance(v, cls)
    if issubclass(cls, tuple) and not (len(args) == 2 and args[1] is Ellipsis):
        checks = [_check_of(a) for a in args if a != ()]
        return lambda v: (
            isinstance(v, tuple)
            and len(v) == len(checks)
            and all(c is None or c(x) for c, x in zip(checks, v, strict=True))
        )
    if issubclass(cls, dict) or cls in (collections.abc.Mapping, collections.abc.MutableMapping):
        base = dict if cls in (collections.abc.Mapping, collections.abc.MutableMapping) else cls
        key, value = (args if len(args) == 2 else (Any, args[0]))
        key_check, value_check = _check_of(key), _check_of(value)
        return lambda v: (
            isinstance(v, base)
            and (key_check is None or all(map(key_check, v)))
            and (value_check is None or all(map(value_check, v.values())))
        )
    if cls in (collections.abc.Sequence, collections.abc.MutableSequence, collections.abc.Iterable,
               collections.abc.Collection):
        base: Any = (list, tuple)
    elif cls in (collections.abc.Set, collections.abc.MutableSet):
        base = (set, frozenset)
    else:
        base = cls
    item = _check_of(args[0])
    if item is None:
        return lambda v: isinstance(v, base)
    return lambda v: isinstance(v, base) and all(map(item, v))


def _exact_types(annotation: Any) -> frozenset[type]:
    """Types whose values surely fit (checked with one ``type(v) in ...``)."""
    ann = _strip(annotation)
    if typing.get_origin(ann) in _UNIONS:
        return frozenset().union(*(_exact_types(arm) for arm in typing.get_args(ann)))
    if ann is None or ann is _NoneType:
        return frozenset({_NoneType})
    if ann is float:
        return frozenset({float, int})
    if isinstance(ann, type) and typing.get_origin(ann) is None:
        if issubclass(ann, ConfigScriptList | ConfigScriptDict | list | dict | tuple | set):
            return frozenset({ann}) if ann in (list, dict, tuple, set, frozenset) else frozenset()
        return frozenset({ann}) if not issubclass(ann, pathlib.PurePath) else frozenset()
    return frozenset()


class _Field(typing.NamedTuple):
    shape: Shape
    exact: frozenset[type]  # types that surely fit
    check: Callable[[Any], bool] | None  # the full check (None: anything fits)
    seq: Callable[[list[Any]], Any] | None  # for a collection of plain scalars: its builder...
    leaves: frozenset[type]  # ...and the scalar types its items may have


_SCALAR_TYPES = frozenset({int, float, str, bool, _NoneType})


def _scalar_collection(annotation: Any) -> tuple[Callable[[list[Any]], Any] | None, frozenset]:
    """``list[float]``, ``tuple[int, ...]``, ``frozenset[str]``...: a parsed list whose items all
    have one of these exact types becomes the value in one call, without a per-item walk."""
    ann, _ = unwrap_optional(annotation)
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    builders = {list: list, tuple: tuple, set: set, frozenset: frozenset}
    if origin not in builders or not args or (origin is tuple and args[1:] != (Ellipsis,)):
        return None, frozenset()
    leaves = _exact_types(args[0])
    if not leaves or not leaves <= _SCALAR_TYPES:
        return None, frozenset()
    return builders[origin], leaves


def _field(shape: Shape, annotation: Any) -> _Field:
    return _Field(shape, _exact_types(annotation), _check_of(annotation),
                  *_scalar_collection(annotation))


class _Plan:
    """Per-class work done once: fields, their shapes and checks, which are required."""

    __slots__ = ("cls", "fields", "names", "name_set", "scalars", "others", "every", "good",
                 "required", "checker")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.fields = {
            name: _field(shape, ann)
            for name, shape, ann in class_fields(cls)
        }
        self.names = tuple(self.fields)
        self.name_set = frozenset(self.names)
        # Fields whose annotation is a plain scalar type (int, str, Optional[float], ...) are
        # checked all at once: the tuple of their value types is looked up among the ones seen.
        self.scalars = tuple(
            name for name, f in self.fields.items()
            if f.exact and f.exact <= _SCALAR_TYPES and f.shape.str_as is None
        )
        self.others = tuple((n, f) for n, f in self.fields.items() if n not in self.scalars)
        self.every = tuple(self.fields.items())
        self.good: set[tuple[type, ...]] = set()  # value-type tuples of the scalars that fit
        missing = dataclasses.MISSING
        self.required = frozenset(
            f.name
            for f in dataclasses.fields(cls)
            if f.init and f.default is missing and f.default_factory is missing
        )
        self.checker: type | None = None

    def scalars_fit(self, types: tuple[type, ...]) -> bool:
        if types in self.good:
            return True
        fits = all(t in self.fields[n].exact for n, t in zip(self.scalars, types, strict=True))
        if fits and len(self.good) < 1024:
            self.good.add(types)
        return fits

    def dacite_class(self) -> type:
        """A flat stand-in dataclass (every field optional, no ``__post_init__``) that lets
        dacite check and convert just the values that need it."""
        if self.checker is None:
            hints = field_types(self.cls)
            self.checker = dataclasses.make_dataclass(
                self.cls.__name__,
                [(name, hints[name], dataclasses.field(default=None)) for name in self.names],
            )
        return self.checker


_plans: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _plans.get(cls)
    if plan is None:
        try:
            plan = _plans[cls] = _Plan(cls)
        except Exception as exc:
            raise ConfigError(f"cannot read the fields of {cls.__qualname__}: {exc}") from None
    return plan


def _float_hook(value: Any) -> Any:
    return float(value) if type(value) is int else value


@functools.cache
def _dacite_config() -> Any:
    import dacite

    return dacite.Config(check_types=True, strict=False, type_hooks={float: _float_hook})


def _via_dacite(plan: _Plan, values: dict[str, Any]) -> dict[str, Any]:
    """dacite's verdict on the values the fast check did not pass: converted, or a
    ConfigError naming the field, the expected type and the value."""
    import dacite

    try:
        checked = dacite.from_dict(plan.dacite_class(), values, config=_dacite_config())
    except (dacite.WrongTypeError, dacite.UnionMatchError) as exc:
        raise ConfigError(
            f"expected {type_name(exc.field_type)}, got {short_repr(exc.value)} "
            f"({type(exc.value).__name__})",
            exc.field_path or "",
        ) from None
    except dacite.DaciteError as exc:
        raise ConfigError(str(exc)) from None
    return {name: getattr(checked, name) for name in values}


# ------------------------------------------------------------------------------ data -> tree


class _Builder:
    """One rebuild: memo by parsed-object identity, class cache, drift notes."""

    def __init__(self, allowed: tuple[str, ...], strict: bool) -> None:
        self.allowed = allowed
        self.strict = strict
        self.memo: dict[int, Any] = {}
        self.classes: dict[tuple[Any, bool], type] = {}
        self.placed: dict[tuple[Any, ...], type] = {}  # classes checked against a place
        self.strs: dict[type, dict[str, Any]] = {}
        self.root: Any = None  # the parsed data, to find where drift happened (rare: lazily)
        self.defaulted: dict[tuple[type, str], list[tuple[int, str]]] = {}
        self.dropped: dict[tuple[type, str], list[tuple[int, str]]] = {}

    # -- classes

    def resolve(self, name: Any, shape: Shape, marker: bool) -> type:
        try:
            return self.placed[(name, shape) if not marker else (name, True, shape)]
        except (KeyError, TypeError):
            pass
        key = (name, marker)
        cls = self.classes.get(key) if type(name) is str else None
        if cls is None:
            cls = self.classes[key] = self._resolve(name, marker)
        if not _fits(cls, shape):
            raise ConfigError(f"{name} does not fit here: expected {_expected(shape)}")
        if shape.classes is None and not issubclass(cls, ConfigScript):
            self._check_open(cls, name)
        self.placed[(name, shape) if not marker else (name, True, shape)] = cls
        return cls

    def _resolve(self, name: Any, marker: bool) -> type:
        obj = _resolve_name(name, self.allowed)
        if marker:
            if not (
                isinstance(obj, type) and issubclass(obj, enum.Enum | ConfigScriptList | ConfigScriptDict)
            ):
                raise ConfigError(f"{name!r} is not an Enum, ConfigScriptList or ConfigScriptDict")
        elif not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
            raise ConfigError(f"{name!r} is not a config class (a dataclass)")
        return obj

    def _check_open(self, cls: type, name: str) -> None:
        """Where the annotation does not say (Any), a plain dataclass or Enum must be one that
        some ConfigScript names as a field type, or come from a trusted package."""
        if _module_allowed(cls.__module__, self.allowed) or cls in _field_type_classes():
            return
        raise ConfigError(
            f"{name} is neither a ConfigScript nor a field type of one, so it is not loaded "
            "where the annotation does not name it"
        )

    # -- values

    def build(self, d: Any, shape: Shape) -> Any:
        t = type(d)
        if t is dict or t is list:
            key = id(d)
            hit = self.memo.get(key)
            if hit is not None:
                if hit is _BUSY:
                    raise ConfigError("cycle: this node contains itself")
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
                try:
                    cls = self.resolve(target, shape, marker=False)
                except ConfigError as exc:
                    raise exc.under(TARGET) from None
            return self._node(d, cls)
        if TYPE in d:
            return self._marker(d, shape)
        if shape.node is not None:  # a hand-written mapping; the annotation names the class
            return self._node(d, shape.node)
        return self._dict(d, shape)

    def _str(self, d: str, cls: type) -> Any:
        """An Enum member by name, or a Path (each text made once per load: both immutable)."""
        table = self.strs.get(cls)
        if table is None:
            table = self.strs[cls] = dict(cls.__members__) if issubclass(cls, enum.Enum) else {}
        value = table.get(d)
        if value is None:
            if issubclass(cls, enum.Enum):
                raise ConfigError(
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
            return kind(out)
        except TypeError as exc:  # an unhashable set element
            raise ConfigError(f"cannot make a {kind.__name__}: {exc}") from None

    def _dict(self, d: dict[Any, Any], shape: Shape) -> Any:
        for reserved in (ID, REF, TARGET):
            if reserved in d:
                raise ConfigError(f"{reserved!r} is reserved and not allowed here", reserved)
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
            raise ConfigError(
                f"a {TYPE} marker has exactly the keys {TYPE!r} and {VALUE!r}, not {sorted(d)}"
            )
        return self._marker_value(d[TYPE], d[VALUE], shape)

    def _marker_value(self, kind: Any, payload: Any, shape: Shape) -> Any:
        if kind in ("tuple", "set", "frozenset", "list"):
            self._expect(payload, list, kind)
            items = self._items(payload, ANY)
            builder = {"tuple": tuple, "set": set, "frozenset": frozenset, "list": list}[kind]
            try:
                return builder(items)
            except TypeError as exc:
                raise ConfigError(f"cannot make a {kind}: {exc}") from None
        if kind == "path":
            self._expect(payload, str, kind)
            return pathlib.Path(payload)
        if kind == "float":
            if payload not in _NONFINITE:
                raise ConfigError(f"a float marker holds 'nan', 'inf' or '-inf', not {payload!r}")
            return _NONFINITE[payload]
        if kind == "dict":
            self._expect(payload, list, kind)
            return self._pairs(payload, shape.key, shape.value)
        try:
            cls = self.resolve(kind, shape, marker=True)
        except ConfigError as exc:
            raise ConfigError(exc.message, TYPE) from None
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
                raise ConfigError(f"a dict marker holds [key, value] pairs, not {short_repr(pair)}", index)
            k = self._child(pair[0], key, index)
            try:
                out[k] = self._child(pair[1], value, index)
            except TypeError:
                raise ConfigError(f"unhashable dict key {short_repr(k)}", index) from None
        return out

    @staticmethod
    def _expect(payload: Any, kind: type, what: str) -> None:
        if not isinstance(payload, kind):
            raise ConfigError(f"a {what} marker holds a {kind.__name__}, not {short_repr(payload)}")

    def _node(self, d: dict[Any, Any], cls: type) -> Any:
        plan = _plans.get(cls) or _plan(cls)
        kwargs = d.copy()
        kwargs.pop(TARGET, None)
        if kwargs.keys() == plan.name_set:  # every field, nothing else: the usual case
            types = tuple(map(type, map(kwargs.__getitem__, plan.scalars)))
            todo = plan.others if plan.scalars_fit(types) else plan.every
        else:
            todo = self._reconcile(cls, plan, kwargs, d)
        slow: list[str] | None = None
        for k, f in todo:
            v = kwargs[k]
            tv = type(v)
            if tv is list and f.seq is not None and set(map(type, v)) <= f.leaves:
                kwargs[k] = f.seq(v)  # checked already: the common list[float], tuple[int, ...]
                continue
            if tv is dict or tv is list:
                try:
                    v = kwargs[k] = self.build(v, f.shape)
                except ConfigError as exc:
                    raise exc.under(k) from None
                tv = type(v)
            elif tv is str and f.shape.str_as is not None:
                try:
                    v = kwargs[k] = self._str(v, f.shape.str_as)
                except ConfigError as exc:
                    raise exc.under(k) from None
                tv = type(v)
            if tv not in f.exact and f.check is not None and not f.check(v):
                if slow is None:
                    slow = []
                slow.append(k)
        if slow is not None:
            kwargs.update(_via_dacite(plan, {k: kwargs[k] for k in slow}))
        try:
            return cls(**kwargs)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"building {cls.__qualname__} failed: {type(exc).__name__}: {exc}"
            ) from None

    def _reconcile(
        self, cls: type, plan: _Plan, kwargs: dict[str, Any], d: dict[Any, Any]
    ) -> list[tuple[str, _Field]]:
        """Fields missing or unknown: drop the unknown ones (or refuse), note the defaults."""
        for key in [k for k in kwargs if k not in plan.fields]:
            self._unknown(cls, plan, key, d)
            del kwargs[key]
        self._missing(cls, plan, kwargs, d)
        return [(k, plan.fields[k]) for k in kwargs]

    def _unknown(self, cls: type, plan: _Plan, key: Any, d: dict[Any, Any]) -> None:
        if self.strict:
            raise ConfigError(
                f"{cls.__qualname__} has no field {key!r}{did_you_mean(str(key), plan.names)}"
                " (pass strict=False to drop fields the class no longer has)",
                str(key),
            )
        self.dropped.setdefault((cls, str(key)), []).append((id(d), str(key)))

    def _missing(self, cls: type, plan: _Plan, kwargs: dict[str, Any], d: dict[Any, Any]) -> None:
        for name in plan.names:
            if name in kwargs:
                continue
            if name in plan.required:
                raise ConfigError(f"missing required field {name!r} of {cls.__qualname__}", name)
            self.defaulted.setdefault((cls, name), []).append((id(d), name))

    def _paths(self) -> dict[int, str]:
        """The path of every mapping in the parsed data (only computed when there is drift)."""
        paths: dict[int, str] = {}
        todo: list[tuple[Any, str]] = [(self.root, "")]
        while todo:
            d, path = todo.pop()
            if type(d) is not dict and type(d) is not list or id(d) in paths:
                continue  # a shared list or dict is walked once: alias bombs stay linear
            paths[id(d)] = path
            items: Iterable[tuple[Any, Any]] = d.items() if type(d) is dict else enumerate(d)
            for k, v in items:
                if k != VALUE or type(d) is not dict or TYPE not in d:
                    v_path = f"{path}.{k}" if path else str(k)
                else:
                    v_path = path
                todo.append((v, v_path))
        return paths

    def warn_drift(self) -> None:
        """One warning per class and kind of drift, naming the fields and where they are."""
        if not (self.defaulted or self.dropped):
            return
        paths = self._paths()
        for notes, what in (
            (self.defaulted, "not in the file, so they take their defaults"),
            (self.dropped, "in the file but no longer in the class, so they were dropped"),
        ):
            by_class: dict[type, list[str]] = {}
            places: dict[type, list[str]] = {}
            for (cls, name), found in notes.items():
                by_class.setdefault(cls, []).append(repr(name))
                places.setdefault(cls, []).extend(
                    f"{paths[key]}.{field}" if paths.get(key) else field for key, field in found
                )
            for cls, names in by_class.items():
                where = places[cls]
                shown = ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")
                warnings.warn(
                    f"schema drift: {cls.__qualname__} field(s) {', '.join(names)} are {what} "
                    f"(at {shown})",
                    UserWarning,
                    stacklevel=4,
                )


def _is_document(data: Any) -> bool:
    return type(data) is dict and "micro_config" in data and "config" in data and TARGET not in data


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
    if _is_document(data):
        version = data["micro_config"]
        if version != FORMAT_VERSION:
            raise ConfigError(
                f"snapshot format version {version!r} is not supported (this micro_config "
                f"reads version {FORMAT_VERSION})",
                "micro_config",
            )
        data = data["config"]
    allowed = (allow_modules,) if isinstance(allow_modules, str) else tuple(allow_modules)
    if cls is not None and cls.__module__ != "__main__":
        allowed += (cls.__module__.split(".")[0],)
    builder = _Builder(allowed, strict)
    builder.root = data
    with gc_paused():
        root = builder.build(data, shape_of(cls) if cls is not None else ANY)
    if cls is not None and not isinstance(root, cls):
        raise ConfigError(f"the file holds {short_repr(root)}, not a {cls.__qualname__}")
    builder.warn_drift()
    return root


def from_yaml(
    text: str | bytes,
    cls: type | None = None,
    *,
    allow_modules: Iterable[str] | str = (),
    strict: bool = True,
) -> Any:
    """Rebuild a config tree from YAML text (see :func:`from_data`)."""
    with gc_paused():
        data = _parse_yaml(text)
    return from_data(data, cls, allow_modules=allow_modules, strict=strict)


def from_json(
    text: str | bytes,
    cls: type | None = None,
    *,
    allow_modules: Iterable[str] | str = (),
    strict: bool = True,
) -> Any:
    """Rebuild a config tree from JSON text (see :func:`from_data`)."""
    with gc_paused():
        data = _parse_json(text)
    return from_data(data, cls, allow_modules=allow_modules, strict=strict)
