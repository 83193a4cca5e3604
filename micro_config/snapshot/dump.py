"""Config tree -> normalised data (docs/format.md), and the ``to_data``/``to_yaml``/``to_json``
entry points.

:func:`to_data` turns the tree into plain dicts/lists/scalars in one walk (a shared node becomes
one shared data object); ``emit`` writes that data as YAML or JSON. How a typed value is written
depends on its field's annotation: see ``plan.Shape``.
"""

from __future__ import annotations

import enum
import pathlib
from typing import Any

from ..errors import ConfigError, WrongTypeError, short_repr
from ..plan import ANY, PLANS, Field, Plan, Shape, plan_of, target_name
from ..script import ConfigScriptDict, ConfigScriptList
from .emit import json_text, yaml_text
from .format import DEPTH_LIMIT, RESERVED, TARGET, TYPE, VALUE, depth_error
from .gcpause import gc_paused, recursion_room
from .migrate import VERSIONS, versions_table

__all__ = ["document_text", "json_text", "to_data", "to_json", "to_yaml", "yaml_text"]
_NoneType = type(None)


_Fields = tuple[tuple[str, Shape, frozenset[type], Any, Field], ...]
_DUMP: dict[type, tuple[str, _Fields, Plan]] = {}


def _dump_plan(cls: type) -> tuple[str, _Fields]:
    """What dump reads of a class's plan, as one tuple (looked up once per node): per field its
    name, shape, and what it checks a value against (the types that surely fit, the check)."""
    found = _DUMP.get(cls)
    if found is None or PLANS.get(cls) is not found[2]:  # clear_plans() empties PLANS
        plan = plan_of(cls)
        fields = tuple((n, f.shape, f.exact, f.check, f) for n, f in plan.fields.items())
        found = _DUMP[cls] = (plan.target, fields, plan)
    return found[0], found[1]


def _fit(field: Field, value: Any) -> None:
    """A value the fast check did not pass is held to the loader's rule (convert.convert,
    which also takes the format's own spellings: a plain list for a ConfigScriptList...):
    what the loader would refuse is refused before it is written."""
    field.load(value, field.name)


_BUSY = object()  # memo entry of a node being written: meeting it again means a cycle
WRITE_BUDGET = 10_000_000  # values that tuples/frozensets may write in one dump (see _budget)


def _expanded_size(v: tuple[Any, ...] | frozenset[Any], sizes: dict[int, int]) -> int:
    """How many values ``v`` writes in full, nested tuples/frozensets included, each distinct
    object counted once by identity (``sizes``), so even an exponential expansion is measured
    in linear time."""
    size = sizes.get(id(v))
    if size is None:
        size = len(v)
        for x in v:
            if type(x) is tuple or type(x) is frozenset:
                size += _expanded_size(x, sizes)
        sizes[id(v)] = size
    return size
_SCALARS = frozenset({str, int, bool, _NoneType, float})


class _ToData:
    """One conversion: identity memo (shared object -> one data object) and cycle check."""

    def __init__(self) -> None:
        self.memo: dict[int, Any] = {}
        self.shared: set[int] = set()  # ids of data objects reached more than once
        self.written = 0  # values written so far by tuples/frozensets, expanded in full
        self.sizes: dict[int, int] = {}  # id of a tuple/frozenset -> the values it writes

    def _budget(self, v: tuple[Any, ...] | frozenset[Any]) -> None:
        """Count an immutable's values: it has no anchor and is written in full at every place,
        so a few thousand shared tuples nested 40 deep (an alias bomb in a hostile file loads
        in linear time) would take forever to write. Refused as soon as the total would pass
        the budget, before any of it is written."""
        if self.written + _expanded_size(v, self.sizes) > WRITE_BUDGET:
            raise ConfigError(
                f"refusing to write more than {WRITE_BUDGET:,} values: tuples/frozensets "
                "nested in each other are written in full at every place (immutable values "
                "get no anchor), and these would expand exponentially; use lists to share"
            )
        self.written += len(v)

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
        for name, shape, exact, check, field in fields:
            v = getattr(obj, name)
            if type(v) not in exact and check is not None and not check(v):
                _fit(field, v)
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
        self._budget(v)
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
        if t is frozenset:
            self._budget(v)
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


_FRAMES_PER_LEVEL = 4  # calls of the writer per level of data (value, _node or _list, _items)


def _convert(config: Any) -> tuple[Any, set[int]]:
    conv = _ToData()
    with recursion_room(_FRAMES_PER_LEVEL * DEPTH_LIMIT):
        try:
            return conv.value(config, ANY), conv.shared
        except RecursionError:  # deeper than the format's limit: emit would refuse it too
            raise depth_error(writing=True) from None


def _written(write: Any, *args: Any, **kwargs: Any) -> str:
    """``write(...)``, with Python's text limit on integers as a ConfigError: an int of more
    than ``sys.get_int_max_str_digits()`` digits has no text, so no file could hold it."""
    try:
        return write(*args, **kwargs)
    except ValueError as exc:
        if isinstance(exc, ConfigError) or "integer string conversion" not in str(exc):
            raise
        raise WrongTypeError(
            "an integer too long to write as text (more than sys.get_int_max_str_digits() "
            "digits); no snapshot could hold it"
        ) from None


def to_data(config: Any) -> Any:
    """The normalised data of a config tree (docs/format.md): plain dicts/lists/scalars, a
    config node a dict with ``_target_`` first, a shared node one and the same data object."""
    with gc_paused():
        return _convert(config)[0]


def to_yaml(config: Any) -> str:
    """The YAML text of a config tree (docs/format.md): deterministic, readable anchors."""
    with gc_paused():
        data, shared = _convert(config)
        return _written(yaml_text, data, shared)


def to_json(config: Any, *, indent: int | None = None) -> str:
    """The JSON text of a config tree (docs/format.md): compact, or indented by ``indent``."""
    with gc_paused():
        data, shared = _convert(config)
        return _written(json_text, data, shared, indent=indent)


def document_text(config: Any, meta: dict[str, Any], fmt: str, version: int = 1) -> str:
    """A snapshot document (``micro_config``, ``meta``, ``versions``, ``config``) as ``"yaml"`` or ``"json"``
    text. Anchor/id names come from paths inside ``config`` (or ``meta``), not the document."""
    with gc_paused():
        conv = _ToData()
        try:
            meta_data = conv.value(dict(meta), ANY)
        except ConfigError as exc:
            raise exc.under("meta") from None
        doc = {"micro_config": version, "meta": meta_data}
        with recursion_room(_FRAMES_PER_LEVEL * DEPTH_LIMIT):
            try:
                tree = conv.value(config, ANY)
            except RecursionError:
                raise depth_error(writing=True) from None
        table = versions_table(tree)  # migrate.py: once per versioned class
        if table:
            doc[VERSIONS] = table
        doc["config"] = tree
        write = yaml_text if fmt == "yaml" else json_text
        return _written(write, doc, conv.shared, document=True)
