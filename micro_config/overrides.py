"""``deep_replace``: the nested ``dataclasses.replace`` that applies overrides (``parse_args``'s, in
micro_config/arguments.py, or given in Python).

``deep_replace`` keeps the sharing of the tree: an override lands on a *node* (by identity), and
the tree is rebuilt bottom-up with one new object per changed node, so every place that referred
to the old node refers to the one replacement. A config given for a node slot replaces the old
node itself: every reference to it gets that object, as given.
"""

from __future__ import annotations

import copy
import dataclasses
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .arguments import NO_OWN, Overrides, as_typed
from .convert import accepts, convert, type_name, unwrap_optional
from .errors import (
    ConfigError,
    ConflictError,
    RefusedClassError,
    UnknownFieldError,
    WrongTypeError,
    closest,
    did_you_mean,
    join_path,
    short_repr,
)
from .plan import annotated_walk, child_annotation, mapping_class, plan_of, shape_of
from .swap import carried, class_names, pick_class, swap_bases, swap_classes
from .tree import (
    children,
    expand,
    is_dataclass_instance,
    is_memoised,
    is_node,
    render,
    transform,
    walk,
)

# ----------------------------------------------------------------------------- deep_replace

_MISSING = object()  # the value at a new key of a plain dict


@dataclass(frozen=True)
class _Place:
    """Where an override lands: ``chain`` starts with the slot in ``owner`` (the nearest node or
    plain list/dict above, so a shared one is edited once), followed by keys into tuples held
    there (immutable: their identity does not matter)."""

    owner: Any
    chain: tuple[Any, ...]
    value: Any
    annotation: Any
    path: str


class _Edits:
    """Overrides collected per owner identity (the nearest node or plain list/dict above the
    place), with conflict checks. A config given for a node slot also replaces the old node
    itself (``nodes``), so every reference to it gets the replacement."""

    def __init__(
        self, root: Any, made: dict[int, tuple[type, str]] | None = None, texts: dict[str, str] | None = None
    ) -> None:
        self.root = root
        self.made = made or {}  # node id -> (class, path) of the class swaps that made it
        self.texts = texts or {}  # dotted key -> a number's text as typed (Overrides.texts)
        self.by_node: dict[int, tuple[Any, dict[tuple[Any, ...], tuple[Any, str]]]] = {}
        # (owner id, chain or a prefix of it) -> the first place stepped through there
        self.passed: dict[tuple[int, tuple[Any, ...]], str] = {}
        # (owner id, a proper prefix of an edited chain) -> that edit's path
        self.below: dict[tuple[int, tuple[Any, ...]], str] = {}
        self.nodes: dict[int, tuple[Any, Any, str]] = {}  # old node id -> (old, new value, path)
        self.entered: dict[int, str] = {}  # node id -> the first override that went inside it

    def step_through(self, place: _Place, key: str) -> None:
        if is_node(place.value):
            done = self.nodes.get(id(place.value))
            if done is not None and is_node(done[1]):
                raise ConflictError(
                    f"conflicts with the override of {done[2]!r}, which replaces this node",
                    place.path,
                )
            self.entered.setdefault(id(place.value), key)
        if place.owner is None:
            return
        edits = self._edits_of(place.owner)
        for end in range(1, len(place.chain) + 1):  # an edit at this place or above it
            found = edits.get(place.chain[:end])
            if found is not None:
                raise ConflictError(f"conflicts with the override of {found[1]!r}", place.path)
        for end in range(1, len(place.chain) + 1):
            self.passed.setdefault((id(place.owner), place.chain[:end]), place.path)

    def set(self, place: _Place, value: Any) -> None:
        owner = id(place.owner)
        path = self.passed.get((owner, place.chain))  # an override went through this place
        if path is not None:
            raise ConflictError(f"conflicts with the override of {path!r}", place.path)
        edits = self._edits_of(place.owner)
        same = edits.get(place.chain)
        if same is not None:
            old, path = same
            if old is value or _equal(old, value):
                return
            raise ConflictError(
                f"conflicting overrides: {path!r} sets the same place to {short_repr(old)}",
                place.path,
            )
        path = self.below.get((owner, place.chain))  # an edit inside this place...
        for end in range(1, len(place.chain)):  # ...or of a place above it
            if path is None and place.chain[:end] in edits:
                path = edits[place.chain[:end]][1]
        if path is not None:
            raise ConflictError(f"conflicts with the override of {path!r}", place.path)
        for end in range(1, len(place.chain)):
            self.below.setdefault((owner, place.chain[:end]), place.path)
        if is_node(place.value):
            self._set_node(place, value)
        edits[place.chain] = (value, place.path)

    def _set_node(self, place: _Place, value: Any) -> None:
        """The slot held a node: check against what other paths give for that same node."""
        old = place.value
        swap = self.made.get(id(old))
        if swap is not None:
            raise ConflictError(f"conflicts with the class swap {swap[1]}={swap[0].__qualname__}", place.path)
        prior = self.nodes.get(id(old))
        if prior is not None:
            configs = is_node(value) or is_node(prior[1])  # a config counts by identity only
            if prior[1] is not value and (configs or not _equal(prior[1], value)):
                raise ConflictError(
                    f"conflicting overrides: {prior[2]!r} sets the same node to "
                    f"{short_repr(prior[1])}",
                    place.path,
                )
            return
        inside = self.entered.get(id(old))
        if is_node(value) and inside is not None:
            raise ConflictError(
                f"conflicts with the override of {inside!r} inside the node this replaces",
                place.path,
            )
        self.nodes[id(old)] = (old, value, place.path)

    def replacements(self) -> dict[int, Any]:
        """Old node id -> the config given for it (values that are not configs only set their
        slot)."""
        return {key: new for key, (_, new, _) in self.nodes.items() if is_node(new)}

    def _edits_of(self, owner: Any) -> dict[tuple[Any, ...], tuple[Any, str]]:
        entry = self.by_node.get(id(owner))
        if entry is None:
            entry = self.by_node[id(owner)] = (owner, {})
        return entry[1]


