"""ModelConfigScript: device placement and checkpoint loading (torch only when it runs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from micro_config import ConfigError, MetaConfig, ModelConfigScript


@dataclass
class TinyModel(ModelConfigScript):
    width: int = 3

    def unroll(self, metaconfig: MetaConfig) -> torch.nn.Module:
        torch.manual_seed(0)
        return self.place_and_load(torch.nn.Linear(self.width, 2), metaconfig)


def test_placement_is_observed_on_the_meta_device() -> None:
    """The module lands where the config (or, failing that, the MetaConfig) says: on ``meta``
    every parameter is shapes only, which a module never is by accident."""
    model = TinyModel(device="meta").unroll(MetaConfig(verbose=False))
    assert all(p.is_meta for p in model.parameters())
    assert model.weight.shape == (2, 3)
    from_meta = TinyModel().unroll(MetaConfig(verbose=False, device="meta"))
    assert all(p.is_meta for p in from_meta.parameters())
    on_cpu = TinyModel(device="cpu").unroll(MetaConfig(verbose=False, device="meta"))
    assert not any(p.is_meta for p in on_cpu.parameters())  # the config's own device wins


def test_the_demo_model_config_places_its_module_on_meta() -> None:
    from schemas import default_train

    lm = default_train().model
    module = type(lm)(dataset=lm.dataset, transformer_config=lm.transformer_config, device="meta")
    placed = module.unroll(MetaConfig(verbose=False))
    assert {p.device.type for p in placed.parameters()} == {"meta"}


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


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("bogus", "'bogus' is not a torch device (valid names: cpu, cuda"),
        ("CPU", "'CPU' is not a torch device (did you mean 'cpu'?)"),
        ("cuda:x", "'cuda:x' is not a torch device"),
    ],
)
def test_a_name_that_is_no_device_is_a_config_error(device: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        TinyModel(device=device).unroll(MetaConfig(verbose=False))
    assert info.value.path == "device"
    assert message in str(info.value)


def test_a_device_this_machine_lacks_is_a_config_error() -> None:
    absent = [name for name in ("cuda", "cuda:0", "mps", "xpu") if not _present(name)]
    if torch.cuda.is_available():
        absent.append(f"cuda:{torch.cuda.device_count()}")  # one past the last GPU
    assert absent  # a machine with CUDA, MPS and XPU at once still lacks cuda:N
    for name in absent:
        with pytest.raises(ConfigError) as info:
            TinyModel(device=name).unroll(MetaConfig(verbose=False))
        assert info.value.path == "device"
        assert str(info.value) == f"device: {name!r} is not available on this machine"
    with pytest.raises(ConfigError, match="MetaConfig's device"):
        TinyModel().unroll(MetaConfig(verbose=False, device="bogus"))


def _present(name: str) -> bool:
    kind = torch.device(name).type
    if kind == "mps":
        return torch.backends.mps.is_available()
    return getattr(torch, kind).is_available()


def test_a_state_dict_that_does_not_fit_is_one_line(tmp_path: Path) -> None:
    mc = MetaConfig(verbose=False, project_root=str(tmp_path))
    deep = torch.nn.Sequential(*(torch.nn.Linear(3, 3) for _ in range(5)))
    torch.save(deep.state_dict(), tmp_path / "deep.pt")
    with pytest.raises(ConfigError) as info:
        TinyModel(checkpoint_path="deep.pt").unroll(mc)
    text = str(info.value)
    assert info.value.path == "checkpoint_path" and "\n" not in text
    assert "2 missing keys (weight, bias)" in text
    assert "10 unexpected keys (0.weight, 0.bias, 1.weight, ...)" in text
    torch.save(torch.nn.Linear(4, 2).state_dict(), tmp_path / "wide.pt")
    with pytest.raises(ConfigError) as info:
        TinyModel(checkpoint_path="wide.pt", strict_load=False).unroll(mc)
    assert str(info.value).endswith(
        "does not fit the model: 1 shape mismatch (weight: (2, 4) in the checkpoint, "
        "(2, 3) in the model)"
    )


def test_an_unreadable_or_foreign_checkpoint_is_one_line(tmp_path: Path) -> None:
    mc = MetaConfig(verbose=False, project_root=str(tmp_path))
    (tmp_path / "junk.pt").write_bytes(b"\x80\x02not a checkpoint at all")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    for name, message in (("junk.pt", "cannot read checkpoint"), ("tensor.pt", "not a state")):
        with pytest.raises(ConfigError, match=message) as info:
            TinyModel(checkpoint_path=name).unroll(mc)
        assert info.value.path == "checkpoint_path" and "\n" not in str(info.value)
