"""deep_replace: nested dataclasses.replace that never mutates its input and keeps sharing."""

from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import micro_config
from micro_config import (
    ConfigError,
    ConfigScript,
    ConfigScriptDict,
    ConfigScriptList,
    MetaConfig,
    deep_replace,
    parse_args,
)
from micro_config.errors import RefusedClassError, UnknownFieldError
from micro_config.tree import is_node, render, walk
from tests.configs_core import (
    Act,
    AdamWConfig,
    Checked,
    Derived,
    FrozenLeaf,
    FrozenPair,
    Heads,
    Node,
    TransformerConfig,
    WikiDataConfig,
    walkthrough,
)

# ------------------------------------------------------------------------------- the basics


def test_the_original_readme_command_line() -> None:
    config = walkthrough()
    argv = ["epochs=1", "bsize=16", "model.transformer_config.hidden_dim=256"]
    new = deep_replace(config, **parse_args(argv))
    assert (new.epochs, new.bsize, new.model.transformer_config.hidden_dim) == (1, 16, 256)
    assert (config.epochs, config.model.transformer_config.hidden_dim) == (10, 768)
    assert new.unroll(MetaConfig(verbose=False))[0][2] == ("transformer", 256)


def test_field_names_dotted_keys_and_nested_dicts_are_the_same_override() -> None:
    config = walkthrough()
    by_dots = deep_replace(config, **{"model.transformer_config.hidden_dim": 256, "epochs": 2})
    by_dict = deep_replace(config, model={"transformer_config": {"hidden_dim": 256}}, epochs=2)
    mixed = deep_replace(config, model={"transformer_config.hidden_dim": 256}, epochs=2)
    assert by_dots == by_dict == mixed
    assert by_dots.model.transformer_config.hidden_dim == 256


def test_a_config_given_replaces_the_node() -> None:
    config = walkthrough()
    optim = AdamWConfig(lr=3e-4)
    new = deep_replace(config, optim=optim)
    assert new.optim is optim


def test_sharing_survives() -> None:
    config = walkthrough()
    assert config.model.dataset is config.train_dataset
    new = deep_replace(config, **{"model.dataset.max_len": 512})
    assert new.model.dataset is new.train_dataset
    assert new.train_dataset.max_len == 512
    assert new.eval_dataset is config.eval_dataset  # an unshared sibling is untouched
    assert new.optim is config.optim and new.model.transformer_config is config.model.transformer_config
    assert config.train_dataset.max_len == 256


def test_sharing_survives_when_the_change_is_reached_through_the_other_path() -> None:
    config = walkthrough()
    new = deep_replace(config, **parse_args(["train_dataset.max_len=8"]))
    assert new.model.dataset is new.train_dataset and new.model.dataset.max_len == 8
    assert new.model is not config.model  # it holds the changed node, so it is new too


def test_the_same_override_through_two_paths_is_fine_but_two_values_conflict() -> None:
    config = walkthrough()
    same = deep_replace(config, **{"model.dataset.max_len": 8, "train_dataset.max_len": 8})
    assert same.train_dataset.max_len == 8
    with pytest.raises(ConfigError, match="conflicting overrides"):
        deep_replace(config, **{"model.dataset.max_len": 8, "train_dataset.max_len": 9})


def test_a_node_and_a_field_inside_it_conflict() -> None:
    config = walkthrough()
    with pytest.raises(ConfigError, match="conflicts"):
        deep_replace(config, **{"optim": AdamWConfig(), "optim.lr": 1.0})
    with pytest.raises(ConfigError, match="conflicts"):
        deep_replace(config, **{"optim.lr": 1.0, "optim": AdamWConfig()})


def test_a_config_given_for_a_shared_node_replaces_every_reference() -> None:
    config = walkthrough()
    given = WikiDataConfig(max_len=16)
    new = deep_replace(config, **{"model.dataset": given})
    assert new.model.dataset is given and new.train_dataset is given  # used as given, not copied
    assert new.eval_dataset is config.eval_dataset
    assert new.model.transformer_config is config.model.transformer_config
    assert config.model.dataset is config.train_dataset and config.train_dataset.max_len == 256
    other = deep_replace(config, train_dataset=given)  # the same through the other path
    assert other.model.dataset is given and other.train_dataset is given


