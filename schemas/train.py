"""The training script as a config: ``TrainLoop.unroll`` trains the model it describes.

Config and validation only: the loop, checkpoints and resume policy live in ``lm_demo``
(entered through ``lm_demo.loop.train``). Torch-free at import.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from micro_config import ConfigError, ConfigScript, MetaConfig, diff
from micro_config.errors import short_repr

from .checks import check_int, check_optional_int
from .data import VALID_FILE, WikiDataConfig
from .model import SHAPE_FIELDS, LMModelConfig, check_max_len
from .optim import AdamWConfig, SGDConfig


@dataclass
class TrainLoop(ConfigScript):
    """Train ``model`` on ``train_dataset`` with ``optim``, evaluating on ``eval_dataset``.

    Runs for ``epochs`` epochs, or stops after ``max_steps`` optimizer steps if that comes
    first. Every ``save_every`` steps (and at the end) a checkpoint folder ``step_NNNNNN/`` is
    written under ``save_checkpoint_dir``; ``<snapshot_dir>/<run_name>.yaml`` holds the
    config of the run from its start on. Train/eval losses go to ``metrics.jsonl`` beside the
    checkpoints. Paths are relative to the project root.
    """

    train_dataset: WikiDataConfig = field(default_factory=WikiDataConfig)
    eval_dataset: WikiDataConfig = field(default_factory=lambda: WikiDataConfig(VALID_FILE))
    model: LMModelConfig = field(default_factory=LMModelConfig)
    optim: AdamWConfig | SGDConfig = field(default_factory=AdamWConfig)
    epochs: int = 5
    bsize: int = 32
    seed: int = 0
    max_steps: Optional[int] = None  # noqa: UP045 - None: run all epochs
    eval_every: int = 100
    eval_batches: Optional[int] = None  # noqa: UP045 - None: the whole eval set
    save_every: int = 200
    keep_checkpoints: int = 3  # the newest N are kept; 0 keeps all
    save_checkpoint_dir: str = "checkpoints/run"
    snapshot_dir: str = "snapshots"
    run_name: str = "run"
    deterministic: bool = True  # torch.use_deterministic_algorithms: exact resume on CPU
    num_threads: Optional[int] = None  # noqa: UP045 - None: torch's default
    progress: bool = True  # tqdm progress bar

    def __post_init__(self) -> None:
        # Validation only (no normalisation), so re-running it on load changes nothing.
        for name, low in (
            ("epochs", 1),
            ("bsize", 1),
            ("eval_every", 1),
            ("save_every", 1),
            ("keep_checkpoints", 0),
            ("seed", 0),
        ):
            check_int(getattr(self, name), name, low)
        for name in ("max_steps", "eval_batches", "num_threads"):
            check_optional_int(getattr(self, name), name, 1)
        if not self.run_name.strip(".") or "/" in self.run_name or "\\" in self.run_name:  # "..": hidden
            raise ConfigError(f"must be a plain file name, got {self.run_name!r}", "run_name")
        if self.model.device is not None and self.model.device.partition(":")[0] == "meta":
            raise ConfigError(
                "the meta device holds no data (it places a model, it cannot train one): use "
                "cpu or cuda",
                "model.device",
            )
        transformer = self.model.transformer_config
        check_max_len(self.train_dataset, transformer, "train_dataset.max_len")
        check_max_len(self.eval_dataset, transformer, "eval_dataset.max_len")

    def check(self, metaconfig: MetaConfig) -> None:
        """Fail fast, before torch is imported, when a data file is missing."""
        for name in ("train_dataset", "eval_dataset"):
            try:
                getattr(self, name).check(metaconfig)
            except ConfigError as err:
                raise err.under(name) from None
        try:
            self.model.dataset.check(metaconfig)
        except ConfigError as err:
            raise err.under("model.dataset") from None

    def snapshot_path(self, metaconfig: MetaConfig) -> Path:
        return Path(metaconfig.convert_path(self.snapshot_dir)) / f"{self.run_name}.yaml"

    def unroll(self, metaconfig: MetaConfig) -> Any:
        return self.run(metaconfig)

    def run(
        self,
        metaconfig: MetaConfig | None = None,
        resume_from: str | None = None,
        **options: Any,
    ) -> Any:
        """Train from scratch, or continue from a checkpoint: ``resume_from`` is a
        ``step_NNNNNN`` folder or a folder holding them (its newest complete one is used).

        Builds the datasets, the model and the optimizer this config describes and hands them
        to :func:`lm_demo.loop.train`, whose keyword ``options`` (``overwrite``,
        ``discard_newer``, ``allow_drift``, ``allow_world_size_change``, ``argv``,
        ``dir_from_file``) say what a run may replace. Returns an ``lm_demo.loop.RunResult``
        (the model and this process's logs)."""
        metaconfig = metaconfig if metaconfig is not None else MetaConfig()
        self.check(metaconfig)  # missing files fail before the heavy imports
        from lm_demo.loop import train
        from micro_config import load_snapshot

        names = {"train": "train_dataset", "eval": "eval_dataset"}
        return train(
            config=self,
            read_config=lambda file: load_snapshot(file, cls=type(self)),
            check_resumable=lambda old: check_resumable(old, self),
            build_data=lambda which: self._unroll_data(names[which], metaconfig).chunks,
            build_model=lambda: self._unroll_model(metaconfig),
            build_optimizer=self.optim.unroll(metaconfig),
            epochs=self.epochs,
            bsize=self.bsize,
            seed=self.seed,
            max_steps=self.max_steps,
            eval_every=self.eval_every,
            eval_batches=self.eval_batches,
            save_every=self.save_every,
            keep_checkpoints=self.keep_checkpoints,
            grad_clip=self.optim.grad_clip,
            save_checkpoint_dir=self.save_checkpoint_dir,
            snapshot_path=self.snapshot_path(metaconfig),
            project_root=metaconfig.convert_path("."),
            run_name=self.run_name,
            deterministic=self.deterministic,
            num_threads=self.num_threads,
            progress=self.progress,
            resume_from=resume_from,
            **options,
        )

    def _unroll_model(self, metaconfig: MetaConfig) -> Any:
        try:
            return self.model.unroll(metaconfig)
        except ConfigError as err:
            raise err.under("model") from None

    def _unroll_data(self, name: str, metaconfig: MetaConfig) -> Any:
        try:
            return getattr(self, name).unroll(metaconfig)
        except ConfigError as err:
            raise err.under(name) from None


RESUME_MAY_CHANGE = frozenset({"grad_clip"})  # optimizer fields the loop reads at every step
# what a resume may change: how long it runs, what it evaluates and keeps, where it writes
# (the folder is checked against the checkpoint's), the device, and how it reports
RESUME_MAY_SET = (
    "epochs", "max_steps", "eval_every", "eval_batches", "eval_dataset", "save_every",
    "keep_checkpoints", "save_checkpoint_dir", "snapshot_dir", "run_name", "progress",
    "model.device",
)


def check_resumable(old: TrainLoop, new: TrainLoop) -> None:
    """A ConfigError naming the first field whose change would not fit the checkpoint."""
    for name in SHAPE_FIELDS:
        before = getattr(old.model.transformer_config, name)
        after = getattr(new.model.transformer_config, name)
        if before != after:
            raise ConfigError(
                f"changes the model's shape ({before} in the checkpoint, {after} now), so the "
                "run cannot be resumed; start a new run with lm_demo.train instead",
                f"model.transformer_config.{name}",
            )
    if type(old.optim) is not type(new.optim):
        raise ConfigError(
            f"changes the optimizer ({type(old.optim).__name__} in the checkpoint, "
            f"{type(new.optim).__name__} now), whose state the checkpoint holds, so the run cannot "
            "be resumed; start a new run with lm_demo.train --from instead",
            "optim",
        )
    for f in dataclasses.fields(old.optim):  # its state (lr, moments...) comes from the checkpoint
        before, after = getattr(old.optim, f.name), getattr(new.optim, f.name)
        if f.name not in RESUME_MAY_CHANGE and before != after:
            raise ConfigError(
                f"the optimizer's settings come back from the checkpoint ({before!r} there), so "
                f"{after!r} would be recorded but not used; start a new run with lm_demo.train "
                "--from instead",
                f"optim.{f.name}",
            )
    if old.seed != new.seed:
        raise ConfigError(
            f"the random state comes back from the checkpoint (seed {old.seed} there), so "
            f"seed {new.seed} would be recorded but not used",
            "seed",
        )
    if old.train_dataset.max_len != new.train_dataset.max_len:
        raise ConfigError(
            f"changes how the data is cut ({old.train_dataset.max_len} in the checkpoint, "
            f"{new.train_dataset.max_len} now), so the run cannot be resumed exactly",
            "train_dataset.max_len",
        )
    for change in diff(old, new):  # anything else that shapes training: refused too
        if not any(change.path == p or change.path.startswith(p + ".") for p in RESUME_MAY_SET) \
                and change.path != "optim.grad_clip":
            raise ConfigError(
                f"changes how the run trains ({short_repr(change.old, 40)} in the checkpoint, "
                f"{short_repr(change.new, 40)} now), so it would not go on as it ran; a resume may "
                "change only how long it runs, its evaluation, checkpoints and paths, model.device "
                "and optim.grad_clip: start a new run with lm_demo.train --from for this",
                change.path,
            )
