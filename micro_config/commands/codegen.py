"""``micro-config code A``: the Python source that rebuilds a config tree.

The tree is read with the project's one traversal (:mod:`micro_config.tree`), in two places:
:func:`census` (``walk``: which objects are held at more than one place, and where each is first
met) and :meth:`Writer._value` (``transform``: the code of each node after its children's). Each
shared object becomes one variable, defined before its first use and named after that first
place (as the snapshot's anchors are), so running the code gives a tree with the same sharing.
Fields are those of the class's plan (:func:`micro_config.plan.plan_of`); one equal to its class
default is left out (``all_fields`` keeps them) unless leaving it out would lose a sharing
relation. Values come back exactly: ``float("nan")``, ``-0.0``, ``Color.RED``, ``Path("a/b")``,
tuples, sets, wrappers. Layout, literals and imports are :mod:`.pysource`'s (ruff-clean).
"""

from __future__ import annotations

import argparse
import builtins
import dataclasses
import enum
import keyword
import math
import pathlib
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ConfigError, short_repr
from ..plan import Factory, plan_of
from ..snapshot.dump import to_data
from ..snapshot.gcpause import gc_paused
from ..tree import expand, is_memoised, is_node, render, transform, walk
from .diff import diff_data
from .pysource import (
    LAYOUT,
    Atom,
    Group,
    Imports,
    Pair,
    Ref,
    first_party,
    float_literal,
    fresh_name,
    height,
    statement,
    str_literal,
)
from .sources import add_allow_options, rebuild_allowed

ROOT_NAME = "config"
MAX_NESTING = 12  # a value nested deeper becomes a variable (Python's parser has a limit)

_NoneType = type(None)
_SCALARS = frozenset({_NoneType, bool, int, float, str})
_CONTAINERS = frozenset({list, tuple, dict, set, frozenset})
_CONCRETE_PATH = type(Path())


# ---------------------------------------------------------------- where each object is held


class Census(NamedTuple):
    """Which objects the tree holds, and how: ``places`` (id -> number of places holding it),
    ``first`` (id -> path of its first place), ``parents`` (id -> ids of the objects holding
    it) and ``kept`` (the objects, in the order first met, so that their ids stay theirs)."""

    places: dict[int, int]
    first: dict[int, Any]  # linked (tree.expand): expanded only for the shared ones
    parents: dict[int, list[int]]
    kept: list[Any]


def _has_identity(value: Any) -> bool:
    """A value that can be held at two places as one object: a node or a container."""
    return is_memoised(value) or type(value) in (set, frozenset)


def census(root: Any) -> Census:
    """Count the places holding each node and container of ``root``, with one pass of the
    project's walk (:func:`micro_config.tree.walk`; a cycle is its ConfigError). The walk
    meets a node or list/tuple/dict again without entering it; a set is a leaf to it, met at
    each of its places."""
    places: dict[int, int] = {}
    first: dict[int, Any] = {}
    parents: dict[int, list[int]] = {}
    kept: list[Any] = []
    for visit in walk(root):
        value = visit.value
        if not _has_identity(value):
            continue
        key = id(value)
        places[key] = places.get(key, 0) + 1
        if key not in first:
            first[key] = visit.where  # (a path per object would be quadratic in depth)
            kept.append(value)
        if visit.parent is not None:
            parents.setdefault(key, []).append(id(visit.parent))
    return Census(places, first, parents, kept)


def _holders(found: Census, shared: Iterable[int]) -> set[int]:
    """Ids of the objects whose subtree holds one of the ``shared`` ones (themselves excluded)."""
    todo = list(shared)
    marked: set[int] = set()
    while todo:
        for parent in found.parents.get(todo.pop(), ()):
            if parent not in marked:
                marked.add(parent)
                todo.append(parent)
    return marked


# ---------------------------------------------------------------- equal to a default


def _quick_same(a: Any, b: Any) -> bool | None:
    """:meth:`Writer._same` where the answer is plain (None: compare the data)."""
    t = type(a)
    if t is not type(b):
        return False
    if t is float:
        return math.copysign(1.0, a) == math.copysign(1.0, b) and (a == b or a != a and b != b)
    if t in _SCALARS or isinstance(a, enum.Enum | pathlib.PurePath):
        return bool(a == b)
    if t in _CONTAINERS and (len(a) != len(b) or not a):
        return len(a) == len(b)
    return None