def _equal(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # an == that is not a bool (arrays)
        return False


def deep_replace(config: Any, given: Mapping[str, Any] | None = None, /, **overrides: Any) -> Any:
    """The nested form of ``dataclasses.replace``: keys are field names or dotted paths
    (``**{"model.dim": 256}``), list indices or dict keys; ``given`` (what ``parse_args``
    returns, or any mapping) adds more, as ``dict.update`` does. ``parse_args()`` passed as
    ``given`` keeps a number typed for a ``str`` field as typed (``run_name=007``: ``'007'``);
    through ``**`` it is the number's text (``'7'``). A dict given for a config updates
    its fields; a config given replaces that node, wherever it is referenced. A class name
    (``optim="SGDConfig"``, ``"schemas.optim:SGDConfig"``, or the class itself) given for a
    place annotated with config classes swaps the node's class (see :mod:`micro_config.swap`):
    the new node keeps the fields it shares with the old one, replaces it wherever it is
    referenced, and the other overrides apply on top, whatever their order. Returns a new tree
    (the input is never mutated) in which every node that was shared stays shared."""
    if not is_node(config):
        raise TypeError(f"deep_replace needs a config object, got {short_repr(config)}")
    texts: dict[str, str] = {}
    if given is not None:
        if not isinstance(given, Mapping):
            raise TypeError(f"deep_replace takes a mapping of overrides, got {short_repr(given)}")
        twice = given.keys() & overrides.keys()
        if twice:
            raise ConflictError("given twice: in the mapping and as a keyword", min(map(str, twice)))
        texts = given.texts if isinstance(given, Overrides) else {}
        overrides = {**given, **overrides}
    given = [(_split(key, ""), value) for key, value in overrides.items()]
    candidates: list[tuple[list[str], Any]] = []
    for parts, value in given:
        _candidates(parts, value, candidates)
    made: dict[int, tuple[type, str]] = {}
    swapped: list[list[str]] = []
    if not candidates:
        return _apply(config, given, made, swapped, texts)
    config = _swap_all(config, candidates, given, made, swapped, texts)
    done = {tuple(parts) for parts in swapped}
    items: list[tuple[list[str], Any]] = []
    for parts, value in given:
        kept = _without_swaps(parts, value, done, items)
        if kept is not NO_OWN:
            items.append((parts, kept))
    return _apply(config, items, made, swapped, texts)


def _apply(
    config: Any,
    items: list[tuple[list[str], Any]],
    made: dict[int, tuple[type, str]],
    swapped: list[list[str]],
    texts: dict[str, str] | None = None,
) -> Any:
    edits = _Edits(config, made, texts)
    root = _Place(None, (), config, type(config), "")
    for parts in swapped:  # what a swap went through: a later override may not replace it
        _touch(edits, root, parts)
    for parts, value in items:
        _assign(edits, root, parts, value)
    return _Rebuild(edits).run(config)


# ------------------------------------------------------------------------------- class swaps


def _may_swap(value: Any) -> bool:
    return isinstance(value, str | type)


def _candidates(parts: list[str], value: Any, found: list[tuple[list[str], Any]]) -> None:
    """The texts (and classes) among the overrides that may be class swaps."""
    if isinstance(value, Overrides):
        if value.own is not NO_OWN:
            found.append((parts, value.own))
        for key, item in value.items():
            _candidates([*parts, *_split(key, ".".join(parts))], item, found)
    elif _may_swap(value):
        found.append((parts, value))


def _without_swaps(parts: list[str], value: Any, done: set[tuple[str, ...]], extra: list[Any]) -> Any:
    """``value`` without the swaps done (``NO_OWN``: nothing left). The text of a key that
    also has longer keys, when it was no swap, becomes an override of its own in ``extra``."""
    if not isinstance(value, Overrides):
        return NO_OWN if tuple(parts) in done else value
    if value.own is not NO_OWN and tuple(parts) not in done:
        extra.append((parts, value.own))
    kept = Overrides()
    for key, item in value.items():
        left = _without_swaps([*parts, *_split(key, ".".join(parts))], item, done, extra)
        if left is not NO_OWN:
            kept[key] = left
    return kept if kept or not value else NO_OWN


def _swap_all(
    config: Any,
    candidates: list[tuple[list[str], Any]],
    items: list[tuple[list[str], Any]],
    made: dict[int, tuple[type, str]],
    swapped: list[list[str]],
    texts: dict[str, str],
) -> Any:
    """Apply the class swaps, shorter keys first (a swap inside a swapped node sees the new
    class), one rebuild per key length; ``swapped`` gets their keys, ``made`` the nodes they
    put (by id, in the returned tree). A candidate that is no swap (a text for a ``str``
    field) stays an ordinary override."""
    below = _direct(items)
    levels: dict[int, list[tuple[list[str], Any]]] = {}
    for parts, value in candidates:
        levels.setdefault(len(parts), []).append((parts, value))
    for depth in sorted(levels):
        batch: list[tuple[list[str], Any]] = []
        fresh: dict[int, tuple[type, str, Any]] = {}  # old node id -> what this level puts there
        holders: dict[int, list[tuple[str, Any]]] | None = None  # found when first needed
        for parts, value in levels[depth]:
            place = _find(config, parts)
            if place is None or not _is_swap(place, value):
                continue
            cls = pick_class(value, place.annotation, place.path)
            old = place.value
            prior = made.get(id(old)) or fresh.get(id(old)) if is_node(old) else None
            if prior is not None and prior[0] is not cls:
                raise ConflictError(
                    f"conflicting overrides: {prior[1]!r} swaps the same node to {prior[0].__qualname__}",
                    place.path,
                )
            swapped.append(parts)
            if prior is not None:  # the same swap through another path
                if len(prior) == 3:
                    batch.append((parts, prior[2]))
                continue
            if type(old) is cls:  # already that class: the node stays as it is
                made[id(old)] = (cls, place.path)
                continue
            fields = plan_of(cls).fields
            kwargs = carried(old, cls)
            for name, given in below.get(tuple(parts), ()):  # typed in the same command
                field = fields.get(name)
                if field is not None and accepts(given, field.annotation, cli=True):
                    key = ".".join([*parts, name])
                    kwargs[name] = as_typed(field.cli(given, join_path(place.path, name)), given, texts.get(key))
            new = _construct(cls, place.path, lambda cls=cls, kwargs=kwargs: cls(**kwargs))
            if is_node(old):  # it replaces the node wherever it is held: may it stand there?
                if holders is None:
                    holders = _holders(config)
                for where, annotation in holders.get(id(old), ()):
                    if not accepts(new, annotation):
                        raise RefusedClassError(
                            f"{cls.__qualname__} cannot replace this node: it is also held at "
                            f"{render(expand(where))}, which expects {type_name(annotation)}",
                            place.path,
                        )
            batch.append((parts, new))
            if is_node(old):
                fresh[id(old)] = (cls, place.path, new)
        if batch:
            config = _apply(config, batch, {}, [])
        made.clear()  # a rebuild remade the nodes above a swap: find them again
        for parts in swapped:
            place = _find(config, parts)
            if place is not None and is_node(place.value):
                made.setdefault(id(place.value), (type(place.value), place.path))
    return config


def _holders(root: Any) -> dict[int, list[tuple[Any, Any]]]:
    """Node id -> every place that holds it, as (linked path: tree.expand, annotation): one
    walk. The walk enters a shared list or dict once, at its first place; where it is held
    again under another annotation (``list[Base]`` and ``list[Sub]``), what it holds stands
    under that one too, so its items are read again per distinct annotation (linear in those
    pairs)."""
    found: dict[int, list[tuple[Any, Any]]] = {}
    again: list[tuple[Any, Any, Any]] = []  # (container, linked path, annotation)
    for visit, annotation in annotated_walk(root):
        value = visit.value
        if visit.where is not None and is_node(value):
            found.setdefault(id(value), []).append((visit.where, annotation))
        if visit.again and not is_dataclass_instance(value):
            again.append((value, visit.where, annotation))
    done: set[tuple[int, Any]] = set()
    while again:
        container, where, annotation = again.pop()
        try:
            key: tuple[int, Any] = (id(container), annotation)
            hash(key)
        except TypeError:  # an unhashable annotation object: by identity
            key = (id(container), id(annotation))
        if key in done:
            continue
        done.add(key)
        for name, child in children(container):
            place, inner = (where, name), child_annotation(annotation, name)
            if is_node(child):
                found.setdefault(id(child), []).append((place, inner))
            if is_memoised(child) and not is_dataclass_instance(child):  # as the walk's repeats
                again.append((child, place, inner))
    return found


def _direct(entries: list[tuple[list[str], Any]]) -> dict[tuple[str, ...], list[tuple[str, Any]]]:
    """The values given for fields, by the key of the node above them (not dicts: those
    update nodes), for a swap's constructor."""
    found: dict[tuple[str, ...], list[tuple[str, Any]]] = {}
    todo = list(entries)
    while todo:
        at, value = todo.pop()
        if isinstance(value, Overrides):
            todo.extend(([*at, *_split(k, "")], v) for k, v in value.items())
        elif not isinstance(value, dict) and len(at) > 1:
            found.setdefault(tuple(at[:-1]), []).append((at[-1], value))
    return found


def _find(config: Any, parts: list[str]) -> _Place | None:
    """The place at ``parts``, or None (the normal pass reports an unknown key)."""
    place = _Place(None, (), config, type(config), "")
    edits = _Edits(config)
    for part in parts:  # child_slot first: no hint is worked out for a key that is not there
        if place.value is _MISSING or child_slot(place.value, place.annotation, part) is None:
            return None
        place = _step(edits, place, part, [])
    return None if place.value is _MISSING else place


def _is_swap(place: _Place, value: Any) -> bool:
    """A class, or a text the annotation does not take as a value, for a place annotated with
    config classes."""
    if not swap_bases(place.annotation):
        return False
    return isinstance(value, type) or not accepts(value, place.annotation, cli=True)


def _touch(edits: _Edits, place: _Place, parts: list[str]) -> None:
    key = ".".join(parts)
    for part in parts:
        edits.step_through(place, key)
        place = _step(edits, place, part, [])
    edits.step_through(place, key)


def _split(key: Any, path: str) -> list[str]:
    parts = str(key).split(".")
    if not all(parts):
        raise ConfigError(f"empty key segment in {short_repr(str(key))}", join_path(path, str(key)))
    return parts


def _assign(edits: _Edits, place: _Place, parts: list[str], value: Any) -> None:
    key = join_path(place.path, ".".join(parts))
    for index, part in enumerate(parts):
        edits.step_through(place, key)
        place = _step(edits, place, part, parts[index + 1 :] + _first_keys(value))
    if isinstance(value, dict) and not is_node(value):
        descend = isinstance(value, Overrides) or is_node(place.value)
        if descend and (is_node(place.value) or isinstance(place.value, list | tuple | dict)):
            for key, item in value.items():
                _assign(edits, place, _split(key, place.path), item)
            return
        cls = _mapping_class(place.annotation, value)
        if cls is not None and not is_node(place.value):
            edits.set(place, _build(cls, value, place.path, texts=edits.texts))  # e.g. an Optional config now None
            return
        if isinstance(value, Overrides):
            if place.value is _MISSING:  # a new entry of a plain dict: nothing to go into
                why = f"{place.path} is a new entry: give it whole, as {place.path}=..."
            else:
                why = f"{place.path} holds {type_name(place.annotation)} {short_repr(place.value)}, not a config"
            raise UnknownFieldError(f"no such field ({why})", join_path(place.path, next(iter(value), "")))
    value = _nodes_from_mappings(value, place.annotation, place.path)
    edits.set(place, as_typed(convert(value, place.annotation, place.path, cli=True), value, edits.texts.get(key)))


def _first_keys(value: Any) -> list[str]:
    """The first dotted key inside a nested ``Overrides`` (to word a "did you mean")."""
    keys: list[str] = []
    while isinstance(value, Overrides) and value:
        key = next(iter(value))
        keys.extend(str(key).split("."))
        value = value[key]
    return keys


def _step(edits: _Edits, place: _Place, part: str, rest: list[str]) -> _Place:
    """The place one key below ``place``; an unknown key is a ConfigError with a suggestion."""
    container, path = place.value, join_path(place.path, part)
    found = child_slot(container, place.annotation, part)
    if found is None:
        error = _unknown(edits.root, place, part, rest)
        swap = edits.made.get(id(container))
        if swap is not None and error.message.startswith("no such field"):  # the new class's
            name = swap[0].__qualname__
            where = f"no such field in {name}, the class {swap[1]}={name} put there"
            raise UnknownFieldError(where + error.message.removeprefix("no such field"), error.path)
        raise error
    slot, child, annotation = found
    if is_node(container) or isinstance(container, list | dict):  # mutable: shared by identity
        return _Place(container, (slot,), child, annotation, path)
    return _Place(place.owner, (*place.chain, slot), child, annotation, path)


def child_slot(container: Any, annotation: Any, part: str) -> tuple[Any, Any, Any] | None:
    """``(slot, child, child annotation)`` for key ``part``, or None when there is none."""
    if is_dataclass_instance(container):
        field = plan_of(type(container)).fields.get(part)
        if field is None:
            return None
        return part, getattr(container, part), field.annotation
    if isinstance(container, list | tuple):
        try:
            index = int(part) if len(part) < 20 else len(container)
        except ValueError:
            return None
        if not -len(container) <= index < len(container):
            return None
        index %= len(container)
        return index, container[index], child_annotation(annotation, index)
    if isinstance(container, dict):
        value_annotation = child_annotation(annotation, part)
        for key in container:
            if key == part or str(key) == part:
                return key, container[key], value_annotation
        inner, _ = unwrap_optional(annotation)
        args = getattr(inner, "__args__", ())
        if not is_node(container) and (len(args) < 2 or accepts("x", args[0], cli=True)):
            return part, _MISSING, value_annotation  # a new entry of a plain dict
    return None


_Memo = dict[tuple[int, Any], tuple[Any, Any]]  # (value id, annotation) -> (value, result)


def _nodes_from_mappings(value: Any, annotation: Any, path: str, memo: _Memo | None = None) -> Any:
    """``value`` with each plain mapping that stands where the annotation names config classes
    built as one (:func:`_mapping_class`, :func:`_build`), inside lists, tuples and dicts too:
    the file's rule for a mapping without ``_target_`` (``lst=[{x: 7}]`` for ``list[A]``).
    Containers met twice are done once (an alias bomb stays linear) and one that changes
    nowhere is kept."""
    if type(value) not in (list, tuple, dict):
        return value
    memo = {} if memo is None else memo

    def visit(value: Any, annotation: Any, path: str) -> Any:
        kind = type(value)
        if kind not in (list, tuple, dict):
            return value
        try:  # an equal annotation is the same place (l: T | None and r: T | None)
            key = (id(value), annotation)
            done = memo.get(key)
        except TypeError:  # an unhashable annotation object: by identity
            key = (id(value), id(annotation))
            done = memo.get(key)
        if done is not None:  # met before (a YAML alias): the same result, one node
            return done[1]
        cls = _mapping_class(annotation, value) if kind is dict else None
        if cls is not None:
            new = _build(cls, value, path, memo)
            memo[key] = (value, new)
            return new
        if kind is dict:
            new: Any = {k: visit(v, child_annotation(annotation, k), join_path(path, str(k)))
                        for k, v in value.items()}
            same = all(new[k] is v for k, v in value.items())
        else:
            items = [visit(v, child_annotation(annotation, i), join_path(path, str(i)))
                     for i, v in enumerate(value)]
            same = all(map(operator.is_, items, value))
            new = kind(items)
        result = value if same else new
        memo[key] = (value, result)
        return result

    try:
        return visit(value, annotation, path)
    except RecursionError:
        raise WrongTypeError("the value is nested too deeply to check", path) from None


def _build(
    cls: type, data: dict[Any, Any], path: str, memo: _Memo | None = None, texts: dict[str, str] | None = None
) -> Any:
    """A new ``cls`` from a dict of field values (dotted keys allowed), each value coerced;
    mappings inside built as configs where the annotation says so, through one ``memo`` (an
    aliased mapping is one node, and an alias bomb stays linear). ``texts``: the numbers'
    texts as typed (``Overrides.texts``, by full dotted key), kept for ``str`` fields."""
    memo = {} if memo is None else memo
    nested: dict[str, Any] = {}
    for key, value in data.items():
        head, _, rest = str(key).partition(".")
        nested[head] = Overrides({rest: value}) | nested.get(head, {}) if rest else value
    fields = plan_of(cls).fields
    kwargs = {}
    for name, value in nested.items():
        item_path = join_path(path, name)
        field = fields.get(name)
        if field is None:
            raise UnknownFieldError(  # the full dotted path, as every other hint gives it
                f"no such field{did_you_mean(item_path, [join_path(path, f) for f in fields])}", item_path
            )
        sub = _mapping_class(field.annotation, value) if isinstance(value, Overrides) else None
        if sub is not None:  # dotted keys below this field: a node built from them
            kwargs[name] = _build(sub, value, item_path, memo, texts)
            continue
        built = _nodes_from_mappings(value, field.annotation, item_path, memo)
        if not is_node(built):
            built = as_typed(field.cli(built, item_path), built, texts.get(item_path) if texts else None)
        kwargs[name] = built
    return _construct(cls, path, lambda: cls(**kwargs))


def _mapping_class(annotation: Any, mapping: dict[Any, Any]) -> type | None:
    """The config class a plain mapping stands for at a place annotated ``annotation``, by the
    loader's own rule (the annotation's Shape: the one class it names, or among several the one
    plan.mapping_class picks), so a file and the command line build the same node."""
    shape = shape_of(annotation)
    if shape.node is not None:
        return shape.node
    if shape.nodes is None:
        return None
    return mapping_class(shape.nodes, {str(k).partition(".")[0]: v for k, v in mapping.items()}, cli=True)


def _construct(cls: type, path: str, make: Any) -> Any:
    """Run ``make()``; errors from the class (a missing field, ``__post_init__`` checks) become
    ConfigErrors at ``path``."""
    try:
        return make()
    except ConfigError as exc:
        raise exc.under(path) if path else exc from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cls.__name__}: {exc}", path) from None


