"""Class swaps: which config classes may replace a node at a place (``optim=SGDConfig``), how a
name typed on the command line picks one, and what the new node keeps of the old one.

The rule, stated once: at a place annotated with config classes (a class, or a union / Optional
of them), a swap may put those classes and their subclasses that are dataclasses and not
abstract. A short name (``SGDConfig``) is looked up among the subclasses already imported, so it
imports nothing; ``module:Class`` (or ``module.Class``) may import ``module`` only when it lies in
the package of an annotated class (``schemas`` for ``schemas.optim.AdamWConfig``). Anything else
is refused before any import. ``deep_replace`` applies swaps; ``describe`` lists the choices.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import sys
import typing
from typing import Any

from .convert import strip
from .errors import RefusedClassError, did_you_mean, short_repr
from .plan import UNIONS, plan_of
from .script import ConfigScript

_NoneType = type(None)


def swap_bases(annotation: Any) -> tuple[type, ...]:
    """The config classes an annotation names: the class itself, or the arms of a union or
    Optional that are dataclasses or ConfigScripts (not the list/dict wrappers)."""
    ann = strip(annotation)
    arms = typing.get_args(ann) if typing.get_origin(ann) in UNIONS else (ann,)
    bases = []
    for arm in map(strip, arms):
        if not isinstance(arm, type) or arm is _NoneType or issubclass(arm, list | dict):
            continue
        if dataclasses.is_dataclass(arm) or issubclass(arm, ConfigScript):
            bases.append(arm)
    return tuple(bases)


def _usable(cls: type) -> bool:
    return dataclasses.is_dataclass(cls) and not inspect.isabstract(cls)


def swap_classes(annotation: Any) -> tuple[type, ...]:
    """Every class a short name may pick at a place annotated ``annotation``: the annotated
    config classes and their subclasses imported so far (dataclasses, not abstract, not defined
    inside a function), sorted by name."""
    seen: dict[type, None] = {}
    todo = list(swap_bases(annotation))
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen[cls] = None
            todo.extend(type.__subclasses__(cls))
    usable = [c for c in seen if _usable(c) and "<locals>" not in c.__qualname__]
    return tuple(sorted(usable, key=lambda c: (c.__qualname__, c.__module__)))


def class_names(classes: tuple[type, ...]) -> list[str]:
    """How each class is named on the command line: its short name, or ``module:QualName``
    when two of ``classes`` share the short name."""
    counts: dict[str, int] = {}
    for cls in classes:
        counts[cls.__qualname__] = counts.get(cls.__qualname__, 0) + 1
    return [c.__qualname__ if counts[c.__qualname__] == 1 else f"{c.__module__}:{c.__qualname__}"
            for c in classes]


def expected(annotation: Any) -> str:
    return " | ".join(c.__qualname__ for c in swap_bases(annotation))


def pick_class(name: Any, annotation: Any, path: str) -> type:
    """The class ``name`` (text, or a class object from Python code) picks at a place annotated
    ``annotation``; a RefusedClassError at ``path`` otherwise (an unknown short name with a
    did-you-mean over the classes allowed there)."""
    bases = swap_bases(annotation)
    if isinstance(name, type):
        cls = name
    elif ":" in name or "." in name:
        cls = _by_reference(name, bases, path)
    else:
        allowed = swap_classes(annotation)
        found = [c for c in allowed if name in (c.__qualname__, c.__name__)]
        if len(found) > 1:
            refs = ", ".join(f"{c.__module__}:{c.__qualname__}" for c in found)
            raise RefusedClassError(f"{name!r} names more than one class here ({refs}): give module:Class", path)
        if not found:
            raise RefusedClassError(
                f"no config class {short_repr(name)} may stand here (expected {expected(annotation)} "
                f"or a subclass){did_you_mean(name, class_names(allowed))}",
                path,
            )
        cls = found[0]
    if not (isinstance(cls, type) and issubclass(cls, bases)):
        raise RefusedClassError(
            f"{short_repr(name)} cannot stand here: expected {expected(annotation)} or a subclass", path
        )
    if not _usable(cls):
        what = "abstract" if inspect.isabstract(cls) else "not a dataclass"
        raise RefusedClassError(f"{cls.__qualname__} is {what}: it cannot be built", path)
    return cls


NAME_LIMIT = 1000  # characters of a module:Class reference


def _by_reference(name: str, bases: tuple[type, ...], path: str) -> Any:
    """``module:Class`` or ``module.Class``: looked up without running code when the module is
    imported; imported only when it lies inside the package of an annotated class."""
    if len(name) > NAME_LIMIT:
        raise RefusedClassError(f"a class reference longer than {NAME_LIMIT} characters", path)
    module, _, attr = name.rpartition(":") if ":" in name else name.rpartition(".")
    parts = [*module.split("."), *attr.split(".")]
    if not all(p.isidentifier() and not p.startswith("__") for p in parts):
        raise RefusedClassError(f"{short_repr(name)} is not a module:Class reference", path)
    packages = sorted({base.__module__.split(".")[0] for base in bases})
    if module not in sys.modules:
        if module.split(".")[0] not in packages:
            inside = ", ".join(repr(p) for p in packages)
            raise RefusedClassError(
                f"refusing to import {module!r} for {short_repr(name)}: a swap imports only inside "
                f"the package of the class it replaces ({inside}); import that module first",
                path,
            )
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise RefusedClassError(
                f"importing {module!r} failed: {type(exc).__name__}: {short_repr(str(exc), 200)}", path
            ) from None
    found: Any = sys.modules.get(module)
    for part in attr.split("."):  # vars() only: no module __getattr__, no descriptors
        found = vars(found).get(part) if hasattr(found, "__dict__") else None
    if found is None:
        classes = [k for k, v in vars(sys.modules[module]).items() if isinstance(v, type)]
        raise RefusedClassError(f"no class {attr!r} in module {module!r}{did_you_mean(attr, classes)}", path)
    return found


def carried(old: Any, cls: type) -> dict[str, Any]:
    """The fields ``old`` shares with ``cls``: the same ``init`` field name, with a value that fits
    the new field's annotation (kept as the same object, so what it holds stays shared). A field
    of the same name whose value does not fit takes the new class's default."""
    if not dataclasses.is_dataclass(old):
        return {}
    mine = plan_of(type(old)).fields
    kept = {}
    for name, field in plan_of(cls).fields.items():
        if name in mine:
            value = getattr(old, name)
            if field.check is None or field.check(value):
                kept[name] = value
    return kept
