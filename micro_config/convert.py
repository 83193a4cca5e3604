"""The one conversion rule (a value against a type annotation), and the annotation vocabulary
(:func:`strip`, :func:`unwrap_optional`, :func:`type_name`).

The loader (``plan.Field.load``) and the command line (``plan.Field.cli``, used by
``deep_replace``) apply the same :func:`convert`; the command line adds only the rows of
:data:`LENIENCIES`. A dict is never turned into a dataclass here (``deep_replace`` and the
loader do that, since they know what the dict means). Everything else is a ``WrongTypeError``.
"""

from __future__ import annotations

import collections.abc
import enum
import numbers
import pathlib
import threading
import types
import typing
from typing import Any

from .errors import WrongTypeError, closest, join_path, short_repr
from .script import ConfigScriptDict, ConfigScriptList

_NoneType = type(None)
_UNION_ORIGINS = (typing.Union, types.UnionType)
_STRIP = {typing.Annotated, typing.Final, typing.ClassVar}  # wrappers that add nothing to check
_FLOAT_WORDS = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


# --------------------------------------------------------------------------- annotation helpers


def strip(annotation: Any) -> Any:
    """Drop ``Annotated``/``Final``/``ClassVar`` wrappers and follow ``NewType`` to its base."""
    while True:
        origin = typing.get_origin(annotation)
        if origin in _STRIP:
            annotation = typing.get_args(annotation)[0]
        elif hasattr(annotation, "__supertype__"):  # typing.NewType
            annotation = annotation.__supertype__
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in _UNION_ORIGINS


def unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """``Optional[X]`` / ``X | None`` -> ``(X, True)``; anything else -> ``(annotation, False)``.
    A union of several other arms keeps them: ``int | str | None`` -> ``(Union[int, str], True)``."""
    annotation = strip(annotation)
    if not _is_union(annotation):
        return annotation, False
    arms = typing.get_args(annotation)
    rest = tuple(arm for arm in arms if arm is not _NoneType)
    if len(rest) == len(arms):
        return annotation, False
    if len(rest) == 1:
        return rest[0], True
    return typing.Union[rest], True  # noqa: UP007 - built from a runtime tuple


def type_name(annotation: Any) -> str:
    """A readable name: ``int``, ``Optional[str]``, ``list[WikiDataConfig]``, ``int | str``."""
    annotation = strip(annotation)
    if annotation is None or annotation is _NoneType:
        return "None"
    if annotation is Any:
        return "Any"
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, typing.ForwardRef):
        return annotation.__forward_arg__
    if isinstance(annotation, typing.TypeVar):
        return annotation.__name__
    if annotation is Ellipsis:
        return "..."
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in _UNION_ORIGINS:
        inner, optional = unwrap_optional(annotation)
        if optional:
            return f"Optional[{type_name(inner)}]"
        return " | ".join(type_name(arm) for arm in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(arg) for arg in args)}]"
    if origin is not None:
        name = getattr(origin, "__name__", None) or str(origin)
        if origin is collections.abc.Callable and args:
            params = "..." if args[0] is Ellipsis else ", ".join(type_name(a) for a in args[0])
            return f"Callable[[{params}], {type_name(args[-1])}]"
        if not args:
            return name
        if origin is tuple and args == ((),):
            return "tuple[()]"
        return f"{name}[{', '.join(type_name(arg) for arg in args)}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


# --------------------------------------------------------------------------------- coercion


class _Mismatch(Exception):
    """Internal: the value does not fit the annotation (turned into a ConfigError at the top)."""

    def __init__(self, annotation: Any, value: Any, path: str) -> None:
        self.annotation, self.value, self.path = annotation, value, path


