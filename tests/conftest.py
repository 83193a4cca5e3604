"""Shared fixtures: tiny LM demo runs trained once per session (see ``demo_runs``)."""

from __future__ import annotations

import pytest
from demo_runs import LmRuns


@pytest.fixture(scope="session")
def lm_runs(tmp_path_factory: pytest.TempPathFactory) -> LmRuns:
    """``lm_runs.copy(tmp_path, "max_steps=6")``: a finished tiny run (``ck/``, ``snap/``)
    in ``tmp_path``, trained once per session for every test that asks for the same one."""
    return LmRuns(tmp_path_factory.mktemp("lm_runs"))
