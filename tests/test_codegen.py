"""``micro-config code``: the printed Python rebuilds the config exactly (same snapshot bytes, same
sharing), leaves defaults out, and is ruff-clean."""

from __future__ import annotations

import enum
import math
import random
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_config import (
    ConfigError,
    ConfigScriptDict,
    ConfigScriptList,
    diff,
    save_snapshot,
    to_yaml,
)
from micro_config.commands.codegen import python_source
from micro_config.commands.main import main
from micro_config.tree import is_node

ROOT = Path(__file__).resolve().parents[1]


class Color(enum.Enum):
    RED = 1
    GREEN = "g"


class Mode(str, enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclass
class Leaf:
    x: float = 0.5
    n: int = 3
    s: str = "a"
    flag: bool = False
    color: Color = Color.RED
    where: Path = Path("data")
    dims: tuple[int, ...] = (1, 2)
    opt: Optional[float] = None  # noqa: UP045 - the old spelling is a case to cover


@dataclass
class Node:
    left: Any = None
    right: Optional[Leaf] = None  # noqa: UP045
    items: list[Any] = field(default_factory=list)
    table: dict[Any, Any] = field(default_factory=dict)  # a tuple key below: not dict[str, ...]
    tags: frozenset[str] = frozenset()
    nums: set[int] = field(default_factory=set)
    mode: Mode = Mode.FAST
    leaf: Leaf = field(default_factory=Leaf)


class Stack(ConfigScriptList):
    pass


class Named(ConfigScriptDict):
    pass


@dataclass(frozen=True)
class Frozen:
    k: int = 1


ONE_FROZEN = Frozen()


@dataclass
class WithFrozen:
    a: Frozen = ONE_FROZEN  # both fields' default is this one object
    b: Frozen = ONE_FROZEN


# ---------------------------------------------------------------- random trees with sharing

FLOATS = [0.0, -0.0, math.nan, -math.nan, math.inf, -math.inf, 1e-8, 5e-324, 0.1, 3.0, -2.5,
          1.7976931348623157e308, 0.5]
STRINGS = ["", "a", "it's", 'say "hi"', "both ' and \"", "back\\slash", "line\nbreak", "é ü 中",
           "_target_", "x" * 120]


def scalar(rng: random.Random) -> Any:
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice(FLOATS) if rng.random() < 0.7 else rng.uniform(-1e6, 1e6)
    if kind == 1:
        return rng.choice([0, -1, 7, 2**70])
    if kind == 2:
        return rng.choice(STRINGS)
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return rng.choice(list(Color) + list(Mode))
    if kind == 5:
        return rng.choice([Path("a/b"), PurePosixPath("c"), Path("/abs/x y")])
    if kind == 6:
        return tuple(rng.randrange(5) for _ in range(rng.randrange(3)))
    if kind == 7:
        return frozenset(rng.choice("abc") for _ in range(rng.randrange(3)))
    return rng.random()


def leaf(rng: random.Random) -> Leaf:
    out = Leaf()
    if rng.random() < 0.5:
        out.x = rng.choice(FLOATS)
    if rng.random() < 0.3:
        out.n = rng.choice([0, 3, -5])
    if rng.random() < 0.3:
        out.s = rng.choice(STRINGS)
    if rng.random() < 0.3:
        out.color = rng.choice(list(Color))
    if rng.random() < 0.3:
        out.where = rng.choice([Path("data"), Path("other/place")])
    if rng.random() < 0.3:
        out.dims = tuple(rng.randrange(4) for _ in range(rng.randrange(4)))
    if rng.random() < 0.2:
        out.opt = rng.choice(FLOATS)
    return out


def tree(rng: random.Random) -> Node:
    """A random tree in which nodes, lists, dicts, sets and tuples are held at several places."""
    pool: list[Any] = []

    def pick() -> Any:
        if pool and rng.random() < 0.5:
            return rng.choice(pool)  # the same object again: sharing
        return scalar(rng)

    for _ in range(rng.randrange(1, 9)):
        kind = rng.randrange(8)
        if kind == 0:
            made: Any = leaf(rng)
        elif kind == 1:
            made = [pick() for _ in range(rng.randrange(4))]
        elif kind == 2:
            made = {rng.choice(STRINGS[:6]): pick() for _ in range(rng.randrange(3))}
            if rng.random() < 0.3:
                made[rng.choice([1, (1, 2), Color.GREEN])] = pick()  # keys that need a marker
        elif kind == 3:
            made = {rng.randrange(10) for _ in range(rng.randrange(4))}
        elif kind == 4:
            made = Stack(pick() for _ in range(rng.randrange(3)))
        elif kind == 5:
            made = Named({"p": pick(), "q": pick()})
        elif kind == 6:
            made = tuple(pick() for _ in range(rng.randrange(1, 3)))
        else:
            made = Node(left=pick(), items=[pick(), pick()])
            if rng.random() < 0.5:
                made.right = rng.choice([x for x in pool if type(x) is Leaf] or [leaf(rng)])
        pool.append(made)
    root = Node(left=pick(), items=[pick() for _ in range(rng.randrange(4))],
                table={"k": pick()}, mode=rng.choice(list(Mode)))
    if rng.random() < 0.5:
        root.tags = frozenset({"x", "y"})
    if rng.random() < 0.5:
        root.nums = {3, 1}
    if rng.random() < 0.5:
        root.leaf = rng.choice([x for x in pool if type(x) is Leaf] or [Leaf()])
    return root


def structure(root: Any) -> Any:
    """The tree as nested tuples: floats by their bits, each node, list, dict or set numbered at
    its first place and referred to by number at the others (tuples are values)."""
    numbers: dict[int, int] = {}

    def go(v: Any) -> Any:
        t = type(v)
        if t is float:
            return ("float", struct.pack(">d", v) if v == v else math.copysign(1, v))
        if is_node(v) or t in (list, dict, set):
            if id(v) in numbers:
                return ("ref", numbers[id(v)])
            numbers[id(v)] = len(numbers)
        if hasattr(t, "__dataclass_fields__"):
            return (t.__qualname__, tuple((f, go(getattr(v, f))) for f in t.__dataclass_fields__))
        if isinstance(v, list | tuple):
            return (t.__qualname__, tuple(go(x) for x in v))
        if isinstance(v, dict):
            return (t.__qualname__, tuple((go(k), go(x)) for k, x in v.items()))
        if isinstance(v, set | frozenset):
            return (t.__qualname__, tuple(sorted(map(repr, v))))
        return (t.__qualname__, v)

    return go(root)


def rebuilt(source: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<micro-config code>", "exec"), namespace)  # noqa: S102 - our output
    return namespace["config"]


def assert_same(a: Any, b: Any) -> None:
    assert to_yaml(b) == to_yaml(a)
    assert structure(b) == structure(a)
    assert diff(a, b) == []


@settings(max_examples=150, deadline=None)
@given(st.randoms(use_true_random=False), st.booleans())
def test_code_rebuilds_random_trees_exactly(rng: random.Random, all_fields: bool) -> None:
    a = tree(rng)
    assert_same(a, rebuilt(python_source(a, all_fields=all_fields)))


def test_ruff_accepts_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ruff check (the project's rules, imports sorted) and ruff format find nothing to change."""
    monkeypatch.chdir(ROOT)  # the project's imports are first-party, as ruff sees them
    for seed in range(40):
        a = tree(random.Random(seed))
        (tmp_path / f"gen_{seed}.py").write_text(python_source(a, all_fields=seed % 3 == 0))
    from schemas import default_train

    (tmp_path / "gen_default.py").write_text(python_source(default_train(), docstring="doc."))
    config = ["--config", str(ROOT / "pyproject.toml")]
    check = subprocess.run(["ruff", "check", *config, str(tmp_path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(["ruff", "format", "--check", "--diff", *config, str(tmp_path)],
                         capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


# ---------------------------------------------------------------- what the code says


def test_shared_node_is_one_variable_named_after_its_first_place() -> None:
    shared = Leaf(x=2.0)
    source = python_source(Node(left=shared, items=[shared], right=shared))
    assert source.count("Leaf(x=2.0)") == 1
    assert "left = Leaf(x=2.0)\n" in source
    assert "config = Node(left=left, right=left, items=[left])\n" in source


def test_defaults_are_left_out_unless_all() -> None:
    node = Node(mode=Mode.SLOW)
    assert python_source(node).endswith("config = Node(mode=Mode.SLOW)\n")
    full = python_source(node, all_fields=True)
    for name in ("left=None", "items=[]", "table={}", "tags=frozenset()", "nums=set()",
                 "leaf=Leaf(", "dims=(1, 2)", 'where=Path("data")'):
        assert name in full
    assert_same(node, rebuilt(full))


def test_a_default_value_that_is_shared_is_still_written() -> None:
    """leaf equals its default_factory's Leaf(), but it is also node.left: leaving it out would
    make two Leaf objects where there was one."""
    one = Leaf()
    node = Node(left=one, leaf=one)
    source = python_source(node)
    assert "leaf=left" in source
    b = rebuilt(source)
    assert b.leaf is b.left
    # a list equal to the default [] but shared with another field is written too
    items: list[Any] = []
    node = Node(items=items, table={"same": items})
    b = rebuilt(python_source(node))
    assert b.items is b.table["same"]


def test_a_default_holding_a_shared_node_is_written() -> None:
    """The value equals the default only if sharing is ignored: its inside is shared."""
    inner = Leaf()
    node = Node(items=[], leaf=inner, left=[inner])
    assert_same(node, rebuilt(python_source(node)))


def test_a_class_default_object_is_not_made_shared() -> None:
    """Frozen() equals the class default of both fields, but leaving both out would make them
    the class's one default object: two different objects stay two."""
    a = WithFrozen(a=Frozen(), b=Frozen())
    b = rebuilt(python_source(a))
    assert b.a is not b.b
    assert_same(a, b)
    same = WithFrozen()  # both fields hold the class's default object itself
    c = rebuilt(python_source(same))
    assert c.a is c.b
    assert_same(same, c)


def test_values_come_back_exactly() -> None:
    node = Node(
        left=[math.nan, -math.nan, math.inf, -math.inf, -0.0, 5e-324, 2**70, "it's \"q\""],
        items=[Color.GREEN, Mode.SLOW, PurePosixPath("p/q"), Path("r"), (1,), (), frozenset({2})],
        table={"plain": {1, 2}, "stack": Stack([Leaf()]), "named": Named({"z": None})},
    )
    node.table[(1, "a")] = Color.RED  # type: ignore[index]
    source = python_source(node)
    for text in ('float("nan")', 'float("-nan")', 'float("inf")', 'float("-inf")', "-0.0",
                 "Color.GREEN", "Mode.SLOW", 'PurePosixPath("p/q")', 'Path("r")', "(1,)",
                 "frozenset({2})", "Stack([Leaf()])", 'Named({"z": None})', '(1, "a"): Color.RED'):
        assert text in source
    assert_same(node, rebuilt(source))


def test_deep_trees_are_split_into_variables() -> None:
    deep: Any = Leaf()
    for _ in range(60):
        deep = Node(left=deep)
    source = python_source(deep)
    assert max(len(line) - len(line.lstrip()) for line in source.splitlines()) <= 4 * 14
    assert_same(deep, rebuilt(source))


@pytest.mark.timeout(60)
def test_large_trees_take_linear_time() -> None:
    """1 500 nodes sharing 500 leaves, and a 200-deep chain: seconds, not minutes."""
    leaves = [Leaf(x=float(i)) for i in range(500)]
    wide = Node(items=[Node(left=leaves[i % 500], right=leaves[(i * 7) % 500])
                       for i in range(1500)])
    deep: Any = Leaf()
    for _ in range(200):
        deep = Node(left=deep, leaf=leaves[0])
    for tree_ in (wide, Node(left=deep, items=leaves[:10])):
        assert_same(tree_, rebuilt(python_source(tree_)))


def test_a_class_the_code_cannot_import_is_an_error() -> None:
    @dataclass
    class Local:
        x: int = 1

    with pytest.raises(ConfigError, match="defined in a function"):
        python_source(Node(left=Local()))
    with pytest.raises(ConfigError, match="cannot write a builtins.object as code"):
        python_source(Node(left=object()))


# ---------------------------------------------------------------- the command


def run_code(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["code", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_code_of_a_snapshot_rebuilds_its_config(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from schemas import default_train

    monkeypatch.chdir(ROOT)
    config = default_train()
    snap = save_snapshot(config, tmp_path / "run.yaml")
    status, out, err = run_code(capsys, str(snap), "--allow", "schemas")
    assert (status, err) == (0, "")
    assert out.startswith('"""') and "from schemas import" in out
    b = rebuilt(out)
    assert to_yaml(b) == to_yaml(config)
    assert b.model.dataset is b.train_dataset
    # a checkpoint folder and module:attr / file.py:attr give the same code
    (tmp_path / "step_000001").mkdir()
    (tmp_path / "step_000001" / "config.yaml").write_text(snap.read_text())
    assert run_code(capsys, str(tmp_path / "step_000001"), "--allow", "schemas")[1].split("\n", 1)[1] \
        == out.split("\n", 1)[1]
    assert run_code(capsys, "schemas:default_train")[1].split("\n", 1)[1] == out.split("\n", 1)[1]
    # as validate: the project's own packages need no --allow; --no-project takes that back
    assert run_code(capsys, str(snap))[1].split("\n", 1)[1] == out.split("\n", 1)[1]
    fresh = subprocess.run([sys.executable, "-m", "micro_config", "code", str(snap), "--no-project"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)  # schemas not imported
    assert fresh.returncode == 2 and "pass --allow schemas" in fresh.stderr
    assert run_code(capsys, "schemas/__init__.py:default_train")[1].split("\n", 1)[1] \
        == out.split("\n", 1)[1]


def test_code_refuses_classes_not_allowed(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """As validate: a snapshot naming a package not allowed imports nothing."""
    snap = tmp_path / "run.yaml"
    snap.write_text("micro_config: 1\nmeta: {}\nconfig:\n  _target_: trap_pkg_never.mod.Cls\n")
    status, out, err = run_code(capsys, str(snap))
    assert status == 2 and out == ""
    assert "trap_pkg_never" in err and err.count("\n") == 1
    assert "trap_pkg_never" not in sys.modules


def test_code_help_and_all(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_code(capsys, "--help")
    assert status == 0 and "--all" in out and "one variable" in out
    short = run_code(capsys, "schemas:default_train")[1]
    full = run_code(capsys, "schemas:default_train", "--all")[1]
    assert "hidden_dim=128" in full and "hidden_dim" not in short


def test_console_script(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "micro_config", "code", "schemas:default_train"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "config = TrainLoop(" in done.stdout
