"""An Opt subclass in a module of the annotated class's package that nothing imports."""

from __future__ import annotations

from dataclasses import dataclass

from swap_pkg import Opt


@dataclass
class Extra(Opt):
    beta: float = 0.9
