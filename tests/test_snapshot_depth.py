"""The depth limit counts every level of a file, the snapshot document's own top-level mapping
included (as the reader counts it): a snapshot file holds a tree one level less deep than
``to_yaml`` / ``to_json`` do, in YAML and in JSON alike; whatever is saved loads, and one level
more is refused as a writer's error before any file is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from micro_config import ConfigError, ConfigScript, load_snapshot, save_snapshot
from micro_config.errors import MalformedFileError
from micro_config.snapshot.format import DEPTH_LIMIT


@dataclass
class Deep(ConfigScript):
    inner: Optional[Deep] = None  # noqa: UP045 - what users write

    def unroll(self, metaconfig: object = None) -> int:
        return 1


def _chain(levels: int) -> Deep:
    node = Deep()
    for _ in range(levels - 1):
        node = Deep(node)
    return node


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_the_deepest_tree_a_snapshot_holds_is_read_back(tmp_path: Path, suffix: str) -> None:
    path = save_snapshot(_chain(DEPTH_LIMIT - 1), tmp_path / f"deep{suffix}")
    back = load_snapshot(path, Deep)
    levels, node = 1, back
    while node.inner is not None:
        levels, node = levels + 1, node.inner
    assert levels == DEPTH_LIMIT - 1
    again = save_snapshot(back, tmp_path / f"again{suffix}")
    key = "\nconfig:" if suffix == ".yaml" else '"config":'  # (not micro_config:)
    tree = path.read_text().partition(key)[2]  # (meta holds times and file names)
    redone = again.read_text().partition(key)[2]
    assert tree and redone == tree, _where_they_part(tree, redone)


def _where_they_part(a: str, b: str) -> str:
    i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"{len(a)} vs {len(b)} characters, first difference at {i}: {a[i - 80:i + 80]!r} / {b[i - 80:i + 80]!r}"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_one_level_more_is_refused_as_a_writers_error(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(ConfigError, match=f"more than {DEPTH_LIMIT} levels") as caught:
        save_snapshot(_chain(DEPTH_LIMIT), tmp_path / f"deep{suffix}")
    assert not isinstance(caught.value, MalformedFileError)  # nothing was read
    assert not (tmp_path / f"deep{suffix}").exists()


def test_a_bare_tree_at_the_depth_limit_round_trips() -> None:
    from micro_config import from_json, from_yaml, to_json, to_yaml

    tree = _chain(DEPTH_LIMIT)
    assert to_yaml(from_yaml(to_yaml(tree), Deep)) == to_yaml(tree)
    assert to_json(from_json(to_json(tree), Deep)) == to_json(tree)
    with pytest.raises(ConfigError, match=f"more than {DEPTH_LIMIT} levels"):
        to_json(_chain(DEPTH_LIMIT + 1))
