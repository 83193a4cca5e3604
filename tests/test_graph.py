"""``micro-config graph``: one node per distinct node, an edge per place, leaves inside, changes
highlighted; DOT, Mermaid, and SVG through Graphviz when it is installed."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from micro_config.commands.graph import build, dot_text, highlight, mermaid_text
from micro_config.commands.main import main
from micro_config.snapshot.files import read_data

# Classes of a package that does not exist: graph never imports them.
TREE = """\
micro_config: 1
meta: {}
config:
  _target_: nowhere.models.Net
  encoder: &enc
    _target_: nowhere.models.Block
    width: 4
    dims: [1, 2, 3]
  decoder: *enc
  heads:
  - _target_: nowhere.models.Head
    block: *enc
    name: a
  - _target_: nowhere.models.Head
    block:
      _target_: nowhere.models.Block
      width: 8
      dims: &dims [5, 6]
    name: b
  extra_dims: *dims
  lr: 0.1
"""
# Distinct nodes: Net, Block(enc), Head a, Head b, Block(8), the shared list dims = 6.
# Places holding a node: encoder, decoder, heads.0, heads.0.block, heads.1, heads.1.block,
# heads.1.block.dims, extra_dims = 8 edges. The plain list `heads` is held once: inline.


@pytest.fixture
def tree_file(tmp_path: Path) -> Path:
    path = tmp_path / "tree.yaml"
    path.write_text(TREE)
    return path


def test_each_distinct_node_once_and_an_edge_from_every_place(tree_file: Path) -> None:
    tree, _ = read_data(tree_file)
    graph = build(tree)
    assert [n.title for n in graph.nodes] == ["Net", "Block", "Head", "Head", "Block", "list"]
    assert len(graph.edges) == 8
    enc = graph.nodes[1]
    into_enc = sorted(key for _, dst, key in graph.edges if dst == enc.id)
    assert into_enc == ["block", "decoder", "encoder"]  # three places, one node
    assert ("heads.0", "heads.1") == tuple(k for s, _, k in graph.edges if s == "n0" and "heads" in k)
    assert enc.lines == [("width", "4"), ("dims", "[1, 2, 3]")]  # leaves inside their node
    assert graph.nodes[0].lines == [("lr", "0.1")]
    dot = dot_text(graph)
    assert len(re.findall(r"^  n\d+ \[label=<", dot, re.M)) == 6
    assert len(re.findall(r"^  n\d+ -> n\d+", dot, re.M)) == 8
    mermaid = mermaid_text(graph)
    assert mermaid.startswith("flowchart LR\n")
    assert len(re.findall(r"^  n\d+\[", mermaid, re.M)) == 6
    assert len(re.findall(r"^  n\d+ -->\|", mermaid, re.M)) == 8
    assert "nowhere" not in sys.modules


@pytest.mark.timeout(20)
def test_an_alias_bomb_is_drawn_in_linear_time(tmp_path: Path) -> None:
    levels = ["  l0: &l0 [1, 2]"] + [f"  l{i}: &l{i} [*l{i - 1}, *l{i - 1}]" for i in range(1, 60)]
    path = tmp_path / "bomb.yaml"
    path.write_text("_target_: nowhere.Bag\nitems:\n" + "\n".join(levels) + "\n")
    graph = build(read_data(path)[0])
    # the node and l0..l58 (each held at two places or more); l59 is held once: inline
    assert len(graph.nodes) == 1 + 59
    # items.l0..items.l58, two from each l1..l58 to the level below, two from the inline l59
    assert len(graph.edges) == 59 + 58 * 2 + 2


def test_two_operands_highlight_what_diff_reports(tree_file: Path, tmp_path: Path) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(TREE.replace("width: 4", "width: 5").replace("name: b", "name: c"))
    old_tree, _ = read_data(tree_file)
    graph = build(read_data(new)[0])
    assert highlight(graph, old_tree) == 2
    changed = [(n.title, n.path, sorted(n.changed_keys)) for n in graph.nodes if n.changed]
    assert changed == [("Block", "encoder", ["width"]), ("Head", "heads.1", ["name"])]
    dot = dot_text(graph)
    assert dot.count('BGCOLOR="#f4c7c3"') == 2 and dot.count('BGCOLOR="#fbe3e1"') == 2
    assert "class n1,n3 changed" in mermaid_text(graph)


def test_the_command_writes_dot_and_mermaid(tree_file: Path, tmp_path: Path, capsys) -> None:
    assert main(["graph", str(tree_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph config {") and out.count(" -> ") == 8
    assert main(["graph", str(tree_file), "-o", str(tmp_path / "g.mmd")]) == 0
    assert (tmp_path / "g.mmd").read_text().startswith("flowchart LR")
    assert "6 nodes, 8 edges" in capsys.readouterr().out
    assert main(["graph", str(tree_file), "-o", str(tmp_path / "g.md")]) == 0
    assert (tmp_path / "g.md").read_text().startswith("```mermaid\nflowchart LR\n")


def test_without_dot_the_message_names_the_package(tree_file: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["graph", str(tree_file), "-o", str(tmp_path / "g.svg")]) == 2
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and err.count("\n") == 1
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed (apt-get install graphviz)")
def test_svg_rendered_by_dot_has_every_node_and_edge(tree_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    assert main(["graph", str(tree_file), "-o", str(out)]) == 0
    svg = out.read_text()
    assert "<svg" in svg
    assert svg.count('class="node"') == 6 and svg.count('class="edge"') == 8
    assert ">Block</text>" in svg and "width = 4" in svg
    png = tmp_path / "g.png"
    assert main(["graph", str(tree_file), "-o", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")


def test_mermaid_labels_survive_line_breaks_and_mermaid_syntax(tmp_path: Path) -> None:
    """A dict key holding a line break, ``|``, ``"`` or ``#quot;`` stays inside its label: every
    node is one line, and the text shows as typed (entity codes), not as Mermaid syntax."""
    path = tmp_path / "keys.yaml"
    path.write_text(
        "micro_config: 1\nmeta: {}\nconfig:\n  _target_: nowhere.Net\n"
        '  table:\n    "a\\nb|c": 1\n    "#quot;": 2\n'
        "  sub:\n    _target_: nowhere.Net\n    table: {}\n    sub: null\n"
    )
    tree, _ = read_data(path)
    text = mermaid_text(build(tree))
    body = text.splitlines()[1:]
    assert all(re.fullmatch(r'  n\d+\[".*"\]|  n\d+ -->\|[^|]*\| n\d+', line) for line in body), text
    assert "a\\nb#124;c" in text and "#35;quot;" in text  # the break shown as \n
    dot = dot_text(build(tree))
    assert "{a\\nb|c: 1" in dot and "\nb" not in dot  # one line per label in DOT too
