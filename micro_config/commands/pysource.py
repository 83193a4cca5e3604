"""Python source text as ``ruff`` would have it: a layout tree for calls and literals (on one
line when it fits, else one item per line with a trailing comma, as ``ruff format`` does), the
literals that come back exactly, imports in isort's order, and fresh variable names."""

from __future__ import annotations

import keyword
import math
import re
import sys
from pathlib import Path
from typing import Any

WIDTH = 88  # ruff's default: the output is stable under ruff format at 88 and at any wider width
INDENT = "    "


# ---------------------------------------------------------------- the code, as a layout tree


class Atom:
    """Text that is never split (its ``text`` is set later for a variable's name)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Ref(Atom):
    """A class named in the code, plus ``suffix`` (``Color`` + ``.RED``); its text is set once
    the code is known to use it, so only what is used is imported."""

    __slots__ = ("cls", "suffix")

    def __init__(self, cls: type, suffix: str) -> None:
        super().__init__("")
        self.cls, self.suffix = cls, suffix


class Pair:
    """``left`` ``sep`` ``right``: a keyword argument or a dict entry."""

    __slots__ = ("left", "sep", "right")

    def __init__(self, left: Any, sep: str, right: Any) -> None:
        self.left, self.sep, self.right = left, sep, right


class Group:
    """A call or literal: on one line when it fits, else one item per line."""

    __slots__ = ("opening", "items", "closing", "one_tuple", "height")

    def __init__(self, opening: Any, items: list[Any], closing: str, one_tuple: bool = False):
        self.opening, self.items, self.closing, self.one_tuple = opening, items, closing, one_tuple
        self.height = 1 + max(map(height, items), default=0)


LAYOUT = (Atom, Pair, Group)


def height(doc: Any) -> int:
    """How deeply the brackets of ``doc`` nest."""
    if type(doc) is Pair:
        return height(doc.right)
    return doc.height if type(doc) is Group else 0


def flat(doc: Any) -> str:
    if isinstance(doc, Atom):
        return doc.text
    if isinstance(doc, Pair):
        return flat(doc.left) + doc.sep + flat(doc.right)
    inner = ", ".join(flat(item) for item in doc.items)
    return opening_text(doc.opening) + inner + ("," if doc.one_tuple else "") + doc.closing


def opening_text(opening: Any) -> str:
    return opening if type(opening) is str else opening.text


def lay(doc: Any, column: int, level: int, trail: int, out: list[str]) -> None:
    """Append ``doc`` to ``out``, starting at ``column`` on a line indented ``level`` times,
    with ``trail`` characters to follow it on its last line."""
    one_line = flat(doc)
    if isinstance(doc, Atom) or column + len(one_line) + trail <= WIDTH:
        out.append(one_line)
    elif isinstance(doc, Pair):
        left = flat(doc.left) + doc.sep
        out.append(left)
        lay(doc.right, column + len(left), level, trail, out)
    elif not doc.items:
        out.append(one_line)
    else:
        inner = INDENT * (level + 1)
        out.append(opening_text(doc.opening) + "\n")
        for item in doc.items:
            out.append(inner)
            lay(item, len(inner), level + 1, 1, out)
            out.append(",\n")
        out.append(INDENT * level + doc.closing)


# ---------------------------------------------------------------- literals and imports


def str_literal(text: str) -> str:
    """A string literal as ruff format writes it: double quotes unless that needs more escapes."""
    literal = repr(text)
    if literal[0] == "'" and text.count('"') <= text.count("'"):
        body = literal[1:-1].replace("\\'", "'").replace('"', '\\"')
        literal = f'"{body}"'
    return literal


def float_literal(value: float) -> str:
    if math.isnan(value):
        return 'float("-nan")' if math.copysign(1.0, value) < 0 else 'float("nan")'
    if math.isinf(value):
        return 'float("-inf")' if value < 0 else 'float("inf")'
    return repr(value).replace("e+", "e")  # 1e+300 as ruff format writes it


class Imports:
    """``from module import Name`` lines (a name taken by another module: ``import module``)."""

    def __init__(self) -> None:
        self.names: dict[str, tuple[str, Any]] = {}  # local name -> (module, object)
        self.modules: set[str] = set()  # modules imported whole

    def name(self, module: str, name: str, obj: Any) -> str:
        held = self.names.setdefault(name, (module, obj))
        if held[1] is obj:
            return name
        self.modules.add(module)
        return f"{module}.{name}"

    def taken(self) -> set[str]:
        return set(self.names) | {m.partition(".")[0] for m in self.modules}

    def lines(self, first_party: set[str]) -> list[str]:
        by_module: dict[str, list[str]] = {}
        for name, (module, _) in self.names.items():
            by_module.setdefault(module, []).append(name)
        sections: dict[int, list[str]] = {}
        for module in self.modules:
            sections.setdefault(_section(module, first_party), []).append(f"\0{module}")
        for module in by_module:
            sections.setdefault(_section(module, first_party), []).append(module)
        out: list[str] = []
        for rank in sorted(sections):
            if out:
                out.append("")
            whole = sorted((m[1:] for m in sections[rank] if m[0] == "\0"), key=_module_key)
            out += [f"import {module}" for module in whole]
            for module in sorted((m for m in sections[rank] if m[0] != "\0"), key=_module_key):
                names = sorted(by_module[module], key=_member_key)
                line = f"from {module} import {', '.join(names)}"
                if len(line) > WIDTH:
                    line = f"from {module} import (\n" + "".join(
                        f"{INDENT}{n},\n" for n in names
                    ) + ")"
                out.append(line)
        return out


def _module_key(module: str) -> tuple[str, str]:
    return module.lower(), module


def _member_key(name: str) -> tuple[int, str, str]:
    """isort's order by type: CONSTANTS, then Classes, then the rest."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower(), name


def _section(module: str, first_party: set[str]) -> int:
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names:
        return 0
    return 2 if top in first_party else 1


def first_party(folder: Path) -> set[str]:
    """Top-level modules of the project holding ``folder`` (where pyproject.toml is), which
    ruff's isort puts in their own section."""
    for root in (folder, *folder.parents):
        if (root / "pyproject.toml").is_file():
            return {p.stem for p in root.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
    return set()


# ---------------------------------------------------------------- statements and names


def statement(name: str, doc: Any) -> str:
    """``name = <doc>`` and a newline, laid out."""
    out = [f"{name} = "]
    lay(doc, len(name) + 3, 0, 0, out)
    out.append("\n")
    return "".join(out)


_NOT_NAME = re.compile(r"[^0-9A-Za-z_]+")


def fresh_name(path: tuple[Any, ...], taken: set[str]) -> str:
    """A new variable name from the path of an object's first place (``model.dataset`` ->
    ``model_dataset``), unlike any name in ``taken`` (which it joins)."""
    base = _NOT_NAME.sub("_", "_".join(map(str, path))).strip("_") or "node"
    if base[0].isdigit():
        base = f"item_{base}"
    name, n = base, 1
    while name in taken or keyword.iskeyword(name):
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name