def _holds_identity(value: Any) -> bool:
    """Is ``value`` (or does it hold) a node or mutable container? A class default like that is
    one object, shared by every instance that leaves the field out."""
    if not _has_identity(value):
        return False
    return any(is_node(v) or type(v) in (list, dict, set) for v in census(value).kept)


def _dump_order(items: Iterable[Any]) -> list[Any]:
    """The order the snapshot writes a set in."""
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda x: (type(x).__name__, repr(x)))


def _field_names(cls: type) -> tuple[str, ...]:
    """The fields a snapshot writes (and the constructor takes), from the class's plan."""
    return plan_of(cls).names


# ---------------------------------------------------------------- the writer


class Writer:
    """Writes the code of one tree: imports, one statement per variable, then the root."""

    def __init__(self, root: Any, *, all_fields: bool = False) -> None:
        self.found = census(root)
        self.holders = _holders(self.found, [id(v) for v in self.found.kept if self._shared(v)])
        self.all_fields = all_fields
        self.imports = Imports()
        self.memo: dict[int, Any] = {}  # id -> the layout standing for that object
        self.statements: list[tuple[Atom, Any, tuple[Any, ...]]] = []  # (name, layout, path)
        self.defaults: dict[tuple[type, str], Any] = {}  # a default_factory's value
        self.default_data: dict[int, Any] = {}  # id of a default -> its normalised data
        self.classes: dict[type, tuple[str, str, Any, str]] = {}  # (module, name, obj, rest)
        self.root = self._value(root)

    # -- values

    def _value(self, value: Any) -> Any:
        """The layout of any value: a leaf in place, a node or container through the project's
        post-order walk (:func:`micro_config.tree.transform`)."""
        if is_memoised(value):
            return transform(value, self._leave, self.memo)
        return self._leaf(value)

    def _leave(self, value: Any, kids: list[tuple[Any, Any]], where: Any) -> Any:
        """The layout of a node or list/tuple/dict whose children are laid out (``kids``: a
        leaf child comes as itself); ``where`` is its place (None: the root), see expand."""
        items: list[Any] = []
        t = type(value)
        node = hasattr(t, "__dataclass_fields__")
        written = set(self._written_fields(value)) if node else ()
        for key, kid in kids:
            if node and key not in written:
                continue
            try:
                doc = kid if type(kid) in LAYOUT else self._leaf(kid)
            except ConfigError as err:
                raise err.under(render(expand((where, key)))) from None
            if height(doc) > MAX_NESTING:
                doc = self._variable(doc, expand((where, key)))
            if node:
                doc = Pair(Atom(key), "=", doc)
            elif isinstance(value, dict):
                doc = Pair(self._value(key), ": ", doc)
            items.append(doc)
        if node:
            doc = Group(self._class(t, "("), items, ")")
        elif t in (list, tuple, dict):
            brackets = {list: "[]", tuple: "()", dict: "{}"}[t]
            doc = Group(brackets[0], items, brackets[1], one_tuple=t is tuple and len(items) == 1)
            if not items:
                doc = Atom(brackets)
        else:  # a ConfigScriptList / ConfigScriptDict: Layers([...]), Heads({...})
            brackets = "{}" if isinstance(value, dict) else "[]"
            inner = [Group(brackets[0], items, brackets[1])] if items else []
            doc = Group(self._class(t, "("), inner, ")")
        if where is not None and self._shared(value):
            doc = self._variable(doc, expand(where))
        return doc

    def _leaf(self, value: Any) -> Any:
        """The code of a value the walk does not enter: a scalar, enum, path or set."""
        t = type(value)
        if t is float:
            return Atom(float_literal(value))
        if t is str:
            return Atom(str_literal(value))
        if t in _SCALARS:
            return Atom(repr(value))
        if isinstance(value, enum.Enum):
            name = value.name
            ok = name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
            return self._class(t, f".{name}" if ok else f"[{str_literal(name)}]")
        if isinstance(value, pathlib.PurePath):
            return self._class(t, f"({str_literal(str(value))})")
        if t is set or t is frozenset:
            known = self.memo.get(id(value))
            if known is not None:
                return known
            items = [self._value(x) for x in _dump_order(value)]
            doc: Any = Group("{", items, "}") if items else Atom(f"{t.__name__}()")
            if t is frozenset and items:
                doc = Group("frozenset(", [doc], ")")
            if self._shared(value):
                doc = self.memo[id(value)] = self._variable(doc, expand(self.found.first[id(value)]))
            return doc
        if isinstance(value, str | int | float):
            raise ConfigError(
                f"cannot write {short_repr(value)}: a {t.__name__} (subclass of a built-in type) "
                "has no code to rebuild it; convert it to the plain type"
            )
        raise ConfigError(f"cannot write a {t.__module__}.{t.__qualname__} as code: configs may "
                          "hold only dataclasses, str, int, float, bool, None, list, tuple, dict, "
                          "set, Enum and Path")

    def _variable(self, doc: Any, path: tuple[Any, ...]) -> Atom:
        """A statement binding ``doc`` to a new variable (named once imports are known)."""
        name = Atom("")
        self.statements.append((name, doc, path))
        return name

    def _shared(self, value: Any) -> bool:
        """Held at several places, as one object that must stay one. A tuple or frozenset is a
        value: one holding only leaves (a class default such as ``(1, 2)`` is one object in
        every instance) is written at each place; a nested one once, so that shared tuples in
        tuples cannot make the code exponentially long."""
        if self.found.places.get(id(value), 1) < 2:
            return False
        return type(value) not in (tuple, frozenset) or any(map(_has_identity, value))

    # -- fields and their defaults

    def _same(self, value: Any, default: Any) -> bool:
        """Would ``value`` and ``default`` write the same snapshot, with the same sharing
        inside? (The snapshot's own comparison: :func:`diff_data` of their normalised data;
        a default's data is made once.)"""
        quick = _quick_same(value, default)
        if quick is not None:
            return quick
        try:
            data = self.default_data.get(id(default))
            if data is None:
                data = self.default_data[id(default)] = to_data(default)
            return not diff_data(to_data(value), data)
        except ConfigError:  # a value the snapshot cannot hold: never the same
            return False

    def _written_fields(self, node: Any) -> list[str]:
        names = _field_names(type(node))
        if self.all_fields:
            return list(names)
        return [name for name in names if not self._is_default(node, name)]

    def _is_default(self, node: Any, name: str) -> bool:
        """Would leaving the field out give the same value, with the same sharing?"""
        cls = type(node)
        default = plan_of(cls).fields[name].default  # a value, MISSING or a Factory
        value = getattr(node, name)
        if id(value) in self.holders or (
            self.found.places.get(id(value), 1) > 1 and type(value) not in (tuple, frozenset)
        ):
            return False  # left out, the field would get an object of its own
        if default is dataclasses.MISSING:
            return False
        if type(default) is not Factory:
            if value is default:
                return True
            # the class's one default object would then stand at every place that leaves it out
            return not _holds_identity(default) and self._same(value, default)
        key = (cls, name)
        if key not in self.defaults:
            try:
                self.defaults[key] = default.make()
            except Exception:  # a factory that fails here: write the value
                self.defaults[key] = _NO_DEFAULT
        made = self.defaults[key]
        return made is not _NO_DEFAULT and self._same(value, made)

    # -- names

    def _class(self, cls: type, suffix: str) -> Ref:
        """``cls`` named in the code, followed by ``suffix``: checked now, imported if used."""
        module, qualname = cls.__module__, cls.__qualname__
        if cls is _CONCRETE_PATH:
            module, qualname = "pathlib", "Path"
        if "<locals>" in qualname or module == "__main__":
            raise ConfigError(f"{module}.{qualname}: the code cannot import a class defined "
                              "in a function or in __main__; move it to a module")
        top, _, rest = qualname.partition(".")
        owner = sys.modules.get(module)
        obj: Any = vars(owner).get(top) if owner is not None else None
        found = obj
        for part in rest.split(".") if rest else ():
            found = getattr(found, part, None)
        if found is not cls and not (cls is _CONCRETE_PATH and found is Path):
            raise ConfigError(f"{module}.{qualname}: not importable under that name")
        if cls not in self.classes:
            self.classes[cls] = (_public_module(module, top, obj), top, obj, rest)
        return Ref(cls, suffix)

    def _used(self) -> tuple[list[tuple[Atom, Any, tuple[Any, ...]]], list[Ref]]:
        """The statements the root needs (a value left out as a default may have made one that
        nothing uses), in their order, and the classes the code names."""
        index = {id(name): i for i, (name, _, _) in enumerate(self.statements)}
        needed: set[int] = set()
        refs: list[Ref] = []
        seen: set[int] = set()
        todo = [self.root]
        while todo:
            doc = todo.pop()
            if id(doc) in seen:
                continue
            seen.add(id(doc))
            if type(doc) is Pair:
                todo += [doc.right, doc.left]
            elif type(doc) is Group:
                if type(doc.opening) is Ref:
                    refs.append(doc.opening)
                todo.extend(reversed(doc.items))
            elif type(doc) is Ref:
                refs.append(doc)
            elif id(doc) in index:
                needed.add(index[id(doc)])
                todo.append(self.statements[index[id(doc)]][1])
        return [self.statements[i] for i in sorted(needed)], refs

    def source(self, docstring: str | None = None) -> str:
        """The module's text: imports and names are settled here, once the code is known."""
        statements, refs = self._used()
        for ref in refs:
            module, top, obj, rest = self.classes[ref.cls]
            name = self.imports.name(module, top, obj)
            ref.text = f"{name}.{rest}{ref.suffix}" if rest else f"{name}{ref.suffix}"
        taken = self.imports.taken() | set(dir(builtins)) | {ROOT_NAME}
        for name, _, path in statements:
            name.text = fresh_name(path, taken)
        parts = [f'"""{docstring}"""\n'] if docstring else []
        lines = self.imports.lines(first_party(Path.cwd()))
        if lines:
            parts.append("\n".join(lines) + "\n")
        body = [statement(name.text, doc) for name, doc, _ in statements]
        body.append(statement(ROOT_NAME, self.root))
        parts.append("".join(body))
        return "\n".join(parts)


