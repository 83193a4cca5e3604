"""Normalised data -> YAML or JSON text (docs/format.md).

YAML: libyaml events made here (readable anchors, no Python representer, strings quoted where
any YAML 1.1/1.2 parser would read another type). JSON: ``json.dumps`` (compact, by its C
encoder; ``indent=`` on request) of JSON-ready data: made by the dump in its one pass
(:func:`encode_json`), or by :func:`json_text` from normalised data read back from a file
(``show``, ``diff``: ``_id_``/``_ref_`` on shared objects and markers for nan/inf added here).
Data nested past the format's depth limit is refused, so whatever is written reads back.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sys
from typing import Any

from ..errors import ConfigError, short_repr
from .format import (
    DEPTH_LIMIT,
    ID,
    REF,
    TARGET,
    TYPE,
    VALUE,
    Namer,
    child_key,
    data_children,
    depth_error,
    find,
    not_utf8,
    shared_ids,
    walk,
)
from .gcpause import gc_paused, recursion_room


@functools.cache
def _yaml_kit() -> tuple[Any, ...]:
    import yaml

    dumper = getattr(yaml, "CDumper", None) or yaml.Dumper
    resolvers = yaml.resolver.Resolver.yaml_implicit_resolvers
    return yaml, dumper, resolvers


_STR_EVENTS: dict[str, Any] = {}
# Strings a YAML 1.2 core-schema parser would read as null/bool/int/float, or a full YAML 1.1
# parser as a bool (``y``, ``N``: PyYAML's resolver leaves those out), are quoted as well, so
# the file means the same to every parser.
_YAML12 = re.compile(
    r"y|Y|n|N|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)


def _str_event(s: str) -> Any:
    """A scalar event for a string, quoted when a YAML 1.1 resolver would read it as another
    type ("yes", "1e3", "null", "", "~", "0x10", ...); cached, since keys repeat."""
    event = _STR_EVENTS.get(s)
    if event is None:
        yaml, _, resolvers = _yaml_kit()
        candidates = resolvers.get(s[0] if s else "", []) + resolvers.get(None, [])
        plain = not any(regexp.match(s) for _, regexp in candidates) and not _YAML12.fullmatch(s)
        event = yaml.ScalarEvent(None, None, (plain, True), s)
        if len(_STR_EVENTS) > 100_000:
            _STR_EVENTS.clear()
        _STR_EVENTS[s] = event
    return event


def float_text(x: float) -> str:
    """PyYAML's spelling of a float: ``.nan``, ``.inf``, ``-.inf``, or ``repr`` with a ``.0``
    before a bare exponent (``1e+17`` -> ``1.0e+17``) so YAML 1.1 reads it as a float."""
    if x != x:
        return ".nan"
    if x in (math.inf, -math.inf):
        return ".inf" if x > 0 else "-.inf"
    text = repr(x).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


class _Events:
    """Data -> a list of libyaml events, anchors on first places, aliases elsewhere."""

    def __init__(self, shared: set[int]) -> None:
        yaml = _yaml_kit()[0]
        self.yaml = yaml
        self.namer = Namer(shared)
        self.out: list[Any] = []
        self.depth = 0
        self.map_start = yaml.MappingStartEvent(None, None, True, flow_style=False)
        self.seq_start = yaml.SequenceStartEvent(None, None, True, flow_style=False)
        self.map_end = yaml.MappingEndEvent()
        self.seq_end = yaml.SequenceEndEvent()
        plain = (True, False)
        self.consts = {
            True: yaml.ScalarEvent(None, None, plain, "true"),
            False: yaml.ScalarEvent(None, None, plain, "false"),
            None: yaml.ScalarEvent(None, None, plain, "null"),
        }

    def scalar(self, d: Any) -> Any:
        t = type(d)
        if t is str:
            return _STR_EVENTS.get(d) or _str_event(d)
        if t is int:
            return self.yaml.ScalarEvent(None, None, (True, False), str(d))
        if t is float:
            return self.yaml.ScalarEvent(None, None, (True, False), float_text(d))
        if t is bool or d is None:
            return self.consts[d]
        raise ConfigError(f"cannot write {short_repr(d)} as YAML")

    def value(self, d: Any) -> None:
        t = type(d)
        if t is dict:
            self.mapping(d)
        elif t is list:
            self.sequence(d)
        else:
            self.out.append(self.scalar(d))

    def _start(self, d: Any, plain_event: Any, cls: Any) -> bool:
        """Append the start event (anchored, or an alias); False when it was an alias."""
        namer = self.namer
        if id(d) in namer.shared:
            name = namer.names.get(id(d))
            if name is not None:
                self.out.append(self.yaml.AliasEvent(name))
                return False
            self.out.append(cls(namer.new(d), None, True, flow_style=False))
            return True
        self.out.append(plain_event)
        return True

    def mapping(self, d: dict[Any, Any]) -> None:
        if not self._start(d, self.map_start, self.yaml.MappingStartEvent):
            return
        self.deeper()
        out, stack, str_events = self.out, self.namer.stack, _STR_EVENTS
        for k, v in d.items():
            out.append(str_events.get(k) or _str_event(k) if type(k) is str else self.scalar(k))
            t = type(v)
            if t is dict or t is list:
                segment = child_key(d, k)
                if segment is None:
                    self.value(v)
                else:
                    stack.append(segment)
                    self.value(v)
                    stack.pop()
            elif t is str:
                out.append(str_events.get(v) or _str_event(v))
            else:
                out.append(self.scalar(v))
        out.append(self.map_end)
        self.depth -= 1

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > DEPTH_LIMIT:
            raise depth_error(writing=True).under(".".join(map(str, self.namer.stack)))

    def sequence(self, d: list[Any]) -> None:
        if not self._start(d, self.seq_start, self.yaml.SequenceStartEvent):
            return
        self.deeper()
        out, stack = self.out, self.namer.stack
        for index, v in enumerate(d):
            t = type(v)
            if t is dict or t is list:
                stack.append(index)
                self.value(v)
                stack.pop()
            else:
                out.append(self.scalar(v))
        out.append(self.seq_end)
        self.depth -= 1


def _emit_yaml(events: list[Any]) -> str:
    yaml, dumper, _ = _yaml_kit()
    yaml_events = [yaml.StreamStartEvent(), yaml.DocumentStartEvent(explicit=False)]
    yaml_events += events
    yaml_events += [yaml.DocumentEndEvent(explicit=False), yaml.StreamEndEvent()]
    return yaml.emit(yaml_events, Dumper=dumper, allow_unicode=True)


def _emit_checked(events: list[Any], data: Any) -> str:
    try:
        return _emit_yaml(events)
    except UnicodeEncodeError:
        raise _unwritable(data) from None


def yaml_text(data: Any, shared: set[int] | None = None, *, document: bool = False) -> str:
    """YAML text of normalised data. With ``document=True`` the top-level mapping's keys
    (``micro_config``, ``meta``, ``config``) add nothing to anchor names; the mapping itself
    counts as a level of depth, as the reader counts it."""
    with gc_paused():
        writer = _Events(shared_ids(data) if shared is None else shared)
        if document and type(data) is dict:
            writer.deeper()
            writer.out.append(writer.map_start)
            for k, v in data.items():
                writer.out.append(_str_event(k))
                writer.value(v)
            writer.out.append(writer.map_end)
        else:
            writer.value(data)
        return _emit_checked(writer.out, data)


def float_marker(x: float) -> dict[str, str]:
    """The JSON marker of a nan/inf."""
    return {TYPE: "float", VALUE: "nan" if x != x else ("inf" if x > 0 else "-inf")}


class _Jsonable:
    """Data -> JSON-ready data: ``_id_`` on the first place of a shared object, ``{"_ref_"}``
    elsewhere (a shared list is wrapped as a ``list`` marker to carry its id), nan/inf as
    ``float`` markers."""

    def __init__(self, shared: set[int]) -> None:
        self.namer = Namer(shared)

    def value(self, d: Any) -> Any:
        t = type(d)
        if t is dict:
            return self.mapping(d)
        if t is list:
            return self.sequence(d)
        if t is float and not math.isfinite(d):
            return float_marker(d)
        return d

    def _ident(self, d: Any) -> tuple[str | None, Any]:
        namer = self.namer
        if id(d) not in namer.shared:
            return None, None
        name = namer.names.get(id(d))
        if name is not None:
            return None, {REF: name}
        return namer.new(d), None

    def mapping(self, d: dict[str, Any]) -> dict[str, Any]:
        name, ref = self._ident(d)
        if ref is not None:
            return ref
        out: dict[str, Any] = {}
        if name is not None and not (TARGET in d or TYPE in d):
            out[ID] = name
        stack = self.namer.stack
        for k, v in d.items():
            t = type(v)
            if t is dict or t is list:
                segment = child_key(d, k)
                if segment is not None:
                    stack.append(segment)
                out[k] = self.value(v)
                if segment is not None:
                    stack.pop()
            elif t is float and not math.isfinite(v):
                out[k] = float_marker(v)
            else:
                out[k] = v
            if name is not None and k in (TARGET, TYPE) and ID not in out:
                out[ID] = name  # right after the first key
        return out

    def sequence(self, d: list[Any]) -> Any:
        name, ref = self._ident(d)
        if ref is not None:
            return ref
        stack = self.namer.stack
        out = []
        for index, v in enumerate(d):
            t = type(v)
            if t is dict or t is list:
                stack.append(index)
                out.append(self.value(v))
                stack.pop()
            elif t is float and not math.isfinite(v):
                out.append(float_marker(v))
            else:
                out.append(v)
        if name is not None:
            return {TYPE: "list", ID: name, VALUE: out}
        return out


def _ready_children(d: Any) -> Any:
    """The format's children rule (``format.data_children``) for JSON-ready data, which may
    also hold tuples of plain scalars (written by ``json`` as arrays, not copied to lists)."""
    return enumerate(d) if type(d) is tuple else data_children(d)


def _check_ready(ready: Any) -> None:
    """``format.check_data`` for JSON-ready data being written: no cycle, no nesting past the
    limit (a writer's ConfigError)."""
    for _ in walk(ready, _ready_children, writing=True):
        pass


def _unwritable(data: Any) -> ConfigError:
    """The error for the first string (value or key) that UTF-8 cannot carry (a lone
    surrogate), found by the walk over the data: run only on that error."""
    path = find(data, not_utf8, _ready_children)
    return ConfigError("text (a lone surrogate?) cannot be written as UTF-8", path or "")


def json_text(data: Any, *, indent: int | None = None) -> str:
    """JSON text (RFC 8259) of normalised data (``show``, ``diff``; sharing found by identity,
    see :func:`yaml_text`). Compact (one line, by ``json``'s C encoder) unless ``indent`` is
    given (its pure-Python encoder, about three times slower). A config tree is written by the
    dump's own one pass instead (``dump.to_json``, :func:`encode_json`)."""
    with gc_paused():
        writer = _Jsonable(shared_ids(data))
        if not writer.namer.shared:
            ready = data  # nothing to add unless a nan/inf is met
            try:
                return _dumps(ready, indent, data)
            except ValueError:  # a nan/inf: markers needed
                ready = writer.value(data)
        else:
            ready = writer.value(data)
        return _dumps(ready, indent, data)


def encode_json(ready: Any, indent: int | None = None) -> str:
    """JSON text of JSON-ready data made by the dump (ids, refs and float markers in place,
    nothing shared, no cycle: ``json``'s own cycle check is left out): compact, or indented by
    ``indent``; depth and UTF-8 checked like :func:`json_text`."""
    return _dumps(ready, indent, ready, acyclic=True)


def _dumps(ready: Any, indent: int | None, data: Any, *, acyclic: bool = False) -> str:
    """``json.dumps`` of at most DEPTH_LIMIT levels, like the YAML writer. The C encoder stops
    near the limit (its recursion counts against the recursion limit); only then is the depth
    measured exactly, by the walk. The indented (pure-Python) encoder is checked first."""
    if indent is not None:
        _check_ready(ready)
    try:
        try:
            with recursion_room(DEPTH_LIMIT):
                text = _encode(ready, indent, acyclic)
        except RecursionError:  # near the limit: measure, then retry with room to spare
            _check_ready(ready)
            with recursion_room(2 * DEPTH_LIMIT):
                text = _encode(ready, indent, acyclic)
    except RecursionError:
        raise depth_error(writing=True) from None
    if not (_ONE_BYTE_STR and sys.getsizeof(text) < 2 * len(text)):
        try:  # a lone surrogate (only a two- or four-byte str can hold one) has no UTF-8
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _unwritable(data) from None
    return text


# CPython stores a str one byte a character when every character fits (PEP 393): such a text,
# told by its size, holds no surrogate and needs no UTF-8 trial encoding (a few ms a big dump)
_ONE_BYTE_STR = sys.implementation.name == "cpython"


def _encode(ready: Any, indent: int | None, acyclic: bool) -> str:
    if indent is None:
        return json.dumps(ready, ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                          check_circular=not acyclic)
    return json.dumps(ready, ensure_ascii=False, allow_nan=False, indent=indent,
                      check_circular=not acyclic)
