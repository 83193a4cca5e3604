"""Config tree -> YAML/JSON -> config tree: equal values, same types, same sharing, same text."""

from __future__ import annotations

import dataclasses
import json
import math
import struct
import subprocess
import sys
import textwrap
from pathlib import Path, PurePath
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micro_config import ConfigScriptDict, ConfigScriptList, from_json, from_yaml, to_json, to_yaml
from micro_config.snapshot.dump import to_data
from micro_config.snapshot.load import parse_json, parse_yaml
from tests.configs_field_kinds import (
    Color,
    Computed,
    Dims,
    Layers,
    Leaf,
    Level,
    MyList,
    Node,
    Point,
    WithDerived,
)

YAML_LOOKING = ["yes", "no", "on", "off", "y", "n", "true", "False", "1e3", "1.5", "null", "Null",
                "", "~", "0x10", "0o17", "1_000", "-", "=", "<<", "*a", "&a", "!x", "- a", "a: b",
                "#c", "12:30", "2001-01-01", ".nan", ".inf", "-.inf", " lead", "trail ", "a\nb",
                "\t", "x\x00y", "\u2028", "\ufeff", "ünïcödé ✓ 漢字", "'", '"']

# ---------------------------------------------------------------------------- strategies

texts = st.one_of(st.sampled_from(YAML_LOOKING), st.text(max_size=12))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([-0.0, 0.0, 1e17, 5e-324, float("nan"), -math.inf]))
ints = st.one_of(st.integers(-5, 5), st.integers(), st.just(2**80))
scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts)
paths = st.builds(Path, st.sampled_from(["data", "a/b.txt", "/abs/x", "yes", "1e3"]))
enums = st.one_of(st.sampled_from(list(Color)), st.sampled_from(list(Level)))
points = st.builds(Point, floats, floats)


def any_values(depth: int = 2) -> st.SearchStrategy[Any]:
    """Every value type the format knows, for fields annotated ``Any``."""
    leaves = st.one_of(scalars, paths, enums, points,
                       st.frozensets(st.one_of(st.integers(), texts), max_size=3),
                       st.sets(st.integers(), max_size=3))
    if depth == 0:
        return leaves
    inner = any_values(depth - 1)
    return st.one_of(
        leaves,
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(texts, inner, max_size=3),
        st.dictionaries(st.integers(), inner, max_size=2),  # non-str keys: a dict marker
        st.dictionaries(st.sampled_from(["_target_", "_type_", "_id_", "value"]), inner,
                        max_size=2),
    )


leaves = st.builds(
    Leaf,
    name=texts,
    count=ints,
    ratio=floats,
    flag=st.booleans(),
    maybe=st.none() | texts,
    shape=st.lists(st.integers(), max_size=3).map(tuple),
    pair=st.tuples(st.integers(), texts),
    path=paths,
    color=st.sampled_from(list(Color)),
    level=st.sampled_from(list(Level)),
    tags=st.frozensets(texts, max_size=3),
    ids=st.sets(st.integers(), max_size=3),
    point=points,
    weights=st.lists(floats, max_size=3),
    table=st.dictionaries(texts, st.integers(), max_size=3),
    anything=any_values(),
)


@st.composite
def trees(draw: st.DrawFn) -> Node:
    """A tree of Nodes and Leafs built bottom-up from a pool: drawing an earlier pool entry
    again makes a shared node."""
    pool: list[Any] = draw(st.lists(leaves, min_size=1, max_size=4))
    pick = st.integers(0, 10**6).map(lambda i: pool[i % len(pool)])
    for _ in range(draw(st.integers(0, 4))):
        children = draw(st.lists(pick, max_size=3))
        wrapper = draw(st.sampled_from([ConfigScriptList, MyList]))
        node = Node(
            label=draw(texts),
            children=ConfigScriptList(children) if wrapper is ConfigScriptList else MyList(children),
            named=ConfigScriptDict(draw(st.dictionaries(texts, pick, max_size=2))),
            first=draw(st.none() | pick.filter(lambda n: isinstance(n, Leaf))),
            other=draw(st.one_of(pick, any_values(1), st.builds(MyList, st.lists(pick, max_size=2)))),
            items=draw(st.lists(st.one_of(pick, any_values(0)), max_size=3)),
        )
        pool.append(node)
    return Node(label="root", children=ConfigScriptList(pool))


