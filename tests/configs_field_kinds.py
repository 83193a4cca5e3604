"""Config classes whose fields cover every kind of value a snapshot writes, for the snapshot
tests: ``Leaf`` (a field of each kind: scalars, enums, Path, tuples, sets, a dataclass, Any),
``Node`` (lists, dicts and fields of configs), ``Dims`` (two ``list[int]``), a subclass, a required field, an ``init=False``
field, and ``UNROLLS`` (unroll bodies run). Module level, so ``_target_`` names resolve."""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from micro_config import ConfigScript, ConfigScriptDict, ConfigScriptList, MetaConfig

UNROLLS: collections.Counter[str] = collections.Counter()  # unroll bodies run, by class name


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Point:
    """A plain dataclass (not a ConfigScript) used as a field type."""

    x: float = 0.0
    y: float = 0.0


@dataclass
class Leaf(ConfigScript):
    name: str = "leaf"
    count: int = 0
    ratio: float = 0.5
    flag: bool = False
    maybe: Optional[str] = None  # noqa: UP045 - the spelling users write
    shape: tuple[int, ...] = ()
    pair: tuple[int, str] = (0, "")
    path: Path = Path("data")
    color: Color = Color.RED
    level: Level = Level.LOW
    tags: frozenset[str] = frozenset()
    ids: set[int] = field(default_factory=set)
    point: Point = field(default_factory=Point)
    weights: list[float] = field(default_factory=list)
    table: dict[str, int] = field(default_factory=dict)
    anything: Any = None

    def unroll(self, metaconfig: MetaConfig | None = None) -> Any:
        UNROLLS["Leaf"] += 1
        return {"name": self.name, "count": self.count}


@dataclass
class Node(ConfigScript):
    label: str = "node"
    children: ConfigScriptList = field(default_factory=ConfigScriptList)
    named: ConfigScriptDict = field(default_factory=ConfigScriptDict)
    first: Optional[Leaf] = None  # noqa: UP045
    other: Any = None
    items: list[Any] = field(default_factory=list)

    def unroll(self, metaconfig: MetaConfig | None = None) -> Any:
        UNROLLS["Node"] += 1
        parts = [self.children.unroll(metaconfig), self.named.unroll(metaconfig)]
        if self.first is not None:
            parts.append(self.first.unroll(metaconfig))
        if isinstance(self.other, ConfigScript):
            parts.append(self.other.unroll(metaconfig))
        return parts


class MyList(ConfigScriptList):
    """A ConfigScriptList subclass: written with a marker where the annotation does not say."""


@dataclass
class Derived(Leaf):
    extra: int = 1


@dataclass
class Required(ConfigScript):
    needed: int
    optional: int = 2

    def unroll(self, metaconfig: MetaConfig | None = None) -> Any:
        return self.needed


@dataclass
class WithDerived(ConfigScript):
    """A field computed in ``__post_init__`` (init=False): not written, recomputed on load."""

    size: int = 2
    doubled: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.doubled = self.size * 2  # idempotent, as the format requires

    def unroll(self, metaconfig: MetaConfig | None = None) -> Any:
        return self.doubled


@dataclass
class Dims(ConfigScript):
    """Two ``list[int]`` fields: a plain list both hold is one list, after a load too."""

    dims: list[int] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)

    def unroll(self, metaconfig: MetaConfig | None = None) -> Any:
        return self.dims


@dataclass
class Layers(ConfigScript):
    """A tuple of nodes whose default is one tuple object, shared by every instance."""

    layers: tuple[Leaf, ...] = (Leaf(name="default layer"),)

    def unroll(self, metaconfig: MetaConfig | None = None) -> Any:
        return [layer.unroll(metaconfig) for layer in self.layers]


@dataclass
class Computed(ConfigScript):
    """A field read through a property that makes a new list at each read."""

    seed: int = 0
    rows: list[list[int]] = field(default_factory=list)

    def unroll(self, metaconfig: MetaConfig | None = None) -> Any:
        return self.rows


Computed.rows = property(lambda self: [[self.seed]], lambda self, value: None)  # type: ignore[assignment]


@dataclass
class Collections(ConfigScript):
    """Sets, and lists inside a union: where an element is refused, the error names it."""

    ints: set[int] = field(default_factory=set)
    frozen: frozenset[int] = frozenset()
    maybe: Optional[list[int]] = None  # noqa: UP045
    either: list[int] | str = "x"

    def unroll(self, metaconfig: MetaConfig | None = None) -> Any:
        return self.ints
