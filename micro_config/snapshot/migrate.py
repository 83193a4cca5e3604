"""Class versions and migrations (docs/format.md, "Versions and migrations").

A config class declares its version with a class attribute, ``__version__ = 3`` (its own, not
inherited; a class without one is version 1). A snapshot document records the version of every
versioned class it holds once, in a ``versions:`` table beside ``meta``. On load, every node
whose class is older in the file than in the code goes through the registered steps, on its
plain field mapping, before any class is built::

    @migration(TransformerConfig, 1)        # version-1 data -> version-2 data
    def split_dropout(fields): ...           # mutate ``fields`` or return a new mapping

    rename_fields(TransformerConfig, 1, attn_dim="head_dim")   # a step without a function
    renamed_from(TransformerConfig, "schemas.model.Transformer") # old ``_target_`` names

Each distinct node is migrated once, in place (a shared node stays one node), children before
their parent, so a migration sees its children at the current versions. Only documents are
migrated: a bare tree carries no versions and is read at the current ones.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

from ..errors import ConfigError, MalformedFileError, short_repr
from ..plan import Shape, target_name
from .format import FIRST, LEFT, TARGET, container_children, path_text, walk
from .resolve import Resolver

VERSIONS = "versions"  # the document key of the table
Step = Callable[[dict[str, Any]], "dict[str, Any] | None"]

_STEPS: dict[type, dict[int, list[Step]]] = {}  # class -> from-version -> functions, in order
_OLD_NAMES: dict[str, type] = {}  # an old ``_target_`` -> the class it names now


class MigrationWarning(UserWarning):
    """Loading ran migrations: the file holds older class versions (resave to update it).
    ``steps``: one line per class and step, as ``micro-config migrate`` prints them."""

    def __init__(self, message: str, steps: list[str] | None = None) -> None:
        super().__init__(message)
        self.steps = list(steps or ())


def version_of(cls: type) -> int:
    """The class's own ``__version__`` (1 when it declares none)."""
    version = cls.__dict__.get("__version__", 1)
    if type(version) is not int or version < 1:
        raise ConfigError(f"{cls.__qualname__}.__version__ must be an int >= 1, not {version!r}")
    return version


def is_versioned(cls: type) -> bool:
    return "__version__" in cls.__dict__


def migration(cls: type, from_version: int) -> Callable[[Step], Step]:
    """Register ``fn(fields) -> fields | None`` turning version ``from_version`` data of ``cls``
    into version ``from_version + 1`` data. ``fields`` is the node's plain field mapping
    (normalised data, without ``_target_``); mutate it or return a new mapping."""
    _check_step(cls, from_version)

    def register(fn: Step) -> Step:
        _STEPS.setdefault(cls, {}).setdefault(from_version, []).append(fn)
        return fn

    return register


def rename_fields(cls: type, from_version: int, **renames: str) -> None:
    """Declare fields renamed between ``from_version`` and the next (``old="new"``); the value
    keeps its place in the mapping."""
    for old, new in renames.items():
        if not isinstance(new, str) or not new.isidentifier():
            raise ConfigError(f"rename_fields: {old!r} -> {new!r} is not a field name")

    def rename(fields: dict[str, Any]) -> dict[str, Any]:
        clash = [new for old, new in renames.items() if old in fields and new in fields]
        if clash:
            raise ConfigError(f"both {clash[0]!r} and the field renamed to it are present")
        return {renames.get(key, key): value for key, value in fields.items()}

    rename.__qualname__ = f"rename_fields({', '.join(f'{o}={n!r}' for o, n in renames.items())})"
    migration(cls, from_version)(rename)


def renamed_from(cls: type, *old_targets: str) -> None:
    """Declare the ``_target_`` names ``cls`` had before it was renamed or moved. A file naming
    one loads as ``cls`` (the module declaring this must be imported, as the root class's
    module and what it imports are)."""
    for name in old_targets:
        known = _OLD_NAMES.get(name)
        if known is not None and known is not cls:
            raise ConfigError(f"{name!r} is already an old name of {target_name(known)}")
        _OLD_NAMES[name] = cls


