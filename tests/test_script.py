"""ConfigScript, the unroll cache, MetaConfig, ConfigScriptList/Dict, ConfigScriptNoCache."""

from __future__ import annotations

import dataclasses
import gc
import logging
import subprocess
import sys
import weakref
from dataclasses import dataclass, field
from typing import Any

import pytest

from micro_config import (
    ConfigError,
    ConfigScript,
    ConfigScriptDict,
    ConfigScriptList,
    ConfigScriptNoCache,
    MetaConfig,
)

CALLS: list[str] = []


@dataclass
class Leaf(ConfigScript):
    n: int = 1

    def unroll(self, metaconfig: MetaConfig) -> dict[str, int]:
        CALLS.append(f"leaf{self.n}")
        return {"n": self.n}


@dataclass
class Pair(ConfigScript):
    a: Any = None
    b: Any = None

    def unroll(self, metaconfig: MetaConfig) -> tuple[Any, Any]:
        CALLS.append("pair")
        return self.a.unroll(metaconfig), self.b.unroll(metaconfig)


@dataclass(frozen=True)
class FrozenLeaf(ConfigScript):
    n: int = 1

    def unroll(self, metaconfig: MetaConfig) -> list[int]:
        CALLS.append("frozen")
        return [self.n]


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def test_same_object_unrolled_once_and_shared() -> None:
    leaf = Leaf(3)
    mc = MetaConfig(verbose=False)
    a, b = Pair(leaf, leaf).unroll(mc)
    assert a is b
    assert CALLS == ["pair", "leaf3"]
    assert leaf.unroll(mc) is a  # a direct call later hits the same cache entry
    assert CALLS == ["pair", "leaf3"]


def test_equal_but_distinct_configs_unroll_separately() -> None:
    a, b = Pair(Leaf(3), Leaf(3)).unroll(MetaConfig(verbose=False))
    assert a == b and a is not b
    assert CALLS == ["pair", "leaf3", "leaf3"]


def test_fresh_metaconfig_fresh_cache_and_default_metaconfig() -> None:
    leaf = Leaf(2)
    first = leaf.unroll(MetaConfig(verbose=False))
    second = leaf.unroll(MetaConfig(verbose=False))
    assert first == second and first is not second
    third = leaf.unroll()  # no argument: a default MetaConfig
    assert third == {"n": 2}
    assert CALLS == ["leaf2"] * 3


def test_cache_keeps_config_alive_so_ids_are_never_recycled() -> None:
    mc = MetaConfig(verbose=False)
    leaf = Leaf(5)
    ref = weakref.ref(leaf)
    leaf.unroll(mc)
    del leaf
    gc.collect()
    assert ref() is not None, "the cache must keep its config alive"
    # Many short-lived configs: a recycled id() must never hand one config another's result.
    for n in range(200):
        assert Leaf(n).unroll(mc) == {"n": n}


def test_inherited_unroll_is_not_wrapped_twice() -> None:
    @dataclass
    class Child(Leaf):
        extra: int = 0

    child = Child(4)
    mc = MetaConfig(verbose=False)
    assert child.unroll(mc) is child.unroll(mc)
    assert CALLS == ["leaf4"]
    assert Child.unroll is Leaf.unroll


def test_super_unroll_from_subclass_runs_parent_body() -> None:
    @dataclass
    class Doubled(Leaf):
        def unroll(self, metaconfig: MetaConfig) -> dict[str, int]:
            base = super().unroll(metaconfig)
            return {"n": base["n"] * 2}

    d = Doubled(3)
    mc = MetaConfig(verbose=False)
    assert d.unroll(mc) == {"n": 6}
    assert d.unroll(mc) is d.unroll(mc)
    assert CALLS == ["leaf3"]


def test_class_without_unroll_cannot_be_instantiated() -> None:
    @dataclass
    class NoUnroll(ConfigScript):
        x: int = 0

    with pytest.raises(TypeError, match="unroll"):
        NoUnroll()


