"""The per-class plan: everything the library needs to know about a config class, worked out
once per class and kept in one clearable registry (:func:`plan_of`, :func:`clear_plans`).

Dump, load, ``deep_replace``, ``describe``, drift warnings (and the JSON Schema export) read the
plan, never raw annotations: :func:`annotations_of` is the one reader of a class's annotations.

``plan_of(cls)`` returns a :class:`Plan` with:

* ``cls`` — the class; ``target`` — its ``_target_`` text (``<module>.<QualName>``);
* ``fields`` — ``{name: Field}`` for every ``init`` field, in order; a :class:`Field` has
  ``name``, ``annotation`` (resolved), ``shape`` (the :class:`Shape` the file format uses),
  ``default`` (the value, ``dataclasses.MISSING``, or a :class:`Factory`), ``required``,
  ``load(value, path)`` (the loader's converter: the one conversion rule, strict) and
  ``cli(value, path)`` (the command line's converter: the same rule plus the leniencies of
  ``convert.LENIENCIES``); the rest (``exact``, ``check``, ``seq``, ``leaves``) is the
  loader's fast path;
* ``names`` — the ``init`` field names; ``derived`` — fields computed in ``__post_init__``
  (``init=False``); ``annotations`` — every field's resolved annotation, derived ones too;
* ``required`` — the ``init`` fields without a default.

A :class:`Shape` says what a plain YAML/JSON list, string or mapping stands for at a place:
``list_as``, ``str_as``, ``dict_as``, ``node`` (the dataclass a mapping without ``_target_``
stands for), the element shapes ``item``/``items``/``key``/``value``, and ``classes`` (what a
``_target_`` or typed marker must subclass there; None: anything).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import pathlib
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .convert import accepts, convert, strip, type_name, unwrap_optional
from .errors import ConfigError, WrongTypeError, short_repr
from .script import ConfigScriptDict, ConfigScriptList
from .tree import Visit, field_names, is_dataclass_instance, is_memoised, values_getter, walk

_NoneType = type(None)


# ------------------------------------------------------------------ annotations (the one reader)


def annotations_of(cls: type) -> dict[str, Any]:
    """The resolved annotation of every dataclass field of ``cls`` (string annotations and
    ``from __future__ import annotations`` included); read once per class."""
    return plan_of(cls).annotations


def _read_annotations(cls: type) -> dict[str, Any]:
    fields = dataclasses.fields(cls)
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # one unresolvable name must not hide every other field's type
        hints = {}
        module = sys.modules.get(cls.__module__)
        namespace = dict(vars(module)) if module is not None else {}
        for f in fields:
            if not isinstance(f.type, str):
                continue
            try:
                hints[f.name] = eval(f.type, namespace, dict(vars(cls)))  # noqa: S307 - annotation text
            except Exception:
                hints[f.name] = Any  # unknown name: accept anything rather than guess
    return {f.name: hints.get(f.name, f.type) for f in fields}


# ----------------------------------------------------------------------------------- shapes

UNIONS = (typing.Union, types.UnionType)
_SEQUENCES = (list, typing.Sequence, typing.MutableSequence, typing.Iterable, typing.Collection)
_MAPPINGS = (dict, typing.Mapping, typing.MutableMapping)


class Shape:
    """What an annotation says about the payload written for it, computed once per annotation.

    ``list_as``: the type a plain YAML/JSON list becomes (None: an ordinary list).
    ``str_as``: the type a plain string becomes (a Path or Enum class; None: a str).
    ``dict_as``: the type a plain mapping becomes (a ConfigScriptDict class; None: a dict).
    ``node``: the dataclass a mapping without ``_target_`` stands for (None: none).
    ``nodes``: in a union of several dataclasses, the classes such a mapping may stand for, in
    order (:func:`mapping_class` picks one; None: none).
    ``item`` / ``items`` / ``key`` / ``value``: shapes of the elements (positional for tuples).
    ``classes``: the classes a ``_target_`` or typed marker must subclass here (None: any).
    """

    __slots__ = ("list_as", "str_as", "dict_as", "node", "nodes", "item", "items", "key", "value", "classes")

    def __init__(self, classes: tuple[type, ...] | None = None) -> None:
        self.list_as: type | None = None
        self.str_as: type | None = None
        self.dict_as: type | None = None
        self.node: type | None = None
        self.nodes: tuple[type, ...] | None = None
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
    ann = strip(annotation)
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
    elif nodes and not dicts:
        shape.nodes = tuple(nodes)
    return shape



# ------------------------------------------------------------------------------------ plans

def _check_of(annotation: Any) -> Callable[[Any], bool] | None:
    """A predicate: does a built value already have this type? None: anything does."""
    ann = strip(annotation)
    if ann is Any or ann is object or isinstance(ann, str | typing.ForwardRef | typing.TypeVar):
        return None
    if ann is None or ann is _NoneType:
        return lambda v: v is None
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in UNIONS:
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
    if cls is str:  # (a str Enum member is no str: convert's rule; a subclass takes the long way)
        return lambda v: type(v) is str
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


# Path("x") makes a PosixPath or WindowsPath: that concrete type surely fits the annotation
_CONCRETE = {pathlib.Path: type(pathlib.Path()), pathlib.PurePath: type(pathlib.PurePath())}


def _exact_types(annotation: Any) -> frozenset[type]:
    """Types whose values surely fit (checked with one ``type(v) in ...``)."""
    ann = strip(annotation)
    if typing.get_origin(ann) in UNIONS:
        return frozenset().union(*(_exact_types(arm) for arm in typing.get_args(ann)))
    if ann is None or ann is _NoneType:
        return frozenset({_NoneType})
    if ann is float:
        return frozenset({float, int})
    if isinstance(ann, type) and typing.get_origin(ann) is None:
        if issubclass(ann, ConfigScriptList | ConfigScriptDict | list | dict | tuple | set):
            return frozenset({ann}) if ann in (list, dict, tuple, set, frozenset) else frozenset()
        return frozenset({_CONCRETE.get(ann, ann)})
    return frozenset()


class Field(typing.NamedTuple):
    """One ``init`` field of a class, as every reader needs it (see the module docstring)."""

    name: str
    annotation: Any
    shape: Shape
    default: Any  # the default value, dataclasses.MISSING, or a Factory
    required: bool
    exact: frozenset[type]  # types that surely fit (the loader's fast path)...
    check: Callable[[Any], bool] | None  # ...the full check (None: anything fits)...
    seq: Callable[[list[Any]], Any] | None  # ...for a collection of plain scalars: its builder...
    leaves: frozenset[type]  # ...and the scalar types its items may have

    def load(self, value: Any, path: str = "") -> Any:
        """The loader's converter: the one conversion rule."""
        return convert(value, self.annotation, path)

    def cli(self, value: Any, path: str = "") -> Any:
        """The command line's converter: the same rule plus ``convert.LENIENCIES``."""
        return convert(value, self.annotation, path, cli=True)


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