# The command line's leniencies: what ``convert(..., cli=True)`` accepts on top of the one rule
# that loading applies (text typed at a shell is not a file the library wrote). README
# "Overrides from the command line" shows this table.
LENIENCIES = (
    ("a number for a str field, as typed", "`name=3` gives `'3'`, `run_name=007` gives `'007'`"),
    ("an integer for a float field becomes a float", "`lr=1` gives `1.0` (a file keeps `1`)"),
    ("`nan`, `inf`, `-inf`, `infinity` (any case, a sign allowed) as text for a float field", "`eps=nan`"),
    ("an Enum member's value as well as its name", "`act=gelu` for `Act.GELU = 'gelu'`"),
    ("a number for a complex field", "`z=2` gives `(2+0j)`"),
    ("a tuple or list for any sequence or set field", "`dims=[1, 2]` for a `set[int]`"),
    ("a PurePath of another flavour for a Path field", "(from Python code)"),
    ("an integral number type (numpy) for an int field", "(from Python code)"),
)


def convert(value: Any, annotation: Any, path: str = "", *, cli: bool = False) -> Any:
    """THE conversion rule: ``value`` checked against ``annotation`` and returned as is, or
    converted where the file format spells it so (a list for a tuple/set/frozenset, a string
    for a Path, an Enum member's name, a plain list/dict for a ``ConfigScriptList`` /
    ``ConfigScriptDict``). ``cli=True`` adds the rows of :data:`LENIENCIES`. A bool is never
    an int, at any depth. Anything else is a :class:`WrongTypeError` at the innermost path
    (``dims.1``), its message bounded."""
    outer = _MEMO.memo is None
    if outer:
        _MEMO.memo = {}
    try:
        return _convert(value, annotation, path, cli)
    except _Mismatch as exc:
        raise WrongTypeError(_mismatch_text(exc.annotation, exc.value), exc.path) from None
    except RecursionError:
        raise WrongTypeError("the value is nested too deeply to check", path) from None
    finally:
        if outer:
            _MEMO.memo = None


class _Memo(threading.local):
    """Per conversion: container id and annotation -> result, so a container shared many
    times (an alias bomb) is converted once, and stays one object."""

    memo: dict[tuple[int, int, bool], tuple[Any, Any]] | None = None


_MEMO = _Memo()


def coerce(value: Any, annotation: Any, path: str = "") -> Any:
    """:func:`convert` as the command line applies it (``cli=True``)."""
    return convert(value, annotation, path, cli=True)


def _mismatch_text(annotation: Any, value: Any) -> str:
    """``expected <type>, got <value>``; for an Enum also its members and, for a string, the
    closest one: ``expected Color (one of RED, GREEN, BLUE), got 'BLEU' (did you mean 'BLUE'?)``.
    A Literal already shows its options, so it only gets the suggestion."""
    expected, members = type_name(annotation), _enum_names(annotation)
    if members:
        expected += f" (one of {', '.join(members[:12])}{', ...' if len(members) > 12 else ''})"
    text = f"expected {expected}, got {short_repr(value)}"
    if isinstance(value, bool) and expected != "bool":
        text += " (a bool)"
    names = members if members is not None else _literal_strings(annotation)
    if names and isinstance(value, str):
        folded = {name.casefold(): name for name in names}  # `blue` for BLUE is a plain typo
        best = closest(value.casefold(), folded)
        if best is not None:
            text += f" (did you mean {folded[best]!r}?)"
    return text


def _arms(annotation: Any) -> list[Any]:
    """A union's arms, or the annotation alone."""
    annotation = strip(annotation)
    if not _is_union(annotation):
        return [annotation]
    return [strip(arm) for arm in typing.get_args(annotation)]


def _enum_names(annotation: Any) -> list[str] | None:
    """The member names of the one Enum in ``annotation`` (alone or in a union), else None."""
    enums = [arm for arm in _arms(annotation) if isinstance(arm, type) and issubclass(arm, enum.Enum)]
    return [member.name for member in enums[0]] if len(enums) == 1 else None


def _literal_strings(annotation: Any) -> list[str]:
    return [
        option
        for arm in _arms(annotation)
        if typing.get_origin(arm) is typing.Literal
        for option in typing.get_args(arm)
        if isinstance(option, str)
    ]


