"""``ModelConfigScript``: a config that builds a ``torch.nn.Module``, placed and optionally loaded.

torch is imported only when :meth:`ModelConfigScript.place_and_load` runs, never at import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from .errors import ConfigError, did_you_mean
from .script import ConfigScript, MetaConfig

if TYPE_CHECKING:
    import torch


@dataclasses.dataclass
class ModelConfigScript(ConfigScript):
    """Base for model configs. A subclass's ``unroll`` builds the module and returns
    ``self.place_and_load(module, metaconfig)``."""

    checkpoint_path: Optional[str] = None  # noqa: UP045 - users read this signature
    strict_load: bool = True
    device: Optional[str] = None  # noqa: UP045 - None: the metaconfig's device

    def target_device(self, metaconfig: MetaConfig) -> str:
        """``self.device``, or the metaconfig's device when None (the config is not mutated)."""
        return self.device if self.device is not None else metaconfig.device

    def place_and_load(self, module: torch.nn.Module, metaconfig: MetaConfig) -> torch.nn.Module:
        """Move ``module`` to the target device and, when ``checkpoint_path`` is set, load its
        state dict there (path resolved with ``metaconfig.convert_path``).

        Bad input is a ConfigError at ``device`` (not a torch device, or not available on this
        machine) or at ``checkpoint_path`` (missing, unreadable, or not fitting the model)."""
        device = self._torch_device(metaconfig)
        try:
            module = module.to(device)
        except (RuntimeError, AssertionError) as exc:  # torch's "not compiled with ..." errors
            raise ConfigError(
                f"cannot place the model on {str(device)!r}: {_first_line(exc)}", "device"
            ) from None
        if self.checkpoint_path is not None:
            self._load(module, metaconfig.convert_path(self.checkpoint_path), device)
        return module

    def _torch_device(self, metaconfig: MetaConfig) -> torch.device:
        import torch

        name = self.target_device(metaconfig)
        source = "" if self.device is not None else " (the MetaConfig's device)"
        try:
            device = torch.device(name)
        except (RuntimeError, TypeError, ValueError):
            hint = did_you_mean(str(name).split(":")[0].lower(), _COMMON_DEVICES)
            raise ConfigError(f"{name!r}{source} is not a torch device{hint}", "device") from None
        if not _available(device):
            raise ConfigError(f"{name!r}{source} is not available on this machine", "device")
        return device

    def _load(self, module: torch.nn.Module, path: str, device: torch.device) -> None:
        import torch

        try:
            state = torch.load(path, map_location=device, weights_only=True)
        except FileNotFoundError:
            raise ConfigError(f"checkpoint not found: {path}", "checkpoint_path") from None
        except Exception as exc:  # a corrupt or foreign file: torch raises various types
            raise ConfigError(
                f"cannot read checkpoint {path}: {_first_line(exc)}", "checkpoint_path"
            ) from None
        if not isinstance(state, Mapping):
            raise ConfigError(
                f"checkpoint {path} holds a {type(state).__name__}, not a state dict",
                "checkpoint_path",
            )
        try:
            module.load_state_dict(state, strict=self.strict_load)
        except RuntimeError as exc:
            why = _misfit(module.state_dict(), state, self.strict_load) or _first_line(exc)
            raise ConfigError(
                f"checkpoint {path} does not fit the model: {why}", "checkpoint_path"
            ) from None


_COMMON_DEVICES = ("cpu", "cuda", "mps", "xpu", "meta")


def _available(device: torch.device) -> bool:
    """Whether this torch build and machine can hold tensors on ``device``."""
    import torch

    if device.type == "cuda":
        return torch.cuda.is_available() and (
            device.index is None or device.index < torch.cuda.device_count()
        )
    if device.type == "mps":
        return torch.backends.mps.is_available()
    backend = getattr(torch, device.type, None)  # torch.xpu, torch.mtia, ...
    is_available = getattr(backend, "is_available", None)
    return bool(is_available()) if callable(is_available) else True


def _misfit(own: Mapping[str, Any], given: Mapping[str, Any], strict: bool) -> str:
    """One line in place of torch's key-by-key message: counts and the first few names."""
    missing = [key for key in own if key not in given]
    unexpected = [key for key in given if key not in own]
    reshaped = [
        f"{key}: {tuple(given[key].shape)} in the checkpoint, {tuple(own[key].shape)} in the model"
        for key in own
        if key in given
        and hasattr(given[key], "shape")
        and tuple(given[key].shape) != tuple(own[key].shape)
    ]
    parts = [_some(reshaped, "shape mismatch", "shape mismatches", sep="; ")]
    if strict:
        parts = [
            _some(missing, "missing key", "missing keys"),
            _some(unexpected, "unexpected key", "unexpected keys"),
            *parts,
        ]
    return ", ".join(part for part in parts if part)


def _some(items: list[str], one: str, many: str, shown: int = 3, sep: str = ", ") -> str:
    if not items:
        return ""
    more = f"{sep}..." if len(items) > shown else ""
    return f"{len(items)} {one if len(items) == 1 else many} ({sep.join(items[:shown])}{more})"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


ConfigScriptModel = ModelConfigScript
