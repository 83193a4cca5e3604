"""Schema drift on load: fields a class gained since the file was written take their defaults,
fields it lost are refused (or dropped with ``strict=False``); one warning per class and kind,
naming the fields and where they are.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import ConfigError, UnknownFieldError, did_you_mean
from ..plan import Field, Plan
from .format import FIRST, container_children, path_text, walk


class Drift:
    """The drift notes of one load: ``(class, field)`` -> ``(id of the parsed mapping, field)``."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.defaulted: dict[tuple[type, str], list[tuple[int, str]]] = {}
        self.dropped: dict[tuple[type, str], list[tuple[int, str]]] = {}

    def reconcile(
        self, cls: type, plan: Plan, kwargs: dict[str, Any], d: dict[Any, Any]
    ) -> list[tuple[str, Field]]:
        """Fields missing or unknown: drop the unknown ones (or refuse), note the defaults."""
        for key in [k for k in kwargs if k not in plan.fields]:
            self._unknown(cls, plan, key, d)
            del kwargs[key]
        self._missing(cls, plan, kwargs, d)
        return [(k, plan.fields[k]) for k in kwargs]

    def _unknown(self, cls: type, plan: Plan, key: Any, d: dict[Any, Any]) -> None:
        if self.strict:
            raise UnknownFieldError(
                f"{cls.__qualname__} has no field {key!r}{did_you_mean(str(key), plan.names)}"
                " (pass strict=False to drop fields the class no longer has)",
                str(key),
            )
        self.dropped.setdefault((cls, str(key)), []).append((id(d), str(key)))

    def _missing(self, cls: type, plan: Plan, kwargs: dict[str, Any], d: dict[Any, Any]) -> None:
        for name in plan.names:
            if name in kwargs:
                continue
            if name in plan.required:
                raise ConfigError(f"missing required field {name!r} of {cls.__qualname__}", name)
            self.defaulted.setdefault((cls, name), []).append((id(d), name))

    def _paths(self, root: Any) -> dict[int, str]:
        """The path of every mapping and list in the parsed data, where it is first met (the
        format's one walk over data; only computed when there is drift)."""
        return {id(d): path_text(where) for where, d, what in walk(root, container_children)
                if what is FIRST}

    def warn(self, root: Any) -> None:
        """One warning per class and kind of drift, naming the fields and where they are."""
        if not (self.defaulted or self.dropped):
            return
        paths = self._paths(root)
        for notes, what in (
            (self.defaulted, "not in the file, so they take their defaults"),
            (self.dropped, "in the file but no longer in the class, so they were dropped"),
        ):
            by_class: dict[type, list[str]] = {}
            places: dict[type, list[str]] = {}
            for (cls, name), found in notes.items():
                by_class.setdefault(cls, []).append(repr(name))
                places.setdefault(cls, []).extend(
                    f"{paths[key]}.{field}" if paths.get(key) else field for key, field in found
                )
            for cls, names in by_class.items():
                where = places[cls]
                shown = ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")
                warnings.warn(
                    f"schema drift: {cls.__qualname__} field(s) {', '.join(names)} are {what} "
                    f"(at {shown})",
                    UserWarning,
                    stacklevel=4,
                )
