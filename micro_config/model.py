"""``ModelConfigScript``: a config that builds a ``torch.nn.Module``, placed and optionally loaded.

torch is imported only when :meth:`ModelConfigScript.place_and_load` runs, never at import.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Optional

from .errors import ConfigError
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
        state dict there (path resolved with ``metaconfig.convert_path``)."""
        import torch

        device = torch.device(self.target_device(metaconfig))
        module = module.to(device)
        if self.checkpoint_path is not None:
            path = metaconfig.convert_path(self.checkpoint_path)
            try:
                state = torch.load(path, map_location=device, weights_only=True)
            except FileNotFoundError:
                raise ConfigError(f"checkpoint not found: {path}", "checkpoint_path") from None
            except Exception as exc:  # a corrupt or foreign file
                raise ConfigError(
                    f"cannot read checkpoint {path}: {exc}", "checkpoint_path"
                ) from None
            try:
                module.load_state_dict(state, strict=self.strict_load)
            except RuntimeError as exc:
                raise ConfigError(
                    f"checkpoint {path} does not fit the model: {exc}", "checkpoint_path"
                ) from None
        return module


ConfigScriptModel = ModelConfigScript
