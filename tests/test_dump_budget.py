"""Writing a tree whose tuples/frozensets are shared many times over: immutables are written in
full at every place (docs/format.md), so a nested "alias bomb" of them would expand
exponentially. The writer counts the values it would write and refuses past a budget."""

from __future__ import annotations

from typing import Any

import pytest

from micro_config import ConfigError, from_json, from_yaml, to_json, to_yaml
from micro_config.snapshot import converters
from micro_config.snapshot.dump import to_data
from tests.configs_field_kinds import Leaf, Node


def tuple_bomb(levels: int) -> tuple[Any, ...]:
    """2**levels leaves from ``levels + 1`` distinct tuple objects, each one shared twice."""
    t: tuple[Any, ...] = (1, 2)
    for _ in range(levels):
        t = (t, t)
    return t


def frozenset_bomb(levels: int) -> frozenset[Any]:
    f: frozenset[Any] = frozenset({0})
    for i in range(levels):
        f = frozenset({("a", i, f), ("b", i, f)})
    return f


@pytest.mark.parametrize("write", [to_yaml, to_json, to_data])
def test_a_tuple_bomb_is_refused_naming_its_path(write: Any) -> None:
    tree = Node(children=[Leaf(), Leaf(anything=[0, tuple_bomb(40)])])
    with pytest.raises(ConfigError, match="refusing to write more than") as err:
        write(tree)  # 2**41 values in full: only a check before writing can finish
    assert err.value.path == "children.1.anything.1"


def test_a_frozenset_bomb_is_refused() -> None:
    with pytest.raises(ConfigError, match="refusing to write") as err:
        to_yaml(Leaf(anything=frozenset_bomb(40)))
    assert err.value.path == "anything"


def test_a_hostile_file_loads_but_its_tree_is_not_written_out() -> None:
    bomb = "{_type_: tuple, value: [1, 2]}"
    for i in range(40):  # each level defines the one below it and refers to it again
        bomb = f"{{_type_: tuple, value: [&b{i} {bomb}, *b{i}]}}"
    with pytest.warns(UserWarning, match="schema drift"):  # the other fields: defaults
        leaf = from_yaml(f"_target_: tests.configs_field_kinds.Leaf\nanything: {bomb}\n")  # linear
    top = leaf.anything
    assert type(top) is tuple and top[0] is top[1] and top[0][0] is top[0][1]
    with pytest.raises(ConfigError, match="refusing to write") as err:
        to_yaml(leaf)
    assert err.value.path == "anything"


def test_shared_tuples_within_the_budget_are_written_in_full_and_round_trip() -> None:
    leaf = Leaf(anything=tuple_bomb(10), shape=tuple(range(1000)))
    text = to_yaml(leaf)
    assert "&" not in text and "*" not in text  # immutables get no anchors
    again = from_yaml(text)
    assert again.anything == leaf.anything and again.shape == leaf.shape
    assert from_json(to_json(leaf)).anything == leaf.anything


def test_the_budget_counts_values_across_the_whole_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(converters, "WRITE_BUDGET", 100_000)  # the default takes a while to reach
    shared = tuple_bomb(10)  # writes 2**12 - 2 values: within the budget, alone or 24 times
    assert to_data(Leaf(anything=[shared] * 24))["anything"][23]["_type_"] == "tuple"
    with pytest.raises(ConfigError, match="refusing to write more than 100,000") as err:
        to_data(Leaf(anything=[shared] * 25))
    assert err.value.path == "anything.24"


@pytest.mark.parametrize("write", [to_yaml, to_json, to_data])
def test_a_flat_tuple_field_counts_against_the_budget_too(
    monkeypatch: pytest.MonkeyPatch, write: Any
) -> None:
    """``shape: tuple[int, ...]`` takes the per-class converter's fast branch: it is counted
    there too, against the budget in force when it runs."""
    monkeypatch.setattr(converters, "WRITE_BUDGET", 1_000)
    assert len(write(Leaf(shape=tuple(range(990))))) > 0  # and the two values of its pair
    with pytest.raises(ConfigError, match="refusing to write more than 1,000") as err:
        write(Node(children=[Leaf(shape=tuple(range(600))), Leaf(shape=tuple(range(600)))]))
    assert err.value.path == "children.1.shape"


@pytest.mark.timeout(10)  # the whole budget's worth of writing takes over 20 s: this must not
@pytest.mark.parametrize("write", [to_yaml, to_json, to_data])
def test_sharing_inside_nested_tuples_is_refused_before_it_multiplies_the_work(write: Any) -> None:
    # 41 small tuples, each one the pair of the one before: each is under the global budget
    # alone, but writing them one after the other would write millions of values
    levels = {"a0": (1, 2)}
    for i in range(1, 41):
        levels[f"a{i}"] = (levels[f"a{i - 1}"], levels[f"a{i - 1}"])
    with pytest.raises(ConfigError, match="refusing to write") as err:
        write(Leaf(anything=levels))
    assert err.value.path == "anything.a12"  # the first past the floor (2**14 values for 26)


def test_nested_tuples_sharing_a_little_are_written() -> None:
    inner = tuple(range(5_000))
    leaf = Leaf(anything=((inner, inner, inner), tuple(range(20_000))))  # 3x: well within
    assert from_yaml(to_yaml(leaf)).anything == leaf.anything
