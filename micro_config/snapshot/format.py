"""The snapshot format's vocabulary (docs/format.md): reserved keys, the version it writes,
and readable anchor (YAML) / id (JSON) names for shared objects, from the path of their first
place, with finding which objects of normalised data are shared.
"""

from __future__ import annotations

import re
from typing import Any

FORMAT_VERSION = 1
TARGET, TYPE, VALUE, ID, REF = "_target_", "_type_", "value", "_id_", "_ref_"
RESERVED = frozenset({TARGET, TYPE, ID, REF})  # a plain mapping holding one needs a dict marker
NONFINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}  # JSON float markers


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


def shared_ids(data: Any) -> set[int]:
    """Ids of the dicts/lists reached more than once in ``data`` (for data not made here)."""
    seen: set[int] = set()
    shared: set[int] = set()
    stack = [data]
    while stack:
        d = stack.pop()
        if type(d) is dict or type(d) is list:
            if id(d) in seen:
                shared.add(id(d))
                continue
            seen.add(id(d))
            stack.extend(d.values() if type(d) is dict else d)
    return shared
