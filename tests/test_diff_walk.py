"""The diff pairs two trees with the format's one walk over data: deep, shared and lopsided
trees give the same changes the recursive definition would, in linear time."""

from __future__ import annotations

import pytest

from micro_config.commands.diff import diff_data


def _chain(depth: int, leaf: object) -> dict[str, object]:
    node: dict[str, object] = {"_target_": "m.A", "v": leaf}
    for _ in range(depth):
        node = {"_target_": "m.A", "n": node}
    return node


def test_a_change_at_the_bottom_of_a_tree_as_deep_as_the_format_allows() -> None:
    changes = diff_data(_chain(985, 1), _chain(985, 2))
    assert [(c.path, c.kind, c.old, c.new) for c in changes] == [
        (".".join(["n"] * 985 + ["v"]), "changed", 1, 2)
    ]


@pytest.mark.timeout(10)
def test_an_alias_bomb_is_compared_once_per_distinct_pair() -> None:
    x: list[object] = [1]
    y: list[object] = [2]
    for _ in range(60):  # 2**60 paths in each tree, 61 distinct lists
        x, y = [x, x], [y, y]
    changes = diff_data({"_target_": "m.B", "k": x}, {"_target_": "m.B", "k": y})
    assert len(changes) == 1
    assert changes[0].path == "k" + ".0" * 60 and changes[0].kind == "changed"
    # one other place per list on the way that is held twice (all but the one at ``k``)
    assert len(changes[0].also) == 59 and changes[0].also[0] == "k" + ".0" * 58 + ".1.0"
    assert changes[0].also[-1] == "k.1" + ".0" * 59


def test_added_removed_class_and_sharing_in_document_order() -> None:
    shared = {"_target_": "m.C", "w": 1}
    a = {"_target_": "m.R", "one": shared, "two": shared, "gone": 3, "items": [1, [2]]}
    b = {"_target_": "m.R", "one": {"_target_": "m.D", "w": 1}, "two": {"_target_": "m.C", "w": 1},
         "items": [1, [2], [3]], "new": 4}
    got = [(c.path, c.kind, c.old, c.new) for c in diff_data(a, b)]
    assert got == [
        ("one", "class", "m.C", "m.D"),
        ("two", "sharing", "one", None),
        ("gone", "removed", 3, None),
        ("items.2", "added", None, [3]),
        ("new", "added", None, 4),
    ]
