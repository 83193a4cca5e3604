"""The training script as a config: ``TrainLoop.unroll`` trains the model it describes.

Torch-free at import: everything heavy is imported inside :meth:`TrainLoop.run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from micro_config import ConfigError, ConfigScript, MetaConfig

from .checks import check_int, check_optional_int
from .data import VALID_FILE, WikiDataConfig
from .model import SHAPE_FIELDS, LMModelConfig, check_max_len
from .optim import AdamWConfig


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
    optim: AdamWConfig = field(default_factory=AdamWConfig)
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
        if not self.run_name or "/" in self.run_name or "\\" in self.run_name:
            raise ConfigError(f"must be a plain file name, got {self.run_name!r}", "run_name")
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

    def total_steps(self, chunks: int) -> int:
        """Steps in the whole run: ``epochs`` full epochs, or fewer with ``max_steps``."""
        per_epoch = chunks // self.bsize
        if per_epoch == 0:
            raise ConfigError(f"{self.bsize} is more than the {chunks} training chunks", "bsize")
        total = self.epochs * per_epoch
        return total if self.max_steps is None else min(total, self.max_steps)

    def run(
        self,
        metaconfig: MetaConfig | None = None,
        resume_from: str | None = None,
        *,
        discard_newer: bool = False,
    ) -> Any:
        """Train from scratch, or continue from a checkpoint: ``resume_from`` is a
        ``step_NNNNNN`` folder or a folder holding them (its newest complete one is used).

        A resumed run writes where it reads: the checkpoint must be in
        ``save_checkpoint_dir``. Resuming from a checkpoint older than a readable one in that
        folder would delete the newer ones, so it is refused unless ``discard_newer``.
        Returns an ``lm_demo.loop.RunResult`` (the model and this process's logs)."""
        metaconfig = metaconfig if metaconfig is not None else MetaConfig()
        self.check(metaconfig)  # missing files fail before the heavy imports
        import torch
        from tqdm import tqdm

        from lm_demo.checkpoint import (
            Checkpointer,
            check_no_newer,
            check_same_folder,
            load_checkpoint,
            load_latest,
            note_snapshot_owner,
        )
        from lm_demo.cli import STEP_RE
        from lm_demo.loop import Cursor, MetricsLog, RunResult, evaluate, setup_torch

        # Every check (data, bsize, model, resumability) runs before anything is deleted or
        # written: a run that fails on bad input leaves the previous run's files as they were.
        home = Path(metaconfig.convert_path(self.save_checkpoint_dir))
        resumed = None
        if resume_from is not None:
            where = Path(resume_from)
            is_step = STEP_RE.match(where.name) is not None
            check_same_folder(where.parent if is_step else where, home)
            resumed = load_checkpoint(where) if is_step else load_latest(where)
            check_resumable(resumed.config, self)
            check_no_newer(resumed, home, discard_newer)
        setup_torch(self.seed, self.deterministic, self.num_threads)
        train_chunks = self._unroll_data("train_dataset", metaconfig).chunks
        eval_chunks = self._unroll_data("eval_dataset", metaconfig).chunks
        total = self.total_steps(len(train_chunks))
        model = self._unroll_model(metaconfig)
        device = next(model.parameters()).device
        optimizer, scheduler = self.optim.unroll(metaconfig)(model)
        shuffle = torch.Generator().manual_seed(self.seed)  # the loop's own: data order only
        saver = Checkpointer(
            home,
            self,
            self.snapshot_path(metaconfig),
            self.keep_checkpoints,
        )
        if resumed is None:
            cursor = Cursor.start(len(train_chunks), shuffle)
            saver.start_fresh()
        else:
            saver.load_states(resumed, model, optimizer, scheduler)
            per_step = self.bsize * (train_chunks.shape[1] - 1)  # tokens predicted per step
            cursor = Cursor.from_state(resumed.state, shuffle, per_step)  # RNGs as saved
            if len(cursor.order) != len(train_chunks):
                raise ConfigError(
                    f"the data has {len(train_chunks)} chunks but the checkpoint was trained "
                    f"on {len(cursor.order)}; resume with the same data",
                    "train_dataset",
                )
            saver.drop_stale(resumed)
            print(f"resuming from {resumed.path} (step {cursor.step}, epoch {cursor.epoch})")
        if cursor.step >= total:
            print(f"already at step {cursor.step} of {total}: raise max_steps or epochs")
        note_snapshot_owner(saver.snapshot, home, metaconfig.convert_path)
        saver.write_snapshot(cursor.step, "running")
        result = RunResult(model, cursor.step, cursor.epoch, checkpoint=saver.last)
        keep_until = None if resumed is None else cursor.step
        bar = tqdm(
            total=total,
            initial=cursor.step,
            disable=not self.progress,
            unit="step",
            dynamic_ncols=True,
        )
        with MetricsLog(saver.directory / "metrics.jsonl", keep_until) as metrics, bar:
            model.train()
            while cursor.step < total:
                batch = cursor.next_batch(train_chunks, self.bsize, shuffle).to(device)
                loss, logs = model.get_loss(batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self.optim.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), self.optim.grad_clip)
                lr = scheduler.get_last_lr()[0]  # the rate this step used
                optimizer.step()
                scheduler.step()
                cursor.step += 1
                cursor.tokens += logs["tokens"]
                step = cursor.step
                record = {
                    "step": step,
                    "epoch": cursor.epoch,
                    **logs,
                    "tokens": cursor.tokens,  # the log is tokens seen, not this batch's
                    "lr": lr,
                }
                metrics.write(record)
                result.train_log.append(record)
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix(epoch=cursor.epoch, loss=f"{logs['loss']:.3f}", refresh=False)
                if step % self.eval_every == 0 or step == total:
                    scores = evaluate(model, eval_chunks, self.bsize, self.eval_batches, device)
                    metrics.write({"step": step, **scores})
                    result.eval_log.append({"step": step, **scores})
                    bar.write(
                        f"step {step}: train loss {logs['loss']:.4f}, eval loss "
                        f"{scores['eval_loss']:.4f} "
                        f"({scores['eval_bits_per_byte']:.3f} bits/byte)"
                    )
                if step % self.save_every == 0 or step == total:
                    metrics.flush()  # the log is complete up to every checkpoint
                    saver.save(step, model, optimizer, scheduler, cursor.state_dict(shuffle))
        if saver.last is None or saver.last.name != f"step_{cursor.step:06d}":
            saver.save(cursor.step, model, optimizer, scheduler, cursor.state_dict(shuffle))
        saver.write_snapshot(cursor.step, "finished")
        result.step, result.epoch, result.checkpoint = cursor.step, cursor.epoch, saver.last
        return result

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
    if old.train_dataset.max_len != new.train_dataset.max_len:
        raise ConfigError(
            f"changes how the data is cut ({old.train_dataset.max_len} in the checkpoint, "
            f"{new.train_dataset.max_len} now), so the run cannot be resumed exactly",
            "train_dataset.max_len",
        )
