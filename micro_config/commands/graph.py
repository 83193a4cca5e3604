"""``micro-config graph A [B] [-o FILE]``: the config tree as a picture.

Works on normalised data (docs/format.md), like ``diff``: no class is imported to read a file.
Each distinct node (a config node, a wrapper, or a plain list/dict reached from two places) is
drawn once, with its leaves listed inside it; an edge goes from every place that holds a node,
so the sharing the snapshot encodes is visible. Plain lists/dicts held at one place are not
nodes: their items are listed (``layers.0``) or linked (edge ``layers.0``) from the node above.
With ``B``, the graph is B's, and the nodes holding what ``diff A B`` reports are highlighted.
Output: Graphviz DOT (always), SVG/PNG through the ``dot`` program, or Mermaid text.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..snapshot.format import AGAIN, FIRST, LEAF, walk
from .diff import children, diff_data, entries, tag, walk_items
from .report import render
from .sources import load_source

EXAMPLES = """\
examples:
  micro-config graph snapshots/run.yaml -o run.svg
  micro-config graph snapshots/run_a.yaml snapshots/run_b.yaml -o changes.png
  micro-config graph schemas:default_train --format mermaid >> notes.md
  micro-config graph checkpoints/run/step_000100 | dot -Tpdf -o run.pdf

The output format follows -o's suffix (.dot/.gv, .svg, .png, .mmd/.md) unless --format says.
SVG and PNG need Graphviz's dot program (Debian/Ubuntu: apt-get install graphviz)."""

FORMATS = ("dot", "svg", "png", "mermaid")
_SUFFIXES = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".mmd": "mermaid", ".md": "mermaid"}
LEAF_WIDTH = 60  # characters of a leaf's value shown


@dataclass
class Node:
    id: str
    title: str  # class name, or "list"/"dict" for a shared plain container
    path: str  # the first place it is held
    lines: list[tuple[str, str]] = field(default_factory=list)  # (key, rendered value)
    changed: bool = False
    changed_keys: set[str] = field(default_factory=set)
    removed: list[str] = field(default_factory=list)


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[tuple[str, str, str]]  # (from id, to id, key)
    by_data: dict[int, Node]  # id of the data object -> its node
    root: Any


def build(tree: Any) -> Graph:
    """The graph of normalised data: one node per distinct node, an edge per place (the
    format's one walk over data, ``format.walk``: iterative, each node expanded once)."""
    shared = _shared(tree)
    graph = Graph([], [], {}, tree)

    def is_node(value: Any) -> bool:
        if type(value) is not dict and type(value) is not list:
            return False
        return id(value) in shared or (tag(value) is not None and entries(value) is not None)

    def new_node(value: Any, path: str) -> Node:
        found = tag(value)
        title = found[1].rpartition(".")[2] if found else type(value).__name__
        node = Node(f"n{len(graph.nodes)}", title, path)
        graph.nodes.append(node)
        graph.by_data[id(value)] = node
        return node

    def expand(value: Any) -> Any:
        """What the walk opens: the root, nodes, and plain containers held once that are
        not short dicts of plain values (those are listed inline, key by key)."""
        kids = entries(value)
        if kids is None or not (value is tree or is_node(value) or not _is_leafy(value)):
            return None
        return walk_items(kids)

    # each opened place (the walk's linked path, kept alive) -> the node its entries are
    # listed in, the key prefix inside that node, and its dotted path
    opened: dict[int, tuple[Any, Node, str, str]] = {}
    for where, value, what in walk(tree, expand):
        if where is None:
            opened[id(None)] = (None, new_node(tree, ""), "", "")
            continue
        _, owner, prefix, path = opened[id(where[0])]
        key = where[1]
        rel = f"{prefix}.{key}" if prefix else key
        here = f"{path}.{key}" if path else key
        if is_node(value):
            known = graph.by_data.get(id(value))
            target = known if known is not None else new_node(value, here)
            graph.edges.append((owner.id, target.id, rel))
            if known is None and what is LEAF:  # a shared list of plain values
                target.lines.append(("value", render(value, LEAF_WIDTH)))
            elif known is None:
                opened[id(where)] = (where, target, "", here)
        elif what is FIRST:  # a container held once: its entries listed in the owner
            opened[id(where)] = (where, owner, rel, here)
        else:
            owner.lines.append((rel, render(value, LEAF_WIDTH)))
    return graph


