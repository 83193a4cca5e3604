"""Config scripts: dataclasses that know how to build (``unroll``) the object they describe.

Unrolling is cached per :class:`MetaConfig`, keyed by object identity, so a config referenced
from two places is built once and both places receive the same object.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import logging
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable
from itertools import chain, compress, repeat
from typing import Any, Optional

from .errors import ConfigError
from .paths import convert_path as _convert_path
from .tree import (
    SEQUENCE,
    each_once,
    fields_from_dict,
    is_memoised,
    is_node,
    kind_of,
    own_state,
    render,
    walk,
)

logger = logging.getLogger("micro_config")

_WRAPPED = "__micro_config_unroll_body__"
_STATE = "_micro_config_state"  # where a MetaConfig keeps its unroll state (not a field)


@dataclasses.dataclass
class MetaConfig:
    """Settings for the config system itself, and the holder of the unroll cache.

    ``verbose``: log each unroll (``unroll X``, ``unroll X: cached``) at INFO level on the
    ``micro_config`` logger; shown once logging is set up to show INFO, e.g.
    ``logging.basicConfig(level=logging.INFO)``. ``project_root``: what relative paths are
    resolved against (:meth:`convert_path`). The cache is deliberately not a dataclass field:
    it is not part of ``repr``, equality or ``asdict``. Subclass to add project-wide settings.
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
    """What one metaconfig has unrolled and recorded, by identity: ``table[id(x)]`` is
    ``(x, result, own)``. The entry keeps ``x`` alive, so an ``id`` can never be recycled while
    cached (the original micro_config's worst bug); ``result`` is ``_NO_RESULT`` for a value
    recorded but not cached (a container, a config its parent did not unroll, a
    ConfigScriptNoCache), and ``_RUNNING`` while its body runs (a call from inside it is a cycle);
    ``own`` is its own state (tree.own_state: children by identity, sets
    copied).

    Staleness, in time linear in the tree: each config records its own state when its ``unroll``
    body returns (one shallow look at its fields); when the top-level ``unroll`` (one not called
    from inside another) ends, every value those configs hold that is not recorded yet (their
    containers, the configs they did not unroll) is recorded with what is below it, each once,
    level by level (:meth:`record_pending`). When a top-level ``unroll`` starts, its tree is
    compared with what was recorded (one walk, tree.each_once). Nested calls (cache hits) cost
    one lookup.
    """

    __slots__ = ("table", "depth", "pending")

    def __init__(self) -> None:
        self.table: dict[int, tuple[Any, Any, tuple[Any, ...]]] = {}
        self.depth = 0  # unroll calls running: 0 means the next one is a top-level call
        self.pending: list[tuple[Any, Any, tuple[Any, ...]]] = []  # entries added, children not

    def clear(self) -> None:
        self.table.clear()

    def record_pending(self) -> None:
        """Record what the configs unrolled since the top-level call began hold and is not
        recorded yet (see the class docstring), level by level: each level is a few C-level
        passes over the values found there (no Python loop per value), so recording a tree of
        lists and dicts costs about what copying it would. The collector is paused: many small
        tuples that live on, which it would rescan for nothing."""
        pending, self.pending = self.pending, []
        table = self.table
        enabled = gc.isenabled()
        gc.disable()
        try:
            held = list(chain.from_iterable(map(_OWN, pending)))
            types = list(map(type, held))
            if not _SETS.isdisjoint(types):  # a set can change in place: keep a copy
                for x, result, own in pending:
                    table[id(x)] = (x, result, _copy_sets(own))
            found = list(compress(held, map(kind_of, types)))  # memoised values, not leaves
            recorded: set[int] = set()  # ids recorded here, below the configs that ran
            roots: list[Any] = []
            while found:
                ids = list(map(id, found))
                new_ids = set(ids).difference(table)  # (iterates the smaller of the two)
                if recorded and not recorded.isdisjoint(ids):
                    # met again below: shared, or a value containing itself (a cycle)
                    _check_acyclic(roots, table, recorded)
                if not new_ids:
                    return
                new = list(compress(found, map(new_ids.__contains__, ids)))
                if len(new) > len(new_ids):  # one value held twice: record it once
                    new = list(dict(zip(map(id, new), new, strict=True)).values())
                if not roots:
                    roots = new
                recorded.update(new_ids)
                found = self._record(new)
        finally:
            if enabled:
                gc.enable()

    def _record(self, new: list[Any]) -> list[Any]:
        """Record ``new`` (memoised values, none recorded yet); return the memoised values they
        hold. Lists and tuples (the common case) in C; mappings, wrappers and configs nobody
        unrolled through tree.own_state."""
        table = self.table
        if all(map(operator.eq, map(kind_of, map(type, new)), repeat(SEQUENCE))):
            owns = list(map(tuple, new))
            inner = owns
        else:
            owns, inner = [], []
            for value in new:
                own, below = own_state(value)
                owns.append(own)
                inner.append(below)
        held = list(chain.from_iterable(owns))
        types = list(map(type, held))
        if not _SETS.isdisjoint(types):
            owns = list(map(_copy_sets, owns))
        table.update(zip(map(id, new), zip(new, repeat(_NO_RESULT), owns), strict=True))
        if inner is not owns:
            held = list(chain.from_iterable(inner))
            types = list(map(type, held))
        return list(compress(held, map(kind_of, types)))

    def check_unchanged(self, root: Any) -> None:
        table = self.table
        for value, own in each_once(root):
            entry = table.get(id(value))
            if entry is not None and not _unchanged(entry[2], own):
                self._stale(root, value)

    @staticmethod
    def _stale(root: Any, value: Any) -> None:
        where = next((v.path for v in walk(root) if v.value is value), ())
        what = type(value).__name__ if is_node(value) else f"a {type(value).__name__}"
        raise ConfigError(
            f"{what} was modified after it was unrolled, so cached results are stale; "
            "build a new config with deep_replace() or dataclasses.replace(), or call "
            "metaconfig.clear()",
            render(where),  # its place in the tree being unrolled ("" when it is the root)
        )