def _unknown(root: Any, place: _Place, part: str, rest: list[str]) -> ConfigError:
    container, path = place.value, join_path(place.path, part)
    wanted = ".".join([path, *rest])
    if is_dataclass_instance(container) and not isinstance(container, list | dict):
        attr = getattr(type(container), part, None)
        if part in {f.name for f in dataclasses.fields(container)}:
            what = "is computed in __post_init__ (init=False) and cannot be overridden"
        elif callable(attr) or isinstance(attr, property):
            what = f"names a {'property' if isinstance(attr, property) else 'method'}, not a field"
        else:
            what = "no such field"
    elif isinstance(container, list | tuple):
        what = f"no such index (length {len(container)})"
    elif isinstance(container, dict):
        what = "no such key"
    elif container is _MISSING:  # below a new entry of a plain dict
        what = f"no such field ({place.path} is a new entry: give it whole, as {place.path}=...)"
    else:
        what = f"no such field ({type_name(place.annotation)} {short_repr(container)} has no fields)"
        return UnknownFieldError(what, path)
    error = UnknownFieldError(what + _hint(root, place, wanted, [part, *rest]), path)
    if what == "no such field" and place.path:
        error.message += _swap_hint(container, place, part)
    return error


def _swap_hint(node: Any, place: _Place, part: str) -> str:
    """``; SGDConfig has it: optim=SGDConfig first`` when a class the place may be swapped to
    (swap.swap_classes) has the field the node lacks."""
    having = [cls for cls in swap_classes(place.annotation)
              if cls is not type(node) and part in plan_of(cls).fields]
    if not having:
        return ""
    names = class_names(tuple(having))[:3]
    return f"; {' and '.join(names)} {'has' if len(names) == 1 else 'have'} it: swap first with {place.path}={names[0]}"