class Factory(typing.NamedTuple):
    """A field's ``default_factory``."""

    make: Callable[[], Any]


def _field(f: dataclasses.Field[Any], annotation: Any) -> Field:
    if f.default is not dataclasses.MISSING:
        default: Any = f.default
    elif f.default_factory is not dataclasses.MISSING:
        default = Factory(f.default_factory)
    else:
        default = dataclasses.MISSING
    return Field(f.name, annotation, shape_of(annotation), default,
                 default is dataclasses.MISSING, _exact_types(annotation), _check_of(annotation),
                 *_scalar_collection(annotation))


# What a field's value needs before the constructor call (see actions_of).
SEQ, BUILD, STR, CHECK = "seq", "build", "str", "check"
Action = tuple[str, str, Field, Any]  # (field name, what, field, what it needs at hand)


def target_name(cls: type) -> str:
    """The ``_target_`` text of a class: ``<module>.<QualName>``."""
    return f"{cls.__module__}.{cls.__qualname__}"


class Plan:
    """Per-class work done once (see the module docstring for the attributes), and per
    signature (the types of the values found in a file) what each field needs."""

    __slots__ = ("cls", "target", "annotations", "fields", "names", "derived", "values",
                 "every", "by_types", "required", "checker")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.target = target_name(cls)
        self.annotations = _read_annotations(cls)
        every = dataclasses.fields(cls)
        self.fields = {f.name: _field(f, self.annotations[f.name]) for f in every if f.init}
        self.names = tuple(self.fields)
        self.derived = tuple(f.name for f in every if not f.init)
        self.values = values_getter(self.names)
        self.every = tuple(self.fields.items())
        self.by_types: dict[tuple[type, ...], tuple[Action, ...]] = {}
        self.required = frozenset(name for name, f in self.fields.items() if f.required)
        self.checker: type | None = None

    def actions(self, types: tuple[type, ...]) -> tuple[Action, ...]:
        """The actions for every field whose value types are ``types`` (in field order),
        remembered per signature: a file holds few distinct ones per class."""
        found = self.by_types.get(types)
        if found is None:
            found = actions_of(self.every, types)
            if len(self.by_types) < 1024:
                self.by_types[types] = found
        return found

    def dacite_class(self) -> type:
        """A flat stand-in dataclass (every field optional, no ``__post_init__``) that lets
        dacite convert just the values that need it."""
        if self.checker is None:
            self.checker = dataclasses.make_dataclass(
                self.cls.__name__,
                [(name, f.annotation, dataclasses.field(default=None))
                 for name, f in self.fields.items()],
            )
        return self.checker


