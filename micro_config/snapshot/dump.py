"""Config tree -> normalised data (docs/format.md), and the ``to_data``/``to_yaml``/``to_json``/
``document_text`` entry points.

One pass (:class:`_ToData`) turns the tree into plain dicts/lists/scalars (a shared node becomes
one shared data object); ``emit`` writes that data as YAML. For JSON the same pass makes
JSON-ready data (nan/inf markers, ``_ref_`` at the later places of a shared object); then
:meth:`_ToData.name_shared` puts ``_id_`` on the first places (a shared list gets its ``list``
marker there) and ``json.dumps`` writes it: ``to_json``, ``to_json(indent=...)`` and JSON
snapshot documents all take this one path. How a typed value is written depends on its field's
annotation: see ``plan.Shape``.

Each config class gets a generated converter (:func:`_make_converter`): straight-line code per
field with fast branches for the exact types a field surely takes, and the generic check and
``value`` otherwise. The identity rule (micro_config/tree.py) is kept with one shortcut: a
node, list or dict that only one place of the tree holds (``sys.getrefcount``, against counts
calibrated at import for each way a value is reached) cannot be met twice, so it gets no memo
entry.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import inspect
import math
import operator
import pathlib
import sys
import typing
from collections.abc import Callable
from typing import Any

from ..convert import strip, unwrap_optional
from ..errors import ConfigError, WrongTypeError, short_repr
from ..plan import ANY, PLANS, Field, Plan, Shape, plan_of, target_name
from ..script import ConfigScriptDict, ConfigScriptList
from .emit import encode_json, float_marker, yaml_text
from .format import DEPTH_LIMIT, ID, REF, RESERVED, TARGET, TYPE, VALUE, Namer, depth_error
from .gcpause import gc_paused, recursion_room
from .migrate import VERSIONS, versions_table

__all__ = ["document_text", "to_data", "to_json", "to_yaml"]
_NoneType = type(None)


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


_TARGETS: dict[type, str] = {}


def _target(t: type) -> str:
    """``target_name(t)``, remembered (an enum's or a wrapper's marker names its class)."""
    name = target_name(t)
    if len(_TARGETS) < 10_000:
        _TARGETS[t] = name
    return name


def _finite(v: Any) -> bool:
    """No nan/inf among these ints/floats: one C sum (an overflow only says False)."""
    try:
        s = sum(v)
    except OverflowError:
        return False
    return s - s == 0


Path = tuple[Any, Any] | None  # (parent path, key) linked to the root: the place of a value


# JSON: the float marker of a nan/inf, one object per spelling (JSON-ready data is written,
# never changed, and thrown away: a marker may stand at many places)
_MARKERS = {repr(x): float_marker(x) for x in (math.nan, math.inf, -math.inf)}


def _types(v: list[Any]) -> set[type] | None:
    """The set of the item types of a list, or None when its first item is no plain scalar
    (a list of nodes, say: its items are written one by one anyway)."""
    return set(map(type, v)) if not v or type(v[0]) in _SCALARS else None


class _ToData:
    """One conversion: identity memo (shared object -> one data object) and cycle check.

    With ``json=True`` it makes JSON-ready data in the same pass: a nan/inf becomes a
    ``float`` marker, the second and later places of a shared object a ``{"_ref_": name}``,
    and :meth:`name_shared` then puts ``_id_`` on the first places (a shared list is wrapped
    there in a ``list`` marker), named from their paths in document order."""

    def __init__(self, json: bool = False) -> None:
        # memo: id of an object -> its position in datas (its data, or _BUSY while it is being
        # written) and paths (the path of its first place): positions are document order
        self.memo: dict[int, int] = {}
        self.datas: list[Any] = []
        self.paths: list[Path] = []
        self.shared: set[int] = set()  # ids of data objects reached more than once
        self.again: set[int] = set()  # their positions
        self.written = 0  # values written so far by tuples/frozensets, expanded in full
        self.sizes: dict[int, int] = {}  # id of a tuple/frozenset -> the values it writes
        self.json = json
        self.plain = _JSON_SCALARS if json else _SCALARS  # written as they are
        self.refs: list[tuple[dict[str, Any], int]] = []  # JSON: ref, id of the data it names
        self.convs: dict[type, Callable[..., Any]] = {}  # class -> its converter, this dump

    def converter(self, cls: type) -> Callable[..., Any]:
        """The generated converter of a config class (see :func:`_converter`)."""
        conv = self.convs[cls] = _converter(cls, self.json)
        return conv

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

    def place(self, key: int, path: Path) -> int:
        """A new memo entry: the object ``key`` (its id), first met at ``path``, is being
        written. Returns its position."""
        datas = self.datas
        pos = self.memo[key] = len(datas)
        datas.append(_BUSY)
        self.paths.append(path)
        return pos

    def met_again(self, pos: int) -> Any:
        """A memoised object met again (``pos``: its position): a cycle if it is still being
        written, else its data, marked shared (JSON: a ref to it, named later)."""
        data = self.datas[pos]
        if data is _BUSY:
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
            return v if v - v == 0 else _MARKERS[repr(v)]
        if t is list:
            return self._list(v, shape.item, path)
        if t is dict:
            return self._dict(v, shape, path)
        conv = self.convs.get(t)
        if conv is not None:
            return conv(self, v, path)
        kind = _KINDS.get(t)
        if kind is None:
            kind = _kind(t)
        if kind is _NODE:
            return self.converter(t)(self, v, path)
        if kind is _TUPLE:
            return self._tuple(v, shape, path)
        if kind is _SET:
            return self._set(v, t, shape, path)
        if kind is _ENUM:
            if shape.str_as is t:
                return v._name_
            return {TYPE: _TARGETS.get(t) or _target(t), VALUE: v._name_}
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

    def _list(self, v: list[Any], item: Shape, path: Path) -> list[Any]:
        key = id(v)
        pos = self.memo.get(key)
        if pos is not None:
            return self.met_again(pos)
        pos = self.place(key, path)
        out = self._items(v, item, path, _types(v))
        self.datas[pos] = out
        return out

    def _items(self, v: Any, item: Shape, path: Path, types: set[type] | None) -> list[Any]:
        """The data of ``v``'s items; ``types``: the set of their types (None: not all plain
        scalars, see :func:`_types`)."""
        plain = self.plain
        if types is not None and (types <= plain or (types <= _NUMBERS and _finite(v))):
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
                    append(conv(self, x, (path, index), _IN_LIST))
                else:
                    append(self.value(x, item, (path, index)))
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

    def _set(self, v: set[Any] | frozenset[Any], t: type, shape: Shape, path: Path,
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
        items = self._items(ordered, shape.item, path, types)
        out = items if plain else {TYPE: t.__name__, VALUE: items}
        if memo:
            self.datas[pos] = out
        return out

    def _dict(self, v: dict[Any, Any], shape: Shape, path: Path) -> Any:
        key = id(v)
        pos = self.memo.get(key)
        if pos is not None:
            return self.met_again(pos)
        pos = self.place(key, path)
        out = self._mapping(v, shape.key, shape.value, path)
        self.datas[pos] = out
        return out

    def _mapping(self, v: dict[Any, Any], key_shape: Shape, value_shape: Shape, path: Path) -> Any:
        """A plain mapping when every key is a str and none is reserved, else a ``dict`` marker
        holding ``[key, value]`` pairs."""
        if _STR.issuperset(map(type, v)) and RESERVED.isdisjoint(v):
            plain = self.plain
            if not v or type(next(iter(v.values()))) in _SCALARS:  # else nodes, say: one by one
                types = set(map(type, v.values()))
                if types <= plain or (types <= _NUMBERS and _finite(v.values())):
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

    def _wrapper(self, v: Any, t: type, annotated: type | None, inner: Shape, path: Path) -> Any:
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
            payload: Any = self._items(v, inner, path, _types(v))
        else:
            payload = self._mapping(v, inner.key, inner.value, path)
        plain = annotated is t and not (type(payload) is dict and TYPE in payload)
        return payload if plain else {TYPE: _TARGETS.get(t) or _target(t), VALUE: payload}

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


# ------------------------------------------------------------ per-class converters (generated)

# A config class's converter is one generated function per class and mode (JSON or not):
# straight-line code per field, with fast branches for the exact types the field surely takes
# (a plain scalar, a float, an enum or Path the annotation names, a node of an annotated class,
# a list/tuple/frozenset of plain scalars), each writing what ``value`` would, and the generic
# path (:func:`_field_value`) for anything else. Its text is built from field indices and
# ``repr()`` of field names only; every class, shape and field object is a closure variable.
_CONVERTERS: dict[tuple[type, bool], tuple[Plan, Callable[..., Any]]] = {}


def _converter(cls: type, json: bool) -> Callable[..., Any]:
    """The converter of ``cls`` in a mode (made once, and again after clear_plans())."""
    found = _CONVERTERS.get((cls, json))
    if found is None or PLANS.get(cls) is not found[0]:  # clear_plans() empties PLANS
        plan = plan_of(cls)
        found = _CONVERTERS[cls, json] = (plan, _make_converter(plan, cls, json))
    return found[1]


def _alone() -> int:
    """What ``sys.getrefcount`` says, inside a converter, of a field value that only its
    node's ``__dict__`` holds: the values read as the converters read them. A list the tree
    holds at another place too has one strong reference more (that place), so one that this
    count allows is met once and needs no memo entry (a list of plain scalars has no cycle)."""
    space: dict[str, Any] = {}
    exec("def probe(obj):\n    v0, v1, = GET(obj.__dict__)\n    return getrefcount(v1)\n",  # noqa: S102
         {"GET": operator.itemgetter("a", "b"), "getrefcount": sys.getrefcount}, space)
    probe = _Probe()
    probe.a, probe.b = 0, []
    return space["probe"](probe)


class _Probe:
    a: Any
    b: Any


_ALONE = _alone()
getrefcount = sys.getrefcount
_IN_LIST = _IN_DICT = _IN_FIELD = 0  # see _calibrate (0: always memoised)


def _make_converter(plan: Plan, cls: type, json: bool) -> Callable[..., Any]:
    """``convert(conv, obj, path, alone=0)``: the data of a node of ``cls``, memoised by
    identity unless ``sys.getrefcount(obj)`` is at most ``alone``: the count, calibrated for
    the caller's own way of reaching it (:func:`_calibrate`), of a node only its container
    holds, which the tree cannot reach again (nor contain it: a cycle is one more reference)."""
    plain = _JSON_SCALARS if json else _SCALARS
    fields = list(plan.fields.values())
    names_tuple = plan.names
    consts: dict[str, Any] = {
        "TARGET": plan.target, "GET": plan.values,
        "ATTRS": lambda obj: tuple(getattr(obj, n) for n in names_tuple),
    }
    lines = ["memo, datas, paths = self.memo, self.datas, self.paths",
             "if getrefcount(obj) > alone:",
             "    key = id(obj)", "    pos = memo.get(key)", "    if pos is not None:",
             "        return self.met_again(pos)", "    memo[key] = pos = len(datas)",
             "    datas.append(_BUSY)", "    paths.append(path)",
             "else:", "    pos = -1"]
    if fields:
        values = "".join(f"v{i}, " for i in range(len(fields)))
        if any(hasattr(type(inspect.getattr_static(cls, n, None)), "__set__") for n in names_tuple):
            lines.append(f"{values}= ATTRS(obj)")  # a property, a slot: getattr
        else:  # one C call; getattr when there is no __dict__ or a field is missing from it
            lines += ["try:", f"    {values}= GET(obj.__dict__)",
                      "except (AttributeError, KeyError):", f"    {values}= ATTRS(obj)"]
    for i, field in enumerate(fields):
        consts[f"F{i}"] = field
        lines += _field_lines(i, field, plain, json, consts)
    items = "".join(f", {f.name!r}: x{i}" for i, f in enumerate(fields))
    lines += [f"out = {{{TARGET!r}: TARGET{items}}}", "if pos >= 0:", "    datas[pos] = out",
              "return out"]
    source = (f"def make({', '.join(consts)}):\n    def convert(self, obj, path, alone=0):\n"
              + "".join(f"        {line}\n" for line in lines) + "    return convert\n")
    space: dict[str, Any] = {}
    exec(compile(source, f"<dump of {target_name(cls)}>", "exec"), globals(), space)  # noqa: S102
    return space["make"](*consts.values())


def _named(k: str, statement: str) -> list[str]:
    """``statement`` with a ConfigError from it placed under the field ``k``."""
    return ["try:", f"    {statement}", "except ConfigError as exc:",
            f"    raise exc.under({k}) from None"]


def _field_lines(i: int, field: Field, plain: frozenset[type], json: bool,
                 consts: dict[str, Any]) -> list[str]:
    """Lines setting ``x<i>`` to the data of field ``i`` (its value in ``v<i>``): a branch per
    exact type the field surely takes (any type for an unchecked field), each making what
    ``value`` would, else the generic path (:func:`_generic_lines`)."""
    v, x, k, shape, exact = f"v{i}", f"x{i}", repr(field.name), field.shape, field.exact
    fits = (lambda t: True) if field.check is None else exact.__contains__
    branches: list[tuple[str, list[str]]] = []
    if json and fits(float):  # floats first: a float field mostly holds floats
        branches.append(("t is float", [f"{x} = {v} if {v} - {v} == 0 else _MARKERS[repr({v})]"]))
    direct = [name for t, name in ((float, "float"), (str, "str"), (int, "int"), (bool, "bool"),
                                   (_NoneType, "_NoneType")) if t in plain and fits(t)]
    if direct:
        branches.append((" or ".join(f"t is {name}" for name in direct), [f"{x} = {v}"]))
    for j, t in enumerate(sorted(exact, key=target_name)):
        c = f"C{i}_{j}"
        if t is shape.str_as and issubclass(t, enum.Enum):
            body = [f"{x} = {v}._name_"]
        elif (issubclass(t, pathlib.PurePath) and shape.str_as is not None
              and issubclass(t, shape.str_as)):
            body = [f"{x} = str({v})"]
        elif (_KINDS.get(t) or _kind(t)) is _NODE:
            body = _named(k, f"{x} = (self.convs.get({c}) or self.converter({c}))"
                             f"(self, {v}, (path, {k}), _IN_FIELD)")
        else:
            continue
        consts[c] = t
        branches.append((f"t is {c}", body))
    consts[f"S{i}"] = shape
    for c, wrapper, inner in ((f"W{i}", shape.list_as, f"S{i}.item"), (f"D{i}", shape.dict_as, f"S{i}")):
        if wrapper is not None and issubclass(wrapper, ConfigScriptList | ConfigScriptDict):
            consts[c], consts[f"K{i}"] = wrapper, field.check
            bare = strip(unwrap_optional(field.annotation)[0]) is wrapper  # no item types
            surely = "" if field.check is None or bare else f" and K{i}({v})"
            if wrapper is shape.list_as:  # its items, as unwrapped makes them (a plain list)
                alone_body = _named(k, f"{x} = self._items({v}, {inner}, (path, {k}), _types({v}))")
            else:
                alone_body = _named(k, f"{x} = self.unwrapped({v}, {c}, {c}, {inner}, (path, {k}))")
            branches.append((f"t is {c} and getrefcount({v}) <= _ALONE{surely}",  # held here alone
                             alone_body))
            branches.append((f"t is {c}{surely}",  # as value writes it
                             _named(k, f"{x} = self._wrapper({v}, {c}, {c}, {inner}, (path, {k}))")))
    alone = f"getrefcount({v}) <= _ALONE"  # held by this field alone: no memo entry
    if field.check is None:  # Any: a list or dict, as value writes it
        branches += [
            (f"t is list and {alone}",
             _named(k, f"{x} = self._items({v}, S{i}.item, (path, {k}), _types({v}))")),
            ("t is list", _named(k, f"{x} = self._list({v}, S{i}.item, (path, {k}))")),
            (f"t is dict and {alone}",
             _named(k, f"{x} = self._mapping({v}, S{i}.key, S{i}.value, (path, {k}))")),
            ("t is dict", _named(k, f"{x} = self._dict({v}, S{i}, (path, {k}))"))]
    if shape is ANY:  # an enum, a Path, a tuple or a set: as value writes it, without a call
        branches += [
            ("(kind := _KINDS.get(t)) is _ENUM",
             [f"{x} = {{{TYPE!r}: _TARGETS.get(t) or _target(t), {VALUE!r}: {v}._name_}}"]),
            ("kind is _PATH", [f"{x} = {{{TYPE!r}: 'path', {VALUE!r}: str({v})}}"]),
            ("kind is _TUPLE", _named(k, f"{x} = self._tuple({v}, ANY, (path, {k}))")),
            (f"kind is _SET and t is set and {alone}",
             _named(k, f"{x} = self._set({v}, t, ANY, (path, {k}), True)")),
            ("kind is _SET", _named(k, f"{x} = self._set({v}, t, ANY, (path, {k}))"))]
    seq, leaves = field.seq, field.leaves
    if seq is not None and (leaves <= plain or leaves <= _NUMBERS):  # plain scalars inside
        consts[f"L{i}"] = leaves
        items = f"L{i}.issuperset(map(type, {v}))" + ("" if leaves <= plain else f" and _finite({v})")
        within = f"(w := self.written + len({v})) <= WRITE_BUDGET"
        if seq is list:  # as _list and _items make it (JSON: the list itself, nothing copied)
            made = v if json else f"list({v})"
            branches.append((f"t is list and getrefcount({v}) <= _ALONE and {items}", [
                f"{x} = {made}"]))  # held by this field alone: met once, no memo entry
            branches.append((f"t is list and (id{i} := id({v})) not in memo and {items}", [
                f"{x} = {made}", f"memo[id{i}] = len(datas)", f"datas.append({x})",
                f"paths.append((path, {k}))"]))
        elif seq is tuple and shape.list_as is tuple and shape.items is None:  # as _tuple
            branches.append((f"t is tuple and {items} and {within}", [
                "self.written = w", f"{x} = {v if json else f'list({v})'}"]))
        elif seq is frozenset and shape.list_as is frozenset:  # as _set
            branches.append((f"t is frozenset and {items} and {within}", [
                "try:", f"    {x} = sorted({v})", "except TypeError:  # mixed types: _set's order",
                *("    " + line for line in _generic_lines(i, field, consts)),
                "else:", "    self.written = w"]))
    scalar = _scalar_values(field.annotation)
    if scalar is not None:  # dict[str, float], say: as _dict and _mapping make it
        consts[f"V{i}"] = frozenset({scalar})
        fits = (f"_STR.issuperset(map(type, {v})) and RESERVED.isdisjoint({v}) and "
                f"V{i}.issuperset(map(type, {v}.values()))"
                + ("" if scalar in plain else f" and _finite({v}.values())"))
        branches.append((f"t is dict and getrefcount({v}) <= _ALONE and {fits}", [
            f"{x} = {v if json else f'dict({v})'}"]))  # alone: no memo entry, never gets an id
        branches.append((f"t is dict and (id{i} := id({v})) not in memo and {fits}", [
            f"{x} = dict({v})", f"memo[id{i}] = len(datas)", f"datas.append({x})",
            f"paths.append((path, {k}))"]))
    generic = _generic_lines(i, field, consts)
    if not branches:
        return [f"t = type({v})", *generic] if field.check is not None else generic
    lines = [f"t = type({v})"]
    for n, (cond, body) in enumerate(branches):
        lines.append(("if " if n == 0 else "elif ") + cond + ":")
        lines += ["    " + line for line in body]
    return [*lines, "else:", *("    " + line for line in generic)]


def _scalar_values(annotation: Any) -> type | None:
    """``C`` when the annotation is ``dict[str, C]`` (or a Mapping, or Optional) with ``C`` one
    of str, int, float, bool: a dict of str keys and values of type exactly ``C`` fits it."""
    ann, _ = unwrap_optional(annotation)
    args = typing.get_args(ann)
    if (typing.get_origin(ann) not in (dict, collections.abc.Mapping, collections.abc.MutableMapping)
            or len(args) != 2 or strip(args[0]) is not str):
        return None
    value = strip(args[1])
    return value if value in (str, int, float, bool) else None


def _generic_lines(i: int, field: Field, consts: dict[str, Any]) -> list[str]:
    """The generic path of field ``i`` (its type in ``t``): a value the fast check does not
    pass is held to the loader's rule (:func:`_fit`), then written by ``value``."""
    v, k = f"v{i}", repr(field.name)
    lines = []
    if field.check is not None:
        consts[f"E{i}"], consts[f"K{i}"] = field.exact, field.check
        surely = f"t in E{i}"
        if field.seq is not None:
            consts[f"Q{i}"], consts[f"L{i}"] = field.seq, field.leaves
            surely += f" or (t is Q{i} and L{i}.issuperset(map(type, {v})))"
        lines += [f"if not ({surely} or K{i}({v})):", f"    _fit(F{i}, {v})"]
    return lines + _named(k, f"x{i} = self.value({v}, S{i}, (path, {k}))")


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
    holder = _make_converter(plan_of(_ProbeHolder), _ProbeHolder, False)
    counts: tuple[list[int], list[int], list[int]] = ([], [], [])
    for _ in range(32):
        conv.memo.clear()
        counts[0].extend(conv._items([_ProbeNode()], ANY, None, None))
        counts[1].extend(conv._mapping({"k": _ProbeNode()}, ANY, ANY, None).values())
        counts[2].append(holder(conv, _ProbeHolder(_ProbeNode()), None)["node"])
    return min(counts[0]), min(counts[1]), min(counts[2])


_IN_LIST, _IN_DICT, _IN_FIELD = _calibrate()
