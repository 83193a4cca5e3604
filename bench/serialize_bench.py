"""Snapshot speed: our dump/load against the floor, measured in the same run.

Floor for dumping: PyYAML's C dumper (or ``json.dumps``, same formatting options as ours) alone
on the equivalent plain data. Floor for loading: PyYAML's C safe loader (or ``json.loads``) alone,
plus one direct constructor call per node. The trees hold 100, 1 000 and 10 000 config nodes,
about 10% of the references shared, and every value type the format knows.

    python bench/serialize_bench.py            # prints the table
    python bench/serialize_bench.py --write    # also writes docs/bench_serialize.md
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import os
import pathlib
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this work tree, whatever copy is installed

from micro_config import (  # noqa: E402
    ConfigScript,
    ConfigScriptDict,
    ConfigScriptList,
    from_json,
    from_yaml,
    load_snapshot,
    to_json,
    to_yaml,
)
from micro_config.snapshot.dump import to_data  # noqa: E402
from micro_config.snapshot.gcpause import gc_paused  # noqa: E402
from micro_config.tree import descendant_nodes  # noqa: E402

TARGETS = {("yaml", "dump"): 1.25, ("yaml", "load"): 1.3, ("json", "dump"): 2.0, ("json", "load"): 3.0,
           ("yaml", "load_snapshot"): 1.1, ("json", "load_snapshot"): 1.1}


class Mode(enum.Enum):
    TRAIN = "train"
    EVAL = "eval"


@dataclass
class Leaf(ConfigScript):
    name: str = "leaf"
    dim: int = 64
    lr: float = 3e-4
    use_bias: bool = True
    note: Optional[str] = None  # noqa: UP045 - what users write
    shape: tuple[int, ...] = (3, 4)
    path: pathlib.Path = pathlib.Path("data/train.txt")
    mode: Mode = Mode.TRAIN
    tags: frozenset[str] = frozenset({"a", "b"})
    weights: list[float] = field(default_factory=lambda: [0.5, 0.25])
    extra: Any = None

    def unroll(self, metaconfig: Any = None) -> Any:
        return self.dim


@dataclass
class Block(ConfigScript):
    name: str = "block"
    depth: int = 1
    dropout: float = 0.1
    items: ConfigScriptList = field(default_factory=ConfigScriptList)
    named: ConfigScriptDict = field(default_factory=ConfigScriptDict)
    options: dict[str, float] = field(default_factory=dict)

    def unroll(self, metaconfig: Any = None) -> Any:
        return self.items.unroll(metaconfig)


_WORDS = ["yes", "no", "null", "1e3", "", "~", "0x10", "1_000", "ünïcödé", "plain words", "a: b"]


def make_tree(n_nodes: int, seed: int = 0) -> Block:
    """About ``n_nodes`` config nodes; roughly one reference in ten is to an earlier leaf."""
    rng = random.Random(seed)
    leaves: list[Leaf] = []
    count = 0

    def leaf() -> Leaf:
        nonlocal count
        if leaves and rng.random() < 0.1:
            return rng.choice(leaves)  # a shared node
        count += 1
        i = count
        made = Leaf(
            name=rng.choice(_WORDS) + str(i % 7),
            dim=rng.randrange(1, 4096),
            lr=rng.choice([rng.random(), 1e-17, float("nan"), float("inf"), -0.0]),
            use_bias=rng.random() < 0.5,
            note=rng.choice([None, "note", "yes"]),
            shape=(i % 5, i % 3 + 1),
            path=pathlib.Path(f"data/{i % 13}.txt"),
            mode=rng.choice(list(Mode)),
            tags=frozenset(rng.sample(["x", "y", "z", "w"], 2)),
            weights=[rng.random() for _ in range(3)],
            extra=rng.choice([None, (1, 2), Mode.EVAL, {"k": 1}, pathlib.Path("p"), {1, 2}]),
        )
        leaves.append(made)
        return made

    def block(depth: int) -> Block:
        nonlocal count
        count += 1
        kids: list[Any] = []
        for _ in range(6):
            kids.append(block(depth + 1) if depth < 3 and count < n_nodes and rng.random() < 0.3
                        else leaf())
        return Block(
            name=f"block{count}",
            depth=depth,
            items=ConfigScriptList(kids[:4]),
            named=ConfigScriptDict({"first": kids[4], "second": kids[5]}),
            options={"alpha": rng.random(), "beta": float(depth)},
        )

    root_items = []
    while count < n_nodes:
        root_items.append(block(1))
    return Block(name="root", items=ConfigScriptList(root_items))


def side_by_side(fns: list[Callable[[], Any]], repeat: int) -> list[float]:
    """The best time of each function over ``repeat`` rounds, each round running every one
    of them once in turn: a change in the machine's load falls on all of them alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, own in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            own.append(time.perf_counter() - start)
    return [min(own) for own in times]


def constructor_recipe(tree: Any) -> list[tuple[type, dict[str, Any]]]:
    """Every node's class and constructor arguments, children first: the direct-call floor."""
    nodes = list(descendant_nodes(tree))
    recipe = []
    for node in reversed(nodes):
        if dataclasses.is_dataclass(node):
            kwargs = {f.name: getattr(node, f.name) for f in dataclasses.fields(node) if f.init}
            recipe.append((type(node), kwargs))
        else:
            recipe.append((type(node), {}))  # wrappers: one call with the ready items
    return recipe


def construct(recipe: list[tuple[type, dict[str, Any]]], wrappers: list[Any]) -> None:
    for cls, kwargs in recipe:
        if kwargs:
            cls(**kwargs)
    for w in wrappers:
        type(w)(w)


