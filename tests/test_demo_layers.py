"""The demo's layers point one way: micro_config <- lm_demo runtime <- schemas <- entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ROOT.parent / "shared/tools/layers.py"
RUNTIME = ("checkpoint", "console", "data", "distributed", "loop", "metrics", "state", "transformer")


def test_the_runtime_imports_no_config_class() -> None:
    imports = "; ".join(f"import lm_demo.{name}" for name in RUNTIME)
    code = f"import sys; {imports}; print(sorted(m for m in sys.modules if m.startswith('schemas')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_schemas_hold_no_training_code() -> None:
    text = (ROOT / "schemas/train.py").read_text(encoding="utf-8")
    for word in ("import torch", "loss.backward", "optimizer.step(", "torch.save(", "from tqdm"):
        assert word not in text, word


def test_layers_tool_finds_no_import_against_the_direction() -> None:
    if not LAYERS.is_file():  # the checker lives beside the project, not in it
        import pytest

        pytest.skip(f"{LAYERS} not present")
    out = subprocess.run([sys.executable, str(LAYERS)], capture_output=True, text=True, cwd=ROOT)
    assert (out.returncode, out.stdout.strip()) == (0, "layers: ok"), out.stdout
