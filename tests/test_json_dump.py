"""The one JSON dump path: ``to_json``, ``to_json(indent=...)`` and JSON snapshot files are
written by the same one pass (per-class converters, ids/refs named afterwards), including a
shared plain list, whose ``list`` marker is put at its first place after the pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from micro_config import (
    ConfigError,
    ConfigScriptDict,
    ConfigScriptList,
    from_json,
    load_snapshot,
    save_snapshot,
    to_json,
    to_yaml,
)
from micro_config.plan import clear_plans
from micro_config.snapshot import converters, dump
from micro_config.snapshot.dump import to_data
from micro_config.snapshot.emit import json_text
from micro_config.snapshot.files import read_meta
from tests.configs_field_kinds import Dims, Leaf, Node
from tests.test_roundtrip import assert_same_tree, trees


def shared_list_tree() -> tuple[Node, list[int]]:
    shared = [1, 2, 3]
    tree = Node(children=ConfigScriptList([
        Dims(dims=shared, widths=shared),  # two list[int] fields holding one list
        Dims(dims=[4], widths=shared),
        Leaf(weights=shared, anything={"deep": [0, shared]}),  # a list[float] and Any
    ]))
    return tree, shared


def test_a_shared_plain_list_gets_its_list_marker_at_its_first_place() -> None:
    tree, _ = shared_list_tree()
    text = to_json(tree)
    first = ('"dims":{"_type_":"list","_id_":"children-0-dims","value":[1,2,3]},'
             '"widths":{"_ref_":"children-0-dims"}')
    assert first in text
    assert text.count('"_type_":"list"') == 1  # one marker, refs elsewhere
    assert text.count('{"_ref_":"children-0-dims"}') == 4
    assert text == json_text(to_data(tree))  # the normalised-data writer agrees


@pytest.mark.parametrize("indent", [None, 2])
def test_a_shared_plain_list_round_trips_byte_identical(indent: int | None) -> None:
    tree, _ = shared_list_tree()
    text = to_json(tree, indent=indent)
    back = from_json(text)
    both, other, leaf = back.children
    assert both.dims == [1, 2, 3] and both.dims is both.widths is other.widths is leaf.weights
    assert leaf.anything["deep"][1] is both.dims
    assert to_json(back, indent=indent) == text


def test_a_shared_list_inside_a_shared_list_and_under_a_dict_marker() -> None:
    inner = [1, 2]
    outer = [inner, 3]
    tree = Node(other={5: outer, 6: inner}, items=[outer])  # int keys: a dict marker
    text = to_json(tree)
    back = from_json(text)
    assert back.items[0] is back.other[5] and back.other[6] is back.other[5][0]
    assert to_json(back) == text
    assert text == json_text(to_data(tree))


def test_a_shared_list_in_a_json_snapshot_re_saves_byte_identical(tmp_path: Path) -> None:
    tree, _ = shared_list_tree()
    first = save_snapshot(tree, tmp_path / "a.json")
    text = first.read_text(encoding="utf-8")
    assert '"_type_": "list",\n' in text  # the indented document
    back = load_snapshot(first)
    assert back.children[0].dims is back.children[2].weights
    meta = read_meta(first)
    second = save_snapshot(back, tmp_path / "b.json", meta=meta)  # same provenance
    again = second.read_text(encoding="utf-8")
    updated = read_meta(second)["updated"]  # the one field a re-save changes
    assert again.replace(updated, meta["updated"]) == text
    assert json.loads(text)["config"] == json.loads(to_json(tree))


def test_indented_text_is_the_compact_text_indented() -> None:
    tree, _ = shared_list_tree()
    compact = to_json(tree)
    assert to_json(tree, indent=2) == json.dumps(json.loads(compact), indent=2, ensure_ascii=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_indent_and_compact_are_one_text_and_round_trip(tree: Node) -> None:
    compact = to_json(tree)
    indented = to_json(tree, indent=2)
    assert indented == json.dumps(json.loads(compact), indent=2, ensure_ascii=False)
    assert compact == json_text(to_data(tree))  # ids, refs and markers as the data writer's
    back = from_json(indented)
    assert_same_tree(tree, back)
    assert to_json(back) == compact and to_json(back, indent=2) == indented


def test_converters_follow_clear_plans() -> None:
    tree, _ = shared_list_tree()
    text = to_json(tree)
    clear_plans()  # converters are remade from the new plans
    assert to_json(tree) == text
    assert from_json(text).children[0].dims == [1, 2, 3]


def test_a_wrapper_shared_by_two_fields_is_one_object() -> None:
    shared = ConfigScriptDict(a=Leaf(name="x"))
    tree = Node(named=shared, other=shared)
    text = to_json(tree)
    back = from_json(text)
    assert back.named is back.other
    assert to_json(back) == text


def test_a_field_name_is_data_never_code() -> None:
    import dataclasses

    forged = "x'] if 0 else __import__('os').abort() #"  # as code, it would end the process
    odd = dataclasses.make_dataclass("Odd", [("x", Any, None)])
    odd.__dataclass_fields__["x"].name = forged
    odd.__module__ = __name__
    obj = odd()
    setattr(obj, forged, 7)
    assert json.loads(to_json(obj))[forged] == 7  # the name was written as a key, nothing ran


def test_a_list_or_dict_field_held_once_or_twice() -> None:
    """A field value that no other place holds skips the memo (one strong reference); one the
    tree holds twice is shared, however the second place reaches it; a reference from outside
    the tree changes nothing in the text."""
    table = {"a": 1}
    weights = [0.5, 2.0]
    twice = Node(children=ConfigScriptList([Leaf(table=table, weights=weights),
                                            Leaf(table=table, weights=weights)]))
    text = to_json(twice)
    assert text.count('"_ref_"') == 2 and '"_type_":"list"' in text
    back = from_json(text)
    assert back.children[0].table is back.children[1].table
    assert back.children[0].weights is back.children[1].weights
    assert to_json(back) == text
    once = Leaf(table={"a": 1}, weights=[0.5, 2.0])
    held = Leaf(table=table, weights=weights)  # also held by the variables above
    assert to_json(once) == to_json(held) and "_id_" not in to_json(held)
    leaf = Leaf(table={"b": 2}, weights=[1.5])
    data = to_data(leaf)  # data given out: copies, never the tree's own containers
    assert data["table"] == {"b": 2} and data["table"] is not leaf.table
    assert data["weights"] == [1.5] and data["weights"] is not leaf.weights


@pytest.mark.parametrize("indent", [None, 2])
def test_a_wrapper_held_by_one_node_or_by_two(indent: int | None) -> None:
    shared = ConfigScriptList([Leaf(name="s")])
    tree = Node(children=ConfigScriptList([Node(children=shared), Node(children=shared),
                                           Node(children=ConfigScriptList([Leaf()]))]))
    text = to_json(tree, indent=indent)
    back = from_json(text)
    first, second, third = back.children
    assert first.children is second.children and third.children is not first.children
    assert to_json(back, indent=indent) == text


def test_a_wrapper_holding_itself_is_a_cycle() -> None:
    loop = ConfigScriptList()
    loop.append(loop)
    with pytest.raises(ConfigError, match="cycle") as err:
        to_json(Node(children=loop))
    assert err.value.path == "children.0"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_skipping_the_memo_for_values_held_once_changes_no_text(tree: Node) -> None:
    """The dump leaves out of its memo what only one place holds (sys.getrefcount against
    counts calibrated at import); with every count at 0 everything is memoised: same texts."""
    texts = (to_json(tree), to_json(tree, indent=2), to_yaml(tree))
    with pytest.MonkeyPatch.context() as patch:
        for module, name in ((converters, "ALONE"), (converters, "IN_FIELD"),
                             (dump, "_IN_LIST"), (dump, "_IN_DICT")):
            patch.setattr(module, name, 0)
        assert (to_json(tree), to_json(tree, indent=2), to_yaml(tree)) == texts


def test_the_calibrated_counts_see_a_second_holder() -> None:
    shared = Leaf(name="twice")
    tree = Node(children=ConfigScriptList([shared, Node(named=ConfigScriptDict(a=shared)),
                                           Node(first=shared)]))
    back = from_json(to_json(tree))
    assert back.children[0] is back.children[1].named["a"] is back.children[2].first
    assert min(dump._IN_LIST, dump._IN_DICT, converters.IN_FIELD, converters.ALONE) >= 2