def _check_step(cls: type, from_version: int) -> None:
    if not isinstance(cls, type):
        raise ConfigError(f"migration: {short_repr(cls)} is not a class")
    if type(from_version) is not int or not 1 <= from_version < version_of(cls):
        raise ConfigError(
            f"migration: {cls.__qualname__} is version {version_of(cls)}, so a step starts at "
            f"a version from 1 to {version_of(cls) - 1}, not {from_version!r}"
        )


# ---------------------------------------------------------------- writing: the versions table


def versions_table(data: Any) -> dict[str, int]:
    """``{_target_: version}`` of every versioned class in just-dumped normalised ``data``,
    sorted by name (one pass over the distinct dicts and lists; the classes are imported)."""
    names = {d[TARGET] for _, d, what in walk(data, container_children, writing=True)
             if what is FIRST and type(d) is dict and type(d.get(TARGET)) is str}
    found = {}
    for name in names:
        cls = _imported_class(name)
        if cls is not None and is_versioned(cls):
            found[name] = version_of(cls)
    return dict(sorted(found.items()))


def _imported_class(name: str) -> type | None:
    """The class a ``_target_`` names, looked up among imported modules only."""
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        obj: Any = sys.modules.get(".".join(parts[:i]))
        for part in parts[i:]:
            obj = getattr(obj, part, None) if obj is not None else None
        if isinstance(obj, type):
            return obj
    return None


# ---------------------------------------------------------------- reading: the migrations


class Migrated:
    """What one load's migrations did: ``(class name, from, to) -> nodes`` and old names.
    :meth:`late` migrates a node the loader itself found to name an old class (a bare tree, or
    a class whose declaring module was imported only by the load)."""

    def __init__(self, versions: dict[str, int] | None = None) -> None:
        self.steps: dict[tuple[str, int, int], int] = {}
        self.renamed: dict[tuple[str, str], int] = {}
        self.versions = versions  # the document's table; None: a bare tree, at today's versions

    def late(self, d: dict[str, Any], name: str, cls: type, renamed: bool = False) -> None:
        """Bring the node mapping ``d`` (``_target_`` ``name``, now known to be ``cls``) up to
        date (the loader meets each mapping once); its children are brought up as the loader
        reaches them (so after it). An error's path is added by the loader."""
        old = version_of(cls) if self.versions is None else self.versions.get(name, 1)
        _migrate_node(d, name, cls, renamed, old, lambda: "", self)

    def __bool__(self) -> bool:
        return bool(self.steps or self.renamed)

    def lines(self) -> list[str]:
        out = [f"{old} -> {new} (renamed class, {_nodes(n)})" for (old, new), n in self.renamed.items()]
        out += [f"{name} version {a} -> {b} ({_nodes(n)})" for (name, a, b), n in self.steps.items()]
        return out

    def warn(self) -> None:
        if self:
            lines = self.lines()
            message = (
                "migrated older class versions: " + "; ".join(lines)
                + " (resave, or run 'micro-config migrate', to update the file)"
            )
            warnings.warn(MigrationWarning(message, lines), stacklevel=4)


def _nodes(n: int) -> str:
    return "1 node" if n == 1 else f"{n} nodes"


def read_table(table: Any) -> dict[str, int]:
    """The document's ``versions`` table, checked (absent: every class at version 1)."""
    if table is None:
        return {}
    if type(table) is not dict:
        raise MalformedFileError(f"a mapping of class names to versions, not {short_repr(table)}", VERSIONS)
    for name, version in table.items():
        if type(name) is not str or type(version) is not int or version < 1:
            raise MalformedFileError(
                f"a class version is an int >= 1, not {short_repr(version)}", f"{VERSIONS}.{name}"
            )
    return table


def _post_order(tree: Any) -> list[tuple[dict[str, Any], Any]]:
    """Every distinct node mapping (a dict with a ``_target_``) with its first place (the walk's
    linked path), children before parents: the format's one walk over data, linear with
    sharing."""
    return [(d, where) for where, d, what in walk(tree, container_children, leave=True)
            if what is LEFT and type(d) is dict and type(d.get(TARGET)) is str]


