"""YAML/JSON text -> normalised data (docs/format.md), safely: no class is imported here.

YAML goes through PyYAML's C safe loader, narrowed to the format's own types: mappings, lists,
strings, ints, floats, bools and null. Everything else a YAML 1.1 file can say (dates,
``!!binary``, ``!!set``, ``!!omap``, merge keys ``<<``, any custom tag) is refused with its line
and path, and so is a key given twice. JSON's ``_id_``/``_ref_`` become one shared object and its
nan/inf markers floats. Text nested deeper than the format's limit is refused *before* libyaml
builds it (libyaml recurses in C: a 60 KB file of brackets would crash the process). Every
problem is a :class:`~micro_config.errors.MalformedFileError` with its line or path.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError, MalformedFileError, readable_int, short_repr
from .format import (
    DEPTH_LIMIT,
    ID,
    NONFINITE,
    REF,
    TYPE,
    VALUE,
    check_data,
    depth_error,
    find,
    not_utf8,
    path_text,
    walk,
)
from .gcpause import gc_paused, recursion_room

NAN = NONFINITE["nan"]  # float("nan"): the sign bit clear

# YAML tags the format writes (and so reads); any other tag, explicit or implied, is refused.
_REFUSED_TAGS = {
    "tag:yaml.org,2002:timestamp": "a date or time (write it as a quoted string)",
    "tag:yaml.org,2002:binary": "binary data (!!binary)",
    "tag:yaml.org,2002:set": "a YAML set (!!set; the format writes a set marker)",
    "tag:yaml.org,2002:omap": "an ordered map (!!omap)",
    "tag:yaml.org,2002:pairs": "a list of pairs (!!pairs)",
    "tag:yaml.org,2002:merge": "a merge key (<<)",
}


class _Refused:
    """What the locating loader builds for a refused tag, so the walk can find its path."""

    __slots__ = ()


def _problem(loader: Any, node: Any, text: str) -> Exception:
    import yaml

    return yaml.constructor.ConstructorError(None, None, text, node.start_mark)


@functools.cache
def _loader(locating: bool = False) -> type:
    """PyYAML's C safe loader narrowed to the format's types; ``.nan`` is Python's own
    ``float("nan")`` (PyYAML builds ``-inf/inf``, whose sign bit is set). ``locating``: the
    loader run after a refusal, which builds a placeholder instead so the path can be found."""
    import yaml

    base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

    class Loader(base):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            mapping = super().construct_mapping(node, deep=deep)
            if len(mapping) != len(node.value) and not locating:
                raise _duplicate(self, node)
            return mapping

        def flatten_mapping(self, node: Any) -> None:  # merge keys are refused, not merged
            for key, _ in node.value:
                if key.tag == "tag:yaml.org,2002:merge" and not locating:
                    raise _problem(self, key, f"{_REFUSED_TAGS[key.tag]} is not part of the snapshot format")

    def construct_float(loader: Any, node: Any) -> float:
        try:
            value = yaml.SafeLoader.construct_yaml_float(loader, node)
        except OverflowError:  # a long base-60 float (1:2:...:3.5)
            raise _problem(loader, node, OUT_OF_RANGE) from None
        if value in _INFINITIES and "inf" not in node.value.lower():
            raise _problem(loader, node, OUT_OF_RANGE)  # 1e400: as the command line refuses it
        return NAN if value != value else value

    def construct_int(loader: Any, node: Any) -> int:
        if ":" in node.value and len(node.value) > SEXAGESIMAL_LIMIT:  # PyYAML: quadratic time
            raise _problem(loader, node, f"a base-60 integer of {len(node.value)} characters "
                           f"(the format reads at most {SEXAGESIMAL_LIMIT})")
        try:
            value = yaml.SafeLoader.construct_yaml_int(loader, node)
        except ValueError:  # past Python's int <-> text limit (sys.get_int_max_str_digits)
            value = None
        if value is None or not readable_int(value):  # hex, octal, binary: any length
            raise _problem(loader, node, f"an integer of {len(node.value)} characters is "
                           "longer than Python reads (sys.get_int_max_str_digits)") from None
        return value

    def refuse(loader: Any, node: Any) -> Any:
        if locating:
            return _Refused()
        what = _REFUSED_TAGS.get(node.tag) or f"the tag {short_repr(node.tag)}"
        raise _problem(loader, node, f"{what} is not part of the snapshot format")

    Loader.add_constructor("tag:yaml.org,2002:float", construct_float)
    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    for tag in _REFUSED_TAGS:
        Loader.add_constructor(tag, refuse)
    Loader.add_constructor(None, refuse)  # any other tag (custom, !!python/...)
    return Loader


def _duplicate(loader: Any, node: Any) -> Exception:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = key_node.value if key_node.tag.endswith((":str", ":int", ":bool", ":null", ":float")) else id(key_node)
        if key in seen:
            return _problem(loader, key_node, f"the key {short_repr(key_node.value)} is given twice "
                            "(a file must mean one thing to every reader)")
        seen.add(key)
    return _problem(loader, node, "a key is given twice")


# ------------------------------------------------------------------ depth, before libyaml


def _block_prefix(k: int) -> re.Pattern[str]:
    """A line that starts with ``k`` characters of indentation or block indicators."""
    return re.compile(rf"^(?:[ \t]|[-?:](?=[ \t\n])|[&!][^\s]*[ \t]){{{k}}}", re.M)


def _check_yaml_depth(text: str | bytes) -> None:
    """Refuse text nested past DEPTH_LIMIT before libyaml composes it. A cheap bound first:
    each level of nesting costs a flow bracket, or a block indicator or a column of
    indentation at the start of a line (a block collection's column grows at least every
    second level); only when the bound allows too much are the parser's events counted."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return  # libyaml reports the encoding; nothing is built
    brackets = text.count("[") + text.count("{")
    room = (DEPTH_LIMIT - brackets) // 2 - 2
    if room > 0 and _block_prefix(room).search(text) is None:
        return
    import yaml

    parser = _loader()(text)
    try:
        depth = 0
        opening, closing = (yaml.MappingStartEvent, yaml.SequenceStartEvent), (
            yaml.MappingEndEvent, yaml.SequenceEndEvent)
        while True:
            event = parser.get_event()
            if event is None:
                return
            if isinstance(event, opening):
                depth += 1
                if depth > DEPTH_LIMIT:
                    mark = event.start_mark
                    raise depth_error(f" at line {mark.line + 1}")
            elif isinstance(event, closing):
                depth -= 1
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own limit (PyYAML >= 6.0.4) came first
            mark = getattr(exc, "problem_mark", None)
            raise depth_error(f" at line {mark.line + 1}" if mark else "") from None
        return  # malformed: the real parse words it
    finally:
        parser.dispose()


