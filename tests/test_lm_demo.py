"""The LM demo: data, model, checkpoints, and exact resume (tiny models, few steps)."""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lm_demo.checkpoint import list_checkpoints, load_latest
from lm_demo.data import ByteTokenizer, WikitextDataset
from lm_demo.loop import read_metrics
from lm_demo.model import LMModel
from micro_config import ConfigError, MetaConfig, cli, load_snapshot, read_meta
from schemas import TrainLoop, default_train

ROOT = Path(__file__).resolve().parents[1]
TRAIN_RAW = ROOT / "lm_demo/data/wikitext-tiny/wiki.train.raw"

TINY = [
    "model.transformer_config.hidden_dim=32",
    "model.transformer_config.heads=2",
    "model.transformer_config.attn_dim=16",
    "model.transformer_config.intermediate_dim=64",
    "model.transformer_config.num_blocks=1",
    "model.transformer_config.max_len=32",
    "train_dataset.max_len=32",
    "eval_dataset.max_len=32",
    "bsize=16",
    "eval_batches=2",
    "eval_every=5",
    "save_every=3",
    "keep_checkpoints=0",
    "optim.warmup_steps=4",
    "progress=false",
]


def tiny_args(tmp_path: Path, *extra: str, name: str = "run") -> list[str]:
    """TINY plus per-run folders, then ``extra``; a later key replaces an earlier one."""
    args = [
        *TINY,
        f"save_checkpoint_dir={tmp_path / name / 'ck'}",
        f"snapshot_dir={tmp_path / name / 'snap'}",
        *extra,
    ]
    return list({arg.split("=", 1)[0]: arg for arg in args}.values())


def tiny(tmp_path: Path, *extra: str, name: str = "run") -> TrainLoop:
    return cli(default_train(), tiny_args(tmp_path, *extra, name=name))


def losses(checkpoint_dir: Path) -> list[tuple[int, float]]:
    return [
        (r["step"], r["loss"])
        for r in read_metrics(checkpoint_dir / "metrics.jsonl")
        if "loss" in r
    ]