_NO_DEFAULT = object()


def _public_module(module: str, name: str, obj: Any) -> str:
    """The shortest imported package of ``module`` that exposes ``obj`` as ``name`` itself
    (``schemas.train.TrainLoop`` -> ``schemas``)."""
    parts = module.split(".")
    for end in range(1, len(parts)):
        candidate = sys.modules.get(".".join(parts[:end]))
        if candidate is not None and vars(candidate).get(name) is obj:
            return ".".join(parts[:end])
    return module


def python_source(root: Any, *, all_fields: bool = False, docstring: str | None = None) -> str:
    """Python source whose run binds ``config`` to a tree equal to ``root`` (the same snapshot
    text, the same sharing). Fields equal to their class default are left out unless
    ``all_fields``."""
    with gc_paused():  # as a dump: many objects made that live on
        return Writer(root, all_fields=all_fields).source(docstring)


# ---------------------------------------------------------------- the subcommand

_EXAMPLES = """\
examples:
  micro-config code snapshots/run.yaml > my_run.py
  python -m lm_demo.train --config my_run.py:config max_steps=100
  micro-config code checkpoints/run/step_000200 --all
  micro-config code schemas.experiments:tiny

The code binds the variable 'config'. An object held at several places (a shared node, list,
dict or set) becomes one variable, named after its first place as in the snapshot's anchors.
Classes are imported as validate imports them: from the project's own packages (unless
--no-project) and those --allow and $MICRO_CONFIG_ALLOW name; the printed code imports them.
exit status: 0 OK, 2 error."""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "code",
        help="print Python code that rebuilds a config",
        description="Print Python source that rebuilds A: imports, one variable per shared "
        "object, keyword arguments; fields equal to the class default are left out.\n\nA may be "
        "a snapshot (.yaml/.yml/.json), a checkpoint folder, module:attr or path/to/file.py:attr.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("a", metavar="A", help="the config to write as code")
    p.add_argument("--all", action="store_true", dest="all_fields",
                   help="write every field, also those equal to the class default")
    add_allow_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    root, warned, _ = rebuild_allowed(args)
    for message in warned:
        print("micro-config: warning: " + " ".join(message.split()), file=sys.stderr)
    origin = args.a if re.fullmatch(r"[\w./:+-]+", args.a) else "A"
    sys.stdout.write(python_source(
        root, all_fields=args.all_fields, docstring=f"{origin}, as code (micro-config code)."
    ))
    return 0
