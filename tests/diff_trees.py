"""Tree strategies for the diff tests: normalised data with sharing, and config objects."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from hypothesis import strategies as st

from micro_config import ConfigScript, ConfigScriptList

# ---------------------------------------------------------------- normalised data

leaf_values = st.one_of(
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, float("nan"), float("inf")]),
    st.text(max_size=4),
    st.sampled_from(["yes", "null", "1e3", "", "~"]),
    st.booleans(),
    st.none(),
    st.lists(st.integers(-3, 3), max_size=3),
)
field_names = st.sampled_from(["a", "b", "c", "dim", "max_len", "lr"])


@st.composite
def data_trees(draw: st.DrawFn, max_nodes: int = 12) -> dict[str, Any]:
    """A normalised tree: config nodes (dicts with ``_target_`` first), lists of nodes, plain
    dicts and leaves, where a later place may reuse an earlier node (sharing)."""
    pool: list[dict[str, Any]] = []

    def node(depth: int) -> dict[str, Any]:
        if pool and draw(st.integers(0, 3)) == 0:
            return pool[draw(st.integers(0, len(pool) - 1))]
        out: dict[str, Any] = {"_target_": draw(st.sampled_from(["m.A", "m.B"]))}
        for name in draw(st.lists(field_names, max_size=4, unique=True)):
            choice = draw(st.integers(0, 5)) if depth < 3 and len(pool) < max_nodes else 0
            if choice == 4:
                out[name] = node(depth + 1)
            elif choice == 5:
                out[name] = [node(depth + 1) for _ in range(draw(st.integers(1, 3)))]
            elif choice == 3:
                out[name] = draw(st.dictionaries(field_names, leaf_values, max_size=3))
            else:
                out[name] = draw(leaf_values)
        pool.append(out)
        return out

    return node(0)


def copy_data(data: Any, change: Any = None) -> Any:
    """A structural copy keeping the sharing pattern; ``change(value) -> value`` maps leaves."""
    memo: dict[int, Any] = {}

    def copy(value: Any) -> Any:
        if isinstance(value, dict) or (isinstance(value, list) and any(
                isinstance(v, dict | list) for v in value)):
            if id(value) in memo:
                return memo[id(value)]
            if isinstance(value, dict):
                out: Any = {}
                memo[id(value)] = out
                for key, child in value.items():
                    out[key] = child if key == "_target_" else copy(child)
            else:
                out = []
                memo[id(value)] = out
                out.extend(copy(child) for child in value)
            return out
        return change(value) if change is not None else (
            list(value) if isinstance(value, list) else value)

    return copy(data)


def set_path(data: Any, path: str, value: Any) -> None:
    """Set one dotted path in normalised data in place (every sharer sees it)."""
    *head, last = path.split(".")
    for key in head:
        data = data[int(key)] if isinstance(data, list) else data[key]
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


# ---------------------------------------------------------------- config objects


class _Echo(ConfigScript):
    def unroll(self, metaconfig: Any = None) -> Any:
        return self


@dataclass
class Leaf(_Echo):
    i: int = 0
    f: float = 0.0
    s: str = ""
    flag: bool = False
    maybe: Optional[int] = None  # noqa: UP045 - dacite-friendly spelling
    nums: list[int] = field(default_factory=list)


@dataclass
class Pair(_Echo):
    left: Leaf = field(default_factory=Leaf)
    right: Leaf = field(default_factory=Leaf)
    extra: dict[str, int] = field(default_factory=dict)


@dataclass
class Root(_Echo):
    pair: Pair = field(default_factory=Pair)
    solo: Leaf = field(default_factory=Leaf)
    items: ConfigScriptList = field(default_factory=ConfigScriptList)
    rate: float = 1e-3


leaf_fields = {
    "i": st.integers(-9, 9),
    "f": st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, -0.0])),
    "s": st.text(max_size=5),
    "flag": st.booleans(),
    "maybe": st.none() | st.integers(0, 9),
    "nums": st.lists(st.integers(0, 9), max_size=3),
}


@st.composite
def leaves(draw: st.DrawFn) -> Leaf:
    return Leaf(**{name: draw(strategy) for name, strategy in leaf_fields.items()})


@st.composite
def roots(draw: st.DrawFn) -> Root:
    """A ``Root`` whose ``Leaf`` nodes are drawn from a small pool, so some are shared."""
    pool = draw(st.lists(leaves(), min_size=1, max_size=4))

    def pick() -> Leaf:
        return pool[draw(st.integers(0, len(pool) - 1))]

    items = ConfigScriptList(pick() for _ in range(draw(st.integers(0, 3))))
    extra = draw(st.dictionaries(st.sampled_from(["x", "y", "z"]), st.integers(0, 9)))
    return Root(Pair(pick(), pick(), extra), pick(), items, draw(st.floats(allow_nan=True)))


def leaf_paths(root: Root) -> list[str]:
    """Every dotted path to a ``Leaf`` field of ``root`` (shared leaves at each place)."""
    places = ["pair.left", "pair.right", "solo", *(f"items.{i}" for i in range(len(root.items)))]
    return [f"{p}.{f.name}" for p in places for f in dataclasses.fields(Leaf)]