def same_params(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def run_module(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


# --- data and model ---------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.text())
def test_byte_tokenizer_round_trips_any_text(text: str) -> None:
    tokenizer = ByteTokenizer()
    tokens = tokenizer.encode(text)
    assert all(0 <= t < tokenizer.vocab_size for t in tokens)
    assert tokenizer.decode(tokens) == text


def test_dataset_chunks_are_the_file_bytes_in_order() -> None:
    data = WikitextDataset(str(TRAIN_RAW), 32)
    raw = TRAIN_RAW.read_bytes()
    assert len(data) == len(raw) // 32
    assert bytes(data[0].tolist()) == raw[:32]
    assert bytes(data[len(data) - 1].tolist()) == raw[(len(data) - 1) * 32 : len(data) * 32]


def test_shipped_corpus_is_wikitext_shaped_and_small() -> None:
    text = TRAIN_RAW.read_text(encoding="utf-8")
    assert ' = The "assert" statement = \n' in text
    total = TRAIN_RAW.stat().st_size + TRAIN_RAW.with_name("wiki.valid.raw").stat().st_size
    assert 100_000 < total < 400_000


def test_dataset_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found") as info:
        WikitextDataset(str(tmp_path / "missing.raw"), 32)
    assert str(tmp_path / "missing.raw") in str(info.value)
    short = tmp_path / "short.raw"
    short.write_text("abc")
    with pytest.raises(ConfigError, match="fewer than one chunk"):
        WikitextDataset(str(short), 32)


def make_model(dropout: float = 0.0) -> LMModel:
    torch.manual_seed(0)
    return LMModel(
        256,
        16,
        heads=2,
        hidden_dim=32,
        attn_dim=8,
        intermediate_dim=64,
        num_blocks=2,
        dropout=dropout,
    )


def test_model_is_causal() -> None:
    model = make_model().eval()
    tokens = torch.randint(0, 256, (2, 16), generator=torch.Generator().manual_seed(1))
    changed = tokens.clone()
    changed[:, 10:] = (changed[:, 10:] + 1) % 256
    with torch.no_grad():
        a, b = model(tokens), model(changed)
    assert torch.allclose(a[:, :10], b[:, :10], atol=1e-6)
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_get_loss_logs() -> None:
    model = make_model()
    tokens = torch.randint(0, 256, (3, 16), generator=torch.Generator().manual_seed(2))
    loss, logs = model.get_loss(tokens)
    assert logs["loss"] == loss.item()
    assert logs["bits_per_byte"] == pytest.approx(logs["loss"] / math.log(2))
    assert logs["tokens"] == 3 * 15
    assert abs(logs["loss"] - math.log(256)) < 0.5  # untrained: close to uniform


def test_too_long_input_is_refused() -> None:
    with pytest.raises(ValueError, match="max_len"):
        make_model()(torch.zeros(1, 17, dtype=torch.long))


# --- the training loop, in process ------------------------------------------------------------


def test_training_learns_and_writes_checkpoints_and_snapshot(tmp_path: Path) -> None:
    config = tiny(tmp_path, "max_steps=10", "optim.lr=0.01")
    result = config.unroll(MetaConfig(verbose=False))
    ck = tmp_path / "run/ck"
    assert result.step == 10
    assert [p.name for p in list_checkpoints(ck)] == [
        "step_000003",
        "step_000006",
        "step_000009",
        "step_000010",
    ]
    assert result.eval_log[-1]["eval_loss"] < math.log(256) - 0.3
    assert [s for s, _ in losses(ck)] == list(range(1, 11))
    snapshot = tmp_path / "run/snap/run.yaml"
    assert read_meta(snapshot)["status"] == "finished"
    assert read_meta(snapshot)["step"] == 10
    assert load_snapshot(snapshot, cls=TrainLoop) == config


def test_checkpoint_config_equals_start_config_sharing_included(tmp_path: Path) -> None:
    config = tiny(tmp_path, "max_steps=3")
    config.unroll(MetaConfig(verbose=False))
    saved = load_snapshot(tmp_path / "run/ck/step_000003/config.yaml", cls=TrainLoop)
    assert saved == config
    assert saved.model.dataset is saved.train_dataset
    assert saved.eval_dataset is not saved.train_dataset


def test_resume_after_a_checkpoint_is_exact(tmp_path: Path) -> None:
    full = tiny(tmp_path, "max_steps=12", name="full").unroll(MetaConfig(verbose=False))
    tiny(tmp_path, "max_steps=7", name="cut").unroll(MetaConfig(verbose=False))
    ck = tmp_path / "cut/ck"
    # Resume from step 6 (step 7 is the end of the short run, also a checkpoint): drop 7.
    resumed = tiny(tmp_path, "max_steps=12", name="cut").run(
        MetaConfig(verbose=False), resume_from=str(ck / "step_000006"), discard_newer=True
    )
    assert resumed.train_log[0]["step"] == 7
    assert same_params(full.model.state_dict(), resumed.model.state_dict())
    assert losses(ck) == losses(tmp_path / "full/ck")
    # The tokens log is the running total of tokens seen, carried over the resume.
    seen = [r["tokens"] for r in read_metrics(ck / "metrics.jsonl") if "loss" in r]
    assert seen == [step * 16 * 31 for step in range(1, 13)]  # bsize 16, 31 targets a chunk
    assert torch.load(ck / "step_000012/state.pt", weights_only=True)["tokens"] == seen[-1]


def test_extending_epochs_on_resume_matches_a_longer_run(tmp_path: Path) -> None:
    # Train on the small validation file with a big batch: an epoch of 5 steps.
    valid = TRAIN_RAW.with_name("wiki.valid.raw")
    extra = (f"train_dataset.f_path={valid}", "bsize=128", "eval_every=100", "save_every=100")
    full = tiny(tmp_path, *extra, "epochs=2", name="full").unroll(MetaConfig(verbose=False))
    short = tiny(tmp_path, *extra, "epochs=1", name="cut").unroll(MetaConfig(verbose=False))
    assert short.step == full.step // 2 and short.epoch == 0
    resumed = tiny(tmp_path, *extra, "epochs=2", name="cut").run(
        MetaConfig(verbose=False), resume_from=str(tmp_path / "cut/ck")
    )
    assert resumed.epoch == 1
    assert same_params(full.model.state_dict(), resumed.model.state_dict())
    assert losses(tmp_path / "cut/ck") == losses(tmp_path / "full/ck")


def test_corrupt_newest_checkpoint_falls_back_with_a_warning(tmp_path: Path, capsys) -> None:
    tiny(tmp_path, "max_steps=6").unroll(MetaConfig(verbose=False))
    ck = tmp_path / "run/ck"
    model_file = ck / "step_000006/model.pt"
    model_file.write_bytes(model_file.read_bytes()[:100])  # truncated
    checkpoint = load_latest(ck)
    assert checkpoint.path.name == "step_000003"
    assert checkpoint.state["step"] == 3
    assert "step_000006 is corrupt" in capsys.readouterr().err
    for step in ("step_000003", "step_000006"):
        (ck / step / "state.pt").unlink()
    with pytest.raises(ConfigError, match="no complete checkpoint"):
        load_latest(ck)


def test_half_written_checkpoint_folder_is_ignored(tmp_path: Path) -> None:
    tiny(tmp_path, "max_steps=3").unroll(MetaConfig(verbose=False))
    ck = tmp_path / "run/ck"
    (ck / ".step_000006.tmp-123").mkdir()
    assert [p.name for p in list_checkpoints(ck)] == ["step_000003"]
    tiny(tmp_path, "max_steps=4").run(MetaConfig(verbose=False), resume_from=str(ck))
    assert not (ck / ".step_000006.tmp-123").exists()


def test_resume_refuses_a_shape_change(tmp_path: Path) -> None:
    tiny(tmp_path, "max_steps=3").unroll(MetaConfig(verbose=False))
    wider = tiny(tmp_path, "max_steps=6", "model.transformer_config.hidden_dim=48")
    with pytest.raises(ConfigError) as info:
        wider.run(MetaConfig(verbose=False), resume_from=str(tmp_path / "run/ck"))
    assert info.value.path == "model.transformer_config.hidden_dim"


# --- the command line -------------------------------------------------------------------------


def test_train_help_lists_every_key() -> None:
    out = run_module("lm_demo.train", "--help")
    assert out.returncode == 0
    for key in (
        "model.transformer_config.hidden_dim",
        "optim.betas",
        "save_checkpoint_dir",
        "snapshot_dir",
        "run_name",
        "max_steps",
        "eval_dataset.f_path",
    ):
        assert key in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bsize=abc"], "bsize"),
        (["model.transformer_config.hiden_dim=3"], "did you mean"),
        (["train_dataset.f_path=no/such.raw"], "no/such.raw"),
        (["--from", "no/such.yaml"], "no/such.yaml"),
        (["model.device=bogus"], "error: model.device: 'bogus' is not a torch device"),
        (["model.checkpoint_path=no/such.pt"], "error: model.checkpoint_path: checkpoint not"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    out = run_module("lm_demo.train", *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_snapshot_with_an_unknown_class_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("micro_config: 1\nmeta: {}\nconfig:\n  _target_: os.system\n  command: ls\n")
    for module in ("lm_demo.train", "lm_demo.resume"):
        out = run_module(
            module, *(["--from", str(bad)] if module.endswith("train") else [str(bad)])
        )
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
        assert "os.system" in out.stderr


def test_train_from_snapshot_reproduces_losses_and_resume_cli(tmp_path: Path) -> None:
    first = run_module("lm_demo.train", *tiny_args(tmp_path, "max_steps=8", name="a"))
    assert first.returncode == 0, first.stderr
    snapshot = tmp_path / "a/snap/run.yaml"
    again = run_module(
        "lm_demo.train",
        "--from",
        str(snapshot),
        f"save_checkpoint_dir={tmp_path / 'b/ck'}",
        f"snapshot_dir={tmp_path / 'b/snap'}",
    )
    assert again.returncode == 0, again.stderr
    assert losses(tmp_path / "b/ck") == losses(tmp_path / "a/ck")
    assert len(losses(tmp_path / "a/ck")) == 8
    # Extend the first run through the resume command, then refuse a shape change.
    more = run_module("lm_demo.resume", str(snapshot), "max_steps=10")
    assert more.returncode == 0, more.stderr
    assert [s for s, _ in losses(tmp_path / "a/ck")] == list(range(1, 11))
    assert load_snapshot(snapshot, cls=TrainLoop).max_steps == 10
    bad = run_module("lm_demo.resume", str(snapshot), "model.transformer_config.num_blocks=2")
    assert bad.returncode == 2
    assert "model.transformer_config.num_blocks" in bad.stderr and "Traceback" not in bad.stderr


def test_kill_9_at_an_arbitrary_moment_then_resume_is_exact(tmp_path: Path) -> None:
    steps = 60
    reference = tiny(tmp_path, f"max_steps={steps}", name="ref").unroll(
        MetaConfig(verbose=False)
    )
    args = tiny_args(tmp_path, f"max_steps={steps}", name="killed")
    ck = tmp_path / "killed/ck"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lm_demo.train", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (ck / "step_000006").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(random.uniform(0.0, 0.2))  # somewhere in the middle of a step or a save
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    survivors = list_checkpoints(ck)
    assert survivors and survivors[-1].name != f"step_{steps:06d}", "killed too late"
    out = run_module("lm_demo.resume", str(tmp_path / "killed/snap/run.yaml"))
    assert out.returncode == 0, out.stderr
    final = torch.load(ck / f"step_{steps:06d}/model.pt", weights_only=True)
    assert same_params(reference.model.state_dict(), final)
    assert losses(ck) == losses(tmp_path / "ref/ck")


def test_resume_with_no_readable_checkpoint_is_one_line_and_exit_2(tmp_path: Path) -> None:
    tiny(tmp_path, "max_steps=3").unroll(MetaConfig(verbose=False))
    state = tmp_path / "run/ck/step_000003/state.pt"
    state.write_bytes(state.read_bytes()[:50])
    out = run_module("lm_demo.resume", str(tmp_path / "run/snap/run.yaml"), "max_steps=6")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines[0].startswith("warning: checkpoint") and "is corrupt" in lines[0]
    assert lines[-1].startswith("error: no complete checkpoint in")


def test_tokens_seen_of_a_checkpoint_without_the_count_is_rebuilt(tmp_path: Path) -> None:
    tiny(tmp_path, "max_steps=3").unroll(MetaConfig(verbose=False))
    state_file = tmp_path / "run/ck/step_000003/state.pt"
    state = torch.load(state_file, weights_only=True)
    del state["tokens"]  # as written before the count was saved
    torch.save(state, state_file)
    resumed = tiny(tmp_path, "max_steps=4").run(
        MetaConfig(verbose=False), resume_from=str(tmp_path / "run/ck")
    )
    assert [r["tokens"] for r in resumed.train_log] == [4 * 16 * 31]
