"""Config tree -> normalised data (docs/format.md), and the ``to_data``/``to_yaml``/``to_json``/
``document_text`` entry points.

One pass (:class:`_ToData`) turns the tree into plain dicts/lists/scalars (a shared node becomes
one shared data object); ``emit`` writes that data as YAML. For JSON the same pass makes
JSON-ready data (nan/inf markers, ``_ref_`` at the later places of a shared object); then
:meth:`_ToData.name_shared` puts ``_id_`` on the first places (a shared list gets its ``list``
marker there) and ``json.dumps`` writes it: ``to_json``, ``to_json(indent=...)`` and JSON
snapshot documents all take this one path. How a typed value is written depends on its field's
annotation: see ``plan.Shape``.

A config node is written by its class's generated converter (``converters.py``, which also
holds the vocabulary both share: scalar sets, type kinds, float markers, the write budget); the
pass here handles the rest (lists, tuples, sets, dicts, wrappers, enums, paths) and calibrates,
at import, the reference counts by which a converter knows a value only one place holds.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError, WrongTypeError, short_repr
from ..plan import ANY, Shape, plan_of
from . import converters
from .converters import (
    BUSY,
    DICT_WRAPPER,
    ENUM,
    FLOAT_MARKERS,
    JSON_SCALARS,
    LIST_WRAPPER,
    NESTED,
    NODE,
    NUMBERS,
    PATH,
    SCALARS,
    SET,
    STR_ONLY,
    TARGETS,
    TUPLE,
    TYPE_KINDS,
    all_finite,
    converter_of,
    distinct_size,
    expanded_size,
    item_types,
    kind_of_type,
    make_converter,
    target_of,
)
from .emit import encode_json, yaml_text
from .format import DEPTH_LIMIT, ID, REF, RESERVED, TARGET, TYPE, VALUE, Namer, depth_error
from .gcpause import gc_paused, recursion_room
from .migrate import VERSIONS, versions_table

__all__ = ["document_text", "to_data", "to_json", "to_yaml"]
Path = tuple[Any, Any] | None  # (parent path, key) linked to the root: the place of a value



class _ToData:
    """One conversion: identity memo (shared object -> one data object) and cycle check.

    With ``json=True`` it makes JSON-ready data in the same pass: a nan/inf becomes a
    ``float`` marker, the second and later places of a shared object a ``{"_ref_": name}``,
    and :meth:`name_shared` then puts ``_id_`` on the first places (a shared list is wrapped
    there in a ``list`` marker), named from their paths in document order."""

    def __init__(self, json: bool = False) -> None:
        # memo: id of an object -> its position in datas (its data, or BUSY while it is being
        # written) and paths (the path of its first place): positions are document order
        self.memo: dict[int, int] = {}
        self.datas: list[Any] = []
        self.paths: list[Path] = []
        self.shared: set[int] = set()  # ids of data objects reached more than once
        self.again: set[int] = set()  # their positions
        self.written = 0  # values written so far by tuples/frozensets, expanded in full
        self.sizes: dict[int, int] = {}  # id of a tuple/frozenset -> the values it writes
        self.json = json
        self.plain = JSON_SCALARS if json else SCALARS  # written as they are
        self.refs: list[tuple[dict[str, Any], int]] = []  # JSON: ref, id of the data it names
        self.convs: dict[type, Callable[..., Any]] = {}  # class -> its converter, this dump
        self.alive: list[Any] = []  # values read through a property (see kept)

    def kept(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """``values``, kept alive until the dump ends: a node's field values read by
        ``getattr`` (a property may make a new object at each read, and the memo is by id)."""
        self.alive.append(values)
        return values

    def converter(self, cls: type) -> Callable[..., Any]:
        """The generated converter of a config class (see :func:`converter_of`)."""
        conv = self.convs[cls] = converter_of(cls, self.json)
        return conv

    def _budget(self, v: tuple[Any, ...] | frozenset[Any], types: set[type]) -> None:
        """Count an immutable's values: it has no anchor and is written in full at every place,
        so a few thousand shared tuples nested 40 deep (an alias bomb in a hostile file loads
        in linear time) would take forever to write. Refused as soon as the total would pass
        the budget, before any of it is written."""
        size = len(v) if NESTED.isdisjoint(types) else expanded_size(v, self.sizes)
        if self.written + size > converters.WRITE_BUDGET:
            raise ConfigError(
                f"refusing to write more than {converters.WRITE_BUDGET:,} values: tuples/frozensets "
                "nested in each other are written in full at every place (immutable values "
                "get no anchor), and these would expand exponentially; use lists to share"
            )
        if size > converters.AMPLIFIED_FLOOR:  # (then nested: a flat one writes its own values)
            held = distinct_size(v)
            if size > converters.AMPLIFICATION * held:
                raise ConfigError(
                    f"refusing to write {size:,} values for the {held:,} that these nested "
                    "tuples/frozensets hold: immutables get no anchor, so inner ones shared are "
                    "written in full at every place; use lists to share"
                )
        self.written += len(v)

    def place(self, key: int, path: Path) -> int:
        """A new memo entry: the object ``key`` (its id), first met at ``path``, is being
        written. Returns its position."""
        datas = self.datas
        pos = self.memo[key] = len(datas)
        datas.append(BUSY)
        self.paths.append(path)
        return pos

    def met_again(self, pos: int) -> Any:
        """A memoised object met again (``pos``: its position): a cycle if it is still being
        written, else its data, marked shared (JSON: a ref to it, named later)."""
        data = self.datas[pos]
        if data is BUSY:
            raise ConfigError("cycle: this node contains itself")
        self.shared.add(id(data))
        self.again.add(pos)
        if not self.json:
            return data
        ref = {REF: ""}
        self.refs.append((ref, id(data)))
        return ref

    def value(self, v: Any, shape: Shape, path: Path) -> Any:
        t = type(v)
        if t in self.plain:
            return v
        if t is float:  # JSON only
            return v if v - v == 0 else FLOAT_MARKERS[repr(v)]
        if t is list:
            return self.write_list(v, shape.item, path)
        if t is dict:
            return self.write_dict(v, shape, path)
        conv = self.convs.get(t)
        if conv is not None:
            return conv(self, v, path)
        kind = TYPE_KINDS.get(t)
        if kind is None:
            kind = kind_of_type(t)
        if kind is NODE:
            return self.converter(t)(self, v, path)
        if kind is TUPLE:
            return self.write_tuple(v, shape, path)
        if kind is SET:
            return self.write_set(v, t, shape, path)
        if kind is ENUM:
            if shape.str_as is t:
                return v._name_
            return {TYPE: TARGETS.get(t) or target_of(t), VALUE: v._name_}
        if kind is PATH:
            text = str(v)  # a Windows path keeps its backslashes; as_posix() of a posix one
            if shape.str_as is not None and isinstance(v, shape.str_as):
                return text
            return {TYPE: "path", VALUE: text}
        if kind is LIST_WRAPPER:
            return self.write_wrapper(v, t, shape.list_as, shape.item, path)
        if kind is DICT_WRAPPER:
            return self.write_wrapper(v, t, shape.dict_as, shape, path)
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

    def write_list(self, v: list[Any], item: Shape, path: Path) -> list[Any]:
        key = id(v)
        pos = self.memo.get(key)
        if pos is not None:
            return self.met_again(pos)
        pos = self.place(key, path)
        out = self.write_items(v, item, path, item_types(v))
        self.datas[pos] = out
        return out

    def write_items(self, v: Any, item: Shape, path: Path, types: set[type] | None,
                    once: bool = True) -> list[Any]:
        """The data of ``v``'s items; ``types``: the set of their types (None: not all plain
        scalars, see :func:`item_types`); ``once``: ``v`` is written at one place only (a list,
        a set's sorted copy), so a node that only ``v`` holds needs no memo entry. A tuple is
        written in full at every place it is met, so its nodes always get one."""
        plain = self.plain
        in_list = _IN_LIST if once else 0
        if types is not None and (types <= plain or (types <= NUMBERS and all_finite(v))):
            # JSON: a list/tuple of plain scalars is written as it is (the data is thrown away)
            return v if self.json and (type(v) is list or type(v) is tuple) else list(v)
        out: list[Any] = []
        append, convs = out.append, self.convs
        for index, x in enumerate(v):
            t = type(x)
            if t in plain:
                append(x)
                continue
            try:
                conv = convs.get(t)  # a config node of a class met before
                if conv is not None:
                    append(conv(self, x, (path, index), in_list))
                else:
                    append(self.value(x, item, (path, index)))
            except ConfigError as exc:
                raise exc.under(index) from None
        return out

    def write_tuple(self, v: tuple[Any, ...], shape: Shape, path: Path) -> Any:
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
            out = self.write_items(v, shape.item, path, types, once=False)
        return out if shape.list_as is tuple else {TYPE: "tuple", VALUE: out}

    def write_set(self, v: set[Any] | frozenset[Any], t: type, shape: Shape, path: Path,
             alone: bool = False) -> Any:
        """A set/frozenset as a sorted list (a marker unless annotated so); ``alone``: a set
        only one place holds, written without a memo entry."""
        plain = shape.list_as is t
        memo = t is set and not alone  # mutable: its identity can matter
        if memo:
            key = id(v)
            pos = self.memo.get(key)
            if pos is not None:
                return self.met_again(pos)
            pos = self.place(key, path)
        types = set(map(type, v))
        if t is frozenset:
            self._budget(v, types)
        try:
            ordered = sorted(v)
        except TypeError:  # mixed element types: still one fixed order
            ordered = sorted(v, key=lambda x: (type(x).__name__, repr(x)))
        items = self.write_items(ordered, shape.item, path, types)
        out = items if plain else {TYPE: t.__name__, VALUE: items}
        if memo:
            self.datas[pos] = out
        return out

    def write_dict(self, v: dict[Any, Any], shape: Shape, path: Path) -> Any:
        key = id(v)
        pos = self.memo.get(key)
        if pos is not None:
            return self.met_again(pos)
        pos = self.place(key, path)
        out = self.write_mapping(v, shape.key, shape.value, path)
        self.datas[pos] = out
        return out

    def write_mapping(self, v: dict[Any, Any], key_shape: Shape, value_shape: Shape, path: Path) -> Any:
        """A plain mapping when every key is a str and none is reserved, else a ``dict`` marker
        holding ``[key, value]`` pairs."""
        if STR_ONLY.issuperset(map(type, v)) and RESERVED.isdisjoint(v):
            plain = self.plain
            if not v or type(next(iter(v.values()))) in SCALARS:  # else nodes, say: one by one
                types = set(map(type, v.values()))
                if types <= plain or (types <= NUMBERS and all_finite(v.values())):
                    return dict(v)
            out: dict[str, Any] = {}
            convs = self.convs
            for k, x in v.items():
                t = type(x)
                if t in plain:
                    out[k] = x
                    continue
                try:
                    conv = convs.get(t)  # a config node of a class met before
                    if conv is not None:
                        out[k] = conv(self, x, (path, k), _IN_DICT)
                    else:
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

    def write_wrapper(self, v: Any, t: type, annotated: type | None, inner: Shape, path: Path) -> Any:
        """A ConfigScriptList/Dict: plain when the annotation names exactly its class,
        else a marker naming the class."""
        key = id(v)
        pos = self.memo.get(key)
        if pos is not None:
            return self.met_again(pos)
        pos = self.place(key, path)
        out = self.unwrapped(v, t, annotated, inner, path)
        self.datas[pos] = out
        return out

    def unwrapped(self, v: Any, t: type, annotated: type | None, inner: Shape, path: Path) -> Any:
        """The data of a ConfigScriptList/Dict, without a memo entry: see :meth:`_wrapper`."""
        if isinstance(v, list):
            payload: Any = self.write_items(v, inner, path, item_types(v))
        else:
            payload = self.write_mapping(v, inner.key, inner.value, path)
        plain = annotated is t and not (type(payload) is dict and TYPE in payload)
        return payload if plain else {TYPE: TARGETS.get(t) or target_of(t), VALUE: payload}

    def name_shared(self, roots: list[Any]) -> None:
        """JSON: ``_id_`` on the first place of every shared object (in document order, the
        memo's order), named from its path, and the refs filled in with those names. A shared
        list is wrapped in a ``list`` marker carrying the id at its first place, found from its
        path; ``roots`` (the data of each top-level conversion) is updated in place should a
        root be such a list."""
        namer = Namer(self.shared)
        datas, paths = self.datas, self.paths
        for pos in sorted(self.again):  # in document order
            data, path = datas[pos], paths[pos]
            keys = []
            while path is not None:
                path, key = path
                keys.append(key)
            keys.reverse()
            namer.stack = keys
            name = namer.new(data)
            if type(data) is list:
                _replace(roots, keys, data, {TYPE: "list", ID: name, VALUE: data})
            else:
                _put_id(data, name)
        names = namer.names
        for ref, key in self.refs:
            ref[REF] = names[key]


def _replace(roots: list[Any], keys: list[Any], old: Any, new: Any) -> None:
    """Put ``new`` where ``old`` sits at the path ``keys`` from one of ``roots`` (the format's
    path rule: a marker's ``value`` adds no segment)."""
    for index in range(len(roots)):
        holder: Any = roots
        at: Any = index
        for key in keys:
            d = holder[at]
            while type(d) is dict and TYPE in d and TARGET not in d:
                holder, at, d = d, VALUE, d[VALUE]
            if not ((type(d) is dict and key in d)
                    or (type(d) is list and type(key) is int and 0 <= key < len(d))):
                break
            holder, at = d, key
        else:
            if holder[at] is old:
                holder[at] = new
                return
    raise AssertionError(f"a shared list not found at its first place {keys!r}")


def _put_id(d: dict[str, Any], name: str) -> None:
    """``_id_`` into a mapping, in place: right after its ``_target_``/``_type_`` (the first
    key), else first."""
    rest = d.copy()
    d.clear()
    first = next(iter(rest), None)
    if first == TARGET or first == TYPE:
        d[first] = rest[first]  # stays first when ``rest`` sets it again
    d[ID] = name
    d.update(rest)


_FRAMES_PER_LEVEL = 4  # calls of the writer per level of data (value, _node or _list, _items)


def _convert(config: Any, conv: _ToData | None = None) -> tuple[Any, set[int]]:
    conv = _ToData() if conv is None else conv
    with recursion_room(_FRAMES_PER_LEVEL * DEPTH_LIMIT):
        try:
            return conv.value(config, ANY, None), conv.shared
        except RecursionError:  # deeper than the format's limit: emit would refuse it too
            raise depth_error(writing=True) from None


# _FREED: a dump's data is freed while the cyclic collector is still paused. Left alive until
# the function returns, it would count as that many new objects when the collector resumes,
# and the next allocation would start a collection that scans all of it just before it goes.


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
        text = _written(yaml_text, data, shared)
        del data, shared  # freed before the collector resumes (see _FREED)
    return text


def to_json(config: Any, *, indent: int | None = None) -> str:
    """The JSON text of a config tree (docs/format.md): compact, or indented by ``indent``."""
    with gc_paused():
        conv = _ToData(json=True)
        roots = [_convert(config, conv)[0]]
        if conv.shared:
            conv.name_shared(roots)
        text = _written(encode_json, roots[0], indent)
        del conv, roots  # freed before the collector resumes (see _FREED)
    return text


def document_text(config: Any, meta: dict[str, Any], fmt: str, version: int = 1) -> str:
    """A snapshot document (``micro_config``, ``meta``, ``versions``, ``config``) as ``"yaml"``
    or ``"json"`` text (JSON indented by 2: docs/format.md), by the same one pass as
    :func:`to_yaml` / :func:`to_json`. Anchor/id names come from paths inside ``config`` (or
    ``meta``), not the document."""
    with gc_paused():
        conv = _ToData(json=fmt == "json")
        try:
            meta_data = conv.value(dict(meta), ANY, None)
        except ConfigError as exc:
            raise exc.under("meta") from None
        tree = _convert(config, conv)[0]
        table = versions_table(tree)  # migrate.py: once per versioned class
        if conv.json:
            roots = [meta_data, tree]
            if conv.shared:
                conv.name_shared(roots)
            meta_data, tree = roots
        doc = {"micro_config": version, "meta": meta_data}
        if table:
            doc[VERSIONS] = table
        doc["config"] = tree
        if conv.json:
            text = _written(encode_json, doc, 2)
        else:
            text = _written(yaml_text, doc, conv.shared, document=True)
        del conv, doc, meta_data, tree  # freed before the collector resumes (see _FREED)
    return text


# ------------------------------------------------------------ calibration of the node counts


@dataclasses.dataclass
class _ProbeNode:
    pass


@dataclasses.dataclass
class _ProbeHolder:
    node: _ProbeNode


def _calibrate() -> tuple[int, int, int]:
    """What ``sys.getrefcount`` says, as a converter starts, of a node that only its list,
    mapping or field holds, when reached by the very code that reaches nodes there (a stub
    converter returns the count). The least over repeated runs (the interpreter specialises
    code as it warms up): a node the tree holds at a second place has one reference more."""
    space: dict[str, Any] = {}
    exec("def stub(self, obj, path, alone=0):\n    return getrefcount(obj)\n",  # noqa: S102
         {"getrefcount": sys.getrefcount}, space)
    conv = _ToData()
    conv.convs[_ProbeNode] = space["stub"]
    holder = make_converter(plan_of(_ProbeHolder), _ProbeHolder, False)
    counts: tuple[list[int], list[int], list[int]] = ([], [], [])
    with converters.untraced():
        for _ in range(32):
            conv.memo.clear()
            counts[0].extend(conv.write_items([_ProbeNode()], ANY, None, None))
            counts[1].extend(conv.write_mapping({"k": _ProbeNode()}, ANY, ANY, None).values())
            counts[2].append(holder(conv, _ProbeHolder(_ProbeNode()), None)["node"])
    return min(counts[0]), min(counts[1]), min(counts[2])


_IN_LIST = _IN_DICT = 0  # what the converters of nodes in a list / a mapping are told (0: memoise)
_IN_LIST, _IN_DICT, _in_field = _calibrate()
converters.set_field_count(_in_field)
