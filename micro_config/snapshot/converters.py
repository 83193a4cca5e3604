"""What the dump writes for each kind of value, and the per-class converters it runs.

The vocabulary shared by the dump's pass (``dump.py``) and the code generated here: the plain
scalars written as they are, the kind of every other type (asked once per type), the float
markers, the write budget of tuples/frozensets, the loader's rule for a value the fast checks
do not pass (:func:`fit_field`).

Each config class gets a generated converter (:func:`make_converter`, cached per class and
mode in :func:`converter_of`, made again after ``clear_plans()``): straight-line code per field
with fast branches for the exact types a field surely takes, and the generic check and
``value`` otherwise. Its text is built from field indices and ``repr()`` of field names only;
classes, shapes and fields are closure variables, and it runs in this module's namespace. The
identity rule (micro_config/tree.py) is kept with one shortcut: a node, list or dict that only
one place of the tree holds (``sys.getrefcount``, against counts calibrated at import for each
way a value is reached) cannot be met twice, so it gets no memo entry.
"""

from __future__ import annotations

import collections.abc
import contextlib
import enum
import math
import operator
import pathlib
import sys
import typing
from collections.abc import Callable, Iterator
from typing import Any

from ..convert import strip, unwrap_optional
from ..errors import ConfigError
from ..plan import ANY, PLANS, Field, Plan, plan_of, target_name
from ..script import ConfigScriptDict, ConfigScriptList
from ..tree import fields_live_in_dict
from .emit import float_marker
from .format import RESERVED, TARGET, TYPE, VALUE

NoneType = type(None)


def fit_field(field: Field, value: Any) -> None:
    """A value the fast check did not pass is held to the loader's rule (convert.convert,
    which also takes the format's own spellings: a plain list for a ConfigScriptList...):
    what the loader would refuse is refused before it is written."""
    field.load(value, field.name)


BUSY = object()  # memo entry of a node being written: meeting it again means a cycle
WRITE_BUDGET = 10_000_000  # values that tuples/frozensets may write in one dump (dump._ToData._budget)
# A nested tuple/frozenset may write at most AMPLIFICATION times the values its distinct objects
# hold (past a floor): sharing inside immutables, written in full at every place, is refused
# before it multiplies the work (a few dozen tuples can stand for millions of values).
AMPLIFICATION = 100
AMPLIFIED_FLOOR = 10_000


def distinct_size(v: tuple[Any, ...] | frozenset[Any]) -> int:
    """How many values the distinct tuples/frozensets in ``v`` (itself included) hold, each
    object counted once: what a file holds for ``v`` (iterative, linear in that)."""
    seen: set[int] = set()
    todo, size = [v], 0
    while todo:
        x = todo.pop()
        if id(x) not in seen:
            seen.add(id(x))
            size += len(x)
            todo.extend(y for y in x if type(y) is tuple or type(y) is frozenset)
    return size


def expanded_size(v: tuple[Any, ...] | frozenset[Any], sizes: dict[int, int]) -> int:
    """How many values ``v`` writes in full, nested tuples/frozensets included, each distinct
    object counted once by identity (``sizes``), so even an exponential expansion is measured
    in linear time."""
    size = sizes.get(id(v))
    if size is None:
        size = len(v)
        for x in v:
            if type(x) is tuple or type(x) is frozenset:
                size += expanded_size(x, sizes)
        sizes[id(v)] = size
    return size


SCALARS = frozenset({str, int, bool, NoneType, float})
JSON_SCALARS = frozenset({str, int, bool, NoneType})  # float: nan/inf need a marker in JSON
NUMBERS = frozenset({int, float, bool})
NESTED = frozenset({tuple, frozenset})
STR_ONLY = frozenset({str})
NODE, TUPLE, SET, ENUM, PATH, LIST_WRAPPER, DICT_WRAPPER, OTHER = range(8)
TYPE_KINDS: dict[type, int] = {}


def kind_of_type(t: type) -> int:
    """What a value of type ``t`` (not a plain scalar, list or dict) is written as; once per type."""
    if hasattr(t, "__dataclass_fields__"):
        kind = NODE
    elif t is tuple:
        kind = TUPLE
    elif t is set or t is frozenset:
        kind = SET
    elif issubclass(t, enum.Enum):
        kind = ENUM
    elif issubclass(t, pathlib.PurePath):
        kind = PATH
    elif issubclass(t, ConfigScriptList):
        kind = LIST_WRAPPER
    elif issubclass(t, ConfigScriptDict):
        kind = DICT_WRAPPER
    else:
        kind = OTHER
    if len(TYPE_KINDS) < 10_000:
        TYPE_KINDS[t] = kind
    return kind


TARGETS: dict[type, str] = {}


def target_of(t: type) -> str:
    """``target_name(t)``, remembered (an enum's or a wrapper's marker names its class)."""
    name = target_name(t)
    if len(TARGETS) < 10_000:
        TARGETS[t] = name
    return name


