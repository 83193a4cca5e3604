"""convert_path and project-root discovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from micro_config import convert_path
from micro_config.paths import ROOT_ENV, project_root


@pytest.fixture(autouse=True)
def _no_root_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ROOT_ENV, raising=False)


def test_none_stays_none() -> None:
    assert convert_path(None) is None


def test_absolute_path_unchanged(tmp_path: Path) -> None:
    assert convert_path(str(tmp_path / "x")) == str(tmp_path / "x")


def test_home_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert convert_path("~/data.txt") == str(tmp_path / "data.txt")


def test_relative_path_joined_to_given_root(tmp_path: Path) -> None:
    assert convert_path("data/a.raw", root=tmp_path) == str(tmp_path / "data" / "a.raw")


def test_env_root_wins_over_discovery(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ROOT_ENV, str(tmp_path))
    assert convert_path("data/a.raw") == str(tmp_path / "data" / "a.raw")


@pytest.mark.parametrize("marker", ["pyproject.toml", ".git"])
def test_nearest_marked_ancestor_from_a_subfolder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, marker: str
) -> None:
    root = tmp_path / "project"
    scripts = root / "scripts" / "deep"
    scripts.mkdir(parents=True)
    marker_path = root / marker
    marker_path.mkdir() if marker == ".git" else marker_path.write_text("")
    monkeypatch.chdir(scripts)  # like the original's `cd scripts; python train_lm.py`
    assert project_root() == root.resolve()
    assert convert_path("data/wiki.raw") == str(root.resolve() / "data" / "wiki.raw")


def test_falls_back_to_cwd_without_markers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    if any((p / m).exists() for p in (tmp_path, *tmp_path.parents) for m in ("pyproject.toml", ".git")):
        pytest.fail("tmp_path unexpectedly lies inside a project")  # the premise of this test
    assert convert_path("x.txt") == os.path.join(str(tmp_path.resolve()), "x.txt")
