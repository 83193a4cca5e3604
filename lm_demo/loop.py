"""The training loop, the one entry point from the configs into the runtime: :func:`train`.

``TrainLoop.unroll`` (in ``schemas``) builds what its fields describe and calls :func:`train`
with plain values and callables; nothing here knows a config class. The config object itself
is passed along only to be saved (snapshot and every checkpoint) and handed back to the
callables that judge it.

Every check (data, batch size, model, the folder, resumability, the same config on every
rank) runs before anything is deleted or written, so a run that fails on bad input leaves the
previous run's files as they were.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from micro_config import ConfigError, convert_path

from .checkpoint import (
    STEP_RE,
    Checkpoint,
    Checkpointer,
    FolderLock,
    ReadConfig,
    check_folder_free,
    check_no_newer,
    check_same_folder,
    check_snapshot_free,
    check_step_folders,
    load_checkpoint,
    load_latest,
    note_snapshot_owner,
    now,
    step_name,
)
from .console import Stopped, launcher, shown, warn
from .distributed import Dist
from .metrics import MetricsLog
from .state import Cursor, reseed_rank, set_rank_rng, setup_torch

# Test hook: "STEP" (SIGKILL the whole job after that optimizer step), "STEP:save" (half-way
# through writing that step's checkpoint), "STEP:interrupt" (Ctrl-C after that step) or
# "STEP:term" (SIGTERM to this process after that step).
KILL_ENV = "LM_DEMO_KILL_AT"


@dataclass
class RunResult:
    """What :func:`train` returns: the trained model and this process's logs."""

    model: torch.nn.Module
    step: int
    epoch: int
    train_log: list[dict[str, Any]] = field(default_factory=list)
    eval_log: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: Path | None = None


@dataclass
class _Setup:
    """What the checks produced: everything the loop needs, nothing deleted yet."""

    model: Any
    optimizer: Any
    scheduler: Any
    train_chunks: torch.Tensor
    eval_chunks: torch.Tensor
    total: int
    cursor: Cursor
    shuffle: torch.Generator
    resumed: Checkpoint | None
    old: list[Path]
    created: str


