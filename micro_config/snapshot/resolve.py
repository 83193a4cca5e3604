"""Which class a ``_target_`` (or a marker's ``_type_``) names, and whether it may stand there.

The safety rules of docs/format.md: a name is looked up among imported modules without running
code; a module is imported only inside the allowed packages; the class must be a dataclass (or
an Enum / wrapper for a marker) and fit the annotation of its place.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import sys
import typing
from typing import Any

from ..convert import strip
from ..errors import MalformedFileError, RefusedClassError, did_you_mean, short_repr
from ..plan import Shape, annotations_of
from ..script import ConfigScript, ConfigScriptDict, ConfigScriptList

NAME_LIMIT = 1000  # characters of a dotted class name (docs/format.md "Limits and guarantees")


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
        raise MalformedFileError(f"a class name must be a string, not {short_repr(name)}")
    if len(name) > NAME_LIMIT:  # checked first: the prefix search below is quadratic in parts
        raise RefusedClassError(
            f"{short_repr(name)} is not a <module>.<Class> name (longer than {NAME_LIMIT} characters)"
        )
    parts = name.split(".")
    dunder = [p for p in parts[1:] if p.startswith("__")]  # no __class__, __globals__, ...
    if len(parts) < 2 or dunder or not all(p.isidentifier() for p in parts):
        hint = " (a class defined inside a function cannot be loaded)" if "<locals>" in name else ""
        raise RefusedClassError(f"{name!r} is not a <module>.<Class> name{hint}")
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
        raise RefusedClassError(
            f"no class {parts[-1]!r} in module {module.__name__!r}{did_you_mean(parts[-1], classes)}"
        )
    candidates = [i for i in range(len(parts) - 1, 0, -1) if _module_allowed(".".join(parts[:i]), allowed)]
    if not candidates:
        trusted = ", ".join(repr(a) for a in allowed) or "none"
        raise RefusedClassError(
            f"refusing to import {'.'.join(parts[:-1])!r} for {name!r}: it is not imported yet "
            f"and not inside the allowed packages ({trusted}); import it first or pass "
            f"allow_modules=({parts[0]!r},)"
        )
    missing = None  # the shortest prefix found to be no module
    for i in candidates:
        module = ".".join(parts[:i])
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module.startswith(exc.name):
                missing = exc.name
                continue  # that prefix is not a module; try a shorter one
            raise RefusedClassError(f"importing {module!r} for {name!r} failed: {exc}") from None
        except Exception as exc:
            raise RefusedClassError(
                f"importing {module!r} for {name!r} failed: {type(exc).__name__}: {exc}"
            ) from None
        found = _lookup(parts, i)
        if found is not None:
            return found
    module = sys.modules.get(".".join(parts[:-1]))
    if module is not None:  # a typo in the class name: the module's classes to pick from
        classes = [k for k, v in vars(module).items() if isinstance(v, type)]
        raise RefusedClassError(
            f"no class {parts[-1]!r} in module {module.__name__!r}{did_you_mean(parts[-1], classes)}"
        )
    if missing is not None:  # say which part is no module
        raise RefusedClassError(f"no class {name!r}: there is no module named {missing!r}")
    raise RefusedClassError(f"no class {name!r}")


def _mentioned_classes(annotation: Any, out: set[type]) -> None:
    annotation = strip(annotation)
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
                for annotation in annotations_of(sub).values():
                    _mentioned_classes(annotation, classes)
        _known.update(count=len(subclasses), classes=frozenset(classes))
    return _known["classes"]


def _fits(cls: type, shape: Shape) -> bool:
    return shape.classes is None or issubclass(cls, shape.classes)


def _admits(shape: Shape, marker: bool) -> bool:
    """Whether some class a ``_target_`` (or a typed marker) names could fit ``shape``."""
    if shape.classes is None:
        return True
    if marker:
        kinds: tuple[type, ...] = (enum.Enum, ConfigScriptList, ConfigScriptDict)
        return any(isinstance(c, type) and (issubclass(c, kinds) or issubclass(kinds[0], c))
                   for c in shape.classes)
    return any(isinstance(c, type) and (dataclasses.is_dataclass(c) or c is object)
               for c in shape.classes)


def _expected(shape: Shape) -> str:
    return " | ".join(sorted(c.__qualname__ for c in shape.classes or ()))


class Resolver:
    """Class resolution for one load: names resolved once, and once per place they fit."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed
        self.classes: dict[tuple[Any, bool], type] = {}
        self.placed: dict[tuple[Any, ...], type] = {}  # classes checked against a place

    def resolve(self, name: Any, shape: Shape, marker: bool) -> type:
        try:
            return self.placed[(name, shape) if not marker else (name, True, shape)]
        except (KeyError, TypeError):
            pass
        key = (name, marker)
        cls = self.classes.get(key) if type(name) is str else None
        if cls is None:
            if not _admits(shape, marker):  # no class can stand here: refuse before importing
                raise RefusedClassError(
                    f"{short_repr(name)}: a {'typed marker' if marker else 'config class'} cannot "
                    f"stand here: expected {_expected(shape)}"
                )
            cls = self.classes[key] = self._resolve(name, marker)
        if not _fits(cls, shape):
            raise RefusedClassError(f"{name} does not fit here: expected {_expected(shape)}")
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
                raise RefusedClassError(f"{name!r} is not an Enum, ConfigScriptList or ConfigScriptDict")
        elif not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
            raise RefusedClassError(f"{name!r} is not a config class (a dataclass)")
        return obj

    def _check_open(self, cls: type, name: str) -> None:
        """Where the annotation does not say (Any), a plain dataclass or Enum must be one that
        some ConfigScript names as a field type, or come from a trusted package."""
        if _module_allowed(cls.__module__, self.allowed) or cls in _field_type_classes():
            return
        raise RefusedClassError(
            f"{name} is neither a ConfigScript nor a field type of one, so it is not loaded "
            "where the annotation does not name it"
        )
