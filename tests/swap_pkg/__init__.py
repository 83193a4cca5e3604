"""Configs for the class-swap tests: a base with subclasses, one of them (``swap_pkg.extra``)
in a module nothing imports until a swap names it (the annotated class's own package)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from micro_config import ConfigScript


@dataclass
class Leaf(ConfigScript):
    size: int = 1

    def unroll(self, metaconfig: Any) -> Any:
        return self.size


@dataclass
class Opt(ConfigScript):
    lr: float = 0.1
    leaf: Leaf = field(default_factory=Leaf)
    tag: str = "opt"

    def unroll(self, metaconfig: Any) -> Any:
        return type(self).__name__


@dataclass
class Momentum(Opt):
    momentum: float = 0.5
    nesterov: bool = False

    def __post_init__(self) -> None:
        if self.nesterov and self.momentum == 0:
            raise ValueError("Nesterov needs momentum > 0")


@dataclass
class Plain(ConfigScript):
    """Not an Opt: never a swap for an Opt field."""

    lr: float = 0.1

    def unroll(self, metaconfig: Any) -> Any:
        return None


@dataclass
class Tagged(ConfigScript):
    tag: int = 3  # the same name as Opt.tag, another type

    def unroll(self, metaconfig: Any) -> Any:
        return None


@dataclass
class Root(ConfigScript):
    a: Opt = field(default_factory=Opt)
    b: Opt | None = None
    pick: Opt | Tagged = field(default_factory=Tagged)
    name: str = "root"
    leaf: Leaf = field(default_factory=Leaf)
    items: list[Opt] = field(default_factory=list)

    def unroll(self, metaconfig: Any) -> Any:
        return None