def test_init_subclass_is_cooperative() -> None:
    seen: dict[str, Any] = {}

    class Registry:
        def __init_subclass__(cls, tag: str = "", **kwargs: Any) -> None:
            super().__init_subclass__(**kwargs)
            seen[cls.__name__] = tag

    @dataclass
    class Tagged(ConfigScript, Registry, tag="hello"):
        def unroll(self, metaconfig: MetaConfig) -> str:
            return "ok"

    assert seen == {"Tagged": "hello"}
    assert Tagged().unroll(MetaConfig(verbose=False)) == "ok"


def test_frozen_dataclass_configs_work() -> None:
    f = FrozenLeaf(7)
    mc = MetaConfig(verbose=False)
    assert f.unroll(mc) is f.unroll(mc)
    assert CALLS == ["frozen"]


def test_mutation_after_unroll_is_detected_not_stale() -> None:
    leaf = Leaf(1)
    pair = Pair(leaf, Leaf(2))
    mc = MetaConfig(verbose=False)
    pair.unroll(mc)
    leaf.n = 10  # a child deep in the tree changes
    with pytest.raises(ConfigError, match="modified after it was unrolled"):
        pair.unroll(mc)
    mc.clear()
    assert pair.unroll(mc)[0] == {"n": 10}


def test_in_place_list_mutation_is_detected() -> None:
    @dataclass
    class Holder(ConfigScript):
        values: list[int] = field(default_factory=list)

        def unroll(self, metaconfig: MetaConfig) -> int:
            return sum(self.values)

    h = Holder([1, 2])
    mc = MetaConfig(verbose=False)
    assert h.unroll(mc) == 3
    h.values.append(3)
    with pytest.raises(ConfigError):
        h.unroll(mc)


def test_no_cache_script_reruns_but_children_cache() -> None:
    @dataclass
    class Fresh(ConfigScriptNoCache):
        leaf: Any = None

        def unroll(self, metaconfig: MetaConfig) -> Any:
            CALLS.append("fresh")
            return self.leaf.unroll(metaconfig)

    fresh = Fresh(Leaf(1))
    mc = MetaConfig(verbose=False)
    assert fresh.unroll(mc) is fresh.unroll(mc)
    assert CALLS == ["fresh", "leaf1", "fresh"]


def test_metaconfig_cache_is_not_a_field() -> None:
    mc = MetaConfig(verbose=False)
    Leaf(1).unroll(mc)
    names = [f.name for f in dataclasses.fields(mc)]
    assert names[:3] == ["project_root", "verbose", "device"] and not any("state" in n for n in names)
    assert mc == MetaConfig(verbose=False)
    assert "state" not in repr(mc)
    assert dataclasses.asdict(mc) == dataclasses.asdict(MetaConfig(verbose=False))
    assert "_micro_config_state" in vars(mc) and "_micro_config_state" not in dataclasses.asdict(mc)


def test_metaconfig_subclass_and_convert_path(tmp_path: Any) -> None:
    @dataclass
    class MyMeta(MetaConfig):
        seed: int = 0

    mc = MyMeta(project_root=str(tmp_path), verbose=False, seed=3)
    assert mc.convert_path("data/x.txt") == str(tmp_path / "data" / "x.txt")
    assert mc.convert_path(None) is None
    assert Leaf(1).unroll(mc) == {"n": 1}


def test_verbose_logs_one_line_per_node(caplog: pytest.LogCaptureFixture) -> None:
    leaf = Leaf(1)
    with caplog.at_level(logging.INFO, logger="micro_config"):
        Pair(leaf, leaf).unroll(MetaConfig(verbose=True))
    lines = [r.getMessage() for r in caplog.records if r.name == "micro_config"]
    assert lines == ["unroll Pair", "unroll Leaf", "unroll Leaf: cached"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="micro_config"):
        Pair(leaf, leaf).unroll(MetaConfig(verbose=False))
    assert not [r for r in caplog.records if r.name == "micro_config"]