def _hint(root: Any, place: _Place, wanted: str, parts: list[str]) -> str:
    """A "did you mean" naming the closest existing *full* dotted path."""
    local = []
    for key in _keys(place.value):
        base = join_path(place.path, key)
        found = child_slot(place.value, place.annotation, key)
        if found is not None and parts[1:] and _resolves(found[1], found[2], parts[1:]):
            base = ".".join([base, *parts[1:]])
        local.append(base)
    best = closest(wanted, local)
    if best is None:  # a right name at the wrong level: `hidden_dim=1` for `model.x.hidden_dim`
        ends = _paths_ending(root, parts)
        if ends:
            return f" (did you mean {' or '.join(map(repr, ends))}?)"
    return f" (did you mean {best!r}?)" if best is not None else did_you_mean(wanted, local)


def _keys(container: Any) -> Iterator[str]:
    if is_dataclass_instance(container):
        yield from plan_of(type(container)).names
    elif isinstance(container, list | tuple):
        yield from (str(i) for i in range(len(container)))
    elif isinstance(container, dict):
        yield from (str(k) for k in container)


def _resolves(value: Any, annotation: Any, parts: list[str]) -> bool:
    for part in parts:
        found = child_slot(value, annotation, part) if not isinstance(value, str) else None
        if found is None or found[1] is _MISSING:
            return False
        _, value, annotation = found
    return True