def actions_of(fields: Iterable[tuple[str, Field]], types: Iterable[type]) -> tuple[Action, ...]:
    """What each field's value, of the given type, needs: a list of plain scalars to make into
    the annotated collection (SEQ, with the item types that allow it), a parsed mapping/list to
    build (BUILD, with the shape), a string that stands for a Path or Enum (STR, with the class),
    or a check, the value's type not surely fitting (CHECK, with the check). A value that
    surely fits needs nothing and is left out."""
    out = []
    for (name, f), t in zip(fields, types, strict=True):
        if t is list and f.seq is not None:
            out.append((name, SEQ, f, f.leaves))
        elif t is dict or t is list:
            out.append((name, BUILD, f, f.shape))
        elif t is str and f.shape.str_as is not None:
            out.append((name, STR, f, f.shape.str_as))
        elif t not in f.exact and f.check is not None:
            out.append((name, CHECK, f, f.check))
    return tuple(out)


PLANS: dict[type, Plan] = {}


def plan_of(cls: type) -> Plan:
    """The plan of a dataclass, made on first use and kept in :data:`PLANS`."""
    plan = PLANS.get(cls)
    if plan is None:
        wrapper = isinstance(cls, type) and issubclass(cls, list | dict)
        if isinstance(cls, type) and not wrapper and (hasattr(cls, "_micro_config_node") or dataclasses.is_dataclass(cls)):
            field_names(cls)  # @dataclass forgotten (on the class or a subclass): the error that says so
        if not dataclasses.is_dataclass(cls) or not isinstance(cls, type):
            raise ConfigError(f"{short_repr(cls)} is not a dataclass")
        try:
            plan = PLANS[cls] = Plan(cls)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"cannot read the fields of {cls.__qualname__}: {short_repr(exc, 200)}"
            ) from None
    return plan


def clear_plans() -> None:
    """Forget every plan (and cached shape): after redefining classes in a live session."""
    PLANS.clear()
    _shape_cached.cache_clear()


