"""More than one process: the process group torchrun describes, and the few collectives the
training loop needs. One process (plain ``python -m lm_demo.train``) gets a :class:`Dist` whose
collectives do nothing, so the loop reads the same either way.

torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in
every worker's environment; :func:`process_group` joins the group they describe (gloo on CPU,
nccl on CUDA) and leaves it on every exit path.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from micro_config import ConfigError

CUBLAS_WORKSPACE = ":4096:8"  # what deterministic cuBLAS needs (set before CUDA initialises)


@dataclass(frozen=True)
class Placement:
    """Where this process stands in the job, read from torchrun's environment (torch-free)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Placement:
        env = dict(os.environ if env is None else env)
        try:
            return cls(
                int(env.get("RANK", "0")),
                int(env.get("WORLD_SIZE", "1")),
                int(env.get("LOCAL_RANK", "0")),
            )
        except ValueError:
            raise ConfigError(
                "RANK, WORLD_SIZE and LOCAL_RANK must be integers (torchrun sets them)"
            ) from None

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def local_device(placement: Placement) -> str:
    """``cuda:LOCAL_RANK`` when this machine has a GPU for it, else ``cpu``."""
    import torch

    if torch.cuda.is_available() and placement.local_rank < torch.cuda.device_count():
        return f"cuda:{placement.local_rank}"
    return "cpu"


def prepare_determinism(deterministic: bool) -> None:
    """Deterministic cuBLAS needs ``CUBLAS_WORKSPACE_CONFIG`` before CUDA initialises: set it
    (unless the user already did) when the run asks for determinism."""
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)


@contextlib.contextmanager
def process_group(placement: Placement, device: str) -> Iterator[None]:
    """Join torchrun's process group for the block (nothing for one process) and leave it on
    every exit path: normal end, ConfigError, Ctrl-C, SIGTERM."""
    if not placement.distributed:
        yield
        return
    import datetime

    import torch
    import torch.distributed as dist

    backend = "nccl" if device.startswith("cuda") else "gloo"
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group(backend, timeout=datetime.timedelta(minutes=10))
    try:
        with sigterm_interrupts():  # torchrun stopping us: clean up
            yield
    finally:
        with contextlib.suppress(Exception):  # a peer already gone: nothing left to agree on
            dist.destroy_process_group()


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (``kill``, a job scheduler, torchrun) stops the block as Ctrl-C does, so the run
    records ``meta.status: interrupted`` and says how to resume, instead of leaving
    ``running``. Only the main thread can set a handler: elsewhere, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@dataclass
class Dist:
    """The collectives of the training loop; for one process each is the identity."""

    rank: int = 0
    world_size: int = 1
    pids: list[int] = field(default_factory=lambda: [os.getpid()])

    @classmethod
    def current(cls) -> Dist:
        """The process group this process has joined (see :func:`process_group`), if any."""
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return cls()
        rank, size = dist.get_rank(), dist.get_world_size()
        pids: list[Any] = [None] * size
        dist.all_gather_object(pids, os.getpid())
        return cls(rank, size, pids)

    @property
    def writer(self) -> bool:
        """Only rank 0 writes files and prints."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.world_size > 1:
            import torch.distributed as dist

            dist.barrier()

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (picklable), in rank order, on every rank."""
        if self.world_size == 1:
            return [value]
        import torch.distributed as dist

        values: list[Any] = [None] * self.world_size
        dist.all_gather_object(values, value)
        return values

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum over ranks."""
        if self.world_size == 1:
            return list(values)
        import torch
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def agree(self, body: Callable[[], Any]) -> Any:
        """Run ``body`` on every rank; when it raises a ConfigError on any rank, every rank
        raises the first such error (so no rank waits forever for one that gave up)."""
        error: ConfigError | None = None
        result = None
        try:
            result = body()
        except ConfigError as exc:
            error = exc
        if self.world_size > 1:
            mine = None if error is None else (type(error), error.message, error.path)
            first = next((found for found in self.gather(mine) if found is not None), None)
            if first is not None and (error is None or mine != first):
                kind, message, path = first
                error = kind(message, path) if issubclass(kind, ConfigError) else ConfigError(
                    message, path
                )
        if error is not None:
            error.agreed = self.world_size > 1  # every rank raises it: rank 0 prints it
            raise error
        return result

    def wrap(self, model: Any) -> Any:
        """``model`` inside DistributedDataParallel when there is more than one process."""
        if self.world_size == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device = next(model.parameters()).device
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)


def launch(check: Callable[[Any], None], body: Callable[[Any], Any], deterministic: bool) -> int:
    """Run a command's ``body(metaconfig)`` in this process's place in the job: ``check``
    (torch-free: missing files) first, then the process group when torchrun started several
    processes, left on every exit path. 0, 2 (one ``error:`` line) or 130 (Ctrl-C)."""
    from micro_config import MetaConfig

    from .console import guarded

    def run() -> None:
        placement = Placement.from_env()
        prepare_determinism(deterministic)
        if not placement.distributed:
            check(MetaConfig(verbose=False))  # before torch is imported
            with sigterm_interrupts():
                body(MetaConfig(verbose=False))
            return
        device = local_device(placement)
        with process_group(placement, device):
            metaconfig = metaconfig_for(placement, device)
            Dist.current().agree(lambda: check(metaconfig))
            body(metaconfig)

    return guarded(run)


def metaconfig_for(placement: Placement, device: str) -> Any:
    """A MetaConfig placing this process: its device, rank, world size and local rank."""
    from micro_config import MetaConfig

    return MetaConfig(
        verbose=False,
        device=device,
        rank=placement.rank,
        world_size=placement.world_size,
        local_rank=placement.local_rank,
    )
