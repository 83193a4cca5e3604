"""A JSON Schema (draft 2020-12) of the snapshot format for one root class (docs/format.md).

``json_schema(cls)`` describes both a snapshot document (``micro_config``, ``meta``,
``versions``, ``config``) and the bare tree, in the two spellings the format has: YAML as a
safe loader parses it (anchors already resolved) and JSON as written (``_id_``/``_ref_`` for
shared objects, the ``float`` marker for nan/inf, the ``list`` marker for a shared list). Every
config class is one ``$defs`` entry named by its ``_target_``, referenced by ``$ref``; unknown
fields are refused and required fields required, as the loader does. Fields come from the
per-class plan (:func:`class_plan` is the one place that reads it); descriptions from the
class docstring and each field's ``metadata["doc"]`` (or ``"help"``) or trailing comment.

Known limits (the loader is the judge): JSON Schema cannot tell ``1.0`` from ``1``, so an int
field accepts ``1.0``; in a union of look-alikes the schema accepts both the plain and the
marker spelling of each arm.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import io
import pathlib
import tokenize
import types
import typing
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from ..plan import plan_of, target_name
from ..script import ConfigScript, ConfigScriptDict, ConfigScriptList
from .format import FORMAT_VERSION, ID, REF, TARGET, TYPE, VALUE
from .migrate import VERSIONS, version_of

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_NoneType = type(None)
_UNIONS = (typing.Union, types.UnionType)
_SEQUENCES = (list, typing.Sequence, typing.MutableSequence, typing.Iterable, typing.Collection)
_MAPPINGS = (dict, typing.Mapping, typing.MutableMapping)
_SETS = (set, frozenset, typing.AbstractSet, typing.MutableSet)

_REF = {"$ref": "#/$defs/_ref_"}
_DEFS_COMMON: dict[str, Any] = {
    "_ref_": {
        "description": "JSON: a later place of a shared object (its first place has this _id_)",
        "type": "object",
        "properties": {REF: {"type": "string"}},
        "required": [REF],
        "additionalProperties": False,
    },
    "nonfinite": {
        "description": "JSON: a float that JSON cannot write (YAML writes .nan, .inf, -.inf)",
        "type": "object",
        "properties": {TYPE: {"const": "float"}, VALUE: {"enum": ["nan", "inf", "-inf"]}},
        "required": [TYPE, VALUE],
        "additionalProperties": False,
    },
}


class FieldPlan(typing.NamedTuple):
    name: str
    annotation: Any
    required: bool


def class_plan(cls: type) -> list[FieldPlan]:
    """The init fields of a config class, from its per-class plan (the only place this module
    reads the plan, so a change of the plan's API is met here)."""
    plan = plan_of(cls)
    return [FieldPlan(name, f.annotation, f.required) for name, f in plan.fields.items()]


def json_schema(cls: type, *, schema_id: str | None = None) -> dict[str, Any]:
    """The JSON Schema of snapshots (documents and bare trees) whose root is a ``cls``."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ConfigError(f"{cls!r} is not a config class (a dataclass)")
    builder = _Builder()
    root = builder.node_ref(cls, required_target=False, ref=False)  # the root is never a _ref_
    versions = {  # every known class at most at its version (1 unversioned): newer is refused
        target_name(c): {"type": "integer", "minimum": 1, "maximum": version_of(c)}
        for c in sorted(builder.classes, key=target_name)
    }
    document = {
        "description": "A snapshot document: format version, provenance, class versions, tree",
        "type": "object",
        "properties": {
            "micro_config": {"const": FORMAT_VERSION, "description": "the format version"},
            "meta": {"type": ["object", "null"], "description": "provenance: created, argv, git, versions"},
            VERSIONS: {
                "type": ["object", "null"],
                "description": "the version of each versioned class (absent: version 1)",
                "properties": versions,
                "additionalProperties": {"type": "integer", "minimum": 1},
            },
            "config": root,
            "$schema": {"type": "string", "description": "an editor's link to this schema (ignored)"},
        },
        "required": ["micro_config", "config"],
        "additionalProperties": False,  # the loader refuses another block (a mistyped confg:)
        "not": {"required": [TARGET]},
    }
    out: dict[str, Any] = {"$schema": DRAFT}
    if schema_id:
        out["$id"] = schema_id
    out.update(
        title=f"micro_config snapshot of {target_name(cls)}",
        description=f"A snapshot document, or the bare tree, of {target_name(cls)}.",
        anyOf=[{"$ref": "#/$defs/_document_"}, root],
        **{"$defs": {"_document_": document, **_DEFS_COMMON, **builder.defs}},
    )
    return out


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}
        self.classes: set[type] = set()

    # -- config classes

    def node_ref(self, cls: type, *, required_target: bool, ref: bool = True) -> dict[str, Any]:
        """A place annotated ``cls``: the class itself (``_target_`` optional unless
        ``required_target``) or any known subclass (``_target_`` required), or (``ref``) a
        ``_ref_``."""
        arms = [self._one(cls, required_target)]
        arms += [self._one(sub, True) for sub in _subclasses(cls)]
        return {"anyOf": [*arms, _REF] if ref else arms}

    def _one(self, cls: type, required_target: bool) -> dict[str, Any]:
        name = self._define(cls)
        ref = {"$ref": f"#/$defs/{name}"}
        return {**ref, "required": [TARGET]} if required_target else ref

    def _define(self, cls: type) -> str:
        name = target_name(cls)
        if name in self.defs:
            return name
        self.classes.add(cls)
        self.defs[name] = {}  # placeholder: a class may refer to itself
        docs = field_docs(cls)
        properties: dict[str, Any] = {
            TARGET: {"const": name},
            ID: {"type": "string", "description": "JSON: names this node for later _ref_s"},
        }
        required = []
        for f in class_plan(cls):
            value = self.value(f.annotation)
            if docs.get(f.name):
                value = {**value, "description": docs[f.name]}
            properties[f.name] = value
            if f.required:
                required.append(f.name)
        definition: dict[str, Any] = {"title": cls.__qualname__}
        doc = class_doc(cls)
        if doc:
            definition["description"] = doc
        definition.update(type="object", properties=properties, additionalProperties=False)
        if required:
            definition["required"] = required
        self.defs[name] = definition
        return name

    # -- values

    def value(self, annotation: Any) -> dict[str, Any]:
        ann = _bare(annotation)
        if ann is Any or ann is object or isinstance(ann, str | typing.ForwardRef | typing.TypeVar):
            return {}
        if ann is None or ann is _NoneType:
            return {"type": "null"}
        origin, args = typing.get_origin(ann), typing.get_args(ann)
        if origin in _UNIONS:
            return _any_of([self.value(arm) for arm in args])
        if origin is typing.Literal:
            return {"enum": list(args)}
        cls = origin if origin is not None else ann
        if not isinstance(cls, type):
            return {}
        simple = _SIMPLE.get(cls)
        if simple is not None:
            return simple()
        if dataclasses.is_dataclass(cls):
            return self.node_ref(cls, required_target=False)
        if issubclass(cls, enum.Enum):
            names = list(cls.__members__)
            marker = _marker(target_name(cls), {"enum": names})
            return {"anyOf": [{"enum": names}, marker]}
        if issubclass(cls, pathlib.PurePath):
            return {"anyOf": [{"type": "string"}, _marker("path", {"type": "string"})]}
        if issubclass(cls, ConfigScriptList):
            return self._array(self.value(args[0]) if args else {}, wrapper=cls)
        if issubclass(cls, ConfigScriptDict):
            return self._mapping(self.value(args[-1]) if args else {}, wrapper=cls)
        if cls in _MAPPINGS or issubclass(cls, dict):
            if len(args) != 2:
                return self._mapping({})
            return self._mapping(self.value(args[1]), key=self.value(args[0]))
        if cls is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                items = self._array(self.value(args[0]))
            elif args == ((),) or not args:
                items = self._array({}, fixed=[] if args else None)
            else:
                items = self._array({}, fixed=[self.value(a) for a in args])
            return _any_of([items, _marker("tuple", items)])
        if cls in _SEQUENCES or issubclass(cls, list):
            return self._array(self.value(args[0]) if args else {})
        if cls in _SETS:
            items = self._array(self.value(args[0]) if args else {})
            kinds = ["frozenset"] if cls is frozenset else ["set"]
            return _any_of([items, *(_marker(k, items) for k in kinds)])
        return {}  # a type the format writes as it can (the loader's dacite judges)

    def _array(
        self, item: dict[str, Any], *, fixed: list[Any] | None = None, wrapper: type | None = None
    ) -> dict[str, Any]:
        plain: dict[str, Any] = {"type": "array"}
        if fixed is not None:
            plain.update(prefixItems=fixed, items=False, minItems=len(fixed))
        elif item:
            plain["items"] = item
        shared = {
            "type": "object",
            "properties": {TYPE: {"const": "list"}, ID: {"type": "string"}, VALUE: plain},
            "required": [TYPE, VALUE],  # (the writer always adds _id_; the loader needs none)
            "additionalProperties": False,
        }
        arms = [plain, shared, _REF]
        if wrapper is not None:
            arms.append(_marker(target_name(wrapper), plain))
        return {"anyOf": arms}

    def _mapping(
        self, value: dict[str, Any], *, key: dict[str, Any] | None = None, wrapper: type | None = None
    ) -> dict[str, Any]:
        names: dict[str, Any] = {"not": {"enum": [TARGET, TYPE, REF]}}
        if key:  # a plain object's keys are text, read by the key's own rule (an Enum's names,
            # a Path; an int never: dict[int, str] is written as pairs)
            names = {"anyOf": [{"const": ID}, {"allOf": [names, key]}]}
        plain = {
            "type": "object",
            "properties": {ID: {"type": "string"}},
            "propertyNames": names,
            "additionalProperties": value,
        }
        pairs = _marker("dict", {"type": "array", "items": {
            "type": "array", "prefixItems": [key or {}, value], "items": False, "minItems": 2}})
        arms = [plain, pairs, _REF]
        if wrapper is not None:
            arms.append(_marker(target_name(wrapper), plain))
        return {"anyOf": arms}


def _float() -> dict[str, Any]:
    return {"anyOf": [{"type": "number"}, {"$ref": "#/$defs/nonfinite"}]}


_SIMPLE: dict[type, Callable[[], dict[str, Any]]] = {
    bool: lambda: {"type": "boolean"},
    int: lambda: {"type": "integer"},
    float: _float,
    str: lambda: {"type": "string"},
}


def _marker(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {TYPE: {"const": kind}, ID: {"type": "string"}, VALUE: payload},
        "required": [TYPE, VALUE],
        "additionalProperties": False,
    }


def _any_of(arms: list[dict[str, Any]]) -> dict[str, Any]:
    flat: list[dict[str, Any]] = []
    for arm in arms:
        if arm == {}:
            return {}
        for one in arm["anyOf"] if set(arm) == {"anyOf"} else [arm]:
            if one not in flat:
                flat.append(one)
    return flat[0] if len(flat) == 1 else {"anyOf": flat}


def _bare(annotation: Any) -> Any:
    """The annotation without ``Annotated``/``ClassVar``/``Final`` wrappers."""
    while typing.get_origin(annotation) in (typing.Annotated, typing.ClassVar, typing.Final):
        annotation = typing.get_args(annotation)[0]
    return annotation


def _subclasses(cls: type) -> list[type]:
    """Known dataclass subclasses of ``cls`` (the ones imported when the schema is made)."""
    out: list[type] = []
    todo = list(cls.__subclasses__())
    while todo:
        sub = todo.pop(0)
        if sub not in out:
            if dataclasses.is_dataclass(sub) and "<locals>" not in sub.__qualname__:
                out.append(sub)
            todo.extend(sub.__subclasses__())
    return sorted(out, key=target_name)


# ---------------------------------------------------------------- descriptions


def class_doc(cls: type) -> str:
    """The class's own docstring, cleaned (not dataclass's generated signature)."""
    doc = cls.__dict__.get("__doc__")
    if not doc or doc.startswith(f"{cls.__name__}(") or cls in (ConfigScript,):
        return ""
    return inspect.cleandoc(doc)


def field_docs(cls: type) -> dict[str, str]:
    """Each field's description: ``metadata["doc"]`` (or ``"help"``/``"description"``), else the
    comment that ends its line in the class body."""
    out = _comments(cls)
    for f in dataclasses.fields(cls):
        for key in ("doc", "help", "description"):
            text = f.metadata.get(key) if f.metadata else None
            if isinstance(text, str) and text:
                out[f.name] = text
                break
    return out


def _comments(cls: type) -> dict[str, str]:
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    names = {f.name for f in dataclasses.fields(cls)}
    found: dict[str, str] = {}
    line_name: dict[int, str] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(inspect.cleandoc("\n" + source)).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return {}
    for i, tok in enumerate(tokens):
        if (
            tok.type == tokenize.NAME and tok.string in names and tok.start[1] == 4
            and i + 1 < len(tokens) and tokens[i + 1].string == ":"
        ):
            line_name[tok.start[0]] = tok.string
        elif tok.type == tokenize.COMMENT and tok.start[0] in line_name:
            text = tok.string.lstrip("#").strip()
            if text.startswith("noqa"):
                text = text.partition(" - ")[2].strip()
            if text:
                found[line_name[tok.start[0]]] = text
    return found
