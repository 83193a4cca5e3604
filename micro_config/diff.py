"""``micro_config.diff`` and ``micro_config.Change`` resolve here (the package's lazy table).

The code lives in :mod:`micro_config.diffing`: a submodule named ``diff`` would replace the
``micro_config.diff`` *function* with itself whenever it is imported directly, so nothing
imports this module except the package's lazy lookup.
"""

from .diffing import Change, diff

__all__ = ["Change", "diff"]