# ------------------------------------------------------------------ YAML


def parse_yaml_unchecked(text: str | bytes) -> Any:
    """YAML text -> data, errors worded with their line: :func:`parse_yaml` without its walk for
    cycles and depth, for the loader, whose builder checks both as it goes."""
    import yaml

    _check_yaml_depth(text)
    try:
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        start = exc.context_mark
        if exc.context and start is not None and mark is not None and start.line != mark.line:
            problem += f" ({exc.context} at line {start.line + 1})"
        if "constructor for the tag" in problem:
            problem += " (snapshots use no language-specific YAML tags)"
        path = _locate_refused(text) if "not part of the snapshot format" in problem else ""
        raise MalformedFileError(f"malformed YAML{where}: {problem}", path or "") from None
    except yaml.YAMLError as exc:
        raise MalformedFileError(f"malformed YAML: {_cut_text(exc)}") from None
    except (ValueError, TypeError) as exc:  # e.g. an impossible !!float
        raise MalformedFileError(f"malformed YAML: {_cut_text(exc)}") from None
    if data is None and _blank(text):  # no writer makes it (None is written `null`)
        raise MalformedFileError("not a config tree: the file is empty (a write that never finished?)")
    return data


def _blank(text: str | bytes) -> bool:
    """Only blank lines, comments and document markers: YAML that holds no value at all."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = (line.strip().lstrip("\ufeff") for line in text.splitlines())  # (a BOM)
    return all(not line or line.startswith("#") or line in ("---", "...") for line in lines)


def _cut_text(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


def _locate_refused(text: str | bytes) -> str | None:
    """The path of the first refused value: the text loaded again with placeholders."""
    import yaml

    try:
        data = yaml.load(text, Loader=_loader(locating=True))  # noqa: S506 - a safe loader
        return find(data, lambda v: type(v) is _Refused)
    except (yaml.YAMLError, ConfigError, ValueError, TypeError):
        return None


def parse_yaml(text: str | bytes) -> Any:
    """YAML text -> normalised data (safe loader; no class is imported; a cycle or nesting past
    the format's limit is refused)."""
    with gc_paused():
        data = parse_yaml_unchecked(text)
        check_data(data)
        return data


# ------------------------------------------------------------------ JSON


class _RefError(Exception):
    pass


class _DuplicateKey(Exception):
    pass


def _json_hook() -> Callable[[list[tuple[str, Any]]], Any]:
    """The object hook that refuses a key given twice, resolves ``_id_``/``_ref_`` and unwraps
    ``float``/``list`` markers. JSON objects complete bottom-up in document order, so an id is
    known before any later ref."""
    ids: dict[str, Any] = {}

    def hook(pairs: list[tuple[str, Any]]) -> Any:
        d = dict(pairs)
        if len(d) != len(pairs):
            raise _DuplicateKey
        if ID not in d and REF not in d and TYPE not in d:
            return d  # the usual object: nothing to resolve
        ident = d.pop(ID, None)
        if ident is None:
            if REF in d:
                name = d[REF]
                if len(d) != 1 or type(name) is not str:
                    raise _RefError(f"a {REF} object has exactly one key, holding a name (a string)")
                hit = ids.get(name)
                if hit is None:
                    raise _RefError(
                        f"{REF} {short_repr(name)} names no object defined before it (a forward "
                        "or cyclic reference)"
                    )
                return hit
            kind = d.get(TYPE)
            if kind == "float" and len(d) == 2 and d.get(VALUE) in NONFINITE:
                return NONFINITE[d[VALUE]]
            if kind == "list" and len(d) == 2 and type(d.get(VALUE)) is list:
                return d[VALUE]
            return d
        if type(ident) is not str or ident in ids:
            raise _RefError(f"{ID} {short_repr(ident)} is not a new name")
        if d.get(TYPE) == "list" and len(d) == 2 and type(d.get(VALUE)) is list:
            d = d[VALUE]
        ids[ident] = d
        return d

    return hook


def parse_json_unchecked(text: str | bytes) -> Any:
    """JSON text -> normalised data, errors worded with their line or path: :func:`parse_json`
    without its walk for cycles, for the loader, whose builder checks them as it goes. The
    decoder may nest DEPTH_LIMIT levels (its C recursion counts against the recursion limit)."""
    try:
        try:
            with recursion_room(DEPTH_LIMIT):
                data = json.loads(text, object_pairs_hook=_json_hook(), parse_constant=_not_json)
        except RecursionError:  # near the limit: read with room to spare, then measure
            with recursion_room(2 * DEPTH_LIMIT):
                data = json.loads(text, object_pairs_hook=_json_hook(), parse_constant=_not_json)
            check_data(data)
    except json.JSONDecodeError as exc:
        raise MalformedFileError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except _RefError as exc:
        raise MalformedFileError(str(exc), _locate_bad_ref(text) or "") from None
    except _NotJson as exc:
        raise MalformedFileError(
            f"{exc.args[0]} is not JSON (the format writes {{\"_type_\": \"float\", \"value\": "
            f"\"{_CONSTANTS[exc.args[0]]}\"}})"
        ) from None
    except _DuplicateKey:
        raise _json_duplicate(text) from None
    except RecursionError:
        raise depth_error() from None
    except ConfigError:  # the depth measured by check_data: as it is
        raise
    except ValueError as exc:  # an integer past Python's int <-> text limit
        line = _long_number_line(text)
        raise MalformedFileError(f"malformed JSON{line}: {_cut_text(exc)}") from None
    if _SURROGATE_ESCAPE[type(text)].search(text) is not None:  # (a pair is one character)
        path = find(data, not_utf8)
        if path is not None:
            raise MalformedFileError(r"a lone surrogate (\ud800-\udfff) is not text UTF-8 can carry", path)
    if _MAY_OVERFLOW[type(text)].search(text) is not None:  # a number may be past a float's range
        path = find(data, _overflowed)
        if path is not None:
            raise MalformedFileError(OUT_OF_RANGE, path)
    return data


OUT_OF_RANGE = "a number past a float's range (the format writes inf as a marker)"
SEXAGESIMAL_LIMIT = 100  # characters of a YAML 1.1 base-60 integer (1:20:30)
_INFINITIES = (NONFINITE["inf"], NONFINITE["-inf"])  # compared by ==: any infinity
# a literal that may be past a float's range: a positive exponent of 2+ digits, or 300 digits in
# a row (a float's range ends near 1e308); only then is the data searched for an infinity
_BIG_NUMBER = r"[eE]\+?0*[1-9][0-9]|[0-9]{300}"
_MAY_OVERFLOW = {str: re.compile(_BIG_NUMBER), bytes: re.compile(_BIG_NUMBER.encode())}
_CONSTANTS = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}


