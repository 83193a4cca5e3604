"""Config tree -> normalised data (docs/format.md), and the ``to_data``/``to_yaml``/``to_json``
entry points.

:func:`to_data` turns the tree into plain dicts/lists/scalars in one walk (a shared node becomes
one shared data object); ``emit`` writes that data as YAML or JSON. How a typed value is written
depends on its field's annotation: see ``plan.Shape``.
"""

from __future__ import annotations

import enum
import inspect
import pathlib
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError, WrongTypeError, short_repr
from ..plan import ANY, PLANS, Field, Plan, Shape, plan_of, target_name
from ..script import ConfigScriptDict, ConfigScriptList
from .emit import encode_json, float_marker, json_text, yaml_text
from .format import DEPTH_LIMIT, ID, REF, RESERVED, TARGET, TYPE, VALUE, Namer, depth_error
from .gcpause import gc_paused, recursion_room
from .migrate import VERSIONS, versions_table

__all__ = ["document_text", "json_text", "to_data", "to_json", "to_yaml", "yaml_text"]
_NoneType = type(None)


_Fields = tuple[tuple[str, Shape, frozenset[type], Any, Field, Any, frozenset[type]], ...]
_Getter = Callable[[dict[str, Any]], tuple[Any, ...]] | None
_DUMP: dict[type, tuple[str, _Fields, _Getter, Plan]] = {}


def _dump_plan(cls: type) -> tuple[str, _Fields, _Getter]:
    """What dump reads of a class's plan, as one tuple (looked up once per node): the target,
    per field its name, shape, and what it checks a value against (the types that surely fit,
    the check, and for a collection of plain scalars its type and the item types that surely
    fit), and a getter of every field's value from the instance ``__dict__`` in one C call
    (None when a field is a descriptor of the class: then ``getattr``)."""
    found = _DUMP.get(cls)
    if found is None or PLANS.get(cls) is not found[3]:  # clear_plans() empties PLANS
        plan = plan_of(cls)
        fields = tuple((n, f.shape, f.exact, f.check, f, f.seq, f.leaves)
                       for n, f in plan.fields.items())
        described = any(hasattr(type(inspect.getattr_static(cls, n, None)), "__set__")
                        for n in plan.names)  # a property, a slot: getattr
        getter = None if described else plan.values
        found = _DUMP[cls] = (plan.target, fields, getter, plan)
    return found[0], found[1], found[2]


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
_JSON_SCALARS = frozenset({str, int, bool, _NoneType})  # float: nan/inf need a marker in JSON
_NUMBERS = frozenset({int, float, bool})
_NESTED = frozenset({tuple, frozenset})
_STR = frozenset({str})
_NODE, _TUPLE, _SET, _ENUM, _PATH, _LIST_WRAPPER, _DICT_WRAPPER, _OTHER = range(8)
_KINDS: dict[type, int] = {}


def _kind(t: type) -> int:
    """What a value of type ``t`` (not a plain scalar, list or dict) is written as; once per type."""
    if hasattr(t, "__dataclass_fields__"):
        kind = _NODE
    elif t is tuple:
        kind = _TUPLE
    elif t is set or t is frozenset:
        kind = _SET
    elif issubclass(t, enum.Enum):
        kind = _ENUM
    elif issubclass(t, pathlib.PurePath):
        kind = _PATH
    elif issubclass(t, ConfigScriptList):
        kind = _LIST_WRAPPER
    elif issubclass(t, ConfigScriptDict):
        kind = _DICT_WRAPPER
    else:
        kind = _OTHER
    if len(_KINDS) < 10_000:
        _KINDS[t] = kind
    return kind


def _finite(v: Any) -> bool:
    """No nan/inf among these ints/floats: one C sum (an overflow only says False)."""
    try:
        s = sum(v)
    except OverflowError:
        return False
    return s - s == 0


class _SharedList(Exception):
    """A list met twice while writing JSON in one pass: it needs a ``list`` marker at its first
    place, which is already written; the two-pass writer takes over."""


Path = tuple[Any, Any] | None  # (parent path, key) linked to the root: the place of a value