def test_config_script_list_and_dict() -> None:
    shared = Leaf(1)
    items = ConfigScriptList([shared, Leaf(2), shared])
    heads = ConfigScriptDict({"main": shared, "aux": Leaf(3)})
    assert len(items) == 3 and items[1] == Leaf(2) and isinstance(items, list)
    assert list(heads) == ["main", "aux"] and isinstance(heads, dict)
    mc = MetaConfig(verbose=False)
    out_list = items.unroll(mc)
    out_dict = heads.unroll(mc)
    assert type(out_list) is list and type(out_dict) is dict
    assert out_list[0] is out_list[2] is out_dict["main"]
    assert out_list[1] == {"n": 2} and out_dict["aux"] == {"n": 3}
    assert sorted(CALLS) == ["leaf1", "leaf2", "leaf3"]
    assert repr(items).startswith("ConfigScriptList([")


def test_self_unroll_recursion_is_an_error() -> None:
    @dataclass
    class Loop(ConfigScript):
        def unroll(self, metaconfig: MetaConfig) -> Any:
            return self.unroll(metaconfig)

    with pytest.raises(ConfigError, match="cycle"):
        Loop().unroll(MetaConfig(verbose=False))


def test_import_is_torch_free() -> None:
    code = "import sys, micro_config; print('torch' in sys.modules, 'yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_unroll_walk_is_linear_in_shared_tuples_and_refuses_list_cycles() -> None:
    @dataclass
    class Holder(ConfigScript):
        value: Any = None

        def unroll(self, metaconfig: MetaConfig) -> int:
            return 1

    bomb: Any = (Leaf(1),)
    for _ in range(60):  # 2**60 paths, 61 distinct tuples
        bomb = (bomb, bomb)
    holder = Holder(bomb)
    mc = MetaConfig(verbose=False)
    assert holder.unroll(mc) == holder.unroll(mc) == 1  # the cache hit re-walks the tree
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ConfigError, match="cycle"):
        Holder(loop).unroll(MetaConfig(verbose=False))


@dataclass
class Link(ConfigScript):
    width: int = 1
    next: Any = None
    items: list[Any] = field(default_factory=list)

    def unroll(self, metaconfig: MetaConfig) -> tuple[Any, ...]:
        CALLS.append("link")
        below = self.next.unroll(metaconfig) if self.next is not None else None
        return (self.width, below, [x.unroll(metaconfig) for x in self.items])


@pytest.mark.timeout(20)
def test_unroll_is_linear_on_a_deep_chain_and_a_wide_shared_subtree() -> None:
    # Quadratic work (a subtree re-walked per cache hit, per node) would take minutes here.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(30_000)  # the unroll bodies recurse, two frames per level
    try:
        _unroll_deep_chain_and_wide_shared_subtree()
    finally:
        sys.setrecursionlimit(limit)


def _unroll_deep_chain_and_wide_shared_subtree() -> None:
    chain = Link(width=0)
    for i in range(1, 5_000):
        chain = Link(width=i, next=chain)
    mc = MetaConfig(verbose=False)
    out = chain.unroll(mc)
    assert len(CALLS) == 5_000 and out[0] == 4_999
    assert chain.unroll(mc) is out and len(CALLS) == 5_000  # a top-level cache hit
    CALLS.clear()
    sub = Link(width=-1, items=[Link(width=i) for i in range(2_000)])
    wide = Link(items=[Link(width=i, next=sub) for i in range(4_000)])
    results = wide.unroll(mc)[2]
    assert len(CALLS) == 1 + 4_000 + 1 + 2_000  # the shared subtree is built once
    assert all(r[1] is results[0][1] for r in results)
    sub.items[7].width = 70  # still detected, deep in the shared subtree
    with pytest.raises(ConfigError, match=r"items\.0\.next\.items\.7"):
        wide.unroll(mc)