def train(
    *,
    config: Any,
    read_config: ReadConfig,
    check_resumable: Callable[[Any], None],
    build_data: Callable[[str], torch.Tensor],
    build_model: Callable[[], torch.nn.Module],
    build_optimizer: Callable[[torch.nn.Module], tuple[Any, Any]],
    epochs: int,
    bsize: int,
    seed: int,
    max_steps: int | None,
    eval_every: int,
    eval_batches: int | None,
    save_every: int,
    keep_checkpoints: int,
    grad_clip: float | None,
    save_checkpoint_dir: str,
    snapshot_path: Path,
    project_root: str,
    run_name: str,
    deterministic: bool,
    num_threads: int | None,
    progress: bool,
    resume_from: str | os.PathLike[str] | None = None,
    discard_newer: bool = False,
    overwrite: bool = False,
    allow_drift: bool = False,
    allow_world_size_change: bool = False,
    dir_from_file: bool = False,
    argv: list[str] | None = None,
) -> RunResult:
    """Train from scratch, or continue from a checkpoint (``resume_from``: a ``step_NNNNNN``
    folder, or a folder of them whose newest complete one is used).

    ``build_data("train"/"eval")`` returns the chunks (an int tensor, one row per sample),
    ``build_model()`` the placed module (called after seeding), ``build_optimizer(model)`` the
    optimizer and LR scheduler; ``read_config(file)`` reads a checkpoint's config back and
    ``check_resumable(old_config)`` refuses one the run cannot continue.

    A new run refuses a folder holding checkpoints unless ``overwrite``. A resumed run writes
    where it reads (the checkpoint must be in ``save_checkpoint_dir``); resuming from a
    checkpoint older than a readable one of that folder is refused unless ``discard_newer``;
    a checkpoint config lacking fields unless ``allow_drift``; another world size unless
    ``allow_world_size_change``. ``dir_from_file``: the folder was named by a file, not typed,
    so it is not pruned when it lies outside the project root. ``argv``: the command as typed,
    for the snapshot's ``meta.argv``.
    """
    dist = Dist.current()
    home = Path(convert_path(save_checkpoint_dir, project_root))
    root = Path(project_root).resolve()
    inside = home.resolve() == root or root in home.resolve().parents

    def checks() -> _Setup:
        resumed, old = None, []
        if resume_from is not None:
            where = Path(resume_from)
            is_step = STEP_RE.match(where.name) is not None
            check_same_folder(where.parent if is_step else where, home)
            if is_step:
                resumed = load_checkpoint(where, read_config, allow_drift)
            else:
                resumed = load_latest(where, read_config, allow_drift)
            check_resumable(resumed.config)
            check_no_newer(resumed, home, discard_newer)
            check_world_size(resumed, dist.world_size, allow_world_size_change)
        else:
            old = check_folder_free(home, snapshot_path, overwrite)
        # a file there that is no run's snapshot is never replaced; another run's only with
        # --overwrite, or by a resume (a copied folder's resume re-points it, with a warning)
        check_snapshot_free(snapshot_path, home, project_root, overwrite or resumed is not None)
        check_writable(home, "save_checkpoint_dir")
        check_writable(snapshot_path, "snapshot_dir", file=True)
        if bsize % dist.world_size:
            raise ConfigError(
                f"{bsize} does not split evenly over {dist.world_size} processes (bsize is the "
                "global batch: each process takes bsize / world_size of it)",
                "bsize",
            )
        setup_torch(seed, deterministic, num_threads)
        train_chunks = build_data("train")
        eval_chunks = build_data("eval")
        total = total_steps(len(train_chunks), bsize, epochs, max_steps)
        start = -1 if resumed is None else resumed.state["step"]
        if total < start:  # the snapshot would say a length the checkpoint is already past
            raise ConfigError(
                f"the checkpoint is at step {start}, past the {total} steps this config trains "
                f"({what_caps(epochs, max_steps, total)})",
                "max_steps" if max_steps is not None and max_steps == total else "epochs",
            )
        writes = {s for s in range(save_every, total + 1, save_every) if s > start}
        check_step_folders(home, writes | ({total} if total > start else set()))
        model = build_model()
        reseed_rank(seed, dist.rank)  # dropout differs per rank; rank 0 draws as one process
        optimizer, scheduler = build_optimizer(model)
        shuffle = torch.Generator().manual_seed(seed)  # the loop's own: data order only
        created = now()
        if resumed is None:
            cursor = Cursor.start(len(train_chunks), shuffle)
        else:
            cursor = resume_states(
                resumed, model, optimizer, scheduler, shuffle, train_chunks, bsize, dist
            )
            created = resumed_created(resumed, created)
        return _Setup(
            model, optimizer, scheduler, train_chunks, eval_chunks, total, cursor, shuffle,
            resumed, old, created,
        )  # fmt: skip

    dist.agree(lambda: check_same_config(config, dist))  # the one collective among the checks
    setup = dist.agree(checks)  # no collective inside: a rank that fails cannot strand another
    # the folder is this run's until it ends (another run started into it is refused)
    lock = dist.agree(lambda: FolderLock.take(home) if dist.writer else FolderLock(None))
    with contextlib.closing(lock):
        meta: dict[str, Any] = {
            "created": setup.created,
            "run_name": run_name,
            "checkpoint_dir": save_checkpoint_dir,
            "world_size": dist.world_size,
        }
        if argv is not None:
            meta["argv"] = argv
        saver = Checkpointer(
            home,
            config,
            snapshot_path,
            keep_checkpoints,
            meta,
            may_prune=inside or not dir_from_file,
            writer=dist.writer,
        )
        cursor, model, total = setup.cursor, setup.model, setup.total
        if setup.resumed is None:
            saver.start_fresh(setup.old)
        else:
            saver.last = setup.resumed.path
            saver.drop_stale(setup.resumed)
            say(dist, f"resuming from {shown(setup.resumed.path)} (step {cursor.step}, epoch {cursor.epoch})")
        if cursor.step >= total:
            say(dist, f"already at step {cursor.step} of {total}: {what_caps(epochs, max_steps, total)}")
        if dist.writer:
            note_snapshot_owner(snapshot_path, home, project_root)
        saver.write_snapshot(cursor.step, "running")
        dist.barrier()  # nothing is deleted or written past this point by another rank's checks
        result = RunResult(model, cursor.step, cursor.epoch, checkpoint=saver.last)
        keep_until = None if setup.resumed is None else cursor.step
        try:
            run_steps(
                setup, saver, result, dist, keep_until,
                bsize=bsize, eval_every=eval_every, eval_batches=eval_batches,
                save_every=save_every, grad_clip=grad_clip, progress=progress,
            )  # fmt: skip
        except KeyboardInterrupt:
            record_end(saver, cursor.step, "interrupted")
            raise Stopped(interrupted_advice(saver, snapshot_path)) from None
        except Exception:
            record_end(saver, cursor.step, "failed")
            raise
        if saver.last is None or saver.last.name != step_name(cursor.step):
            save(saver, setup, dist)
        saver.write_snapshot(cursor.step, "finished")
        result.step, result.epoch, result.checkpoint = cursor.step, cursor.epoch, saver.last
        say(dist, finished_summary(snapshot_path, home, cursor.step))
        return result


