"""The one exception type for bad user input, its kinds, and the helpers that word it.

Every message is bounded: values are shown with :func:`short_repr`, which never expands shared or
deep structure (an alias bomb renders in constant time), and a whole message is cut at
:data:`MESSAGE_LIMIT` characters.
"""

from __future__ import annotations

import difflib
import functools
import sys
from collections.abc import Iterable

MESSAGE_LIMIT = 400  # characters of a message (the path comes on top, itself cut)
PATH_LIMIT = 200


def cut_text(text: str, limit: int) -> str:
    """``text`` of at most ``limit`` characters (ending in ``...`` when cut)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tail(name: str, limit: int) -> str:
    """A long name cut at its start: a dotted path's last keys are the ones that differ."""
    return name if len(name) <= limit else "..." + name[len(name) - limit + 3:]


class BoundedText:
    """Text put together piece by piece that stops growing once it passes ``limit``: the one
    budget of the bounded renderers (:func:`short_repr`, and ``commands/report.render`` for
    data), so rendering a value costs at most about ``limit`` pieces, whatever its size."""

    __slots__ = ("parts", "left", "limit")

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.left = limit + 1
        self.limit = limit

    def put(self, text: str) -> bool:
        """Add ``text``; False once the budget is spent (the caller stops rendering)."""
        self.parts.append(text)
        self.left -= len(text)
        return self.left > 0

    def text(self) -> str:
        """What was put, cut to ``limit`` characters (ending in ``...`` when cut)."""
        return cut_text("".join(self.parts), self.limit)


class ConfigError(ValueError):
    """Bad input to the config system: a wrong override, file, type or name.

    ``path`` is the dotted path of the node at fault ("" for the root). The path
    grows as the error bubbles up through the tree (see :meth:`under`), so code
    deep inside a walk only has to know its own field name. Catch a kind
    (:class:`UnknownFieldError`, :class:`WrongTypeError`, :class:`RefusedClassError`,
    :class:`MalformedFileError`, :class:`ConflictError`) instead of matching prose.
    """

    def __init__(self, message: str, path: str = "") -> None:
        self.message = cut_text(str(message), MESSAGE_LIMIT)
        self.path = path if type(path) is str else str(path)  # an index given as an int
        super().__init__(self._render())

    def _render(self) -> str:
        return f"{cut_text(self.path, PATH_LIMIT)}: {self.message}" if self.path else self.message

    def __str__(self) -> str:
        return self._render()

    def under(self, prefix: str | int) -> ConfigError:
        """Return this error with ``prefix`` prepended to its path (mutates and returns self)."""
        self.path = join_path(str(prefix), self.path)
        self.args = (self._render(),)
        return self


class UnknownFieldError(ConfigError):
    """A key, field or name that does not exist (with the closest valid name)."""


class WrongTypeError(ConfigError):
    """A value that does not fit the field's annotation."""


class RefusedClassError(ConfigError):
    """A ``_target_``/class that is unknown, not allowed, or does not fit where it stands."""


class MalformedFileError(ConfigError):
    """A snapshot file (or text) that is not a well-formed document of the format."""


class ConflictError(ConfigError):
    """Two inputs that cannot both hold (one node given two values, a key given twice)."""


def join_path(prefix: str, rest: str) -> str:
    """``join_path("model", "dim") == "model.dim"``; empty parts vanish."""
    if not prefix:
        return rest
    if not rest:
        return prefix
    return f"{prefix}.{rest}"


def closest(name: str, candidates: Iterable[str], cutoff: float = 0.5) -> str | None:
    """The candidate nearest to ``name`` (for "did you mean" hints), or None; ``cutoff``: how
    alike they must be (difflib's ratio, 0 to 1)."""
    name = cut_text(name, 100)
    matches = difflib.get_close_matches(name, [c for c in candidates if len(c) <= 200], n=1, cutoff=cutoff)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A short hint such as ``" (did you mean 'hidden_dim'?)"``, or ``""``."""
    candidates = list(candidates)
    best = closest(name, candidates)
    if best is not None:
        return f" (did you mean {_tail(best, 100)!r}?)"
    if candidates:
        shown = ", ".join(_tail(c, 40) for c in sorted(candidates)[:12])
        more = ", ..." if len(candidates) > 12 else ""
        return f" (valid names: {shown}{more})"
    return ""


def short_repr(value: object, limit: int = 60) -> str:
    """A ``repr`` of at most ``limit`` characters, for error messages.

    Containers and dataclasses are rendered by a bounded walk (a few items per level, a few
    levels), so the cost is bounded whatever the value's size, depth or sharing; a dataclass's
    own ``__repr__`` (which would expand everything) is never called.
    """
    out = BoundedText(limit)
    put = out.put

    def render(v: object, depth: int) -> bool:
        cls = type(v)
        if cls in (str, bytes):
            return put(repr(v[: limit + 1]))  # type: ignore[index]
        if cls is int:
            return put(str(v) if v.bit_length() < 200 else f"<int of {v.bit_length()} bits>")  # type: ignore[attr-defined]
        if cls in (float, bool, complex) or v is None:
            return put(repr(v))
        fields = getattr(cls, "__dataclass_fields__", None)
        if isinstance(v, (list, tuple, set, frozenset, dict)) or fields is not None:
            if fields is not None:
                items = [(name, getattr(v, name, "?")) for name in list(fields)[:6]]
                opening, closing, more = f"{cls.__name__}(", ")", len(fields) > 6
            elif isinstance(v, dict):
                items = []
                for i, (k, x) in enumerate(v.items()):
                    if i == 6:
                        break
                    items.append((k, x))
                opening, closing, more = "{", "}", len(v) > 6
            else:
                items = []
                for i, x in enumerate(v):
                    if i == 6:
                        break
                    items.append((None, x))
                brackets = "[]" if isinstance(v, list) else "()" if isinstance(v, tuple) else "{}"
                opening = brackets[0] if cls in (list, tuple, set) else f"{cls.__name__}({brackets[0]}"
                closing = brackets[1] if cls in (list, tuple, set) else brackets[1] + ")"
                if cls is tuple and len(v) == 1:  # type: ignore[arg-type]
                    closing = ",)"
                more = len(v) > 6  # type: ignore[arg-type]
            if depth >= 3:
                return put(opening + "..." + closing)
            if not put(opening):
                return False
            for i, (key, item) in enumerate(items):
                if i and not put(", "):
                    return False
                if key is not None:
                    sep = "=" if fields is not None else ": "
                    if not (render(key, depth + 1) if fields is None else put(str(key))) or not put(sep):
                        return False
                if not render(item, depth + 1):
                    return False
            return put(", ..." + closing if more else closing)
        try:
            text = object.__repr__(v) if fields is not None else repr(v)
        except Exception:  # a broken __repr__ must not hide the real error
            text = f"<{cls.__name__}>"
        return put(text[: limit + 1])

    render(value, 0)
    return out.text()


def readable_int(value: int) -> bool:
    """Whether ``str(value)`` works: at most ``sys.get_int_max_str_digits()`` digits. An int
    read from hex/octal/binary/base-60 text has no such limit, and past it no text (a dump,
    ``diff``, ``show``) can show it: the readers refuse it as they refuse a long decimal."""
    limit = sys.get_int_max_str_digits()
    return not limit or -_power_of_ten(limit) < value < _power_of_ten(limit)


@functools.cache
def _power_of_ten(digits: int) -> int:
    return 10**digits
