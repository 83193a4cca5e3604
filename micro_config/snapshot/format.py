"""The snapshot format's vocabulary (docs/format.md): reserved keys, the version it writes, its
limits, the document around a tree, readable anchor (YAML) / id (JSON) names for shared objects,
and THE walk over normalised data (:func:`walk`), used by emit, the parse checks, diff, show and
the error locators that find where a bad value sits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import ConfigError, MalformedFileError

FORMAT_VERSION = 1
TARGET, TYPE, VALUE, ID, REF = "_target_", "_type_", "value", "_id_", "_ref_"
RESERVED = frozenset({TARGET, TYPE, ID, REF})  # a plain mapping holding one needs a dict marker
NONFINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}  # JSON float markers

DEPTH_LIMIT = 990  # nesting levels a snapshot may hold, written and read (libyaml 0.2.5+ as bundled
# with PyYAML 6.0.4 refuses more than 1000 levels itself: this keeps a margin for the document)
SIZE_LIMIT = 256 * 2**20  # bytes of a snapshot file that will be read


def depth_error(where: str = "", *, writing: bool = False) -> ConfigError:
    """The error for data nested past :data:`DEPTH_LIMIT` (a MalformedFileError when read)."""
    kind = ConfigError if writing else MalformedFileError
    return kind(
        f"nested more than {DEPTH_LIMIT} levels deep{where} (the format's limit, "
        "docs/format.md \"Limits and guarantees\")"
    )


def is_document(data: Any) -> bool:
    """A snapshot document (``micro_config``, ``meta``, ``config``) rather than a bare tree."""
    return type(data) is dict and "micro_config" in data and TARGET not in data


DOCUMENT_KEYS = ("micro_config", "meta", "versions", "config")  # docs/format.md "Document"
EDITOR_KEYS = ("$schema",)  # what an editor adds to bind a JSON file to its schema: ignored


def split_document(data: Any) -> tuple[Any, dict[str, Any] | None]:
    """``(tree, meta)`` of a snapshot document, its version checked; ``(data, None)`` for a
    bare tree. The one place the document's shape is checked."""
    if not is_document(data):
        return data, None
    if "config" not in data:
        raise MalformedFileError("a snapshot document without its 'config:' block (a truncated file?)")
    stray = [key for key in data if key not in DOCUMENT_KEYS and key not in EDITOR_KEYS]
    if stray:  # a mistyped block (confg:) would be dropped without a word
        from ..errors import did_you_mean, short_repr

        key = stray[0]
        raise MalformedFileError(
            f"{short_repr(key)} is not a block of a snapshot document{did_you_mean(str(key), DOCUMENT_KEYS)}",
            str(key) if type(key) is str else "",
        )
    version = data["micro_config"]
    if type(version) is not int or version != FORMAT_VERSION:  # not true, 1.0 or "1"
        from ..errors import short_repr

        what = "" if type(version) is int else f" (a {type(version).__name__}, not an integer)"
        raise MalformedFileError(
            f"snapshot format version {short_repr(version)}{what} is not supported (this "
            f"micro_config reads version {FORMAT_VERSION})",
            "micro_config",
        )
    meta = data.get("meta")
    if meta is None:
        return data["config"], {}
    if type(meta) is not dict:
        raise MalformedFileError("meta is not a mapping", "meta")
    return data["config"], meta


_ANCHOR_DROP = re.compile(r"[^A-Za-z0-9_-]")


class Namer:
    """Readable, unique anchor/id names from the path of the first place of a shared object."""

    def __init__(self, shared: set[int]) -> None:
        self.shared = shared
        self.names: dict[int, str] = {}
        self.used: set[str] = set()
        self.stack: list[Any] = []  # keys from the root to the current place

    def new(self, obj: Any) -> str:
        path = ".".join(str(k) for k in self.stack)
        base = _ANCHOR_DROP.sub("", path.replace(".", "-")) or "root"
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}-{n}"
        self.used.add(name)
        self.names[id(obj)] = name
        return name


def child_key(parent: dict[str, Any], key: str) -> str | None:
    """The path segment of a mapping entry (a marker's ``value`` adds none)."""
    return None if key == VALUE and TYPE in parent else key


# ------------------------------------------------------------------ the walk over data

Path = tuple[Any, Any] | None  # (parent path, key) linked to the root (None): O(1) per step
Children = Callable[[Any], Iterable[tuple[Any, Any]] | None]

FIRST, AGAIN, LEAF, LEFT = "first", "again", "leaf", "left"  # what walk() says of a value


