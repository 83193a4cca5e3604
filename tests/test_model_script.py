"""ModelConfigScript: device placement and checkpoint loading (torch only when it runs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from micro_config import ConfigError, ConfigScriptModel, MetaConfig, ModelConfigScript


@dataclass
class TinyModel(ModelConfigScript):
    width: int = 3

    def unroll(self, metaconfig: MetaConfig) -> torch.nn.Module:
        torch.manual_seed(0)
        return self.place_and_load(torch.nn.Linear(self.width, 2), metaconfig)


def test_alias_and_defaults() -> None:
    assert ConfigScriptModel is ModelConfigScript
    m = TinyModel()
    assert (m.checkpoint_path, m.strict_load, m.device) == (None, True, None)


def test_device_falls_back_to_metaconfig_without_mutating() -> None:
    cfg = TinyModel()
    model = cfg.unroll(MetaConfig(verbose=False, device="cpu"))
    assert next(model.parameters()).device.type == "cpu"
    assert cfg.device is None


def test_checkpoint_is_loaded_strictly(tmp_path: Path) -> None:
    source = torch.nn.Linear(3, 2)
    with torch.no_grad():
        source.weight.fill_(0.5)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    mc = MetaConfig(verbose=False, project_root=str(tmp_path))
    model = TinyModel(checkpoint_path="w.pt").unroll(mc)  # relative to project_root
    assert torch.equal(model.weight, source.weight)

    torch.save({"weight": source.weight}, tmp_path / "partial.pt")
    with pytest.raises(ConfigError, match="checkpoint_path"):
        TinyModel(checkpoint_path="partial.pt").unroll(mc)
    loose = TinyModel(checkpoint_path="partial.pt", strict_load=False).unroll(mc)
    assert torch.equal(loose.weight, source.weight)


def test_missing_checkpoint_is_a_config_error(tmp_path: Path) -> None:
    mc = MetaConfig(verbose=False, project_root=str(tmp_path))
    with pytest.raises(ConfigError, match="not found"):
        TinyModel(checkpoint_path="nope.pt").unroll(mc)
