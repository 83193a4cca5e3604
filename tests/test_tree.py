"""THE walk (micro_config.tree) and the per-class plan: identity rule, typed paths, no recursion
limit, linear on shared structure, and every user of the walk (describe, hints, unroll,
deep_replace) linear on a shared-tuple bomb."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

from micro_config import ConfigError, ConfigScript, MetaConfig, deep_replace, describe
from micro_config.errors import UnknownFieldError
from micro_config.plan import Factory, clear_plans, plan_of, shape_of
from micro_config.tree import distinct, each_once, expand, render, transform, walk


@dataclass
class Leaf(ConfigScript):
    size: int = 1

    def unroll(self, metaconfig: Any = None) -> int:
        return self.size


@dataclass
class Holder(ConfigScript):
    value: Any = None
    tag: str = "t"
    layers: list[Leaf] = field(default_factory=list)

    def unroll(self, metaconfig: Any = None) -> int:
        return 1


@dataclass
class Link:
    next: Optional[Link] = None  # noqa: UP045
    width: int = 0


def tuple_bomb(depth: int) -> Any:
    bomb: Any = (Leaf(3),)
    for _ in range(depth):
        bomb = (bomb, bomb)
    return bomb


def chain(n: int) -> Link:
    node = Link()
    for i in range(n):
        node = Link(node, i)
    return node


def test_paths_are_typed_and_rendered_one_way() -> None:
    leaf = Leaf()
    tree = Holder(layers=[leaf, leaf])
    visits = list(walk(tree))
    paths = [v.path for v in visits]
    assert ("layers", 0) in paths and ("layers", 0, "size") in paths
    second = next(v for v in visits if v.path == ("layers", 1))
    assert second.first == ("layers", 0) and second.value is leaf  # met twice: one object
    assert render(("model", "layers", 0)) == "model.layers.0" and render(()) == ""


def test_the_identity_rule_memoises_nodes_and_every_container() -> None:
    shared_tuple, shared_list = (1, 2), [3]
    tree = Holder(value={"a": shared_tuple, "b": shared_tuple, "c": shared_list, "d": shared_list})
    firsts = [expand(where) for where, _, _ in distinct(tree)]
    assert ("value", "a") in firsts and ("value", "b") not in firsts  # a tuple met twice: once
    assert ("value", "c") in firsts and ("value", "d") not in firsts
    assert len(list(each_once(tree))) == 5  # Holder, its dict, the tuple, two lists; no leaves


@pytest.mark.timeout(20)
def test_a_10000_deep_chain_needs_no_recursion_limit() -> None:
    root = Holder(value=chain(10_000))
    assert sum(1 for _ in distinct(root)) == 10_003  # Holder, its list, 10 001 links
    assert len(describe(Holder(value=chain(2_000))).splitlines()) > 2_000
    new = deep_replace(root, tag="u")
    assert new.value is root.value  # unchanged subtrees are kept, not copied
    mc = MetaConfig(verbose=False)
    assert root.unroll(mc) == root.unroll(mc) == 1  # the staleness check walks it twice
    root.value.next.next.width = -1
    with pytest.raises(ConfigError, match=r"^value\.next\.next: Link was modified after it was unrolled") as info:
        root.unroll(mc)
    assert info.value.path == "value.next.next"  # the place, as every ConfigError names it


@pytest.mark.timeout(20)
def test_the_walk_and_the_hints_are_linear_in_depth() -> None:
    # a place's path is linked and expanded only when asked: walking a 50 000-deep chain
    # takes well under a second (expanding every path would take minutes)
    root = Holder(value=chain(50_000))
    visits = list(walk(root))
    assert len(visits) == 2 * 50_001 + 4  # each Link and its width; Holder, the last None, tag, layers
    (deepest,) = [v for v in visits if v.value is None]  # the last Link's next
    assert deepest.path == ("value", *["next"] * 50_001) and deepest.value is None
    assert visits[0].where is None and visits[0].path == () and not visits[0].again
    with pytest.raises(UnknownFieldError, match="no such field"):  # searches every path's end
        deep_replace(root, bogus=1)
    bottom = root.value
    while bottom.next is not None:
        bottom = bottom.next
    shared = Holder(value=[bottom, root.value])  # an edit at the bottom remakes the whole chain
    new = deep_replace(shared, **{"value.0.width": 7})
    assert new.value[0].width == 7 and new.value[1].next.next is not root.value.next.next
    nested: Any = 1
    for _ in range(50_000):
        nested = [nested]
    assert describe(Holder(value=nested)).startswith("value: Any = [[[[")  # one line, not a walk of paths


def test_cycles_are_config_errors_with_their_path() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ConfigError, match="cycle") as err:
        list(walk(Holder(value=[0, loop])))
    assert err.value.path == "value.1.0"
    with pytest.raises(ConfigError, match="cycle") as err:
        list(each_once(Holder(value=[0, loop])))
    assert err.value.path == "value.1.0"
    with pytest.raises(ConfigError, match="cycle"):
        transform(Holder(value=loop), lambda v, kids, where: v)


@pytest.mark.timeout(20)
def test_describe_and_hints_are_linear_on_a_shared_tuple_bomb() -> None:
    tree = Holder(value=tuple_bomb(40))  # 2**40 paths, 41 distinct tuples
    lines = describe(tree).splitlines()
    deepest = "value" + ".0" * 41  # the one Leaf, in the innermost of the 41 tuples
    # each tuple once in full at its first path, once as a reference at its second
    assert "value.0: Any  (shared; also reached as value.1)" in lines
    assert "value.1: Any  (same tuple as value.0)" in lines
    assert f"{deepest}.size: int = 3" in lines
    assert len(lines) == 1 + 40 * 2 + 2 + 2  # value, 40 shared tuples twice, Leaf, size, tag, layers
    with pytest.raises(UnknownFieldError, match="did you mean 'tag'"):
        deep_replace(tree, tagg="x")
    with pytest.raises(UnknownFieldError, match=rf"did you mean '{deepest}\.size'"):
        deep_replace(tree, size=2)  # a name at the wrong level: found at its one first path
    assert deep_replace(tree, tag="x").value is tree.value


def test_plan_lists_what_every_reader_needs() -> None:
    @dataclass
    class Local:
        a: "int"  # noqa: UP037 - a string annotation is resolved
        b: list[float] = field(default_factory=list)
        c: str = "x"
        d: int = field(init=False, default=0)

    plan = plan_of(Local)
    assert plan.target.endswith("Local") and plan.names == ("a", "b", "c")
    assert plan.derived == ("d",) and plan.required == frozenset({"a"})
    assert plan.fields["a"].annotation is int and plan.annotations["d"] is int
    assert isinstance(plan.fields["b"].default, Factory) and plan.fields["c"].default == "x"
    assert plan.fields["b"].shape is shape_of(list[float])
    assert plan.fields["b"].load([1, 2.5], "b") == [1, 2.5]
    with pytest.raises(ConfigError) as err:
        plan.fields["b"].load([1.0, True], "b")
    assert err.value.path == "b.1"
    assert plan.fields["c"].cli(3) == "3" and plan_of(Local) is plan
    clear_plans()
    assert plan_of(Local) is not plan
    assert dataclasses.is_dataclass(plan.dacite_class())