def _paths_ending(root: Any, parts: list[str], limit: int = 3) -> list[str]:
    """The first ``limit`` paths of the tree (each distinct object at its first path) that end
    with the keys ``parts`` below at least one more key. Each place is matched on its linked
    path, key by key from the end, and only a match is rendered: linear at any depth."""
    found: list[str] = []
    for visit in walk(root):
        if visit.again:
            continue
        where = visit.where
        for part in reversed(parts):
            if where is None or str(where[1]) != part:
                break
            where = where[0]
        else:
            if where is not None:
                found.append(render(visit.path))
                if len(found) == limit:
                    break
    return found


class _Rebuild:
    """The new tree, bottom-up (tree.transform), one new object per changed old object."""

    def __init__(self, edits: _Edits) -> None:
        self.edits = edits.by_node
        self.memo: dict[int, Any] = edits.replacements()  # the config given, used as it is

    def run(self, root: Any) -> Any:
        new = transform(root, self.leave, self.memo)
        if new is root:  # like dataclasses.replace, the result is always a new root object
            new = self.remake(root, dict(children(root)), None)
        return new

    def leave(self, value: Any, results: list[tuple[Any, Any]], where: Any) -> Any:
        kids = dict(results)
        entry = self.edits.get(id(value))
        if entry is not None:
            for chain, (new_value, _) in entry[1].items():
                kids[chain[0]] = _patch(kids.get(chain[0], _MISSING), chain[1:], new_value)
        old = dict(children(value))
        if all(kids[slot] is old.get(slot, _MISSING) for slot in kids):
            return value
        return self.remake(value, kids, where)

    @staticmethod
    def remake(value: Any, kids: dict[Any, Any], where: Any) -> Any:
        """A copy of ``value`` holding ``kids``; ``where`` (tree.expand) is rendered only for
        an error, so a rebuild down a deep chain stays linear."""
        if isinstance(value, list | tuple | dict):
            return _remake_container(value, kids)
        old = value.__dataclass_fields__
        changed = {n: v for n, v in kids.items() if old[n].init and v is not getattr(value, n)}
        try:
            new = _construct(type(value), "", lambda: dataclasses.replace(value, **changed))
        except ConfigError as exc:
            raise exc.under(render(expand(where))) if where is not None else exc from None
        for name, field in old.items():  # derived fields __post_init__ did not set: carry over
            if not field.init and not hasattr(new, name) and kids.get(name, _MISSING) is not _MISSING:
                object.__setattr__(new, name, kids[name])
        return new


def _remake_container(value: Any, kids: dict[Any, Any]) -> Any:
    if isinstance(value, dict):
        if type(value) is dict:
            return dict(kids)
        new = copy.copy(value)  # a ConfigScriptDict (sub)class, attributes kept
        new.clear()
        new.update(kids)
        return new
    items = [kids[i] for i in range(len(kids))]
    if isinstance(value, tuple):
        return type(value)(*items) if hasattr(type(value), "_fields") else type(value)(items)
    if type(value) is list:
        return items
    new = copy.copy(value)
    new[:] = items
    return new


def _patch(container: Any, chain: tuple[Any, ...], value: Any) -> Any:
    """``container`` with the entry at ``chain`` set to ``value``, copying (never mutating)
    each plain list/tuple/dict on the way."""
    if not chain:
        return value
    head, rest = chain[0], chain[1:]
    if isinstance(container, dict):
        kids = dict(container)
        kids[head] = _patch(container.get(head, _MISSING), rest, value)
    else:
        kids = dict(enumerate(container))
        kids[head] = _patch(container[head], rest, value)
    return _remake_container(container, kids)
