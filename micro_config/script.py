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
from itertools import chain, compress
from typing import Any, Optional

from .errors import ConfigError
from .paths import convert_path as _convert_path
from .tree import (
    LEAF,
    MAPPING,
    NODE,
    SEQUENCE,
    WRAPPED_MAPPING,
    WRAPPED_SEQUENCE,
    each_once,
    fields_getter,
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
        state = getattr(self, _STATE, None)  # (not self.__dict__: see tree.fields_getter)
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
    """What one metaconfig has unrolled and recorded, by identity.

    ``table[id(x)]`` for a config ``x`` is ``(x, result, *own)``: ``own`` is its own state (its
    fields, as tree.own_state reads them; sets copied), kept flat in the entry (one tuple per
    config, not two); ``result`` is ``_NO_RESULT`` for a config recorded but not cached (one its
    parent did not unroll, a ConfigScriptNoCache), and ``_RUNNING`` while its body runs (a call
    from inside it is a cycle). ``records[id(x)]`` for a container ``x`` (a plain list, tuple
    or dict) is its own state, and ``alive`` holds ``x``. Either way ``x`` stays alive, so an
    ``id`` can never be recycled while recorded (the original micro_config's worst bug).

    Staleness, in time linear in the tree: each config records its own state when its ``unroll``
    body returns (one shallow look at its fields); when the top-level ``unroll`` (one not called
    from inside another) ends, every value those configs hold that is not recorded yet (their
    containers, the configs they did not unroll) is recorded with what is below it, each once,
    level by level (:meth:`record_pending`). When a top-level ``unroll`` starts, its tree is
    compared with what was recorded (one walk, tree.each_once). Nested calls (cache hits) cost
    one lookup.
    """

    __slots__ = ("table", "records", "alive", "depth", "pending", "rows")

    def __init__(self) -> None:
        self.table: dict[int, tuple[Any, ...]] = {}
        self.records: dict[int, tuple[Any, ...]] = {}
        self.alive: list[Any] = []  # the containers recorded in ``records``, kept alive
        self.depth = 0  # unroll calls running: 0 means the next one is a top-level call
        self.pending: list[tuple[Any, ...]] = []  # config entries added, what they hold not yet
        self.rows: list[tuple[Any, ...]] = []  # the same, own state read by tree.own_state

    def clear(self) -> None:
        self.table.clear()
        self.records.clear()
        self.alive.clear()

    def __contains__(self, ident: int) -> bool:
        """Whether the value with this id is recorded (a config or a container)."""
        return ident in self.table or ident in self.records

    def record_pending(self) -> None:
        """Record what the configs unrolled since the top-level call began hold and is not
        recorded yet (see the class docstring): the values their fields hold, then level by
        level what is below them. Each step is a few C-level passes over the values met there
        (no Python loop per value), so recording a tree of lists and dicts costs about what
        copying it would. The collector is paused: many small tuples that live on, which it
        would rescan for nothing."""
        pending, self.pending = self.pending, []
        rows, self.rows = self.rows, []
        enabled = gc.isenabled()
        gc.disable()
        try:
            held = _Held()
            if pending and _sort_columns(pending, held):
                rows += pending  # a set among the fields: the row-wise pass copies it
            if rows:
                self._held_by_row(rows, held)
            self._record_levels(held)
        finally:
            if enabled:
                gc.enable()

    def _held_by_row(self, rows: list[Any], held: _Held) -> None:
        """The row-wise form of :func:`_sort_columns`, for own states of any length (read by
        tree.own_state) and for those holding a set, which is replaced by a frozen copy."""
        table = self.table
        values = list(chain.from_iterable(entry[2:] for entry in rows))
        if held.add(values):  # a set can change in place: keep a copy
            for x, result, *own in rows:
                table[id(x)] = (x, result, *_copy_sets(own))
            held.add(list(compress(values, map(kind_of, map(type, values)))))

    def _record_levels(self, held: _Held) -> None:
        """Record the configs and containers ``held`` has that are not recorded yet, then what
        they hold, level by level. Configs, most of which ran and so are recorded, cost one
        lookup each; containers are deduplicated by identity (a dict keyed by id), and those
        not recorded yet are recorded by :meth:`_record`, whose result is the next level. A
        value met again that this call recorded (shared, or a value containing itself)
        triggers the cycle check."""
        table, records = self.table, self.records
        # The ids of the containers this call recorded, for the cycle check: a set made only
        # once a value is met again (until then, the levels' dicts are kept as they are).
        levels: list[dict[int, Any]] = []
        recorded: set[int] | None = None
        recorded_nodes: set[int] = set()  # ids of the configs it recorded (nobody unrolled)
        roots: list[Any] = []  # the values recorded first: every other one is below them
        while held.nodes or held.containers:
            nodes, new_nodes = held.nodes, []
            if nodes:
                if not all(map(table.__contains__, map(id, nodes))):  # nobody unrolled some
                    known = list(map(table.__contains__, map(id, nodes)))
                    unseen = list(compress(nodes, map(operator.not_, known)))
                    new_nodes = list(dict(zip(map(id, unseen), unseen, strict=True)).values())
                if recorded_nodes and not recorded_nodes.isdisjoint(map(id, nodes)):
                    _check_acyclic(roots, self, recorded_nodes.union(*levels, recorded or ()))
            new = dict(zip(map(id, held.containers), held.containers, strict=True))  # each once
            if not records.keys().isdisjoint(new):  # recorded before, or met again here
                again = new.keys() & records.keys()
                if recorded is None:
                    recorded, levels = set(chain.from_iterable(levels)), []
                if not recorded.isdisjoint(again):
                    _check_acyclic(roots, self, recorded | recorded_nodes)
                for ident in again:
                    del new[ident]
            if not new and not new_nodes:
                return
            if not roots:
                roots = [*new_nodes, *new.values()]
            if recorded is None:
                levels.append(new)
            else:
                recorded.update(new)
            recorded_nodes.update(map(id, new_nodes))
            held = self._record(new_nodes, new, held.container_types)

    def _record(self, nodes: list[Any], containers: dict[int, Any], types: set[type]) -> _Held:
        """Record ``nodes`` and ``containers`` (id -> value; of ``types``), none recorded yet;
        return what they hold. Lists and tuples (the common case) in C; mappings, wrappers and
        configs nobody unrolled through tree.own_state."""
        table = self.table
        values = list(containers.values())
        if types <= _SEQUENCES:
            owns = list(map(tuple, values))
            inner = owns
        else:
            owns, inner = [], []
            for value in values:
                own, below = own_state(value)
                owns.append(own)
                inner.append(below)
        below = list(chain.from_iterable(filter(None, inner)))  # (skipping empty ones: faster)
        for value in nodes:
            own, of_node = own_state(value)
            table[id(value)] = (value, _NO_RESULT, *own)
            below += of_node
        held = _Held()
        if held.add(below):  # a set can change in place: keep a copy
            owns = list(map(_copy_sets, owns))
            for value in nodes:
                table[id(value)] = (value, _NO_RESULT, *_copy_sets(table[id(value)][2:]))
            held.add(list(compress(below, map(kind_of, map(type, below)))))
        if containers:
            containers.update(zip(list(containers), owns, strict=True))  # now id -> own state
            self.records.update(containers)  # (into an empty dict: a copy of its table)
            self.alive += values
        return held

    def check_unchanged(self, root: Any) -> None:
        table, records = self.table, self.records
        for value, own in each_once(root):
            ident = id(value)
            entry = table.get(ident)
            if entry is not None:
                entry = entry[2:]  # (config, result, *own)
            else:
                entry = records.get(ident)
            if entry is not None and not _unchanged(entry, own):
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
_RUNNING_ENTRY = (None, _RUNNING)


_SETS = frozenset({set, frozenset})
_LEAF_ONLY = {LEAF}
_SEQUENCES = frozenset({list, tuple})
_NODE_KINDS = frozenset({NODE, WRAPPED_SEQUENCE, WRAPPED_MAPPING})
_CONTAINER_KINDS = frozenset({SEQUENCE, MAPPING})
_IS_NODE_KIND = tuple(kind in _NODE_KINDS for kind in range(6)).__getitem__
_IS_CONTAINER_KIND = tuple(kind in _CONTAINER_KINDS for kind in range(6)).__getitem__


class _AlwaysTrue(dict):
    """type -> whether its instances are memoised and always true (no ``__bool__`` or
    ``__len__``: ``filter(None, ...)`` keeps every one of them)."""

    def __missing__(self, cls: type) -> bool:
        self[cls] = answer = bool(kind_of(cls)) and not (
            hasattr(cls, "__bool__") or hasattr(cls, "__len__"))
        return answer

    def all_of(self, types: set[type]) -> bool:
        return all(map(self.__getitem__, types))


_ALWAYS_TRUE = _AlwaysTrue()
_NONE = frozenset({type(None)})


class _Held:
    """The memoised values found at one level of recording, sorted: ``nodes`` (configs and
    wrappers, most of them recorded already: they ran), ``containers`` (plain lists, tuples,
    dicts, most of them new) and the types of those containers."""

    __slots__ = ("nodes", "containers", "container_types")

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.containers: list[Any] = []
        self.container_types: set[type] = set()

    def add(self, values: Any) -> bool:
        """Add the configs and containers among ``values``, dropping the leaves: one pass (the
        set of their types) when they are all leaves, two when they are all configs or all
        containers. True if a set is among them (then nothing is added: the caller copies the
        sets and adds the values again without them)."""
        types = set(map(type, values))
        if not _SETS.isdisjoint(types):
            return True
        kinds = set(map(kind_of, types))
        if kinds == _LEAF_ONLY:
            return False
        if LEAF in kinds:  # e.g. None beside configs
            if _ALWAYS_TRUE.all_of(types - _NONE):  # drop the Nones: a cheaper pass
                values = filter(None, values)
            else:
                values = compress(values, map(kind_of, map(type, values)))
        if _CONTAINER_KINDS.isdisjoint(kinds):
            self.nodes += values
            return False
        self.container_types.update(t for t in types if kind_of(t) in _CONTAINER_KINDS)
        if _NODE_KINDS.isdisjoint(kinds):
            self.containers += values
        else:
            values = list(values)
            kinds_list = list(map(kind_of, map(type, values)))
            self.nodes += compress(values, map(_IS_NODE_KIND, kinds_list))
            self.containers += compress(values, map(_IS_CONTAINER_KIND, kinds_list))
        return False


def _sort_columns(entries: list[Any], held: _Held) -> bool:
    """Add what the configs of ``entries`` (``(config, result, *own)``, own read by their
    class's fields getter) hold to ``held``, one field at a time: ``zip(*entries)`` gives one
    column per field, and most columns are of one type (all ints: one pass; all lists: two).
    Entries whose own states differ in length (several classes) are grouped by length first.
    True if a field holds a set (see :meth:`_Held.add`)."""
    try:
        columns = list(zip(*entries, strict=True))
    except ValueError:  # several classes: one group per length
        groups: dict[int, list[Any]] = {}
        for entry in entries:
            groups.setdefault(len(entry), []).append(entry)
        return any(_sort_columns(group, held) for group in groups.values())
    return any(held.add(column) for column in columns[2:])


def _copy_sets(own: tuple[Any, ...]) -> tuple[Any, ...]:
    """The state to keep: ``own`` itself, or a copy of it with each set frozen (a set is a leaf
    that can change in place)."""
    if _SETS.isdisjoint(map(type, own)):
        return own
    return tuple(frozenset(x) if type(x) in _SETS else x for x in own)


class _RecordedBefore:
    """``id in this``: recorded before this top-level call's record began (each_once's skip)."""

    __slots__ = ("state", "now")

    def __init__(self, state: _UnrollState, now: set[int]) -> None:
        self.state, self.now = state, now

    def __contains__(self, ident: int) -> bool:
        return ident in self.state and ident not in self.now


def _check_acyclic(roots: list[Any], state: _UnrollState, recorded: set[int]) -> None:
    """A ConfigError if a value recorded in this call contains itself (the one walk finds it;
    run only when a value was met twice while recording, which sharing causes too)."""
    before = _RecordedBefore(state, recorded)
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
        # this config's own state (its fields), recorded as its body returns: (self, result, *own)
        try:
            entry = (self, result if self._unroll_cached else _NO_RESULT) + fields_getter(
                type(self))(self)
            state.pending.append(entry)
        except (TypeError, AttributeError):  # no fast getter (a wrapper), a field not set yet
            entry = (self, result if self._unroll_cached else _NO_RESULT, *own_state(self)[0])
            state.rows.append(entry)
        table[key] = entry
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