class _ToData:
    """One conversion: identity memo (shared object -> one data object) and cycle check.

    With ``json=True`` it makes JSON-ready data in the same pass (what ``emit.json_text``
    would add): a nan/inf becomes a ``float`` marker, the second and later places of a shared
    object a ``{"_ref_": name}``, and :meth:`name_shared` then puts ``_id_`` on the first
    places, named from their paths exactly as the two-pass writer names them."""

    def __init__(self, json: bool = False) -> None:
        self.memo: dict[int, Any] = {}  # id of an object -> _BUSY, then (its data, its path)
        self.shared: set[int] = set()  # ids of data objects reached more than once
        self.written = 0  # values written so far by tuples/frozensets, expanded in full
        self.sizes: dict[int, int] = {}  # id of a tuple/frozenset -> the values it writes
        self.json = json
        self.plain = _JSON_SCALARS if json else _SCALARS  # written as they are
        self.refs: list[tuple[dict[str, Any], int]] = []  # JSON: ref, id of the data it names

    def _budget(self, v: tuple[Any, ...] | frozenset[Any], types: set[type]) -> None:
        """Count an immutable's values: it has no anchor and is written in full at every place,
        so a few thousand shared tuples nested 40 deep (an alias bomb in a hostile file loads
        in linear time) would take forever to write. Refused as soon as the total would pass
        the budget, before any of it is written."""
        size = len(v) if _NESTED.isdisjoint(types) else _expanded_size(v, self.sizes)
        if self.written + size > WRITE_BUDGET:
            raise ConfigError(
                f"refusing to write more than {WRITE_BUDGET:,} values: tuples/frozensets "
                "nested in each other are written in full at every place (immutable values "
                "get no anchor), and these would expand exponentially; use lists to share"
            )
        self.written += len(v)

    def _enter(self, obj: Any) -> Any:
        """The data already made for ``obj`` (marking it shared; JSON: a ref to it), or None
        after marking it busy."""
        hit = self.memo.get(id(obj))
        if hit is None:
            self.memo[id(obj)] = _BUSY
            return None
        if hit is _BUSY:
            raise ConfigError("cycle: this node contains itself")
        data = hit[0]
        self.shared.add(id(data))
        if not self.json:
            return data
        if type(data) is list:
            raise _SharedList
        ref = {REF: ""}
        self.refs.append((ref, id(data)))
        return ref

    def value(self, v: Any, shape: Shape, path: Path) -> Any:
        t = type(v)
        if t in self.plain:
            return v
        if t is float:  # JSON only
            return v if v - v == 0 else float_marker(v)
        if t is list:
            return self._list(v, shape.item, path)
        if t is dict:
            return self._dict(v, shape, path)
        kind = _KINDS.get(t)
        if kind is None:
            kind = _kind(t)
        if kind is _NODE:
            return self._node(v, t, path)
        if kind is _TUPLE:
            return self._tuple(v, shape, path)
        if kind is _SET:
            return self._set(v, t, shape, path)
        if kind is _ENUM:
            if shape.str_as is t:
                return v._name_
            return {TYPE: target_name(t), VALUE: v._name_}
        if kind is _PATH:
            text = str(v)  # a Windows path keeps its backslashes; as_posix() of a posix one
            if shape.str_as is not None and isinstance(v, shape.str_as):
                return text
            return {TYPE: "path", VALUE: text}
        if kind is _LIST_WRAPPER:
            return self._wrapper(v, t, shape.list_as, shape.item, path)
        if kind is _DICT_WRAPPER:
            return self._wrapper(v, t, shape.dict_as, shape, path)
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

    def _node(self, obj: Any, cls: type, path: Path) -> dict[str, Any]:
        hit = self._enter(obj)
        if hit is not None:
            return hit
        target, fields, getter = _dump_plan(cls)
        if getter is not None:
            try:
                values = getter(obj.__dict__)
            except (AttributeError, KeyError):  # no __dict__, or a field missing from it
                values = tuple(getattr(obj, f[0]) for f in fields)
        else:
            values = tuple(getattr(obj, f[0]) for f in fields)
        out: dict[str, Any] = {TARGET: target}
        plain, kinds = self.plain, _KINDS
        for (name, shape, exact, check, field, seq, leaves), v in zip(fields, values, strict=True):
            t = type(v)
            if (t not in exact and check is not None
                    and not (t is seq and leaves.issuperset(map(type, v))) and not check(v)):
                _fit(field, v)
            if t in plain:
                out[name] = v
                continue
            if t is float:  # JSON only
                out[name] = v if v - v == 0 else float_marker(v)
                continue
            if t is shape.str_as and kinds.get(t) is _ENUM:  # an enum the annotation names
                out[name] = v._name_
                continue
            if (t is shape.list_as and (t is tuple or t is frozenset) and t is seq
                    and leaves.issuperset(map(type, v)) and (leaves <= plain or _finite(v))
                    and self.written + len(v) <= WRITE_BUDGET):
                # a tuple/frozenset of plain scalars within the budget, written as a plain list
                # (as _tuple, _set would write it)
                if t is tuple:
                    self.written += len(v)
                    out[name] = list(v)
                    continue
                try:
                    ordered = sorted(v)
                except TypeError:
                    pass  # mixed types: _set's fixed order
                else:
                    self.written += len(v)
                    out[name] = ordered
                    continue
            try:
                out[name] = self.value(v, shape, (path, name))
            except ConfigError as exc:
                raise exc.under(name) from None
        self.memo[id(obj)] = (out, path)
        return out

    def _list(self, v: list[Any], item: Shape, path: Path) -> list[Any]:
        hit = self._enter(v)
        if hit is not None:
            return hit
        out = self._items(v, item, path, set(map(type, v)))
        self.memo[id(v)] = (out, path)
        return out

    def _items(self, v: Any, item: Shape, path: Path, types: set[type]) -> list[Any]:
        """The data of ``v``'s items; ``types``: the set of their types."""
        plain = self.plain
        if types <= plain or (types <= _NUMBERS and _finite(v)):
            return list(v)
        out = []
        for index, x in enumerate(v):
            if type(x) in plain:
                out.append(x)
                continue
            try:
                out.append(self.value(x, item, (path, index)))
            except ConfigError as exc:
                raise exc.under(index) from None
        return out

    def _tuple(self, v: tuple[Any, ...], shape: Shape, path: Path) -> Any:
        types = set(map(type, v))
        self._budget(v, types)
        if shape.items is not None and len(shape.items) == len(v):
            out = []
            for index, (x, item) in enumerate(zip(v, shape.items, strict=True)):
                try:
                    out.append(self.value(x, item, (path, index)))
                except ConfigError as exc:
                    raise exc.under(index) from None
        else:
            out = self._items(v, shape.item, path, types)
        return out if shape.list_as is tuple else {TYPE: "tuple", VALUE: out}

    def _set(self, v: set[Any] | frozenset[Any], t: type, shape: Shape, path: Path) -> Any:
        plain = shape.list_as is t
        hit = self._enter(v) if t is set else None  # a set is mutable: its identity can matter
        if hit is not None:
            return hit
        types = set(map(type, v))
        if t is frozenset:
            self._budget(v, types)
        try:
            ordered = sorted(v)
        except TypeError:  # mixed element types: still one fixed order
            ordered = sorted(v, key=lambda x: (type(x).__name__, repr(x)))
        items = self._items(ordered, shape.item, path, types)
        out = items if plain else {TYPE: t.__name__, VALUE: items}
        if t is set:
            self.memo[id(v)] = (out, path)
        return out

    def _dict(self, v: dict[Any, Any], shape: Shape, path: Path) -> Any:
        hit = self._enter(v)
        if hit is not None:
            return hit
        out = self._mapping(v, shape.key, shape.value, path)
        self.memo[id(v)] = (out, path)
        return out

    def _mapping(self, v: dict[Any, Any], key_shape: Shape, value_shape: Shape, path: Path) -> Any:
        """A plain mapping when every key is a str and none is reserved, else a ``dict`` marker
        holding ``[key, value]`` pairs."""
        if _STR.issuperset(map(type, v)) and RESERVED.isdisjoint(v):
            plain = self.plain
            if plain.issuperset(map(type, v.values())):
                return dict(v)
            out: dict[str, Any] = {}
            for k, x in v.items():
                if type(x) in plain:
                    out[k] = x
                    continue
                try:
                    out[k] = self.value(x, value_shape, (path, k))
                except ConfigError as exc:
                    raise exc.under(k) from None
            return out
        pairs = []
        for index, (k, x) in enumerate(v.items()):
            place = (path, index)
            try:
                pairs.append([self.value(k, key_shape, (place, 0)),
                              self.value(x, value_shape, (place, 1))])
            except ConfigError as exc:
                raise exc.under(str(k)) from None
        return {TYPE: "dict", VALUE: pairs}

    def _wrapper(self, v: Any, t: type, annotated: type | None, inner: Shape, path: Path) -> Any:
        """A ConfigScriptList/Dict: plain when the annotation names exactly its class,
        else a marker naming the class."""
        hit = self._enter(v)
        if hit is not None:
            return hit
        if isinstance(v, list):
            payload: Any = self._items(v, inner, path, set(map(type, v)))
        else:
            payload = self._mapping(v, inner.key, inner.value, path)
        plain = annotated is t and not (isinstance(payload, dict) and TYPE in payload)
        out = payload if plain else {TYPE: target_name(t), VALUE: payload}
        self.memo[id(v)] = (out, path)
        return out

    def name_shared(self) -> None:
        """JSON: ``_id_`` on the first place of every shared object (in document order, the
        memo's order), named from its path, and the refs filled in with those names."""
        namer = Namer(self.shared)
        shared = self.shared
        for entry in self.memo.values():
            data, path = entry
            if id(data) in shared:
                keys = []
                while path is not None:
                    path, key = path
                    keys.append(key)
                keys.reverse()
                namer.stack = keys
                _put_id(data, namer.new(data))
        names = namer.names
        for ref, key in self.refs:
            ref[REF] = names[key]


