"""Per-class rebuild plans, made once per class: each field's shape, the types that surely fit
it and a full type check, so the builder passes a value that already fits straight to the
constructor; the rest goes through dacite (:func:`via_dacite`), which converts it or words
the error.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import operator
import pathlib
import typing
from collections.abc import Callable, Iterable
from typing import Any

from .convert import _strip, field_types, type_name, unwrap_optional
from .errors import ConfigError, short_repr
from .script import ConfigScriptDict, ConfigScriptList
from .shapes import UNIONS, Shape, class_fields

_NoneType = type(None)


def _check_of(annotation: Any) -> Callable[[Any], bool] | None:
    """A predicate: does a built value already have this type? None: anything does."""
    ann = _strip(annotation)
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
    ann = _strip(annotation)
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


def _field(shape: Shape, annotation: Any) -> Field:
    return Field(shape, _exact_types(annotation), _check_of(annotation),
                  *_scalar_collection(annotation))


# What a field's value needs before the constructor call (see actions_of).
SEQ, BUILD, STR, CHECK = "seq", "build", "str", "check"
Action = tuple[str, str, Field, Any]  # (field name, what, field, what it needs at hand)


class Plan:
    """Per-class work done once: fields, their shapes and checks, which are required, and per
    signature (the types of the values found) what each field needs."""

    __slots__ = ("cls", "fields", "names", "values", "every", "by_types", "required", "checker")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.fields = {
            name: _field(shape, ann)
            for name, shape, ann in class_fields(cls)
        }
        self.names = tuple(self.fields)
        self.values = _getter(self.names)
        self.every = tuple(self.fields.items())
        self.by_types: dict[tuple[type, ...], tuple[Action, ...]] = {}
        missing = dataclasses.MISSING
        self.required = frozenset(
            f.name
            for f in dataclasses.fields(cls)
            if f.init and f.default is missing and f.default_factory is missing
        )
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
        dacite check and convert just the values that need it."""
        if self.checker is None:
            hints = field_types(self.cls)
            self.checker = dataclasses.make_dataclass(
                self.cls.__name__,
                [(name, hints[name], dataclasses.field(default=None)) for name in self.names],
            )
        return self.checker


def _getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The values of ``names`` from a mapping, as a tuple in one C call (KeyError if missing)."""
    if len(names) == 1:
        name = names[0]
        return lambda d: (d[name],)
    return operator.itemgetter(*names) if names else lambda d: ()


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
    plan = PLANS.get(cls)
    if plan is None:
        try:
            plan = PLANS[cls] = Plan(cls)
        except Exception as exc:
            raise ConfigError(f"cannot read the fields of {cls.__qualname__}: {exc}") from None
    return plan


def _float_hook(value: Any) -> Any:
    return float(value) if type(value) is int else value


@functools.cache
def _dacite_config() -> Any:
    import dacite

    return dacite.Config(check_types=True, strict=False, type_hooks={float: _float_hook})


def via_dacite(plan: Plan, values: dict[str, Any]) -> dict[str, Any]:
    """dacite's verdict on the values the fast check did not pass: converted, or a
    ConfigError naming the field, the expected type and the value."""
    import dacite

    for name, value in values.items():
        if type(value) is bool:  # it failed the exact check, and dacite takes a bool for an int
            ann = field_types(plan.cls)[name]
            raise ConfigError(f"expected {type_name(ann)}, got {value!r} (bool)", name)
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