def _is_leafy(value: Any) -> bool:
    """A plain dict of plain values: one line (``key = {a: 1}``), not one line per key."""
    kids = entries(value)
    return tag(value) is None and isinstance(kids, dict) and not any(
        entries(v) is not None for v in kids.values()
    ) and len(kids) <= 4


def _shared(tree: Any) -> set[int]:
    """Ids of the containers reached from more than one place (each walked once), plain lists
    and dicts of plain values included."""
    seen: set[int] = set()
    shared: set[int] = set()
    for _, value, what in walk(tree, children):
        if what is AGAIN:
            shared.add(id(value))
        elif what is LEAF and (type(value) is dict or type(value) is list):
            if id(value) in seen:
                shared.add(id(value))
            seen.add(id(value))
    return shared


def highlight(graph: Graph, old: Any) -> int:
    """Mark the nodes (and lines) holding what ``diff`` reports from ``old`` to the graph's
    tree; returns the number of changes."""
    changes = diff_data(old, graph.root)
    for change in changes:
        for path in (change.path, *change.also):
            node, rest = _locate(graph, path)
            node.changed = True
            if rest and change.kind == "removed":
                node.removed.append(rest)
            elif rest:
                node.changed_keys.add(rest)
    return len(changes)


def _locate(graph: Graph, path: str) -> tuple[Node, str]:
    """The node holding ``path`` in the graph's tree, and the rest of the path inside it."""
    value = graph.root
    node, rest = graph.by_data[id(value)], []
    for part in path.split(".") if path else []:
        kids = entries(value)
        child: Any = None
        if isinstance(kids, dict) and part in kids:
            child = kids[part]
        elif isinstance(kids, list) and part.isdigit() and int(part) < len(kids):
            child = kids[int(part)]
        else:
            rest.append(part)
            break
        rest.append(part)
        value = child
        found = graph.by_data.get(id(value))
        if found is not None:
            node, rest = found, []
    return node, ".".join(rest)


# ---------------------------------------------------------------- writing


def _visible_breaks(text: str) -> str:
    """A line break inside a key or path (a dict key may hold one) shown as the two characters
    ``\\n``, as a string value's repr shows it: one label line, and ``a\\nb`` is not ``a b``."""
    return _LINE_BREAKS.sub(lambda m: repr(m.group())[1:-1], text)


