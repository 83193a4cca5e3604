"""Unroll cost against a hand-written recursive build with a dict memo, measured in one run.

Two shapes, each at two sizes so the growth shows: a chain of N nested configs, and N configs
that all share one subtree of N/2 nodes. ``ours`` is ``root.unroll(MetaConfig(verbose=False))``
(identity cache, mutation check, staleness record); ``floor`` builds the same objects with a
plain recursive function and a ``dict`` keyed by ``id``. Target: ratio <= 3x at every size, so
the cost grows linearly like the floor's.

    python bench/unroll_scaling.py
"""

from __future__ import annotations

import pathlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this work tree, whatever copy is installed

from micro_config import ConfigScript, MetaConfig  # noqa: E402

TARGET = 3.0


@dataclass
class Link(ConfigScript):
    width: int = 1
    next: Optional["Link"] = None  # noqa: UP045, UP037
    items: list[Any] = field(default_factory=list)

    def unroll(self, metaconfig: MetaConfig | None = None) -> Any:
        below = self.next.unroll(metaconfig) if self.next is not None else None
        return (self.width, below, [x.unroll(metaconfig) for x in self.items])


def floor_build(node: Link, memo: dict[int, Any]) -> Any:
    """The same result, by hand: recursion plus an identity memo, nothing else."""
    hit = memo.get(id(node))
    if hit is not None:
        return hit
    below = floor_build(node.next, memo) if node.next is not None else None
    out = memo[id(node)] = (node.width, below, [floor_build(x, memo) for x in node.items])
    return out


def chain(n: int) -> Link:
    node = Link(width=0)
    for i in range(1, n):
        node = Link(width=i, next=node)
    return node


def shared_subtree(n: int) -> Link:
    """``n`` configs, each holding one subtree of ``n // 2`` nodes (built once, shared)."""
    sub = Link(width=-1, items=[Link(width=i) for i in range(n // 2 - 1)])
    return Link(items=[Link(width=i, next=sub) for i in range(n)])


def best_of(fns: list[Callable[[], Any]], repeat: int = 40) -> list[float]:
    """The least CPU time of ``repeat`` runs of each function, runs interleaved (the machine
    may be shared and loaded: CPU time ignores waiting, interleaving slows both sides alike)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times, strict=True):
            start = time.process_time()
            fn()
            out.append(time.process_time() - start)
    return [min(out) for out in times]


def main() -> None:
    sys.setrecursionlimit(20_000)  # the configs' own unroll bodies recurse (so does the floor)
    print("| tree | nodes | ours (ms) | floor (ms) | ratio | target |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, make, sizes in (("chain", chain, (500, 1_000, 2_000)),
                              ("shared subtree", shared_subtree, (500, 1_000, 2_000))):
        for n in sizes:
            root = make(n)
            ours, floor = best_of([lambda root=root: root.unroll(MetaConfig(verbose=False)),
                                   lambda root=root: floor_build(root, {})])
            ratio = ours / floor
            flag = "" if ratio <= TARGET else "  (over target)"
            print(f"| {name} | {n:,} | {ours * 1e3:.2f} | {floor * 1e3:.2f} | {ratio:.2f}x "
                  f"| <= {TARGET:g}x{flag} |")


if __name__ == "__main__":
    main()
