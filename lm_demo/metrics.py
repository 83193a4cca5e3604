"""``metrics.jsonl``: the losses of a run, one JSON object per line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class MetricsLog:
    """``metrics.jsonl``: one JSON object per line, per train step and per eval.

    On resume the lines after the checkpoint's step (written before a crash) are dropped, so
    the file always reads as one uninterrupted run.
    """

    def __init__(self, path: Path, keep_until: int | None, enabled: bool = True) -> None:
        self.path = path
        self.file = None
        if not enabled:  # a rank other than 0: writes nothing
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = (
            []
            if keep_until is None
            else [line for line in read_metrics(path) if line.get("step", 0) <= keep_until]
        )
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as file:
            file.writelines(json.dumps(record) + "\n" for record in kept)
        os.replace(tmp, path)
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, record: dict[str, Any]) -> None:
        if self.file is not None:
            self.file.write(json.dumps(record) + "\n")

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a metrics file; a line cut short by a crash is skipped."""
    if not os.path.exists(path):
        return []
    records = []
    with open(path, encoding="utf-8") as file:
        for line in file:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records