def accepts(value: Any, annotation: Any, *, cli: bool = False) -> bool:
    """True when :func:`convert` takes ``value`` for ``annotation`` (memoised as convert is:
    a shared container is checked once, so an alias bomb stays cheap)."""
    outer = _MEMO.memo is None
    if outer:
        _MEMO.memo = {}
    try:
        _convert(value, annotation, "", cli)
    except (_Mismatch, RecursionError):
        return False
    finally:
        if outer:
            _MEMO.memo = None
    return True


def _convert(value: Any, ann: Any, path: str, loose: bool) -> Any:
    ann = strip(ann)
    if ann is Any or ann is object or isinstance(ann, str | typing.ForwardRef | typing.TypeVar):
        return value  # unresolvable or unconstrained
    if ann is None or ann is _NoneType:
        if value is None:
            return None
        raise _Mismatch(ann, value, path)
    origin = typing.get_origin(ann)
    if origin is None:
        if isinstance(ann, type):
            return _convert_class(value, ann, path, loose)
        return value  # an annotation form we do not check (ParamSpec, ...)
    if origin in _UNION_ORIGINS:
        return _convert_union(value, ann, path, loose)
    if origin is typing.Literal:
        return _convert_literal(value, ann, path, loose)
    args = typing.get_args(ann)
    if origin is type:
        if isinstance(value, type) and (not args or _is_subclass(value, args[0])):
            return value
        raise _Mismatch(ann, value, path)
    if origin is collections.abc.Callable:
        if callable(value):
            return value
        raise _Mismatch(ann, value, path)
    if isinstance(origin, type):
        return _convert_generic(value, ann, origin, args, path, loose)
    return value


def _is_subclass(cls: type, target: Any) -> bool:
    target = strip(target)
    if target is Any or not isinstance(target, type):
        return True
    return issubclass(cls, target)


def _convert_union(value: Any, ann: Any, path: str, loose: bool) -> Any:
    arms = typing.get_args(ann)
    if value is None and _NoneType in arms:
        return None
    inside: list[_Mismatch] = []  # arms that took the value's shape and refused a part of it
    taken: list[Any] = []  # with cli: what each arm that takes the value makes of it
    for arm in arms:  # an arm that takes the value as it is wins over any conversion
        try:
            found = _convert(value, arm, path, False)
        except _Mismatch as exc:
            if exc.path != path:
                inside.append(exc)
            continue
        if not loose:
            return found
        try:  # the command line's own conversions for that arm (1 for Optional[float]: 1.0)
            found = _convert(value, arm, path, True)
        except _Mismatch:  # (an int too large for a float): another arm may take it
            continue
        if found is value:  # 1 for float | int: the int arm keeps it
            return found
        taken.append(found)
    if taken:
        return taken[0]
    if loose:
        for arm in arms:
            try:
                return _convert(value, arm, path, True)
            except _Mismatch:
                pass
    if len(inside) == 1:  # one arm fits the shape (list[int] of list[int] | None): its words,
        raise inside[0]  # at the part it refused (o.1)
    raise _Mismatch(ann, value, path)


def _convert_literal(value: Any, ann: Any, path: str, loose: bool) -> Any:
    for option in typing.get_args(ann):
        if type(value) is type(option) and value == option:  # so True does not match 1
            return option
    if loose:
        for option in typing.get_args(ann):
            if isinstance(option, enum.Enum) and isinstance(value, str):
                if value == option.name or value == option.value:
                    return option
    raise _Mismatch(ann, value, path)