_NO_RESULT = object()  # a table entry that is a record only, not a cached result
_RUNNING = object()  # the result of a config whose unroll is running
_RUNNING_ENTRY = (None, _RUNNING, ())
_OWN = operator.itemgetter(2)


_SETS = frozenset({set, frozenset})


def _copy_sets(own: tuple[Any, ...]) -> tuple[Any, ...]:
    """The state to keep: ``own`` itself, or a copy of it with each set frozen (a set is a leaf
    that can change in place)."""
    if _SETS.isdisjoint(map(type, own)):
        return own
    return tuple(frozenset(x) if type(x) in _SETS else x for x in own)


class _RecordedBefore:
    """``id in this``: recorded before this top-level call's record began (each_once's skip)."""

    __slots__ = ("table", "now")

    def __init__(self, table: dict[int, Any], now: set[int]) -> None:
        self.table, self.now = table, now

    def __contains__(self, ident: int) -> bool:
        return ident in self.table and ident not in self.now


def _check_acyclic(roots: list[Any], table: dict[int, Any], recorded: set[int]) -> None:
    """A ConfigError if a value recorded in this call contains itself (the one walk finds it;
    run only when a value was met twice while recording, which sharing causes too)."""
    before = _RecordedBefore(table, recorded)
    for value in roots:
        for _ in each_once(value, skip=before):
            pass


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
        try:
            state = metaconfig._micro_config_state
        except AttributeError:
            state = metaconfig._unroll_state
        table = state.table
        key = id(self)
        entry = table.get(key)
        depth = state.depth
        if depth:  # a call from inside another unroll: a cache hit returns at once
            if entry is not None and entry[1] is not _NO_RESULT and entry[1] is not _RUNNING:
                if metaconfig.verbose:
                    logger.info("unroll %s: cached", type(self).__qualname__)
                return entry[1]
        elif table:  # a top-level call: is the tree still what was unrolled before?
            state.check_unchanged(self)
        if entry is not None:
            result = entry[1]
            if result is _RUNNING:
                if type(self).unroll is not unroll:  # super().unroll(...) from a subclass body
                    return body(self, metaconfig)
                raise ConfigError(f"{type(self).__name__}.unroll called itself (a config cycle)")
            if result is not _NO_RESULT:
                if metaconfig.verbose:
                    logger.info("unroll %s: cached", type(self).__qualname__)
                return result
        if metaconfig.verbose:
            logger.info("unroll %s", type(self).__qualname__)
        table[key] = _RUNNING_ENTRY
        state.depth = depth + 1
        try:
            result = body(self, metaconfig)
        except BaseException:
            state.depth = depth
            if entry is None:
                del table[key]
            else:
                table[key] = entry
            if not depth:  # what finished before the failure stays cached: record it
                with contextlib.suppress(ConfigError):
                    state.record_pending()
            raise
        state.depth = depth
        try:  # this config's own state (its fields), recorded as its body returns
            own = fields_from_dict(type(self))(self.__dict__)
        except (TypeError, KeyError, AttributeError):  # no fast getter, a field not set yet
            own = own_state(self)[0]
        table[key] = entry = (self, result if self._unroll_cached else _NO_RESULT, own)
        state.pending.append(entry)
        if not depth:
            state.record_pending()
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