def _html(text: str) -> str:
    text = _visible_breaks(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def dot_text(graph: Graph, title: str = "") -> str:
    out = [
        "digraph config {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=11'
        + (f', label="{_dot_str(title)}", labelloc=t' if title else "") + "];",
        '  node [shape=plaintext, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    for node in graph.nodes:
        head = "#f4c7c3" if node.changed else "#d8e4f4"
        rows = [
            f'<TR><TD BGCOLOR="{head}"><B>{_html(node.title)}</B>'
            + (f'<BR/><FONT POINT-SIZE="8">{_html(node.path)}</FONT>' if node.path else "")
            + "</TD></TR>"
        ]
        for key, value in node.lines:
            color = ' BGCOLOR="#fbe3e1"' if key in node.changed_keys else ""
            rows.append(f'<TR><TD ALIGN="LEFT"{color}>{_html(key)} = {_html(value)}</TD></TR>')
        for key in node.removed:
            rows.append(f'<TR><TD ALIGN="LEFT" BGCOLOR="#fbe3e1"><S>{_html(key)}</S> (removed)</TD></TR>')
        table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">' + "".join(rows)
        out.append(f"  {node.id} [label=<{table}</TABLE>>];")
    for src, dst, key in graph.edges:
        out.append(f'  {src} -> {dst} [label="{_dot_str(key)}"];')
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_str(text: str) -> str:
    return _visible_breaks(text).replace("\\", "\\\\").replace('"', '\\"')


def _mermaid_str(text: str) -> str:
    """Text safe inside a Mermaid label: markup and Mermaid's own ``"``, ``|`` and ``#`` as
    entity codes, line breaks shown as ``\\n``."""
    text = _visible_breaks(text).replace("#", "#35;").replace("&", "&amp;")
    return text.replace("<", "&lt;").replace(">", "&gt;").replace('"', "#quot;").replace("|", "#124;")


_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def mermaid_text(graph: Graph) -> str:
    out = ["flowchart LR"]
    for node in graph.nodes:
        parts = [f"<b>{_mermaid_str(node.title)}</b>"]
        parts += [f"{_mermaid_str(k)} = {_mermaid_str(v)}" for k, v in node.lines]
        parts += [f"<s>{_mermaid_str(k)}</s> (removed)" for k in node.removed]
        out.append(f'  {node.id}["{"<br/>".join(parts)}"]')
    for src, dst, key in graph.edges:
        out.append(f"  {src} -->|{_mermaid_str(key)}| {dst}")
    changed = [n.id for n in graph.nodes if n.changed]
    if changed:
        out.append("  classDef changed fill:#f4c7c3,stroke:#b3261e")
        out.append(f"  class {','.join(changed)} changed")
    return "\n".join(out) + "\n"


def render_with_dot(dot: str, fmt: str) -> bytes:
    """SVG or PNG bytes from the ``dot`` program (a ConfigError naming the package if absent)."""
    program = shutil.which("dot")
    if program is None:
        raise ConfigError(
            f"writing {fmt.upper()} needs Graphviz's 'dot' program, which is not installed "
            "(Debian/Ubuntu: apt-get install graphviz); --format dot or mermaid need nothing"
        )
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=dot.encode(), capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as err:
        raise ConfigError(f"running dot failed: {err}") from None
    if done.returncode != 0:
        raise ConfigError(f"dot failed: {' '.join(done.stderr.decode(errors='replace').split())[:300]}")
    return done.stdout


# ---------------------------------------------------------------- the command


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "graph",
        help="draw the config tree (DOT, SVG, PNG, Mermaid)",
        description="Draw the tree of A: each distinct node once with its leaves inside, an "
        "edge from every place that holds it. With B, draw B and highlight what differs from "
        "A. A and B: a snapshot, a checkpoint folder or module:attr (files import no class).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("a", metavar="A", help="the config to draw (with B: the old one)")
    p.add_argument("b", metavar="B", nargs="?", help="the new config: drawn, changes highlighted")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (atomically), not stdout")
    p.add_argument("--format", choices=FORMATS, help="default: from -o's suffix, else dot")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .schema import write_file

    fmt = args.format or (_SUFFIXES.get(Path(args.output).suffix.lower()) if args.output else None) or "dot"
    if fmt == "png" and args.output is None:
        raise ConfigError("PNG is binary: give -o FILE.png")
    tree, _ = load_source(args.b if args.b is not None else args.a)
    graph = build(tree)
    title = ""
    if args.b is not None:
        old, _ = load_source(args.a)
        count = highlight(graph, old)
        title = f"{args.b} (changes from {args.a}: {count})"
    if fmt == "mermaid":
        text = mermaid_text(graph)
        if args.output is not None and Path(args.output).suffix.lower() == ".md":
            text = f"```mermaid\n{text}```\n"  # renders in GitHub/GitLab Markdown as is
        data = text.encode()
    else:
        dot = dot_text(graph, title)
        data = dot.encode() if fmt == "dot" else render_with_dot(dot, fmt)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_file(Path(args.output), data)
        print(f"wrote {args.output} ({len(graph.nodes)} nodes, {len(graph.edges)} edges)")
    return 0