def mapping_class(classes: tuple[type, ...], mapping: dict[Any, Any], *, cli: bool = False) -> type | None:
    """The class a mapping without ``_target_`` stands for where a union names several config
    classes (the loader and the command line both ask): the first that has a field for every
    key and whose fields take its plain values (a text, a number, by the one conversion rule;
    nested mappings and lists are left to the build, so the choice costs one look per key),
    else the first with every key (its build says what is wrong). None: no class has them all."""
    fitting = [cls for cls in classes if all(k in plan_of(cls).fields for k in mapping)]
    for cls in fitting:
        fields = plan_of(cls).fields
        if all(type(v) in (dict, list) or accepts(v, fields[k].annotation, cli=cli) for k, v in mapping.items()):
            return cls
    return fitting[0] if fitting else None


def annotated_walk(root: Any) -> Iterator[tuple[Visit, Any]]:
    """tree.walk, each place with its annotation (the root's: its class): a node's field
    annotation from its plan, an element's from its container's (:func:`child_annotation`)."""
    annotations: dict[int, Any] = {}  # memoised value -> the annotation of its first place
    for visit in walk(root):
        if visit.where is None:
            annotation: Any = type(root)
        else:
            annotation = _slot_annotation(visit.parent, annotations.get(id(visit.parent), Any), visit.key)
        if not visit.again and is_memoised(visit.value):
            annotations[id(visit.value)] = annotation
        yield visit, annotation


def _slot_annotation(parent: Any, annotation: Any, key: Any) -> Any:
    """The annotation of the place ``key`` inside ``parent`` (annotated ``annotation``): a
    node's field annotation from its plan, else :func:`child_annotation`."""
    if is_dataclass_instance(parent):
        field = plan_of(type(parent)).fields.get(key)
        return field.annotation if field is not None else Any
    return child_annotation(annotation, key)


def child_annotation(annotation: Any, key: Any) -> Any:
    """The annotation of the element at ``key`` inside a value annotated ``annotation``:
    ``list[int]``/0 -> ``int``, ``tuple[int, str]``/1 -> ``str``, ``dict[str, X]``/k -> ``X``."""
    inner, _ = unwrap_optional(annotation)
    args = typing.get_args(inner)
    origin = typing.get_origin(inner) or inner
    if not args:
        return Any
    if isinstance(origin, type) and issubclass(origin, dict) or origin in _MAPPINGS:
        return args[-1]
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return args[key] if type(key) is int and -len(args) <= key < len(args) else Any
    return args[0]


def _float_hook(value: Any) -> Any:
    return float(value) if type(value) is int else value


@functools.cache
def _dacite_config() -> Any:
    import dacite

    # strict: a key no field of the class has is refused, so a mapping without _target_ in a
    # union of classes is read as a class whose fields it names, never with keys dropped
    return dacite.Config(check_types=True, strict=True, type_hooks={float: _float_hook})


def via_dacite(plan: Plan, values: dict[str, Any]) -> dict[str, Any]:
    """The values the fast check did not pass, rebuilt by dacite (a mapping for a union of
    dataclasses, say) and then held to the one conversion rule (:meth:`Field.load`), which
    words any refusal with the innermost path (``dims.0``) and refuses a bool for an int at
    any depth, where dacite would take it."""
    import dacite

    try:
        checked = dacite.from_dict(plan.dacite_class(), values, config=_dacite_config())
    except (dacite.DaciteError, TypeError, ValueError, RecursionError) as exc:
        for name, value in values.items():  # the rule's own words, at the innermost path
            plan.fields[name].load(value, name)
        if isinstance(exc, dacite.WrongTypeError | dacite.UnionMatchError):
            hint = ""
            if type(exc.value) is dict:  # a mapping where classes stand (no _target_)
                hint = "; name the class with _target_"
            raise WrongTypeError(
                f"expected {type_name(exc.field_type)}, got {short_repr(exc.value)} "
                f"({type(exc.value).__name__}{hint})",
                exc.field_path or "",
            ) from None
        raise WrongTypeError(short_repr(str(exc), 300)) from None
    return {name: plan.fields[name].load(getattr(checked, name), name) for name in values}