def test_mutations_of_what_a_config_holds_but_does_not_unroll_are_detected() -> None:
    @dataclass
    class Plain:  # a plain dataclass, not a ConfigScript: never unrolled itself
        dims: list[int] = field(default_factory=list)
        tags: set[str] = field(default_factory=set)

    @dataclass
    class Holder(ConfigScript):
        plain: Any = None
        nested: Any = None
        extra: Any = None  # a config this body does not unroll

        def unroll(self, metaconfig: MetaConfig) -> int:
            return len(self.plain.dims)

    cases = [
        lambda h: h.plain.dims.append(4),
        lambda h: h.plain.tags.add("new"),  # a set changes in place: its state was copied
        lambda h: h.nested[1].append(0),  # a list inside a list
        lambda h: h.nested[2].update(k=2),  # a dict inside a list
        lambda h: setattr(h.extra, "n", 9),
    ]
    for mutate in cases:
        h = Holder(Plain([1, 2], {"a"}), [(1, 2), [3], {"k": 1}], Leaf(1))
        mc = MetaConfig(verbose=False)
        assert h.unroll(mc) == 2
        assert h.unroll(mc) == 2  # unchanged: a cache hit, no false alarm
        mutate(h)
        with pytest.raises(ConfigError, match="modified after it was unrolled"):
            h.unroll(mc)


def test_children_cached_before_a_failure_are_still_guarded() -> None:
    @dataclass
    class Fails(ConfigScript):
        child: Any = None

        def unroll(self, metaconfig: MetaConfig) -> Any:
            self.child.unroll(metaconfig)
            raise RuntimeError("boom")

    leaf = Leaf(1)
    mc = MetaConfig(verbose=False)
    with pytest.raises(RuntimeError):
        Fails(leaf).unroll(mc)
    leaf.n = 2  # its cached result {"n": 1} is stale now
    with pytest.raises(ConfigError, match="modified after it was unrolled"):
        leaf.unroll(mc)


def test_a_config_class_without_dataclass_is_one_clear_error_everywhere() -> None:
    """The usual slip: @dataclass forgotten. unroll, describe, cli and deep_replace say so in
    one ConfigError (they raised AttributeError: no __dataclass_fields__)."""
    from micro_config import cli, deep_replace, describe

    class Plain(ConfigScript):
        steps: int = 10

        def unroll(self, metaconfig: MetaConfig) -> int:
            return self.steps

    @dataclass
    class Holder(ConfigScript):
        child: Any = None

        def unroll(self, metaconfig: MetaConfig) -> Any:
            return self.child.unroll(metaconfig)

    wanted = "Plain is a ConfigScript but not a dataclass: put @dataclass on the line above 'class Plain'"
    for call in (
        lambda: Plain().unroll(MetaConfig(verbose=False)),
        lambda: Holder(Plain()).unroll(MetaConfig(verbose=False)),
        lambda: describe(Holder(Plain())),
        lambda: deep_replace(Plain(), steps=2),
        lambda: deep_replace(Holder(Plain()), **{"child.steps": 2}),
    ):
        with pytest.raises(ConfigError, match=wanted):
            call()
    with pytest.raises(SystemExit) as info:
        cli(Holder(Plain()), ["--help"])
    assert info.value.code == 2


def test_a_subclass_of_a_config_without_dataclass_is_refused_not_silently_fieldless() -> None:
    """Its own fields would be left out of snapshots and overrides: the same ConfigError."""
    from micro_config import deep_replace, to_yaml

    @dataclass
    class Base(ConfigScript):
        lr: float = 0.1

        def unroll(self, metaconfig: MetaConfig) -> float:
            return self.lr

    class Sub(Base):
        momentum: float = 0.9

    wanted = "Sub is a subclass of a dataclass but not a dataclass: put @dataclass"
    for call in (lambda: to_yaml(Sub()), lambda: deep_replace(Sub(), momentum=0.5),
                 lambda: Sub().unroll(MetaConfig(verbose=False))):
        with pytest.raises(ConfigError, match=wanted):
            call()
