"""The snapshot format's vocabulary (docs/format.md): reserved keys, the version it writes."""

from __future__ import annotations

FORMAT_VERSION = 1
TARGET, TYPE, VALUE, ID, REF = "_target_", "_type_", "value", "_id_", "_ref_"
RESERVED = frozenset({TARGET, TYPE, ID, REF})  # a plain mapping holding one needs a dict marker
NONFINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}  # JSON float markers