def _convert_class(value: Any, cls: type, path: str, loose: bool) -> Any:
    if cls in (int, str) and isinstance(value, enum.Enum):
        # an IntEnum/StrEnum member would be kept as it is, and a file writes it as its Enum
        # (a typed marker), which an int or str place refuses on load: give the plain value
        # (a float place converts it, as any number: no Enum is kept there)
        raise _Mismatch(cls, value, path)
    if cls is bool:
        if isinstance(value, bool):
            return value
    elif cls is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if loose and isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)  # numpy integers and friends
    elif cls is float:
        if isinstance(value, float):
            return value
        if type(value) is int and not loose:
            return value  # an int is a fine float, and a file keeps what it says
        if loose and isinstance(value, numbers.Real) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an int of 400 digits: past a float's range
                raise _Mismatch(cls, value, path) from None
        if loose and isinstance(value, str) and value.strip().lower() in _FLOAT_WORDS:
            return float(value)  # "nan", "inf": plain meaning, and not YAML's spelling
    elif cls is str:
        if isinstance(value, str):
            return value
        if loose and isinstance(value, numbers.Number) and not isinstance(value, bool):
            return str(value)
    elif cls is complex:
        if isinstance(value, complex):
            return value
        if loose and isinstance(value, numbers.Number) and not isinstance(value, bool):
            try:
                return complex(value)
            except OverflowError:
                raise _Mismatch(cls, value, path) from None
    elif issubclass(cls, enum.Enum):
        return _convert_enum(value, cls, path, loose)
    elif issubclass(cls, pathlib.PurePath):
        if isinstance(value, cls):
            return value
        if isinstance(value, str) or (loose and isinstance(value, pathlib.PurePath)):
            return cls(value)
    elif cls in (list, tuple, set, frozenset, dict) or issubclass(
        cls, ConfigScriptList | ConfigScriptDict
    ):
        return _convert_generic(value, cls, cls, (), path, loose)
    elif isinstance(value, cls):
        return value
    raise _Mismatch(cls, value, path)


def _convert_enum(value: Any, cls: type[enum.Enum], path: str, loose: bool) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, str) and value in cls.__members__:
        return cls.__members__[value]
    if loose:
        if type(value) in (str, int, float):  # (a list's text could be expanded by Enum's message)
            try:
                return cls(value)  # the member's value
            except (ValueError, TypeError):
                pass
    raise _Mismatch(cls, value, path)


def _items(
    values: collections.abc.Iterable[Any], ann: Any, path: str, loose: bool
) -> tuple[list[Any], bool]:
    """Each element converted; also whether any element changed (to keep the input otherwise)."""
    out, changed = [], False
    for index, item in enumerate(values):
        new = _convert(item, ann, join_path(path, str(index)), loose)
        changed = changed or new is not item
        out.append(new)
    return out, changed


def _convert_generic(
    value: Any, ann: Any, origin: type, args: tuple[Any, ...], path: str, loose: bool
) -> Any:
    memo = _MEMO.memo
    if memo is None or not isinstance(value, list | tuple | dict | set | frozenset):
        return _convert_container(value, ann, origin, args, path, loose)
    key = (id(value), id(ann), loose)
    hit = memo.get(key)
    if hit is not None:
        return hit[1]
    out = _convert_container(value, ann, origin, args, path, loose)
    memo[key] = (value, out)  # keeps ``value`` alive, so its id is not reused meanwhile
    return out


def _convert_container(
    value: Any, ann: Any, origin: type, args: tuple[Any, ...], path: str, loose: bool
) -> Any:
    if issubclass(origin, ConfigScriptList):
        return _convert_sequence(value, ann, origin, args, path, loose, strict_type=origin)
    if issubclass(origin, ConfigScriptDict):
        key_ann, value_ann = (args if len(args) == 2 else (Any, args[0] if args else Any))
        return _convert_mapping(value, ann, origin, key_ann, value_ann, path, loose)
    if issubclass(origin, tuple):
        return _convert_tuple(value, ann, origin, args, path, loose)
    if issubclass(origin, list) or origin is collections.abc.Sequence:
        return _convert_sequence(value, ann, origin, args, path, loose, strict_type=None)
    if origin in (set, frozenset, collections.abc.Set, collections.abc.MutableSet):
        return _convert_set(value, ann, origin, args, path, loose)
    if issubclass(origin, dict) or origin in (collections.abc.Mapping, collections.abc.MutableMapping):
        key_ann, value_ann = args if len(args) == 2 else (Any, Any)
        return _convert_mapping(value, ann, origin, key_ann, value_ann, path, loose)
    if isinstance(value, origin):  # some other generic class: check the class only
        return value
    raise _Mismatch(ann, value, path)