def paused(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` with the cyclic GC paused, as ours runs: the floor measured on equal terms."""

    def run() -> Any:
        with gc_paused():
            return fn()

    return run


def measure(n_nodes: int, repeat: int) -> list[tuple[str, str, float, float, float]]:
    """Rows of (format, op, ours, floor as users call it, floor with the GC paused too)."""
    tree = make_tree(n_nodes)
    data = to_data(tree)  # the plain data to_yaml writes, sharing as shared Python objects
    yaml_text, json_text = to_yaml(tree), to_json(tree)
    json_ready = json.loads(json_text)  # the plain data to_json writes (ids, refs, markers)
    recipe = constructor_recipe(tree)
    wrappers = [n for n in descendant_nodes(tree) if not dataclasses.is_dataclass(n)]
    dump_kw = {"sort_keys": False, "allow_unicode": True, "default_flow_style": False}
    json_kw = {"separators": (",", ":"), "ensure_ascii": False, "allow_nan": False}  # compact
    assert to_yaml(from_yaml(yaml_text)) == yaml_text
    assert to_json(from_json(json_text)) == json_text
    assert json.dumps(json_ready, **json_kw) == json_text  # the floor writes the very same text

    def build() -> None:
        construct(recipe, wrappers)

    floors: dict[tuple[str, str], list[Callable[[], Any]]] = {
        ("yaml", "dump"): [lambda: yaml.dump(data, Dumper=yaml.CDumper, **dump_kw)],
        ("yaml", "load"): [lambda: yaml.load(yaml_text, Loader=yaml.CSafeLoader), build],
        ("json", "dump"): [lambda: json.dumps(json_ready, **json_kw)],
        ("json", "load"): [lambda: json.loads(json_text), build],
    }
    ours_fns = {
        ("yaml", "dump"): lambda: to_yaml(tree),
        ("yaml", "load"): lambda: from_yaml(yaml_text),
        ("json", "dump"): lambda: to_json(tree),
        ("json", "load"): lambda: from_json(json_text),
    }
    rows = []
    for key, parts in floors.items():  # ours, the floor's parts and them paused, in turn
        times = side_by_side([ours_fns[key], *parts, *map(paused, parts)], repeat)
        floor, floor_paused = sum(times[1:1 + len(parts)]), sum(times[1 + len(parts):])
        rows.append((*key, times[0], floor, floor_paused))
    # load_snapshot against from_yaml/from_json on the same text: the file layer's cost
    with tempfile.TemporaryDirectory() as folder:
        for fmt, text, load in (("yaml", yaml_text, from_yaml), ("json", json_text, from_json)):
            path = pathlib.Path(folder) / f"tree.{fmt}"
            path.write_text(text, encoding="utf-8")
            ours, floor = side_by_side([lambda: load_snapshot(path),  # noqa: B023 - run here
                                        lambda: load(text)], repeat)  # noqa: B023
            rows.append((fmt, "load_snapshot", ours, floor, floor))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="write docs/bench_serialize.md")
    args = parser.parse_args()
    if not getattr(yaml, "__with_libyaml__", False):
        sys.exit("libyaml is not available: the floor would not be PyYAML's C dumper/loader")
    lines = [
        "| nodes | format | op | ours (ms) | floor (ms) | ratio | floor, GC paused too (ms) "
        "| ratio to it | target at 10 000 |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n in args.sizes:
        for fmt, op, ours, floor, floor_paused in measure(n, args.repeat):
            target = TARGETS[(fmt, op)]
            lines.append(
                f"| {n:,} | {fmt} | {op} | {ours * 1e3:.2f} | {floor * 1e3:.2f} | "
                f"{ours / floor:.2f}x | {floor_paused * 1e3:.2f} | {ours / floor_paused:.2f}x "
                f"| <= {target}x |".replace(",", " ")
            )
    table = "\n".join(lines)
    print(table)
    if args.write:
        text = (
            "# Snapshot serialization benchmark\n\n"
            "Measured by `python bench/serialize_bench.py --write` (best of "
            f"{args.repeat} rounds, each running ours and the floor once in turn, so that a "
            "change in the machine's load falls on both alike; Python "
            f"{platform.python_version()}, PyYAML {yaml.__version__} with libyaml, "
            f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f} at the end).\n\n"
            "*floor*: PyYAML's C dumper / C safe loader, or `json.dumps` / `json.loads`, alone on "
            "the equivalent plain data with the same formatting options (JSON: compact, as "
            "`to_json` writes by default; `indent=` would send `json.dumps` to its pure-Python "
            "encoder); loading adds one direct constructor call per node. *load_snapshot* rows: "
            "`load_snapshot(path)` against `from_yaml`/`from_json` on the same text (the floor "
            "columns): what finding, checking and reading the file adds. *ours*: `to_yaml`, `from_yaml`, `to_json`, "
            "`from_json` on the config tree (class resolution, type checks, shared nodes, "
            "markers included; `to_json` builds JSON-ready data in one pass and hands it to "
            "`json.dumps`, so its ratio is that pass over the encoder's own time). *floor* runs as users call it, with the cyclic garbage collector "
            "on; ours pauses the collector while it works (a third of PyYAML's time on a big "
            "tree goes to it). *floor, GC paused too* measures the floor on equal terms, so the "
            "last ratio shows what is left once that gain is taken out; the YAML dump gain that "
            "remains comes from emitting libyaml events directly instead of running PyYAML's "
            "Python representer.\n\n"
            + table + "\n"
        )
        (ROOT / "docs" / "bench_serialize.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