def migrate_tree(tree: Any, table: Any, class_named: Callable[[str], type | None]) -> Migrated:
    """Bring every node of ``tree`` (parsed data of a document, changed in place) from the
    versions in ``table`` to the code's, children before parents. ``class_named(name)`` is the
    current class of a ``_target_`` (None when unknown: such a node is left to the loader)."""
    done = Migrated(read_table(table))
    nodes = _post_order(tree)
    classes: dict[str, tuple[type | None, bool]] = {}
    for d, _ in nodes:
        name = d[TARGET]
        if name not in classes:
            classes[name] = (class_named(name), False)
    for name, (cls, _) in classes.items():
        if cls is None and name in _OLD_NAMES:  # asked after the others: importing them registers
            classes[name] = (_OLD_NAMES[name], True)
    for d, place in nodes:
        name = d[TARGET]
        cls, renamed = classes[name]
        if cls is None:
            continue
        _migrate_node(d, name, cls, renamed, done.versions.get(name, 1), partial(path_text, place), done)
    imported_only = resolver_lookup(Resolver(()).resolve)  # a table name alone imports nothing
    for name, version in done.versions.items():  # an entry with no node of its class: still from newer code
        cls = classes[name][0] if name in classes else imported_only(name) or _OLD_NAMES.get(name)
        if cls is not None and version > version_of(cls):
            raise MalformedFileError(
                f"{name} is version {version} in the file, but this code has version "
                f"{version_of(cls)} of {cls.__qualname__}: the file was written by newer code",
                f"{VERSIONS}.{name}",
            )
    return done


def renamed_class(name: Any) -> type | None:
    """The class an old ``_target_`` name now stands for (:func:`renamed_from`), or None."""
    return _OLD_NAMES.get(name) if type(name) is str else None


def _migrate_node(
    d: dict[str, Any],
    name: str,
    cls: type,
    renamed: bool,
    old: int,
    path: Callable[[], str],
    done: Migrated,
) -> None:
    new = version_of(cls)
    if old > new:
        raise MalformedFileError(
            f"{name} is version {old} in the file, but this code has version {new} of "
            f"{cls.__qualname__}: the file was written by newer code",
            path(),
        )
    if old == new and not renamed:
        return
    fields: dict[str, Any] = {k: v for k, v in d.items() if k != TARGET}
    steps = _STEPS.get(cls, {})
    for version in range(old, new):
        if version not in steps:
            raise ConfigError(
                f"no migration of {cls.__qualname__} from version {version} to {version + 1} "
                f"(register one with @migration({cls.__qualname__}, {version}))",
                path(),
            )
        for fn in steps[version]:
            try:
                out = fn(fields)
            except Exception as exc:
                what = exc.message if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
                raise ConfigError(
                    f"migration {getattr(fn, '__qualname__', fn)} of {cls.__qualname__} from "
                    f"version {version} to {version + 1} failed: {what}",
                    path(),
                ) from None
            if out is not None:
                if type(out) is not dict:
                    raise ConfigError(
                        f"migration of {cls.__qualname__} from version {version} returned "
                        f"{short_repr(out)}, not a mapping of fields",
                        path(),
                    )
                fields = out
    target = target_name(cls) if renamed else name
    d.clear()
    d[TARGET] = target
    d.update(fields)
    if renamed:
        done.renamed[(name, target)] = done.renamed.get((name, target), 0) + 1
    if old < new:
        key = (target_name(cls), old, new)
        done.steps[key] = done.steps.get(key, 0) + 1


def resolver_lookup(resolve: Callable[..., type]) -> Callable[[str], type | None]:
    """``class_named`` for :func:`migrate_tree` from a ``Resolver.resolve``: its import rules,
    any dataclass found (only its version and migrations are read here: where it may stand is
    the loader's check, made after); a name it refuses is None (left to the loader)."""
    anywhere = Shape((object,))

    def class_named(name: str) -> type | None:
        try:
            return resolve(name, anywhere, marker=False)
        except ConfigError:
            return None

    return class_named
