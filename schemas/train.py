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

    def run(self, metaconfig: MetaConfig | None = None, resume_from: str | None = None) -> Any:
        """Train from scratch, or continue from a checkpoint: ``resume_from`` is a
        ``step_NNNNNN`` folder or a folder holding them (its newest complete one is used).
        Returns an ``lm_demo.loop.RunResult``."""
        metaconfig = metaconfig if metaconfig is not None else MetaConfig()
        self.check(metaconfig)
        import torch
        from tqdm import tqdm

        from lm_demo import checkpoint as ckpt
        from lm_demo.loop import (
            MetricsLog,
            RunResult,
            evaluate,
            rng_state,
            set_rng_state,
            setup_torch,
        )
        from micro_config import save_snapshot

        ckpt_dir = Path(metaconfig.convert_path(self.save_checkpoint_dir))
        resumed = None
        if resume_from is not None:
            resumed = _load_resume_point(Path(resume_from))
            check_resumable(resumed.config, self)
        setup_torch(self.seed, self.deterministic, self.num_threads)
        data: dict[str, Any] = {}
        for name in ("train_dataset", "eval_dataset"):
            try:
                data[name] = getattr(self, name).unroll(metaconfig)
            except ConfigError as err:
                raise err.under(name) from None
        train_chunks, eval_chunks = data["train_dataset"].chunks, data["eval_dataset"].chunks
        model = self.model.unroll(metaconfig)
        device = next(model.parameters()).device
        optimizer, scheduler = self.optim.unroll(metaconfig)(model)
        shuffle = torch.Generator().manual_seed(self.seed)

        if resumed is not None:
            model.load_state_dict(resumed.model)
            optimizer.load_state_dict(resumed.optim["optimizer"])
            scheduler.load_state_dict(resumed.optim["scheduler"])
            state = resumed.state
            step, epoch, position, order = (
                state["step"],
                state["epoch"],
                state["position"],
                state["order"],
            )
            if len(order) != len(train_chunks):
                raise ConfigError(
                    f"the data has {len(train_chunks)} chunks but the checkpoint was trained "
                    f"on {len(order)}; resume with the same data",
                    "train_dataset",
                )
            set_rng_state(state["rng"], shuffle)
            newer = [p for p in ckpt.list_checkpoints(ckpt_dir) if _step_of(p) > step]
            if newer:  # an abandoned future (or the corrupt ones fallen back past)
                ckpt.warn(f"removing {len(newer)} checkpoint(s) newer than step {step}")
                ckpt.remove_checkpoints(newer)
            print(f"resuming from {resumed.path} (step {step}, epoch {epoch})", flush=True)
        else:
            old = ckpt.list_checkpoints(ckpt_dir)
            if old:
                ckpt.warn(f"new run: removing {len(old)} old checkpoint(s) from {ckpt_dir}")
                ckpt.remove_checkpoints(old)
            step, epoch, position = 0, 0, 0
            order = torch.randperm(len(train_chunks), generator=shuffle)
        ckpt.remove_temporaries(ckpt_dir)

        steps_per_epoch = len(train_chunks) // self.bsize
        if steps_per_epoch == 0:
            raise ConfigError(
                f"{self.bsize} is larger than the {len(train_chunks)} training chunks", "bsize"
            )
        total = self.epochs * steps_per_epoch
        if self.max_steps is not None:
            total = min(total, self.max_steps)
        metrics = MetricsLog(ckpt_dir / "metrics.jsonl", keep_until=step if resumed else None)
        snapshot = self.snapshot_path(metaconfig)
        meta = {"run_name": self.run_name, "checkpoint_dir": self.save_checkpoint_dir}
        save_snapshot(self, snapshot, meta={**meta, "status": "running", "step": step})
        result = RunResult(model, step, epoch, checkpoint=resumed.path if resumed else None)
        clip = self.optim.grad_clip
        bar = tqdm(
            total=total, initial=step, disable=not self.progress, unit="step", dynamic_ncols=True
        )

        def save() -> None:
            loop_state = {
                "step": step,
                "epoch": epoch,
                "position": position,
                "order": order,
                "rng": rng_state(shuffle),
            }
            optim_state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
            metrics.flush()
            result.checkpoint = ckpt.save_checkpoint(
                ckpt_dir,
                step,
                model=model.state_dict(),
                optim=optim_state,
                state=loop_state,
                config=self,
                meta=meta,
            )
            ckpt.prune(ckpt_dir, self.keep_checkpoints)
            save_snapshot(
                self,
                snapshot,
                meta={
                    **meta,
                    "status": "running",
                    "step": step,
                    "checkpoint": result.checkpoint.name,
                },
            )

        if step >= total:
            print(
                f"already at step {step} of {total}: raise max_steps or epochs to train further",
                flush=True,
            )
        model.train()
        try:
            while step < total:
                if position + self.bsize > len(train_chunks):  # epoch over: reshuffle
                    epoch, position = epoch + 1, 0
                    order = torch.randperm(len(train_chunks), generator=shuffle)
                batch = train_chunks[order[position : position + self.bsize]].to(device)
                position += self.bsize
                loss, logs = model.get_loss(batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
                scheduler.step()
                step += 1
                record = {
                    "step": step,
                    "epoch": epoch,
                    "loss": logs["loss"],
                    "bits_per_byte": logs["bits_per_byte"],
                    "tokens": logs["tokens"],
                    "lr": scheduler.get_last_lr()[0],
                }
                metrics.write(record)
                result.train_log.append(record)
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix(epoch=epoch, loss=f"{logs['loss']:.3f}", refresh=False)
                if step % self.eval_every == 0 or step == total:
                    scores = evaluate(model, eval_chunks, self.bsize, self.eval_batches, device)
                    record = {"step": step, **scores}
                    metrics.write(record)
                    result.eval_log.append(record)
                    bar.write(
                        f"step {step}: train loss {logs['loss']:.4f}, eval loss "
                        f"{scores['eval_loss']:.4f} ({scores['eval_bits_per_byte']:.3f} "
                        "bits/byte)"
                    )
                if step % self.save_every == 0 or step == total:
                    save()
        finally:
            bar.close()
            metrics.close()
        if result.checkpoint is None or result.checkpoint.name != ckpt.step_name(step):
            save()  # resumed with nothing left to do, or an empty run: still leave a checkpoint
        save_snapshot(
            self,
            snapshot,
            meta={**meta, "status": "finished", "step": step, "checkpoint": result.checkpoint.name},
        )
        result.step, result.epoch = step, epoch
        return result


def _step_of(path: Path) -> int:
    return int(path.name.split("_")[1])


def _load_resume_point(path: Path) -> Any:
    from lm_demo import checkpoint as ckpt

    if ckpt.STEP_RE.match(path.name):
        return ckpt.load_checkpoint(path)
    return ckpt.load_latest(path)


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