def path_text(path: Path) -> str:
    """``(( (None, "model"), "layers"), 0)`` -> ``"model.layers.0"`` (the root: ``""``)."""
    keys = []
    while path is not None:
        path, key = path
        keys.append(str(key))
    return ".".join(reversed(keys))


def data_children(d: Any) -> Iterable[tuple[Any, Any]] | None:
    """The format's own rule: a mapping's entries (a marker's ``value`` adds no path segment)
    and a list's items; anything else is a leaf."""
    t = type(d)
    if t is dict:
        if TYPE in d:
            return [(child_key(d, k), v) for k, v in d.items()]
        return d.items()
    if t is list:
        return enumerate(d)
    return None


def container_children(d: Any) -> list[tuple[Any, Any]] | None:
    """:func:`data_children` without the plain values: for walks that only look at mappings
    and lists (they are not yielded as leaves one by one)."""
    kids = data_children(d)
    if kids is None:
        return None
    return [(k, v) for k, v in kids if type(v) is dict or type(v) is list]


_EXIT = object()


def walk(
    data: Any,
    children: Children = data_children,
    key: Callable[[Any], Any] = id,
    *,
    leave: bool = False,
    writing: bool = False,
) -> Iterator[tuple[Path, Any, str]]:
    """Every value of normalised data as ``(path, value, what)``, depth-first in document order,
    iteratively (no recursion limit): ``what`` is FIRST for a mapping/list expanded here, AGAIN
    for one met before (shared: its contents are not walked twice, so an alias bomb is linear),
    LEAF for a value ``children`` gives nothing for (a key of None adds no path segment).
    ``children`` may return a lazy iterable: it is only iterated at a FIRST place. With
    ``leave=True`` a FIRST value is yielded once more, as LEFT, after all that is inside it
    (so a walk can work children before parents).

    "Met before" compares ``key(value)``: identity, or for the diff's walk over pairs of
    trees, the identities of both members of a pair. A container holding itself is a
    ConfigError at its path, and so is nesting past :data:`DEPTH_LIMIT`: a MalformedFileError
    for data read from a file, a plain ConfigError with ``writing=True`` (data being written)."""
    seen: set[Any] = set()
    open_: set[Any] = set()  # containers on the current path: meeting one again is a cycle
    stack: list[tuple[Any, Any, int]] = [(data, None, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        value, path, depth = pop()
        if value is _EXIT:
            ident, path, value = path
            open_.discard(ident)
            if leave:
                yield path, value, LEFT
            continue
        kids = children(value)
        if kids is None:
            yield path, value, LEAF
            continue
        ident = key(value)
        if ident in seen:
            if ident in open_:
                kind = ConfigError if writing else MalformedFileError
                raise kind("cycle: this node contains itself", path_text(path))
            yield path, value, AGAIN
            continue
        if depth >= DEPTH_LIMIT:
            raise depth_error(writing=writing).under(path_text(path))
        seen.add(ident)
        open_.add(ident)
        yield path, value, FIRST
        push((_EXIT, (ident, path, value), 0))
        depth += 1
        for k, v in reversed(list(kids)):
            push((v, path if k is None else (path, k), depth))


def check_data(data: Any) -> None:
    """A ConfigError if ``data`` contains itself or nests past :data:`DEPTH_LIMIT`."""
    for _ in walk(data):
        pass


def unnamed_marker(data: Any) -> str | None:
    """The dotted path of the first ``_target_`` or ``_type_`` whose value is not a string
    (a class or kind is named by one), or None: for the readers of plain data (diff, show,
    graph), which would otherwise render or hash it. One walk, linear with sharing."""
    for path, value, _ in walk(data, container_children):
        if type(value) is dict:
            for key in (TARGET, TYPE):
                if key in value and type(value[key]) is not str:
                    return path_text((path, key))
    return None


def shared_ids(data: Any) -> set[int]:
    """Ids of the dicts/lists reached more than once in ``data`` (for data not made here)."""
    return {id(v) for _, v, what in walk(data) if what is AGAIN}


def not_utf8(value: Any) -> bool:
    """A str (or a mapping with a str key) holding a lone surrogate, which UTF-8 cannot carry:
    text JSON can spell (``"\\ud800"``) but no file of the format may hold."""
    for x in (value, *value) if type(value) is dict else (value,):
        if type(x) is str:
            try:
                x.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def find(data: Any, test: Callable[[Any], bool], children: Children = data_children) -> str | None:
    """The dotted path of the first value (document order) for which ``test`` holds: the
    after-the-fact locator of a bad value the fast path could not place."""
    for path, value, _ in walk(data, children):
        if test(value):
            return path_text(path)
    return None