# ---------------------------------------------------------------------------- comparison


def assert_same_tree(a: Any, b: Any) -> None:
    """Equal values of the same types (floats bit for bit, nan == nan), and the same sharing:
    a node reached twice in ``a`` is one object in ``b`` too, and distinct nodes stay distinct."""
    pairs: dict[int, Any] = {}
    reverse: dict[int, Any] = {}

    def same(x: Any, y: Any, path: str) -> None:
        assert type(x) is type(y), f"{path}: {type(x).__name__} != {type(y).__name__}"
        if isinstance(x, float):
            assert struct.pack("<d", x) == struct.pack("<d", y) or (x != x and y != y), path
            return
        mutable = isinstance(x, list | dict | set) or dataclasses.is_dataclass(x)
        if mutable:
            if id(x) in pairs:
                assert pairs[id(x)] is y, f"{path}: sharing differs"
                return
            assert id(y) not in reverse, f"{path}: two distinct objects became one"
            pairs[id(x)], reverse[id(y)] = y, x
        if dataclasses.is_dataclass(x):
            for f in dataclasses.fields(x):
                same(getattr(x, f.name), getattr(y, f.name), f"{path}.{f.name}")
        elif isinstance(x, list | tuple):
            assert len(x) == len(y), path
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                same(u, v, f"{path}.{i}")
        elif isinstance(x, dict):
            assert list(x) == list(y), path
            for k in x:
                same(x[k], y[k], f"{path}.{k}")
        elif isinstance(x, set | frozenset):
            assert x == y, path
        else:
            assert x == y, f"{path}: {x!r} != {y!r}"

    same(a, b, "root")


def assert_same_data(a: Any, b: Any) -> None:
    """Normalised data equal with the same identity pattern (nan == nan)."""
    seen: dict[int, Any] = {}

    def same(x: Any, y: Any, path: str) -> None:
        assert type(x) is type(y), path
        if type(x) in (dict, list):
            if id(x) in seen:
                assert seen[id(x)] is y, f"{path}: sharing differs"
                return
            seen[id(x)] = y
            assert len(x) == len(y), path
            pairs_x = x.items() if type(x) is dict else enumerate(x)
            pairs_y = y.items() if type(y) is dict else enumerate(y)
            items = zip(pairs_x, pairs_y, strict=True)
            for (k, u), (k2, v) in items:
                assert k == k2, path
                same(u, v, f"{path}.{k}")
        elif type(x) is float:
            assert struct.pack("<d", x) == struct.pack("<d", y) or (x != x and y != y), path
        else:
            assert x == y, path

    same(a, b, "")


# ---------------------------------------------------------------------------- properties

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(trees())
def test_yaml_round_trip_keeps_values_types_and_sharing(tree: Node) -> None:
    text = to_yaml(tree)
    back = from_yaml(text, Node)
    assert_same_tree(tree, back)
    assert to_yaml(back) == text


@SETTINGS
@given(trees())
def test_json_round_trip_keeps_values_types_and_sharing(tree: Node) -> None:
    text = to_json(tree)
    json.loads(text, parse_constant=pytest.fail)  # standard JSON: no bare NaN/Infinity tokens
    back = from_json(text, Node)
    assert_same_tree(tree, back)
    assert to_json(back) == text
    assert to_yaml(back) == to_yaml(tree)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_parsed_text_is_the_normalised_data(tree: Node) -> None:
    data = to_data(tree)
    assert_same_data(data, parse_yaml(to_yaml(tree)))
    assert_same_data(data, parse_json(to_json(tree)))