def test_a_config_given_for_a_shared_list_item_or_shared_parent() -> None:
    config = heads()
    given = WikiDataConfig(max_len=9)
    new = deep_replace(config, **{"datasets.0": given})
    assert new.datasets[0] is given and new.datasets[2] is given
    assert new.datasets[1] is config.datasets[1] and type(new.datasets) is ConfigScriptList
    child = Node(x=1)
    parent = Node(a=child, x=2)
    root = Node(a=parent, b=Node(a=parent))
    replacement = Node(x=3)
    out = deep_replace(root, a=replacement)  # the node above `child`, shared by a and b.a
    assert out.a is replacement and out.b.a is replacement


def test_a_slot_that_held_a_plain_value_is_only_that_slot() -> None:
    given = Node(x=5)
    new = deep_replace(Node(a=None, b=None), a=given)
    assert new.a is given and new.b is None
    config = dataclasses.replace(walkthrough(), optim=None)
    assert deep_replace(config, optim=AdamWConfig(lr=1.0)).optim == AdamWConfig(lr=1.0)


def test_a_shared_node_given_two_replacements_conflicts() -> None:
    config = walkthrough()
    given = WikiDataConfig(max_len=16)
    same = deep_replace(config, **{"model.dataset": given, "train_dataset": given})
    assert same.model.dataset is given and same.train_dataset is given
    for other in (WikiDataConfig(max_len=16), WikiDataConfig(max_len=3), None):  # by identity
        with pytest.raises(ConfigError, match="conflicting overrides") as info:
            deep_replace(config, **{"model.dataset": given, "train_dataset": other})
        assert info.value.path == "train_dataset"
        with pytest.raises(ConfigError, match="conflicting overrides"):
            deep_replace(config, **{"train_dataset": other, "model.dataset": given})
    nothing = deep_replace(Node(a=Node(), b=None), a=None)  # values that are not configs
    assert nothing.a is None


@pytest.mark.parametrize(
    "edit",
    [{"train_dataset.max_len": 3}, {"train_dataset": {"max_len": 3}}, {"model.dataset.max_len": 3}],
)
def test_replacing_a_node_and_editing_inside_it_through_another_path_conflicts(
    edit: dict[str, Any],
) -> None:
    config = walkthrough()
    given = WikiDataConfig(max_len=16)
    with pytest.raises(ConfigError, match="conflicts") as info:
        deep_replace(config, **{"model.dataset": given}, **edit)
    assert "model.dataset" in str(info.value)
    with pytest.raises(ConfigError, match="conflicts"):
        deep_replace(config, **edit, **{"model.dataset": given})


def test_replacing_a_parent_and_editing_a_child_reached_elsewhere_is_fine() -> None:
    config = walkthrough()
    model = dataclasses.replace(config.model, dataset=WikiDataConfig(max_len=1))
    new = deep_replace(config, model=model, **{"train_dataset.max_len": 3})
    assert new.model is model and new.model.dataset.max_len == 1
    assert new.train_dataset.max_len == 3 and config.train_dataset.max_len == 256


def test_the_result_is_a_new_root_even_without_changes() -> None:
    config = walkthrough()
    new = deep_replace(config)
    assert new is not config and new == config
    assert new.model is config.model


# ---------------------------------------------------------------------------------- coercion