def all_finite(v: Any) -> bool:
    """No nan/inf among these ints/floats: one C sum (an overflow only says False)."""
    try:
        s = sum(v)
    except OverflowError:
        return False
    return s - s == 0


# JSON: the float marker of a nan/inf, one object per spelling (JSON-ready data is written,
# never changed, and thrown away: a marker may stand at many places)
FLOAT_MARKERS = {repr(x): float_marker(x) for x in (math.nan, math.inf, -math.inf)}


def item_types(v: list[Any]) -> set[type] | None:
    """The set of the item types of a list, or None when its first item is no plain scalar
    (a list of nodes, say: its items are written one by one anyway)."""
    return set(map(type, v)) if not v or type(v[0]) in SCALARS else None


# ------------------------------------------------------------ per-class converters (generated)

# A config class's converter is one generated function per class and mode (JSON or not):
# straight-line code per field, with fast branches for the exact types the field surely takes
# (a plain scalar, a float, an enum or Path the annotation names, a node of an annotated class,
# a list/tuple/frozenset of plain scalars), each writing what ``value`` would, and the generic
# path (:func:`_generic_lines`) for anything else. Its text is built from field indices and
# ``repr()`` of field names only; every class, shape and field object is a closure variable.
_CONVERTERS: dict[tuple[type, bool], tuple[Plan, Callable[..., Any]]] = {}


def converter_of(cls: type, json: bool) -> Callable[..., Any]:
    """The converter of ``cls`` in a mode (made once, and again after clear_plans())."""
    found = _CONVERTERS.get((cls, json))
    if found is None or PLANS.get(cls) is not found[0]:  # clear_plans() empties PLANS
        plan = plan_of(cls)
        found = _CONVERTERS[cls, json] = (plan, make_converter(plan, cls, json))
    return found[1]


@contextlib.contextmanager
def untraced() -> Iterator[None]:
    """No trace or profile function while reference counts are calibrated: one that reads a
    frame's locals (a debugger, a tracer) holds references of its own, and a count calibrated
    too high would take values the tree holds twice for values held once (sharing lost)."""
    trace, profile = sys.gettrace(), sys.getprofile()
    sys.settrace(None)
    sys.setprofile(None)
    try:
        yield
    finally:
        sys.settrace(trace)
        sys.setprofile(profile)


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
    with untraced():
        return min(space["probe"](probe) for _ in range(8))


class _Probe:
    a: Any
    b: Any


ALONE = _alone()
getrefcount = sys.getrefcount
IN_FIELD = 0  # see set_field_count (0: always memoised)


def set_field_count(count: int) -> None:
    """What ``sys.getrefcount`` says, as a converter starts, of a node that only a field holds:
    measured by the dump's calibration (``dump._calibrate`` runs these very converters), read
    by the generated code at each call."""
    global IN_FIELD
    IN_FIELD = count