def _put_id(d: dict[str, Any], name: str) -> None:
    """``_id_`` into a mapping, in place: right after its ``_target_``/``_type_`` (the first
    key), else first."""
    items = list(d.items())
    d.clear()
    if items and items[0][0] in (TARGET, TYPE):
        d[items[0][0]] = items[0][1]
        d[ID] = name
        d.update(items[1:])
    else:
        d[ID] = name
        d.update(items)


_FRAMES_PER_LEVEL = 4  # calls of the writer per level of data (value, _node or _list, _items)


def _convert(config: Any, conv: _ToData | None = None) -> tuple[Any, set[int]]:
    conv = _ToData() if conv is None else conv
    with recursion_room(_FRAMES_PER_LEVEL * DEPTH_LIMIT):
        try:
            return conv.value(config, ANY, None), conv.shared
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
        conv = _ToData(json=True)
        try:
            ready, shared = _convert(config, conv)
        except _SharedList:  # a shared list: the two-pass writer (data, then ids/refs)
            data, shared = _convert(config)
            return _written(json_text, data, shared, indent=indent)
        if shared:
            conv.name_shared()
        return _written(encode_json, ready, indent)


def document_text(config: Any, meta: dict[str, Any], fmt: str, version: int = 1) -> str:
    """A snapshot document (``micro_config``, ``meta``, ``versions``, ``config``) as ``"yaml"`` or ``"json"``
    text. Anchor/id names come from paths inside ``config`` (or ``meta``), not the document."""
    with gc_paused():
        conv = _ToData()
        try:
            meta_data = conv.value(dict(meta), ANY, None)
        except ConfigError as exc:
            raise exc.under("meta") from None
        doc = {"micro_config": version, "meta": meta_data}
        with recursion_room(_FRAMES_PER_LEVEL * DEPTH_LIMIT):
            try:
                tree = conv.value(config, ANY, None)
            except RecursionError:
                raise depth_error(writing=True) from None
        table = versions_table(tree)  # migrate.py: once per versioned class
        if table:
            doc[VERSIONS] = table
        doc["config"] = tree
        write = yaml_text if fmt == "yaml" else json_text
        return _written(write, doc, conv.shared, document=True)