class _NotJson(Exception):
    pass


def _not_json(name: str) -> Any:
    """``parse_constant``: ``NaN``/``Infinity`` are Python's extension of JSON, not JSON."""
    raise _NotJson(name)


def _overflowed(value: Any) -> bool:
    """A float literal past the range (``1e400``): infinite, but not the marker's own object."""
    return type(value) is float and value in _INFINITIES and all(value is not x for x in _INFINITIES)


# a JSON escape of a surrogate, or (bytes: json decodes them with "surrogatepass") the UTF-8
# form of one: the text may then hold a lone surrogate, which YAML and UTF-8 refuse
_SURROGATE_ESCAPE = {str: re.compile(r"\\u[dD][89a-fA-F]"),
                     bytes: re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")}


def _long_number_line(text: str | bytes) -> str:
    s = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    hit = re.search(rf"[0-9]{{{max(sys.get_int_max_str_digits(), 1)},}}", s)
    return f" at line {s.count(chr(10), 0, hit.start()) + 1}" if hit else ""


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"\s*:?|[{}\[\]]')


def _json_duplicate(text: str | bytes) -> ConfigError:
    """Find the key given twice (an error path only): a scan of the tokens, one key set per
    open object."""
    s = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    stack: list[set[str] | None] = []
    for match in _JSON_TOKEN.finditer(s):
        token = match.group()
        if token in "{[":
            stack.append(set() if token == "{" else None)
        elif token in "}]":
            if stack:
                stack.pop()
        elif token.endswith(":") and stack and stack[-1] is not None:
            key = json.loads(token[:-1].rstrip())
            if key in stack[-1]:
                line = s.count("\n", 0, match.start()) + 1
                return MalformedFileError(
                    f"malformed JSON at line {line}: the key {short_repr(key)} is given twice "
                    "(a file must mean one thing to every reader)"
                )
            stack[-1].add(key)
    return MalformedFileError("malformed JSON: a key is given twice")


def _locate_bad_ref(text: str | bytes) -> str | None:
    """Replay the ids/refs on the raw data in document order to find the bad one (an error
    path only). A ref inside the object its id names is cyclic."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        return None
    ids: dict[str, str] = {}  # id -> path of its object
    for path, value, _ in walk(raw):
        if type(value) is not dict:
            continue
        here = path_text(path)
        if REF in value:
            name = value[REF]
            home = ids.get(name) if type(name) is str else None
            inside = home is not None and (home == "" or here == home or here.startswith(home + "."))
            if len(value) != 1 or home is None or inside:
                return here
        elif ID in value:
            ident = value[ID]
            if type(ident) is not str or ident in ids:
                return here
            ids[ident] = here
    return None


def parse_json(text: str | bytes) -> Any:
    """JSON text -> normalised data: ``_ref_`` resolved to the one shared object, ``_id_``
    removed, nan/inf markers turned back into floats. No class is imported."""
    with gc_paused():
        data = parse_json_unchecked(text)
        check_data(data)
        return data
