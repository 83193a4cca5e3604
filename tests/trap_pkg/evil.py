"""A trap: importing this module records itself (a file TRAP_IMPORTED in the current folder,
and trap_pkg.IMPORTED), and defines subclasses that would fit the fields a swap was refused for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swap_pkg import Opt

import trap_pkg
from schemas.optim import AdamWConfig

trap_pkg.IMPORTED = True
Path("TRAP_IMPORTED").write_text("imported\n")


@dataclass
class EvilOpt(AdamWConfig):
    pass


@dataclass
class EvilSwap(Opt):
    pass
