"""YAML/JSON text -> normalised data (docs/format.md), safely: no class is imported here.

YAML goes through PyYAML's safe loader (C when available); JSON's ``_id_``/``_ref_`` become one
shared object and its nan/inf markers floats. Malformed text is a ConfigError with its line.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ConfigError
from .format import ID, NONFINITE, REF, TYPE, VALUE
from .gcpause import gc_paused

NAN = NONFINITE["nan"]  # float("nan"): the sign bit clear


@functools.cache
def _loader() -> type:
    """PyYAML's safe loader (the C one when present), except that ``.nan`` is Python's own
    ``float("nan")``: PyYAML builds it as ``-inf/inf``, whose sign bit is set."""
    import yaml

    base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    def construct_float(loader: Any, node: Any) -> float:
        value = yaml.SafeLoader.construct_yaml_float(loader, node)
        return NAN if value != value else value

    Loader.add_constructor("tag:yaml.org,2002:float", construct_float)
    return Loader


def _parse_yaml(text: str | bytes) -> Any:
    """YAML text -> data, errors worded with their line (no cycle check: the builder has one)."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        start = exc.context_mark
        if exc.context and start is not None and mark is not None and start.line != mark.line:
            problem += f" ({exc.context} at line {start.line + 1})"
        if "constructor for the tag" in problem:
            problem += " (snapshots use no language-specific YAML tags)"
        raise ConfigError(f"malformed YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML: {exc}") from None
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. an impossible !!timestamp
        raise ConfigError(f"malformed YAML: {exc}") from None


def _check_acyclic(data: Any) -> None:
    """A ConfigError if ``data`` contains itself (YAML can say so with an alias)."""
    done: set[int] = set()
    on_path: set[int] = set()

    def visit(d: Any, path: str) -> None:
        key = id(d)
        if key in done:
            return
        if key in on_path:
            raise ConfigError("cycle: this node contains itself", path)
        on_path.add(key)
        items = d.items() if type(d) is dict else enumerate(d)
        for k, v in items:
            if type(v) is dict or type(v) is list:
                visit(v, f"{path}.{k}" if path else str(k))
        on_path.discard(key)
        done.add(key)

    if type(data) is dict or type(data) is list:
        visit(data, "")


def parse_yaml(text: str | bytes) -> Any:
    """YAML text -> normalised data (safe loader; no class is imported; a cycle is refused)."""
    with gc_paused():
        data = _parse_yaml(text)
        _check_acyclic(data)
        return data


class _RefError(Exception):
    pass


def _json_hook() -> Callable[[dict[str, Any]], Any]:
    """The object hook that resolves ``_id_``/``_ref_`` and unwraps ``float``/``list`` markers.
    JSON objects complete bottom-up in document order, so an id is known before any later ref."""
    ids: dict[str, Any] = {}

    def hook(d: dict[str, Any]) -> Any:
        if ID not in d and REF not in d and TYPE not in d:
            return d  # the usual object: nothing to resolve
        ident = d.pop(ID, None)
        if ident is None:
            if REF in d:
                name = d[REF]
                if len(d) != 1 or type(name) is not str:
                    raise _RefError(f"a {REF} object has exactly one key, holding a name")
                hit = ids.get(name)
                if hit is None:
                    raise _RefError(
                        f"{REF} {name!r} names no object defined before it (a forward or "
                        "cyclic reference)"
                    )
                return hit
            kind = d.get(TYPE)
            if kind == "float" and len(d) == 2 and d.get(VALUE) in NONFINITE:
                return NONFINITE[d[VALUE]]
            if kind == "list" and len(d) == 2 and type(d.get(VALUE)) is list:
                return d[VALUE]
            return d
        if type(ident) is not str or ident in ids:
            raise _RefError(f"{ID} {ident!r} is not a new name")
        if d.get(TYPE) == "list" and len(d) == 2 and type(d.get(VALUE)) is list:
            d = d[VALUE]
        ids[ident] = d
        return d

    return hook


def _parse_json(text: str | bytes) -> Any:
    """JSON text -> normalised data, errors worded with their line or path."""
    try:
        return json.loads(text, object_hook=_json_hook())
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except _RefError as exc:
        path = _locate_bad_ref(text)
        raise ConfigError(str(exc), path or "") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"malformed JSON: {exc}") from None


def _locate_bad_ref(text: str | bytes) -> str | None:
    """Replay the ids/refs top-down on the raw data to find where the bad one is."""
    raw = json.loads(text)
    ids: set[str] = set()

    def visit(d: Any, path: str) -> str | None:
        if type(d) is dict:
            if REF in d:
                return None if d.get(REF) in ids and len(d) == 1 else path
            items: Iterable[tuple[Any, Any]] = d.items()
        elif type(d) is list:
            items = enumerate(d)
        else:
            return None
        for k, v in items:
            if k == ID:
                continue
            bad = visit(v, f"{path}.{k}" if path else str(k))
            if bad is not None:
                return bad
        if type(d) is dict and ID in d:
            if d[ID] in ids or type(d[ID]) is not str:
                return path
            ids.add(d[ID])
        return None

    return visit(raw, "")


def parse_json(text: str | bytes) -> Any:
    """JSON text -> normalised data: ``_ref_`` resolved to the one shared object, ``_id_``
    removed, nan/inf markers turned back into floats. No class is imported."""
    with gc_paused():
        return _parse_json(text)
