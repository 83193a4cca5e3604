"""Reading overrides from the command line: ``parse_args`` turns ``key=value`` tokens (dotted
keys, YAML 1.2 flow values) into a nested :class:`Overrides` that ``deep_replace`` applies.
Every bad token is a ConfigError; values are bounded in nesting and free of control characters.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Hashable, Sequence
from functools import cache
from typing import Any

from .errors import ConfigError, ConflictError, WrongTypeError, readable_int, short_repr

NO_OWN: Any = object()  # an Overrides with no text of its own (see Overrides.own)


class Overrides(dict):
    """The nested dict ``parse_args`` builds from dotted keys (a plain ``dict`` otherwise).

    ``deep_replace`` always descends into it, so ``opts.lr=1`` sets one entry of a plain dict
    field, while a dict *value* (``opts={lr: 1}``) replaces the whole field. ``own`` is a text
    given for the key itself next to longer keys (``optim=SGDConfig optim.momentum=0.9``: a
    class swap, then the fields of the new node). ``texts`` (kept by the dict ``parse_args``
    returns): dotted key -> the text typed for a number whose own text differs (``007``,
    ``1.10``, ``1e3``), so a ``str`` field gets it as typed (:func:`as_typed`)."""

    def __init__(self, *args: Any, own: Any = NO_OWN, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.own = own
        self.texts: dict[str, str] = {}

    def __repr__(self) -> str:
        if self.own is NO_OWN:
            return super().__repr__()
        return f"Overrides({super().__repr__()}, own={self.own!r})"


def parse_args(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``key=value`` tokens (from ``sys.argv[1:]`` or ``argv``) as a nested dict:
    ``["a.b=1", "c=[1, 2]"]`` -> ``{"a": {"b": 1}, "c": [1, 2]}``. Values are YAML flow values."""
    tokens = sys.argv[1:] if argv is None else list(argv)
    result = Overrides()
    for token in tokens:
        key, sep, text = token.partition("=")
        key = key.strip()
        if not sep:
            raise ConfigError(f"expected key=value, got {short_repr(token)}")
        parts = key.split(".", KEY_DEPTH_LIMIT)
        if len(parts) > KEY_DEPTH_LIMIT:
            raise ConfigError(
                f"a key of more than {KEY_DEPTH_LIMIT} dotted parts: {short_repr(key)}",
            )
        if not key or not all(parts):
            raise ConfigError(f"empty key or key segment in {short_repr(token)}", key)
        try:
            value = parse_value(text)
        except ConfigError as exc:
            raise exc.under(key) from None
        _insert(result, parts, value, key)
        if type(value) in (int, float) and str(value) != text.strip():
            result.texts[key] = text.strip()
    return result


def as_typed(converted: Any, value: Any, typed: str | None) -> Any:
    """A number given for a ``str`` field (the command line's leniency) is the text typed for
    it when that text is known (``typed``: ``Overrides.texts``), so ``run_name=007`` is
    ``'007'`` and ``version=1.10`` is ``'1.10'``; anything else is ``converted`` itself."""
    if typed is not None and type(converted) is str and type(value) is not str:
        return typed
    return converted


def _insert(result: Overrides, parts: list[str], value: Any, key: str) -> None:
    """Put ``value`` at ``parts``. A text for a key may stand next to longer keys under it
    (it may name a class: a swap); any other value for a prefix of a key conflicts."""
    target = result
    for depth, part in enumerate(parts[:-1]):
        child = target.get(part, NO_OWN)
        if child is NO_OWN:
            child = target[part] = Overrides()
        elif isinstance(child, str):  # a class name (maybe) and the fields under it
            child = target[part] = Overrides(own=child)
        elif not isinstance(child, Overrides):  # a value was given for a prefix of this key
            raise ConflictError(f"conflicts with {'.'.join(parts[: depth + 1])}=...", key)
        target = child
    held = target.get(parts[-1], NO_OWN)
    if isinstance(held, Overrides) and held.own is NO_OWN and isinstance(value, str):
        held.own = value
        return
    if isinstance(held, Overrides):
        longer = next(iter(held), "")
        raise ConflictError(f"conflicts with the longer key {key}.{longer}=...", key)
    if held is not NO_OWN:
        raise ConflictError("given twice", key)
    target[parts[-1]] = value


