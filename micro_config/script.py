"""Config scripts: dataclasses that know how to build (``unroll``) the object they describe.

Unrolling is cached per :class:`MetaConfig`, keyed by object identity, so a config referenced
from two places is built once and both places receive the same object.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import logging
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Optional

from .errors import ConfigError
from .paths import convert_path as _convert_path
from .tree import each_once, is_memoised, is_node, render, walk

logger = logging.getLogger("micro_config")

_WRAPPED = "__micro_config_unroll_body__"
_STATE = "_micro_config_state"  # where a MetaConfig keeps its unroll state (not a field)


@dataclasses.dataclass
class MetaConfig:
    """Settings for the config system itself, and the holder of the unroll cache.

    The cache is deliberately not a dataclass field: it is not part of ``repr``, equality or
    ``asdict``. Subclass to add project-wide settings.
    """

    project_root: Optional[str] = None  # noqa: UP045 - users read this signature
    verbose: bool = True
    device: str = "cpu"
    # Where this process stands in a multi-process job (torchrun's RANK, WORLD_SIZE,
    # LOCAL_RANK); one process: 0, 1, 0. Lets an unroll place or shard what it builds.
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def _unroll_state(self) -> _UnrollState:
        state = self.__dict__.get(_STATE)
        if state is None:
            state = _UnrollState()
            object.__setattr__(self, _STATE, state)  # works for frozen subclasses
        return state

    def convert_path(self, path: str | None) -> str | None:
        """:func:`micro_config.convert_path` relative to this metaconfig's ``project_root``."""
        return _convert_path(path, self.project_root)

    def clear(self) -> None:
        """Forget every cached unroll result (needed after mutating a config in place)."""
        self._unroll_state.clear()


class _UnrollState:
    """Results by config identity. Each entry keeps its config alive, so an ``id`` can never
    be recycled while cached (the original micro_config's worst bug).

    Staleness: when a top-level ``unroll`` (one not called from inside another) ends, the
    own state of every distinct node and container of its tree not recorded yet is recorded
    (children by identity, sets copied); when a top-level ``unroll`` starts, the tree is
    compared with what was recorded. Each is one walk of the tree (tree.each_once), so
    unrolling is linear however the tree shares nodes; nested calls (cache hits) cost O(1).
    """

    def __init__(self) -> None:
        self.results: dict[int, tuple[Any, Any]] = {}
        self.states: dict[int, tuple[Any, tuple]] = {}
        self.in_progress: set[int] = set()
        self.depth = 0  # unroll calls running: 0 means the next one is a top-level call

    def clear(self) -> None:
        self.results.clear()
        self.states.clear()

    def record(self, root: Any) -> None:
        states = self.states
        enabled = gc.isenabled()
        gc.disable()  # many small tuples that live on: the collector would rescan them all
        try:
            for value, own in each_once(root, skip=states):
                states[id(value)] = (value, own if _SETS.isdisjoint(map(type, own)) else _copy_sets(own))
        finally:
            if enabled:
                gc.enable()

    def check_unchanged(self, root: Any) -> None:
        states = self.states
        for value, own in each_once(root):
            entry = states.get(id(value))
            if entry is not None and not _unchanged(entry[1], own):
                self._stale(root, value)

    @staticmethod
    def _stale(root: Any, value: Any) -> None:
        where = next((v.path for v in walk(root) if v.value is value), ())
        what = type(value).__name__ if is_node(value) else f"a {type(value).__name__}"
        at = f" (at {render(where)})" if where else ""
        raise ConfigError(
            f"{what}{at} was modified after it was unrolled, so cached results are stale; "
            "build a new config with deep_replace() or dataclasses.replace(), or call "
            "metaconfig.clear()"
        )


_SETS = frozenset({set, frozenset})


def _copy_sets(own: tuple[Any, ...]) -> tuple[Any, ...]:
    """A set is a leaf that can change in place: its recorded state is a copy."""
    return tuple(frozenset(x) if type(x) in _SETS else x for x in own)


def _unchanged(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    if len(old) != len(new):
        return False
    if all(map(operator.is_, old, new)):
        return True
    for a, b in zip(old, new, strict=True):  # a leaf may be an equal, new object
        if a is not b and (is_memoised(a) or is_memoised(b) or not _same(a, b)):
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # a leaf whose == is not a bool (an array): fall back to identity
        return a is b


def _wrap_unroll(body: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(body)
    def unroll(self: ConfigScript, metaconfig: MetaConfig | None = None) -> Any:
        if metaconfig is None:
            metaconfig = MetaConfig()
        state = metaconfig.__dict__.get(_STATE) or metaconfig._unroll_state
        key = id(self)
        if state.depth:  # inside another unroll: a cache hit costs one lookup
            cached = state.results.get(key)
            if cached is not None and self._unroll_cached:
                if metaconfig.verbose:
                    logger.info("unroll %s: cached", type(self).__qualname__)
                return cached[1]
            if key in state.in_progress:
                if type(self).unroll is not unroll:  # super().unroll(...) from a subclass body
                    return body(self, metaconfig)
                raise ConfigError(f"{type(self).__name__}.unroll called itself (a config cycle)")
        else:  # a top-level call: is the tree still what was unrolled before?
            if state.states:
                state.check_unchanged(self)
            cached = state.results.get(key)
            if cached is not None and self._unroll_cached:
                if metaconfig.verbose:
                    logger.info("unroll %s: cached", type(self).__qualname__)
                return cached[1]
        if metaconfig.verbose:
            logger.info("unroll %s", type(self).__qualname__)
        state.in_progress.add(key)
        state.depth += 1
        try:
            result = body(self, metaconfig)
        finally:
            state.in_progress.discard(key)
            state.depth -= 1
        if self._unroll_cached:
            state.results[key] = (self, result)
        if not state.depth:
            state.record(self)
        return result

    setattr(unroll, _WRAPPED, body)
    return unroll


class ConfigScript(ABC):
    """Base class of ``@dataclass`` configs. Subclasses implement ``unroll(self, metaconfig)``."""

    _unroll_cached = True
    _micro_config_node = True  # marks ConfigScripts for tree.is_node without an import cycle

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("unroll")
        # Wrap only a body this class defines itself: an inherited unroll is already wrapped.
        if own is not None and callable(own) and not hasattr(own, _WRAPPED):
            if getattr(own, "__isabstractmethod__", False):
                return
            cls.unroll = _wrap_unroll(own)  # type: ignore[method-assign]

    @abstractmethod
    def unroll(self, metaconfig: MetaConfig | None = None) -> Any:
        """Build the object this config describes (or run the script it describes)."""


class ConfigScriptNoCache(ConfigScript):
    """A config whose own ``unroll`` runs on every call; its children still cache."""

    _unroll_cached = False


def _unroll_item(item: Any, metaconfig: MetaConfig) -> Any:
    return item.unroll(metaconfig) if isinstance(item, ConfigScript) else item


class ConfigScriptList(list, ConfigScript):
    """A list of configs that unrolls to a plain list of their results."""

    def unroll(self, metaconfig: MetaConfig | None = None) -> list[Any]:
        return [_unroll_item(item, metaconfig) for item in self]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list.__repr__(self)})"


class ConfigScriptDict(dict, ConfigScript):
    """A dict of configs that unrolls to a plain dict of their results."""

    def unroll(self, metaconfig: MetaConfig | None = None) -> dict[Any, Any]:
        return {key: _unroll_item(item, metaconfig) for key, item in self.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"
