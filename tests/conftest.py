"""Shared fixtures: tiny LM demo runs trained once per session (see ``demo_runs``).

``demo_runs`` imports torch, so it is imported when a test first asks for ``lm_runs``: a run of
the library's tests alone never pays for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from demo_runs import LmRuns


@pytest.fixture(scope="session")
def lm_runs(tmp_path_factory: pytest.TempPathFactory) -> LmRuns:
    """``lm_runs.copy(tmp_path, "max_steps=6")``: a finished tiny run (``ck/``, ``snap/``)
    in ``tmp_path``, trained once per session for every test that asks for the same one
    (``resume=...``: that run resumed; ``lm_runs.two_runs(tmp_path)``: the pair the diff
    tests compare). The one fixture of trained runs: a test file does not train its own."""
    from demo_runs import LmRuns

    return LmRuns(tmp_path_factory.mktemp("lm_runs"))