def _convert_sequence(
    value: Any,
    ann: Any,
    origin: type,
    args: tuple[Any, ...],
    path: str,
    loose: bool,
    strict_type: type | None,
) -> Any:
    item_ann = args[0] if args else Any
    if origin is collections.abc.Sequence:
        if not isinstance(value, list | tuple):
            raise _Mismatch(ann, value, path)
    elif not isinstance(value, origin):
        plain = strict_type is not None and type(value) is list  # the format's spelling
        if not (plain or (loose and isinstance(value, list | tuple))):
            raise _Mismatch(ann, value, path)
        items, _ = _items(value, item_ann, path, loose)
        return origin(items)  # tuple -> list, plain list -> ConfigScriptList
    items, changed = _items(value, item_ann, path, loose)
    if not changed:
        return value
    if strict_type is None and type(value) is list:
        return items
    new = type(value)(items)
    if hasattr(value, "__dict__"):
        new.__dict__.update(value.__dict__)  # keep attributes of a list subclass
    return new


def _convert_tuple(
    value: Any, ann: Any, origin: type, args: tuple[Any, ...], path: str, loose: bool
) -> Any:
    if not isinstance(value, origin):
        if not ((type(value) is list or loose and isinstance(value, tuple)) and origin is tuple):
            raise _Mismatch(ann, value, path)
    if not args:
        return value if isinstance(value, origin) else tuple(value)
    if len(args) == 2 and args[1] is Ellipsis:
        items, changed = _items(value, args[0], path, loose)
    else:
        fixed = () if args == ((),) else args
        if len(value) != len(fixed):
            raise _Mismatch(ann, value, path)
        items, changed = [], False
        for index, (item, item_ann) in enumerate(zip(value, fixed, strict=True)):
            new = _convert(item, item_ann, join_path(path, str(index)), loose)
            changed = changed or new is not item
            items.append(new)
    if isinstance(value, origin) and not changed:
        return value
    if hasattr(type(value), "_fields") and isinstance(value, tuple):  # a namedtuple
        return type(value)(*items)
    return tuple(items)


def _convert_set(
    value: Any, ann: Any, origin: Any, args: tuple[Any, ...], path: str, loose: bool
) -> Any:
    target = frozenset if origin is frozenset else set
    abstract = origin in (collections.abc.Set, collections.abc.MutableSet)
    ok = isinstance(value, set | frozenset) if abstract else isinstance(value, target)
    if not ok and not (type(value) is list or loose and isinstance(value, tuple | set | frozenset)):
        raise _Mismatch(ann, value, path)
    item_ann = args[0] if args else Any
    items = [_convert(item, item_ann, join_path(path, str(i)), loose) for i, item in enumerate(value)]
    try:
        new = target(items)
    except TypeError:  # an unhashable element
        raise _Mismatch(ann, value, path) from None
    return value if ok and new == value else new


def _convert_mapping(
    value: Any, ann: Any, origin: type, key_ann: Any, value_ann: Any, path: str, loose: bool
) -> Any:
    abstract = origin in (collections.abc.Mapping, collections.abc.MutableMapping)
    if not isinstance(value, dict if abstract else origin):
        if not (type(value) is dict and (loose or issubclass(origin, ConfigScriptDict))):
            raise _Mismatch(ann, value, path)
    out, changed = {}, False
    for key, item in value.items():
        item_path = join_path(path, str(key))
        new_key = _convert(key, key_ann, item_path, loose)
        new_item = _convert(item, value_ann, item_path, loose)
        changed = changed or new_key is not key or new_item is not item
        out[new_key] = new_item
    if isinstance(value, dict if abstract else origin):
        if not changed:
            return value
        if type(value) is dict:
            return out
        new = type(value)(out)
        if hasattr(value, "__dict__"):
            new.__dict__.update(value.__dict__)
        return new
    return origin(out)

