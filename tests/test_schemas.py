"""The demo's config schemas: torch-free, validated early, the default tree's sharing."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_config import ConfigError, MetaConfig, cli, deep_replace
from schemas import (
    AdamWConfig,
    LMModelConfig,
    TrainLoop,
    TransformerConfig,
    WikiDataConfig,
    default_train,
)
from schemas.train import check_resumable


def test_importing_schemas_and_overriding_never_imports_torch() -> None:
    code = (
        "import sys, schemas\n"
        "from micro_config import cli\n"
        "cli(schemas.default_train(), ['bsize=8', 'model.transformer_config.hidden_dim=64'])\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'tqdm' not in sys.modules, 'tqdm imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_default_tree_shares_the_training_dataset() -> None:
    config = default_train()
    assert config.model.dataset is config.train_dataset
    assert config.eval_dataset is not config.train_dataset
    assert config.train_dataset.f_path.endswith("wiki.train.raw")
    assert config.eval_dataset.f_path.endswith("wiki.valid.raw")


def test_default_train_builds_a_new_tree_each_call() -> None:
    first, second = default_train(), default_train()
    assert first == second
    assert first.train_dataset is not second.train_dataset


def test_paths_stay_relative_in_the_config() -> None:
    config = default_train()
    for path in (
        config.train_dataset.f_path,
        config.eval_dataset.f_path,
        config.save_checkpoint_dir,
        config.snapshot_dir,
    ):
        assert not path.startswith("/"), path


def test_override_keeps_sharing() -> None:
    config = cli(default_train(), ["model.dataset.max_len=32"])
    assert config.train_dataset is config.model.dataset
    assert config.train_dataset.max_len == 32


@pytest.mark.parametrize(
    ("make", "path"),
    [
        (lambda: TransformerConfig(heads=0), "heads"),
        (lambda: TransformerConfig(attn_dropout=1.0), "attn_dropout"),
        (lambda: TransformerConfig(resid_dropout=-0.1), "resid_dropout"),
        (lambda: TransformerConfig(num_blocks=-1), "num_blocks"),
        (lambda: TransformerConfig(hidden_dim=True), "hidden_dim"),
        (lambda: WikiDataConfig(max_len=1), "max_len"),
        (lambda: AdamWConfig(lr=-1.0), "lr"),
        (lambda: AdamWConfig(betas=(0.9, 1.5)), "betas.1"),
        (lambda: AdamWConfig(betas=(0.9,)), "betas"),
        (lambda: AdamWConfig(warmup_steps=-2), "warmup_steps"),
        (lambda: TrainLoop(bsize=0), "bsize"),
        (lambda: TrainLoop(max_steps=0), "max_steps"),
        (lambda: TrainLoop(run_name="a/b"), "run_name"),
        (
            lambda: LMModelConfig(dataset=WikiDataConfig(max_len=128)),
            "dataset.max_len",
        ),
    ],
)
def test_bad_values_fail_at_construction_naming_the_field(make, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        make()
    assert info.value.path == path


def test_bad_override_names_the_dotted_path() -> None:
    with pytest.raises(ConfigError) as info:
        deep_replace(default_train(), **{"model.transformer_config.heads": 0})
    assert info.value.path == "model.transformer_config.heads"
    with pytest.raises(ConfigError, match="longer than model.transformer_config.max_len"):
        deep_replace(default_train(), **{"eval_dataset.max_len": 65})


def test_post_init_is_idempotent() -> None:
    config = default_train()
    for node in (
        config,
        config.model,
        config.model.transformer_config,
        config.optim,
        config.train_dataset,
    ):
        before = dataclasses.replace(node)
        node.__post_init__()
        assert node == before


def test_missing_data_file_is_a_config_error_naming_the_path(tmp_path) -> None:
    config = deep_replace(default_train(), **{"eval_dataset.f_path": str(tmp_path / "x.raw")})
    with pytest.raises(ConfigError) as info:
        config.check(MetaConfig())
    assert info.value.path == "eval_dataset.f_path"
    assert str(tmp_path / "x.raw") in str(info.value)


def test_check_resumable_refuses_a_shape_change_and_allows_an_extension() -> None:
    old = default_train()
    check_resumable(old, deep_replace(old, max_steps=5000, epochs=50))
    with pytest.raises(ConfigError) as info:
        check_resumable(old, deep_replace(old, **{"model.transformer_config.num_blocks": 3}))
    assert info.value.path == "model.transformer_config.num_blocks"
    assert "shape" in str(info.value)


@pytest.mark.parametrize("change", [
    {"bsize": 8},
    {"num_threads": 1},  # changes the float sums: the bits
    {"deterministic": False},
    {"train_dataset.f_path": "other.raw"},
    {"model.transformer_config.resid_dropout": 0.0},
    {"model.checkpoint_path": "weights.pt"},
])
def test_check_resumable_refuses_any_change_to_how_the_run_trains(change: dict) -> None:
    """A resume is exact or refused: a change that would alter the training (and be recorded
    in the snapshot as if it had held for the whole run) is refused at its path."""
    old = default_train()
    with pytest.raises(ConfigError, match="changes how the run trains") as info:
        check_resumable(old, deep_replace(old, **change))
    assert info.value.path == next(iter(change))


def test_check_resumable_allows_length_evaluation_checkpoints_paths_and_device() -> None:
    old = default_train()
    check_resumable(old, deep_replace(old, **{
        "epochs": 9, "max_steps": 7, "eval_every": 5, "eval_batches": 2, "eval_dataset.max_len": 32,
        "save_every": 3, "keep_checkpoints": 1, "save_checkpoint_dir": "elsewhere",
        "snapshot_dir": "snaps", "run_name": "copy", "progress": False, "model.device": "cpu",
        "optim.grad_clip": None,
    }))


def test_yaml_round_trip_of_the_default_tree_keeps_sharing() -> None:
    from micro_config import from_yaml, to_yaml

    config = default_train()
    text = to_yaml(config)
    back = from_yaml(text, cls=TrainLoop)
    assert back == config
    assert back.model.dataset is back.train_dataset
    assert to_yaml(back) == text


@settings(max_examples=25, deadline=None)
@given(
    hidden=st.integers(1, 512),
    heads=st.integers(1, 16),
    dropout=st.floats(0.0, 0.99),
    lr=st.floats(1e-6, 1.0),
    betas=st.tuples(st.floats(0.0, 0.999), st.floats(0.0, 0.999)),
    max_steps=st.none() | st.integers(1, 10**6),
)
def test_valid_overrides_round_trip_through_yaml(hidden, heads, dropout, lr, betas, max_steps):
    from micro_config import from_yaml, to_yaml

    config = deep_replace(
        default_train(),
        **{
            "model.transformer_config.hidden_dim": hidden,
            "model.transformer_config.heads": heads,
            "model.transformer_config.attn_dropout": dropout,
            "model.transformer_config.resid_dropout": dropout / 2,
            "optim.lr": lr,
            "optim.betas": betas,
            "max_steps": max_steps,
        },
    )
    back = from_yaml(to_yaml(config), cls=TrainLoop)
    assert back == config
    assert back.model.dataset is back.train_dataset
    assert isinstance(back.optim.betas, tuple)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b"])
def test_run_name_is_a_plain_visible_file_name(name: str) -> None:
    with pytest.raises(ConfigError, match="must be a plain file name") as info:  # '..' made '...yaml'
        deep_replace(default_train(), run_name=name)
    assert info.value.path == "run_name"
    assert deep_replace(default_train(), run_name="v1.2").run_name == "v1.2"