def test_values_are_coerced_to_the_annotation() -> None:
    config = walkthrough()
    new = deep_replace(
        config,
        **parse_args(
            [
                "optim.lr=1",
                "save_checkpoint_dir=5",
                "model.transformer_config.act=RELU",
                "model.transformer_config.dims=[3, 4]",
                "out=runs/a",
                "mode=eval",
                "optim.weight_decay=0",
            ]
        ),
    )
    assert new.optim.lr == 1.0 and type(new.optim.lr) is float
    assert new.save_checkpoint_dir == "5"
    assert new.model.transformer_config.act is Act.RELU
    assert new.model.transformer_config.dims == (3, 4)
    assert new.out == pathlib.Path("runs/a")
    assert new.mode == "eval"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["model.transformer_config.hidden_dim=abc"],
         "model.transformer_config.hidden_dim: expected int, got 'abc'"),
        (["epochs=true"], "epochs: expected int, got True"),
        (["epochs=1.5"], "epochs: expected int, got 1.5"),
        (["mode=test"], "mode: expected Literal['train', 'eval'], got 'test'"),
        (["model.transformer_config.act=silu"], "model.transformer_config.act: expected Act"),
        (["model.transformer_config.act=GLEU"],
         "model.transformer_config.act: expected Act (one of RELU, GELU), got 'GLEU' "
         "(did you mean 'GELU'?)"),
        (["model.transformer_config.dims=[1, x]"],
         "model.transformer_config.dims.1: expected int, got 'x'"),
        (["opts={a: b}"], "opts.a: expected float, got 'b'"),
    ],
)
def test_a_wrong_type_names_path_type_and_value(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        deep_replace(walkthrough(), **parse_args(argv))
    assert str(info.value).startswith(message)


# ------------------------------------------------------------------------ unknown keys


def test_unknown_key_suggests_the_closest_full_path() -> None:
    with pytest.raises(ConfigError) as info:
        deep_replace(walkthrough(), **parse_args(["model.transformer_config.hiden_dim=1"]))
    assert str(info.value) == (
        "model.transformer_config.hiden_dim: no such field "
        "(did you mean 'model.transformer_config.hidden_dim'?)"
    )


def test_a_typo_high_up_suggests_the_whole_path() -> None:
    with pytest.raises(ConfigError) as info:
        deep_replace(walkthrough(), **parse_args(["modle.transformer_config.hidden_dim=1"]))
    assert info.value.path == "modle"
    assert "did you mean 'model.transformer_config.hidden_dim'?" in str(info.value)


def test_a_right_name_at_the_wrong_level_is_found() -> None:
    with pytest.raises(ConfigError, match=r"did you mean 'model\.transformer_config\.hidden_dim'"):
        deep_replace(walkthrough(), hidden_dim=1)


def test_a_method_is_not_a_field() -> None:
    with pytest.raises(ConfigError) as info:
        deep_replace(walkthrough(), **{"model.unroll": 1})
    assert info.value.path == "model.unroll"
    assert "names a method, not a field" in str(info.value)
    with pytest.raises(ConfigError, match="names a method"):
        deep_replace(walkthrough(), **{"model.place_and_load": 1})


def test_a_value_has_no_fields() -> None:
    with pytest.raises(ConfigError) as info:
        deep_replace(walkthrough(), **parse_args(["epochs.x=1"]))
    assert info.value.path == "epochs.x"
    assert "no such field" in str(info.value)
    with pytest.raises(ConfigError, match="no such field"):
        deep_replace(walkthrough(), **{"epochs.x": 1})


# ------------------------------------------------------------------ lists, dicts, plain data


def heads() -> Heads:
    shared = WikiDataConfig(max_len=1)
    return Heads(
        heads=ConfigScriptDict(main=TransformerConfig(hidden_dim=2), aux=TransformerConfig()),
        datasets=ConfigScriptList([shared, WikiDataConfig(), shared]),
        layers=[TransformerConfig(), TransformerConfig()],
    )


def test_config_script_list_indices_negative_included_and_dict_keys() -> None:
    config = heads()
    new = deep_replace(
        config, **parse_args(["datasets.1.max_len=8", "heads.main.hidden_dim=4", "layers.-1.heads=3"])
    )
    assert new.datasets[1].max_len == 8 and type(new.datasets) is ConfigScriptList
    assert new.heads["main"].hidden_dim == 4 and type(new.heads) is ConfigScriptDict
    assert new.heads["aux"] is config.heads["aux"]
    assert new.layers[1].heads == 3 and new.layers[0] is config.layers[0]
    shared = deep_replace(config, **{"datasets.-1.max_len": 5})
    assert shared.datasets[0] is shared.datasets[2] and shared.datasets[0].max_len == 5


def test_bad_index_and_key() -> None:
    with pytest.raises(ConfigError, match=r"no such index \(length 3\)"):
        deep_replace(heads(), **{"datasets.3.max_len": 1})
    with pytest.raises(ConfigError) as info:
        deep_replace(heads(), **parse_args(["heads.mian.hidden_dim=1"]))
    assert str(info.value).startswith("heads.mian: no such key (did you mean 'heads.main")


def test_plain_dict_entries_and_tuple_items() -> None:
    config = walkthrough()
    new = deep_replace(config, **parse_args(["opts.b=2", "model.transformer_config.dims.0=7"]))
    assert new.opts == {"a": 1.0, "b": 2.0}
    assert new.model.transformer_config.dims == (7, 2)
    assert config.opts == {"a": 1.0} and config.model.transformer_config.dims == (1, 2)
    whole = deep_replace(config, **parse_args(["opts={b: 3}"]))  # a dict value is the value
    assert whole.opts == {"b": 3.0}


def test_a_dict_for_an_empty_optional_config_builds_it() -> None:
    config = dataclasses.replace(walkthrough(), optim=None)
    new = deep_replace(config, **parse_args(["optim.lr=0.5"]))
    assert new.optim == AdamWConfig(lr=0.5)
    with pytest.raises(ConfigError, match="no such field"):
        deep_replace(config, **parse_args(["optim.rl=0.5"]))


def test_an_edit_inside_a_shared_plain_list_or_dict_keeps_it_shared() -> None:
    items = [1, 2]
    new = deep_replace(Node(a=items, b=items), **parse_args(["a.0=9"]))
    assert new.a == [9, 2] and new.b is new.a
    assert items == [1, 2]
    table = {"k": 1}
    new = deep_replace(Node(a=table, b=table), **parse_args(["b.k=2", "b.extra=3"]))
    assert new.a is new.b and new.a == {"k": 2, "extra": 3}
    assert table == {"k": 1}


def test_a_shared_plain_list_reached_through_a_tuple_and_other_nodes() -> None:
    inner = [1]
    new = deep_replace(Node(a=(inner, 5), b=inner), **{"a.0.0": 7})
    assert new.b == [7] and new.a[0] is new.b and new.a[1] == 5
    shared = [1, 2]
    root = Node(a=Node(a=shared), b=Node(a=shared))
    new = deep_replace(root, **{"a.a.1": 0})
    assert new.b.a is new.a.a and new.a.a == [1, 0]
    assert new.b is not root.b  # it holds the changed list, so it is new too


def test_a_shared_plain_list_given_two_values_conflicts() -> None:
    items = [1, 2]
    same = deep_replace(Node(a=items, b=items), **{"a.0": 9, "b.0": 9})
    assert same.a is same.b and same.a == [9, 2]
    with pytest.raises(ConfigError, match="conflicting overrides"):
        deep_replace(Node(a=items, b=items), **{"a.0": 9, "b.0": 8})
    with pytest.raises(ConfigError, match="conflicts"):
        deep_replace(Node(a=items, b=items), **{"a.0": 9, "a": [3]})


def test_a_shared_plain_value_or_tuple_is_one_field() -> None:
    items = [1, 2]
    new = deep_replace(Node(a=items, b=items), a=[5])  # a new value for that field only
    assert new.a == [5] and new.b is items
    pair = (1, 2)  # immutable: its identity means nothing, as in snapshots
    new = deep_replace(Node(a=pair, b=pair), **{"a.0": 9})
    assert new.a == (9, 2) and new.b == (1, 2)


# ------------------------------------------------------------- frozen, derived, post_init


def test_frozen_dataclasses_and_init_false_fields() -> None:
    leaf = FrozenLeaf(1)
    pair = FrozenPair(left=leaf, right=leaf)
    new = deep_replace(pair, **{"left.value": 5})
    assert new.left is new.right and new.left.value == 5
    assert new.total == 10  # __post_init__ re-ran
    with pytest.raises(ConfigError, match="init=False"):
        deep_replace(pair, total=3)


def test_init_false_field_not_set_by_post_init_is_carried_over() -> None:
    config = Derived(size=1)
    config.cache = ["built"]
    new = deep_replace(config, size=3)
    assert new.size == 3 and new.cache == ["built"]


def test_post_init_errors_become_config_errors_with_the_path() -> None:
    config = Node(a=Checked(1))
    with pytest.raises(ConfigError) as info:
        deep_replace(config, **{"a.size": -1})
    assert info.value.path == "a" and "size must be >= 0" in str(info.value)


def test_a_cycle_is_a_config_error() -> None:
    node = Node()
    node.a = node
    with pytest.raises(ConfigError, match="cycle"):
        deep_replace(node, x=1)


def test_alias_bomb_is_linear() -> None:
    # 40 levels, each level's two fields hold the same child: 2**40 paths, 41 nodes.
    node = Node(x=0)
    for level in range(1, 41):
        node = Node(a=node, b=node, x=level)
    bottom = ".".join(["a"] * 40) + ".x"
    new = deep_replace(node, **{bottom: 99})
    probe = new
    for _ in range(40):
        assert probe.a is probe.b
        probe = probe.a
    assert probe.x == 99
    assert len({id(v.value) for v in walk(new) if is_node(v.value)}) == 41


def test_not_a_config() -> None:
    with pytest.raises(TypeError):
        deep_replace({"a": 1}, a=2)


# ------------------------------------------------------------------------ property tests


@st.composite
def shared_trees(draw: st.DrawFn) -> Node:
    """A DAG of Nodes where later nodes may refer to any earlier one (sharing arises)."""
    nodes: list[Any] = []
    for x in range(draw(st.integers(1, 7))):
        def pick() -> Any:
            kind = draw(st.sampled_from(["none", "int", "node", "list"]))
            if kind == "node" and nodes:
                return draw(st.sampled_from(nodes))
            if kind == "list" and nodes:
                items = draw(st.lists(st.sampled_from(nodes), max_size=3))
                return ConfigScriptList(items)
            return draw(st.integers(0, 5)) if kind == "int" else None

        nodes.append(Node(a=pick(), b=pick(), x=x))
    return nodes[-1]


def snapshot(root: Any) -> Any:
    """Every node's identity and own values, in walk order: equal before and after means
    nothing was mutated or re-wired."""
    return [
        (v.path, id(v.value), v.first, None if is_node(v.value) else repr(v.value))
        for v in walk(root)
    ]


def node_places(root: Any) -> dict[str, Any]:
    return {render(v.path): v.value for v in walk(root) if v.first is None and is_node(v.value)}


def all_node_paths(root: Any) -> list[tuple[str, Any]]:
    """Every path (shared nodes reached through each of them) to every node."""
    out: list[tuple[str, Any]] = []

    def visit(value: Any, path: str) -> None:
        if is_node(value):
            out.append((path, value))
        if is_node(value) or isinstance(value, list):
            for key, child in (
                enumerate(value) if isinstance(value, list) else ((f, getattr(value, f)) for f in "ab")
            ):
                visit(child, f"{path}.{key}" if path else str(key))

    visit(root, "")
    return out


def at(root: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        root = root[int(part)] if isinstance(root, list) else getattr(root, part)
    return root


@settings(max_examples=80, deadline=None)
@given(shared_trees(), st.data())
def test_never_mutates_and_keeps_every_shared_node_shared(root: Node, data: st.DataObject) -> None:
    places = [p for p, v in node_places(root).items() if isinstance(v, Node)]
    target = data.draw(st.sampled_from(places or [""]))
    before = snapshot(root)
    new = deep_replace(root, **{f"{target}.x" if target else "x": 100})
    assert snapshot(root) == before  # the input is untouched

    old_paths = all_node_paths(root)
    mapping: dict[int, Any] = {}
    for path, old in old_paths:
        new_node = at(new, path)
        # each old node maps to exactly one new node, wherever it is reached from
        assert mapping.setdefault(id(old), new_node) is new_node
    # distinct old nodes stay distinct (no accidental merging)
    assert len({id(v) for v in mapping.values()}) == len(mapping)
    changed = at(root, target)
    assert at(new, target).x == 100
    for path, old in old_paths:
        if old is changed:
            assert at(new, path).x == 100
        elif not any(o is changed for p, o in all_node_paths(old)):
            assert at(new, path) is old  # untouched subtrees are reused as they are


def paths_outside(root: Any, stop: Any) -> list[tuple[str, Any]]:
    """Every path to every node, not going inside ``stop`` (which is replaced as a whole)."""
    return [
        (path, node)
        for path, node in all_node_paths(root)
        if not any(at(root, prefix) is stop for prefix in _proper_prefixes(path))
    ]


def _proper_prefixes(path: str) -> list[str]:
    parts = path.split(".") if path else []
    return [".".join(parts[:n]) for n in range(len(parts))]


@settings(max_examples=80, deadline=None)
@given(shared_trees(), st.data())
def test_a_config_given_replaces_the_node_everywhere_and_keeps_sharing(
    root: Node, data: st.DataObject
) -> None:
    places = [p for p, v in node_places(root).items() if p and isinstance(v, Node)]
    if not places:
        return
    target = data.draw(st.sampled_from(places))
    replaced = at(root, target)
    given_node = Node(x=100)
    before = snapshot(root)
    new = deep_replace(root, **{target: given_node})
    assert snapshot(root) == before  # the input is untouched

    mapping: dict[int, Any] = {}
    for path, old in paths_outside(root, replaced):
        new_node = at(new, path)
        # each old node maps to exactly one new object, wherever it is reached from
        assert mapping.setdefault(id(old), new_node) is new_node
        if old is replaced:
            assert new_node is given_node  # every reference, the object as given
        elif not any(o is replaced for _, o in all_node_paths(old)):
            assert new_node is old  # untouched subtrees are reused as they are
    assert len({id(v) for v in mapping.values()}) == len(mapping)  # no accidental merging


@st.composite
def shared_plain_lists(draw: st.DrawFn) -> Node:
    """Nodes whose fields hold plain lists (of ints and of earlier lists) from a shared pool."""
    pool: list[list[Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        ints = draw(st.lists(st.integers(0, 5), min_size=1, max_size=3))
        pool.append(ints + draw(st.lists(st.sampled_from(pool), max_size=2)) if pool else ints)
    nodes: list[Any] = []
    for x in range(draw(st.integers(1, 4))):
        def pick() -> Any:
            return draw(st.sampled_from([*pool, *nodes, None]))

        nodes.append(Node(a=pick(), b=pick(), x=x))
    return nodes[-1]


def all_list_paths(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every path to every plain list (shared ones reached through each path)."""
    out = [(path, value)] if type(value) is list else []
    if isinstance(value, Node):
        children = [("a", value.a), ("b", value.b)]
    else:
        children = [(str(i), item) for i, item in enumerate(value)] if out else []
    for key, child in children:
        out += all_list_paths(child, f"{path}.{key}" if path else key)
    return out


@settings(max_examples=60, deadline=None)
@given(shared_plain_lists(), st.data())
def test_edits_inside_shared_plain_lists_keep_them_shared(root: Node, data: st.DataObject) -> None:
    lists = all_list_paths(root)
    if not lists:
        return
    path, target = data.draw(st.sampled_from(lists))
    index = data.draw(st.sampled_from([i for i, v in enumerate(target) if type(v) is int]))
    before = repr(root), [(p, id(v)) for p, v in lists]
    new = deep_replace(root, **{f"{path}.{index}": 99})
    assert (repr(root), [(p, id(v)) for p, v in all_list_paths(root)]) == before  # untouched
    mapping: dict[int, Any] = {}
    for where, old in lists:
        now = at(new, where)
        assert mapping.setdefault(id(old), now) is now  # one new object per old list
        if old is target:
            assert now[index] == 99
    assert len({id(v) for v in mapping.values()}) == len(mapping)


def test_a_key_below_a_new_dict_entry_says_to_give_the_entry_whole() -> None:
    @dataclasses.dataclass
    class Table(micro_config.ConfigScript):
        d: dict[str, int] = dataclasses.field(default_factory=dict)

        def unroll(self, metaconfig: Any) -> None:
            return None

    with pytest.raises(micro_config.UnknownFieldError) as info:
        deep_replace(Table(), **parse_args(["d.k.z=3"]))
    assert str(info.value) == "d.k.z: no such field (d.k is a new entry: give it whole, as d.k=...)"
    assert deep_replace(Table(), **parse_args(["d.k=3"])).d == {"k": 3}


@dataclasses.dataclass
class Item(micro_config.ConfigScript):
    x: int = 1

    def unroll(self, metaconfig: Any) -> None:
        return None


@dataclasses.dataclass
class Items(micro_config.ConfigScript):
    lst: list[Item] = dataclasses.field(default_factory=list)
    by_name: dict[str, Item] = dataclasses.field(default_factory=dict)
    fixed: tuple[Item, ...] = ()

    def unroll(self, metaconfig: Any) -> None:
        return None


def test_mappings_inside_containers_become_configs_as_in_a_file() -> None:
    """The file's rule (a mapping without _target_ where the annotation names one config
    class is that class) holds inside lists, dicts and tuples on the command line too; an
    aliased mapping is one node, as in a file."""
    tokens = ["lst=[&one {x: 7}, *one, {}]", "by_name={a: {x: 2}}", "fixed=[{x: 3}]"]
    new = deep_replace(Items(), **parse_args(tokens))
    text = "lst: [&one {x: 7}, *one, {x: 1}]\nby_name: {a: {x: 2}}\nfixed: [{x: 3}]\n"
    assert new == micro_config.from_yaml(text, Items)
    assert new.lst == [Item(7), Item(7), Item(1)] and new.lst[0] is new.lst[1]
    assert (new.by_name, new.fixed) == ({"a": Item(2)}, (Item(3),))
    assert deep_replace(Items(), lst=[{"x": 5}]).lst == [Item(5)]  # from Python too
    with pytest.raises(micro_config.UnknownFieldError) as info:
        deep_replace(Items(), **parse_args(["lst=[{}, {y: 1}]"]))
    assert info.value.path == "lst.1.y"
    with pytest.raises(micro_config.UnknownFieldError, match=r"did you mean 'lst\.0\.x'\?"):
        deep_replace(Items(), **parse_args(["lst=[{xx: 1}]"]))  # the full path, as elsewhere


@dataclass
class Kind(ConfigScript):
    x: int = 0

    def unroll(self, metaconfig: Any = None) -> int:
        return self.x


@dataclass
class NarrowKind(Kind):
    pass


@dataclass
class OtherKind(Kind):
    pass


@dataclass
class TwoViews(ConfigScript):
    wide: list[Kind] = field(default_factory=list)
    narrow: list[NarrowKind] = field(default_factory=list)

    def unroll(self, metaconfig: Any = None) -> None:
        return None


def test_a_swap_inside_a_list_shared_by_two_fields_meets_both_annotations() -> None:
    shared = [NarrowKind()]
    tree = TwoViews(wide=shared, narrow=shared)  # one list: the wide field reaches it first
    with pytest.raises(RefusedClassError, match="also held at narrow.0, which expects NarrowKind") as err:
        deep_replace(tree, parse_args(["wide.0=OtherKind"]))
    assert err.value.path == "wide.0"
    swapped = deep_replace(tree, parse_args(["wide.0.x=2"]))
    assert swapped.wide is swapped.narrow and swapped.narrow[0] == NarrowKind(x=2)


@dataclass
class Tables(ConfigScript):
    counts: dict[str, int] = field(default_factory=dict)
    loose: dict = field(default_factory=dict)  # type: ignore[type-arg]

    def unroll(self, metaconfig: Any = None) -> None:
        return None


@pytest.mark.parametrize("key", ["counts.k.z", "loose.k.z"])
def test_a_keyword_below_a_new_dict_entry_gets_the_same_advice(key: str) -> None:
    with pytest.raises(UnknownFieldError) as err:
        deep_replace(Tables(), **{key: 3})
    entry = key.rpartition(".")[0]
    assert str(err.value) == f"{key}: no such field ({entry} is a new entry: give it whole, as {entry}=...)"