@settings(max_examples=30, deadline=None)
@given(trees())
def test_yaml_loads_with_the_pure_python_yaml_1_1_parser(tree: Node) -> None:
    text = to_yaml(tree)
    assert_same_data(yaml.load(text, Loader=yaml.SafeLoader), parse_yaml(text))


# ---------------------------------------------------------------------------- the format


def test_node_is_target_then_every_field_in_order() -> None:
    data = to_data(Leaf(name="x"))
    assert list(data) == ["_target_", *(f.name for f in dataclasses.fields(Leaf))]
    assert data["_target_"] == "tests.configs_field_kinds.Leaf"


def test_shared_node_is_anchored_at_its_first_place_with_a_readable_name() -> None:
    shared = Leaf(name="data")
    tree = Node(children=ConfigScriptList([Leaf(), shared]), named=ConfigScriptDict(a=shared),
                other=shared)
    text = to_yaml(tree)
    assert "- &children-1\n" in text
    assert text.count("*children-1") == 2
    assert "id001" not in text
    assert json.loads(to_json(tree))["other"] == {"_ref_": "children-1"}
    assert to_yaml(tree) == text  # deterministic


def test_equal_but_distinct_nodes_are_written_separately() -> None:
    tree = Node(children=ConfigScriptList([Leaf(), Leaf()]))
    back = from_yaml(to_yaml(tree))
    assert "&" not in to_yaml(tree)
    assert back.children[0] == back.children[1] and back.children[0] is not back.children[1]


@pytest.mark.parametrize("text", YAML_LOOKING)
def test_yaml_looking_strings_stay_strings(text: str) -> None:
    leaf = Leaf(name=text, anything=text, table={text: 1})
    for back in (from_yaml(to_yaml(leaf)), from_json(to_json(leaf))):
        assert back.name == text and back.anything == text and back.table == {text: 1}


def test_floats_are_bit_exact() -> None:
    values = [0.1, -0.0, 1e17, 5e-324, 1.7976931348623157e308, float("inf"), -math.inf]
    leaf = Leaf(weights=values, ratio=float("nan"))
    for back in (from_yaml(to_yaml(leaf)), from_json(to_json(leaf))):
        assert [struct.pack("<d", x) for x in back.weights] == [struct.pack("<d", x) for x in values]
        assert math.isnan(back.ratio)
    assert "-0.0" in to_yaml(leaf) and ".inf" in to_yaml(leaf)
    assert '"_type_":"float"' in to_json(leaf).replace('": ', '":')


def test_typed_values_are_plain_where_the_annotation_says_and_marked_where_not() -> None:
    leaf = Leaf(shape=(1, 2), path=Path("a/b"), color=Color.GREEN, tags=frozenset({"b", "a"}),
                anything=(1, 2))
    data = to_data(leaf)
    assert data["shape"] == [1, 2] and data["path"] == "a/b" and data["color"] == "GREEN"
    assert data["tags"] == ["a", "b"]  # sets are sorted
    assert data["anything"] == {"_type_": "tuple", "value": [1, 2]}
    assert to_data(Leaf(anything=Path("p")))["anything"] == {"_type_": "path", "value": "p"}
    assert to_data(Leaf(anything=Color.RED))["anything"] == {
        "_type_": "tests.configs_field_kinds.Color", "value": "RED"}
    assert to_data(Leaf(anything={1: "a"}))["anything"] == {"_type_": "dict", "value": [[1, "a"]]}
    marked = to_data(Node(other=MyList([1])))["other"]
    assert marked == {"_type_": "tests.configs_field_kinds.MyList", "value": [1]}


def test_wrappers_and_subclasses_come_back_as_their_own_type() -> None:
    tree = Node(children=MyList([Leaf()]), named=ConfigScriptDict({"a": Leaf()}),
                other=ConfigScriptDict({1: Leaf()}))
    back = from_yaml(to_yaml(tree))
    assert type(back.children) is MyList and type(back.named) is ConfigScriptDict
    assert type(back.other) is ConfigScriptDict and list(back.other) == [1]