def make_converter(plan: Plan, cls: type, json: bool) -> Callable[..., Any]:
    """``convert(conv, obj, path, alone=0)``: the data of a node of ``cls``, memoised by
    identity unless ``sys.getrefcount(obj)`` is at most ``alone``: the count, calibrated for
    the caller's own way of reaching it (:func:`_calibrate`), of a node only its container
    holds, which the tree cannot reach again (nor contain it: a cycle is one more reference)."""
    plain = JSON_SCALARS if json else SCALARS
    fields = list(plan.fields.values())
    taken = sorted(RESERVED.intersection(plan.names))
    if taken:  # it would stand where the format writes the class name or the sharing id
        raise ConfigError(f"{cls.__qualname__} has a field named {taken[0]!r}, a key the snapshot "
                          "format keeps for itself: rename the field")
    names_tuple = plan.names
    consts: dict[str, Any] = {
        "TARGET": plan.target, "GET": plan.values,
        # a property may return a new object at each read: kept alive for the whole dump
        # (self.kept), so that its id is not reused by another value while it is memoised
        "ATTRS": lambda self, obj: self.kept(tuple(getattr(obj, n) for n in names_tuple)),
    }
    lines = ["memo, datas, paths = self.memo, self.datas, self.paths",
             "if getrefcount(obj) > alone:",
             "    key = id(obj)", "    pos = memo.get(key)", "    if pos is not None:",
             "        return self.met_again(pos)", "    memo[key] = pos = len(datas)",
             "    datas.append(BUSY)", "    paths.append(path)",
             "else:", "    pos = -1"]
    if fields:
        values = "".join(f"v{i}, " for i in range(len(fields)))
        if not fields_live_in_dict(cls, names_tuple):
            lines.append(f"{values}= ATTRS(self, obj)")  # a property, a slot: getattr
        else:  # one C call; getattr when there is no __dict__ or a field is missing from it
            lines += ["try:", f"    {values}= GET(obj.__dict__)",
                      "except (AttributeError, KeyError):", f"    {values}= ATTRS(self, obj)"]
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
        branches.append(("t is float", [f"{x} = {v} if {v} - {v} == 0 else FLOAT_MARKERS[repr({v})]"]))
    direct = [name for t, name in ((float, "float"), (str, "str"), (int, "int"), (bool, "bool"),
                                   (NoneType, "NoneType")) if t in plain and fits(t)]
    if direct:
        branches.append((" or ".join(f"t is {name}" for name in direct), [f"{x} = {v}"]))
    for j, t in enumerate(sorted(exact, key=target_name)):
        c = f"C{i}_{j}"
        if t is shape.str_as and issubclass(t, enum.Enum):
            body = [f"{x} = {v}._name_"]
        elif (issubclass(t, pathlib.PurePath) and shape.str_as is not None
              and issubclass(t, shape.str_as)):
            body = [f"{x} = str({v})"]
        elif (TYPE_KINDS.get(t) or kind_of_type(t)) is NODE:
            body = _named(k, f"{x} = (self.convs.get({c}) or self.converter({c}))"
                             f"(self, {v}, (path, {k}), IN_FIELD)")
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
                alone_body = _named(k, f"{x} = self.write_items({v}, {inner}, (path, {k}), item_types({v}))")
            else:
                alone_body = _named(k, f"{x} = self.unwrapped({v}, {c}, {c}, {inner}, (path, {k}))")
            branches.append((f"t is {c} and getrefcount({v}) <= ALONE{surely}",  # held here alone
                             alone_body))
            branches.append((f"t is {c}{surely}",  # as value writes it
                             _named(k, f"{x} = self.write_wrapper({v}, {c}, {c}, {inner}, (path, {k}))")))
    alone = f"getrefcount({v}) <= ALONE"  # held by this field alone: no memo entry
    if field.check is None:  # Any: a list or dict, as value writes it
        branches += [
            (f"t is list and {alone}",
             _named(k, f"{x} = self.write_items({v}, S{i}.item, (path, {k}), item_types({v}))")),
            ("t is list", _named(k, f"{x} = self.write_list({v}, S{i}.item, (path, {k}))")),
            (f"t is dict and {alone}",
             _named(k, f"{x} = self.write_mapping({v}, S{i}.key, S{i}.value, (path, {k}))")),
            ("t is dict", _named(k, f"{x} = self.write_dict({v}, S{i}, (path, {k}))"))]
    if shape is ANY:  # an enum, a Path, a tuple or a set: as value writes it, without a call
        branches += [
            ("(kind := TYPE_KINDS.get(t)) is ENUM",
             [f"{x} = {{{TYPE!r}: TARGETS.get(t) or target_of(t), {VALUE!r}: {v}._name_}}"]),
            ("kind is PATH", [f"{x} = {{{TYPE!r}: 'path', {VALUE!r}: str({v})}}"]),
            ("kind is TUPLE", _named(k, f"{x} = self.write_tuple({v}, ANY, (path, {k}))")),
            (f"kind is SET and t is set and {alone}",
             _named(k, f"{x} = self.write_set({v}, t, ANY, (path, {k}), True)")),
            ("kind is SET", _named(k, f"{x} = self.write_set({v}, t, ANY, (path, {k}))"))]
    seq, leaves = field.seq, field.leaves
    if seq is not None and (leaves <= plain or leaves <= NUMBERS):  # plain scalars inside
        consts[f"L{i}"] = leaves
        items = f"L{i}.issuperset(map(type, {v}))" + ("" if leaves <= plain else f" and all_finite({v})")
        within = f"(w := self.written + len({v})) <= WRITE_BUDGET"
        if seq is list:  # as _list and _items make it (JSON: the list itself, nothing copied)
            made = v if json else f"list({v})"
            branches.append((f"t is list and getrefcount({v}) <= ALONE and {items}", [
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
        fits = (f"STR_ONLY.issuperset(map(type, {v})) and RESERVED.isdisjoint({v}) and "
                f"V{i}.issuperset(map(type, {v}.values()))"
                + ("" if scalar in plain else f" and all_finite({v}.values())"))
        branches.append((f"t is dict and getrefcount({v}) <= ALONE and {fits}", [
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
    pass is held to the loader's rule (:func:`fit_field`), then written by ``value``."""
    v, k = f"v{i}", repr(field.name)
    lines = []
    if field.check is not None:
        consts[f"E{i}"], consts[f"K{i}"] = field.exact, field.check
        surely = f"t in E{i}"
        if field.seq is not None:
            consts[f"Q{i}"], consts[f"L{i}"] = field.seq, field.leaves
            surely += f" or (t is Q{i} and L{i}.issuperset(map(type, {v})))"
        lines += [f"if not ({surely} or K{i}({v})):", f"    fit_field(F{i}, {v})"]
    return lines + _named(k, f"x{i} = self.value({v}, S{i}, (path, {k}))")
