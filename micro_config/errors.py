"""The one exception type for bad user input, and the helpers that word it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ConfigError(ValueError):
    """Bad input to the config system: a wrong override, file, type or name.

    ``path`` is the dotted path of the node at fault ("" for the root). The path
    grows as the error bubbles up through the tree (see :meth:`under`), so code
    deep inside a walk only has to know its own field name.
    """

    def __init__(self, message: str, path: str = "") -> None:
        self.message = message
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def __str__(self) -> str:
        return self._render()

    def under(self, prefix: str | int) -> ConfigError:
        """Return this error with ``prefix`` prepended to its path (mutates and returns self)."""
        self.path = join_path(str(prefix), self.path)
        self.args = (self._render(),)
        return self


def join_path(prefix: str, rest: str) -> str:
    """``join_path("model", "dim") == "model.dim"``; empty parts vanish."""
    if not prefix:
        return rest
    if not rest:
        return prefix
    return f"{prefix}.{rest}"


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``name`` (for "did you mean" hints), or None."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A short hint such as ``" (did you mean 'hidden_dim'?)"``, or ``""``."""
    candidates = list(candidates)
    best = closest(name, candidates)
    if best is not None:
        return f" (did you mean {best!r}?)"
    if candidates:
        shown = ", ".join(sorted(candidates)[:12])
        more = ", ..." if len(candidates) > 12 else ""
        return f" (valid names: {shown}{more})"
    return ""


def short_repr(value: object, limit: int = 60) -> str:
    """``repr`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