def run_steps(
    setup: _Setup,
    saver: Checkpointer,
    result: RunResult,
    dist: Dist,
    keep_until: int | None,
    *,
    bsize: int,
    eval_every: int,
    eval_batches: int | None,
    save_every: int,
    grad_clip: float | None,
    progress: bool,
) -> None:
    from tqdm import tqdm

    cursor, model, optimizer, scheduler = setup.cursor, setup.model, setup.optimizer, setup.scheduler
    total = setup.total
    device = next(model.parameters()).device
    trained = dist.wrap(LossOf(model))  # DDP averages the gradients over ranks
    kill_at = kill_point()
    share = bsize // dist.world_size
    bar = tqdm(
        total=total,
        initial=cursor.step,
        disable=not progress or not dist.writer,
        unit="step",
        dynamic_ncols=True,
    )
    metrics_path = saver.directory / "metrics.jsonl"
    with MetricsLog(metrics_path, keep_until, enabled=dist.writer) as metrics, bar:
        model.train()
        while cursor.step < total:
            batch = cursor.next_batch(setup.train_chunks, bsize, setup.shuffle)
            mine = batch[dist.rank * share : (dist.rank + 1) * share].to(device)
            loss, logs = trained(mine)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            lr = scheduler.get_last_lr()[0]  # the rate this step used
            optimizer.step()
            scheduler.step()
            if dist.world_size > 1:  # the logged loss is the whole global batch's
                weighted, tokens = dist.sum([logs["loss"] * logs["tokens"], logs["tokens"]])
                logs = {
                    "loss": weighted / tokens,
                    "bits_per_byte": weighted / tokens / math.log(2),
                    "tokens": int(tokens),
                }
            cursor.step += 1
            cursor.tokens += logs["tokens"]
            step = cursor.step
            if kill_at == (step, "step"):
                kill_job(dist)
            if kill_at == (step, "interrupt"):
                raise KeyboardInterrupt  # as Ctrl-C would, at a known step
            if kill_at == (step, "term"):
                os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` or a scheduler would
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
            if step % eval_every == 0 or step == total:
                scores = evaluate(model, setup.eval_chunks, bsize, eval_batches, device, dist)
                metrics.write({"step": step, **scores})
                result.eval_log.append({"step": step, **scores})
                if dist.writer:
                    bar.write(
                        f"step {step}: train loss {logs['loss']:.4f}, eval loss "
                        f"{scores['eval_loss']:.4f} ({scores['eval_bits_per_byte']:.3f} bits/byte)"
                    )
            if step % save_every == 0 or step == total:
                metrics.flush()  # the log is complete up to every checkpoint
                save(saver, setup, dist, kill=kill_at == (step, "save"))


class LossOf(torch.nn.Module):
    """``model.get_loss`` as a module's forward, so DistributedDataParallel sees the whole
    forward pass (and syncs the gradients) when it wraps this."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        return self.model.get_loss(tokens)


def save(saver: Checkpointer, setup: _Setup, dist: Dist, kill: bool = False) -> None:
    """A checkpoint of the whole job: every rank's RNG states gathered, rank 0 writes the
    folder atomically while the others wait at a barrier."""
    state = setup.cursor.state_dict(setup.shuffle)
    rng_by_rank = dist.gather(state["rng"])  # collective: every rank takes part
    state["world_size"] = dist.world_size
    state["rng_by_rank"] = rng_by_rank
    after_file = (lambda: kill_job(dist)) if kill else None
    saver.save(
        setup.cursor.step, setup.model, setup.optimizer, setup.scheduler, state, after_file
    )
    dist.barrier()


@torch.no_grad()
def evaluate(
    model: Any,
    chunks: torch.Tensor,
    bsize: int,
    max_batches: int | None,
    device: torch.device,
    dist: Dist | None = None,
) -> dict[str, float]:
    """Token-weighted mean loss over the first ``max_batches`` batches (all when None), in
    order and without dropout, so evaluating never touches a random generator. With more
    than one process each rank scores its share of every batch and the sums are added."""
    dist = dist if dist is not None else Dist()
    was_training = model.training
    model.eval()
    total_loss = 0.0
    total_tokens = 0
    for index, start in enumerate(range(0, chunks.shape[0], bsize)):
        if max_batches is not None and index >= max_batches:
            break
        batch = chunks[start : start + bsize]
        mine = batch.tensor_split(dist.world_size)[dist.rank]
        if len(mine):
            _, logs = model.get_loss(mine.to(device))
            total_loss += logs["loss"] * logs["tokens"]
            total_tokens += logs["tokens"]
    model.train(was_training)
    total_loss, total_tokens = dist.sum([total_loss, total_tokens])
    loss = total_loss / max(total_tokens, 1)
    return {"eval_loss": loss, "eval_bits_per_byte": loss / math.log(2)}


def total_steps(chunks: int, bsize: int, epochs: int, max_steps: int | None) -> int:
    """Steps in the whole run: ``epochs`` full epochs, or fewer with ``max_steps``."""
    per_epoch = chunks // bsize
    if per_epoch == 0:
        raise ConfigError(f"{bsize} is more than the {chunks} training chunks", "bsize")
    total = epochs * per_epoch
    return total if max_steps is None else min(total, max_steps)


def check_writable(path: Path, field: str, *, file: bool = False) -> None:
    """A ConfigError (before anything is deleted) when ``path`` cannot be written: a part of
    it is an existing file, a name is longer than the file system allows, or the snapshot's
    own name is a folder."""
    limit = 255
    with contextlib.suppress(OSError, AttributeError, ValueError):
        existing = next(p for p in (path, *path.parents) if p.exists())
        limit = os.pathconf(existing if existing.is_dir() else existing.parent, "PC_NAME_MAX")
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            where = "run_name" if file and part == path.name else field
            raise ConfigError(
                f"{part[:40]}... is longer than {limit} bytes, the file system's limit for a name",
                where,
            )
    if file and path.is_dir():
        raise ConfigError(f"{path} is a folder, so the snapshot cannot be written there", field)
    folder = path.parent if file else path
    for ancestor in (folder, *folder.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ConfigError(f"{ancestor} is a file, so {path} cannot be written", field)
            try:  # a read-only or special file system (/proc, /sys) says so only when tried
                with tempfile.TemporaryFile(dir=ancestor, prefix=".lm_demo-probe-"):
                    pass
            except OSError as exc:
                raise ConfigError(
                    f"{path} cannot be written: creating a file in {ancestor} fails "
                    f"({exc.strerror or exc})",
                    field,
                ) from None
            break


def what_caps(epochs: int, max_steps: int | None, total: int) -> str:
    """The hint of a run already at its end: the setting that actually caps it."""
    if max_steps is not None and max_steps == total:
        return f"max_steps={max_steps} ends it; raise max_steps (or epochs) to train further"
    return f"epochs={epochs} ends it; raise epochs to train further"


def check_world_size(checkpoint: Checkpoint, world_size: int, allow: bool) -> None:
    """Refuse to resume on another number of processes unless ``allow`` (then warn)."""
    before = checkpoint.state.get("world_size", 1)
    if before == world_size:
        return
    if not allow:
        raise ConfigError(
            f"checkpoint {shown(checkpoint.path)} was written by {before} process(es), this run has "
            f"{world_size}: the result would not be bit-identical; pass "
            "--allow-world-size-change to resume anyway"
        )
    warn(
        f"resuming a {before}-process checkpoint on {world_size} processes: equivalent, not "
        "bit-identical (the order of the gradient sums changes)"
    )


def check_same_config(config: Any, dist: Dist) -> None:
    """Every rank runs the config rank 0 runs (hash of the resolved snapshot text)."""
    if dist.world_size == 1:
        return
    from micro_config import to_yaml

    digest = hashlib.sha256(to_yaml(config).encode("utf-8")).hexdigest()
    digests = dist.gather(digest)
    odd = [rank for rank, other in enumerate(digests) if other != digests[0]]
    if odd:
        raise ConfigError(
            f"rank(s) {', '.join(map(str, odd))} run another config than rank 0 (hash of the "
            "resolved snapshot differs): give every process the same command, files and code"
        )


def resume_states(
    resumed: Checkpoint,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    shuffle: torch.Generator,
    train_chunks: torch.Tensor,
    bsize: int,
    dist: Dist,
) -> Cursor:
    """Load the checkpoint's states into the built objects; the cursor where it stopped."""
    try:
        model.load_state_dict(resumed.model)
        optimizer.load_state_dict(resumed.optim["optimizer"])
        scheduler.load_state_dict(resumed.optim["scheduler"])
    except (RuntimeError, ValueError, KeyError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"checkpoint {resumed.path} does not fit this run: {first}") from None
    per_step = bsize * (train_chunks.shape[1] - 1)  # tokens predicted per step
    cursor = Cursor.from_state(resumed.state, shuffle, per_step)  # RNGs as saved
    set_rank_rng(resumed.state, dist.rank)
    if len(cursor.order) != len(train_chunks):
        raise ConfigError(
            f"the data has {len(train_chunks)} chunks but the checkpoint was trained on "
            f"{len(cursor.order)}; resume with the same data",
            "train_dataset",
        )
    return cursor


def resumed_created(resumed: Checkpoint, fallback: str) -> str:
    """The start time of the run a checkpoint belongs to (``meta.created`` of its config)."""
    from micro_config import read_meta

    try:
        created = read_meta(resumed.path / "config.yaml").get("created")
    except ConfigError:
        return fallback
    return created if isinstance(created, str) else fallback


def say(dist: Dist, message: str) -> None:
    if dist.writer:
        print(message, flush=True)


def record_end(saver: Checkpointer, step: int, status: str) -> None:
    """Write ``meta.status`` (``interrupted``, ``failed``) and the step reached into the
    snapshot as the run stops; a failure to write it must not hide why the run stopped."""
    try:
        saver.write_snapshot(step, status)
    except Exception as exc:  # noqa: BLE001 - the original error is the one to show
        warn(f"could not record meta.status={status} in {shown(saver.snapshot)}: {exc}")


def interrupted_advice(saver: Checkpointer, snapshot: Path) -> str:
    if saver.last is not None and saver.last.is_dir():
        return (
            f"interrupted; {saver.last.name} is the newest checkpoint: continue with "
            f"`{' '.join(launcher())} -m lm_demo.resume {shown(snapshot)}`"
        )
    return (
        "interrupted before the first checkpoint, so there is nothing to resume: start again "
        f"with `{' '.join(launcher())} -m lm_demo.train --from {shown(snapshot)}`"
    )


def finished_summary(snapshot: Path, home: Path, step: int) -> str:
    return (
        f"finished at step {step}. snapshot: {shown(snapshot)}; checkpoints: {shown(home)} "
        f"(newest {step_name(step)}). Train further with "
        f"`{' '.join(launcher())} -m lm_demo.resume {shown(snapshot)} epochs=N` (or max_steps=N)"
    )


def kill_point() -> tuple[int, str] | None:
    """The test hook ``LM_DEMO_KILL_AT=STEP[:save|:interrupt|:term]`` (see ``KILL_ENV``)."""
    text = os.environ.get(KILL_ENV)
    if not text:
        return None
    step, _, phase = text.partition(":")
    return int(step), phase or "step"


def kill_job(dist: Dist) -> None:
    """SIGKILL every process of the job (and torchrun, our parent, when there are several):
    what a cluster scheduler or the OOM killer does. Test hook only."""
    if dist.world_size > 1:
        for pid in [os.getppid(), *(p for p in dist.pids if p != os.getpid())]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    os.kill(os.getpid(), signal.SIGKILL)
