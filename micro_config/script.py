"""Config scripts: dataclasses that know how to build (``unroll``) the object they describe.

Unrolling is cached per :class:`MetaConfig`, keyed by object identity, so a config referenced
from two places is built once and both places receive the same object.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Optional

from .errors import ConfigError
from .paths import convert_path as _convert_path
from .tree import children, descendant_nodes, is_node

logger = logging.getLogger("micro_config")

_WRAPPED = "__micro_config_unroll_body__"


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
        state = self.__dict__.get("_micro_config_state")
        if state is None:
            state = _UnrollState()
            object.__setattr__(self, "_micro_config_state", state)  # works for frozen subclasses
        return state

    def convert_path(self, path: str | None) -> str | None:
        """:func:`micro_config.convert_path` relative to this metaconfig's ``project_root``."""
        return _convert_path(path, self.project_root)

    def clear(self) -> None:
        """Forget every cached unroll result (needed after mutating a config in place)."""
        self._unroll_state.clear()


class _UnrollState:
    """Results by config identity. Each entry keeps its config alive, so an ``id`` can never
    be recycled while cached (the original micro_config's worst bug)."""

    def __init__(self) -> None:
        self.results: dict[int, tuple[Any, Any]] = {}
        self.fingerprints: dict[int, tuple[Any, tuple]] = {}
        self.in_progress: set[int] = set()

    def clear(self) -> None:
        self.results.clear()
        self.fingerprints.clear()

    def record_fingerprints(self, root: Any) -> None:
        for node in descendant_nodes(root):
            if id(node) not in self.fingerprints:
                self.fingerprints[id(node)] = (node, _fingerprint(node))

    def check_unchanged(self, root: Any) -> None:
        for node in descendant_nodes(root):
            entry = self.fingerprints.get(id(node))
            if entry is not None and not _same(entry[1], _fingerprint(node)):
                raise ConfigError(
                    f"{type(node).__name__} was modified after it was unrolled, so its cached "
                    "result is stale; build a new config with deep_replace() or "
                    "dataclasses.replace(), or call metaconfig.clear()"
                )


class _Ref:
    """Stands for a child node inside a fingerprint: compared by identity, not by value."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ref) and other.obj is self.obj

    __hash__ = None  # type: ignore[assignment]


def _fingerprint(node: Any) -> tuple:
    """A node's own state: one shallow entry per distinct plain container reachable from it
    (child nodes and containers by identity, leaves by value, sets copied), so a shared tuple
    costs one entry, not one per path, and an in-place edit of a nested list still shows."""
    entries: list[tuple[_Ref, tuple]] = []
    seen: set[int] = set()
    todo = [node]
    while todo:
        container = todo.pop()
        if id(container) in seen:
            continue
        seen.add(id(container))
        items = []
        for key, child in children(container):
            if is_node(child):
                items.append((key, _Ref(child)))
            elif isinstance(child, list | tuple | dict):
                items.append((key, _Ref(child)))
                todo.append(child)
            elif isinstance(child, set | frozenset):
                items.append((key, frozenset(child)))
            else:
                items.append((key, child))
        entries.append((_Ref(container), tuple(items)))
    return tuple(entries)


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
        state = metaconfig._unroll_state
        key = id(self)
        if key in state.in_progress:
            if type(self).unroll is not unroll:  # super().unroll(...) from a subclass body
                return body(self, metaconfig)
            raise ConfigError(f"{type(self).__name__}.unroll called itself (a config cycle)")
        cached = state.results.get(key)
        if cached is not None and self._unroll_cached:
            state.check_unchanged(self)
            if metaconfig.verbose:
                logger.info("unroll %s: cached", type(self).__qualname__)
            return cached[1]
        if metaconfig.verbose:
            logger.info("unroll %s", type(self).__qualname__)
        state.in_progress.add(key)
        try:
            result = body(self, metaconfig)
        finally:
            state.in_progress.discard(key)
        if self._unroll_cached:
            state.results[key] = (self, result)
            state.record_fingerprints(self)
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