def test_init_false_fields_are_not_written_and_are_recomputed() -> None:
    config = WithDerived(size=5)
    assert "doubled" not in to_yaml(config)
    assert from_yaml(to_yaml(config)).doubled == 10


def test_path_values_use_forward_slashes() -> None:
    assert to_data(Leaf(path=Path("a") / "b"))["path"] == "a/b"
    assert to_data(Leaf(anything=PurePath("a")))["anything"] == {"_type_": "path", "value": "a"}


def test_unicode_is_written_readably() -> None:
    text = to_yaml(Leaf(name="漢字 ✓"))
    assert "漢字 ✓" in text
    assert "漢字 ✓" in to_json(Leaf(name="漢字 ✓"))


def test_a_plain_list_shared_by_two_list_fields_stays_shared() -> None:
    shared = [1, 2, 3]  # the loader's fast path for lists of plain numbers keeps it one list
    tree = Node(children=ConfigScriptList([
        Leaf(weights=shared), Leaf(name="b", weights=shared),  # two list[float] fields
        Dims(dims=shared, widths=shared), Dims(dims=[4], widths=shared),  # list[int] fields
    ]))
    for dump, load in ((to_yaml, from_yaml), (to_json, from_json)):
        text = dump(tree)
        back = load(text)
        first, second, both, other = back.children
        assert first.weights == [1, 2, 3] and type(first.weights) is list
        assert first.weights is second.weights is both.dims is both.widths is other.widths
        assert other.dims == [4] and other.dims is not first.weights
        assert dump(back) == text  # byte-identical


def test_a_node_only_a_shared_tuple_holds_stays_one_node() -> None:
    # a tuple is written in full at every place, so the node inside is met twice even though
    # only the tuple holds it (the dump's "held in one place" shortcut must not apply)
    defaults = Node(children=ConfigScriptList([Layers(), Layers()]))  # one class-level tuple
    leaf = Leaf(name="only in the tuple")
    held = (leaf,)
    by_hand = Node(items=[held], other=held)
    del leaf, held  # nothing but the tuple holds the leaf
    for dump, load in ((to_yaml, from_yaml), (to_json, from_json)):
        back = load(dump(defaults))
        first, second = back.children
        assert first.layers[0] is second.layers[0]
        back = load(dump(by_hand))
        assert back.items[0][0] is back.other[0] and back.other[0].name == "only in the tuple"
        assert dump(back) == dump(by_hand)


def test_new_objects_from_a_property_are_not_taken_for_one_another() -> None:
    # each read makes a new list: one freed early could hand its id to the next (then written
    # as an alias of the first)
    tree = Node(items=[Computed(seed=i) for i in range(6)])
    for dump, load in ((to_yaml, from_yaml), (to_json, from_json)):
        text = dump(tree)
        assert "*" not in text and "_ref_" not in text
        assert [c.seed for c in load(text).items] == list(range(6))


SHARING_UNDER_A_TRACER = """
import sys

def tracer(frame, event, arg):
    frame.f_locals  # holds references to the frame's values while it runs
    return tracer

sys.settrace(tracer)
import micro_config.snapshot.dump  # the reference counts are calibrated here
sys.settrace(None)
from micro_config import ConfigScriptList, from_json, from_yaml, to_json, to_yaml
from tests.configs_field_kinds import Dims, Leaf, Node

leaf, dims = Leaf(), [1, 2]
tree = Node(children=ConfigScriptList([leaf, Dims(dims=dims, widths=dims)]), first=leaf)
for dump, load in ((to_yaml, from_yaml), (to_json, from_json)):
    back = load(dump(tree))
    assert back.first is back.children[0], dump.__name__
    assert back.children[1].dims is back.children[1].widths, dump.__name__
print("ok")
"""


def test_sharing_is_kept_when_a_tracer_ran_at_import() -> None:
    # a trace function that reads frame locals adds references while the dump calibrates its
    # "held in one place" counts; counts too high would drop every shared value silently
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(SHARING_UNDER_A_TRACER)],
                         capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