KEY_DEPTH_LIMIT = 1000  # dotted parts of one key (the snapshot format's depth limit too)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
VALUE_DEPTH_LIMIT = 100  # brackets a command-line value may nest (a config is flatter than that)


def parse_value(text: str) -> Any:
    """One YAML flow value, read with YAML 1.2 scalars: ``16``, ``-1``, ``1e-4``, ``1.5e4``,
    ``true``, ``null``, ``[1, 2]``, ``{a: 1}``. Anything that is not a whole flow value
    (``yes``, ``2024-01-01``, ``a: b``, ``- x``, ``a # b``, broken brackets) stays a string.
    Control characters, brackets nested past :data:`VALUE_DEPTH_LIMIT` and integers longer
    than Python reads are ConfigErrors."""
    bad = _CONTROL.search(text)
    if bad is not None:
        raise ConfigError(f"a control character ({bad.group()!r}) in the value {short_repr(text)}")
    if not text.strip():
        return text
    _check_nesting(text)
    import yaml

    try:
        loader = _flow_loader()(text)
    except yaml.YAMLError:
        return text
    try:
        node = loader.get_single_node()
        if node is None or node.end_mark.index < len(text.rstrip()):
            return text  # only a comment, or trailing text YAML would drop
        if isinstance(node, yaml.CollectionNode) and not node.flow_style:
            return text  # block YAML (`- a`, `a: b`) is not a flow value
        return loader.construct_document(node)
    except yaml.YAMLError:
        return text
    except ConfigError:
        raise
    except ValueError as exc:  # an integer past sys.get_int_max_str_digits()
        raise WrongTypeError(f"cannot read {short_repr(text)}: {short_repr(str(exc), 120)}") from None
    finally:
        loader.dispose()


def _check_nesting(text: str) -> None:
    """Refuse brackets nested past VALUE_DEPTH_LIMIT (linear; a cheap bound first)."""
    if text.count("[") + text.count("{") <= VALUE_DEPTH_LIMIT:
        return
    depth = 0
    for char in text:
        if char in "[{":
            depth += 1
            if depth > VALUE_DEPTH_LIMIT:
                raise ConfigError(
                    f"the value nests brackets more than {VALUE_DEPTH_LIMIT} deep: {short_repr(text)}"
                )
        elif char in "]}":
            depth -= 1


_INT = r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
_FLOAT = r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
_BOOL = r"true|True|TRUE|false|False|FALSE"


@cache
def _flow_loader() -> type:
    """A ``SafeLoader`` that resolves plain scalars as YAML 1.2 does: ``1e-4`` is a float,
    ``010`` is ten, ``yes``/``on`` and dates stay strings."""
    import yaml

    class FlowLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:  # a key given twice is an error, as in a file
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, Hashable):
                    if key in seen:
                        raise ConflictError(f"the key {short_repr(key)} is given twice in {{...}}")
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    dropped = {"bool", "int", "float", "timestamp", "value", "yaml"}
    FlowLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag.rsplit(":", 1)[-1] not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for tag, pattern, first in (  # int before float: "1" matches both
        ("bool", _BOOL, "tTfF"),
        ("int", _INT, "-+0123456789"),
        ("float", _FLOAT, "-+.0123456789"),
    ):
        FlowLoader.add_implicit_resolver(
            f"tag:yaml.org,2002:{tag}", re.compile(f"^(?:{pattern})$"), list(first)
        )
    FlowLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
    FlowLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
    return FlowLoader


def _construct_int(loader: Any, node: Any) -> int:
    text = loader.construct_scalar(node)
    if text[:2] not in ("0o", "0x"):
        return int(text, 10)  # "010" is ten, not YAML 1.1's eight
    value = int(text, 0)  # read whatever its length: past the limit, no text could show it
    if not readable_int(value):  # the limit files use (errors.readable_int)
        raise ValueError("an integer longer than Python reads (sys.get_int_max_str_digits)")
    return value


def _construct_float(loader: Any, node: Any) -> float:
    text = loader.construct_scalar(node).lower()
    value = float(text.replace(".inf", "inf").replace(".nan", "nan"))
    if math.isinf(value) and "inf" not in text:  # 1e400: a typo, not a wish for infinity
        raise ValueError("a number past a float's range (write inf for infinity)")
    return value
