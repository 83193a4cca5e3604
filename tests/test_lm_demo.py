"""The LM demo: data, model, checkpoints, exact resume, and its command line (tiny models)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from demo_runs import (
    ROOT,
    TRAIN_RAW,
    VALID_RAW,
    LmRuns,
    call,
    losses,
    metaconfig,
    names,
    run_module,
    same_params,
    tiny,
    tiny_args,
    train,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from lm_demo.checkpoint import list_checkpoints, load_latest
from lm_demo.data import ByteTokenizer, WikitextDataset
from lm_demo.metrics import read_metrics
from lm_demo.train import read_config
from lm_demo.transformer import LMModel
from micro_config import ConfigError, load_snapshot, read_meta
from schemas import TrainLoop

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
    total = TRAIN_RAW.stat().st_size + VALID_RAW.stat().st_size
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
        256, 16, heads=2, hidden_dim=32, head_dim=8, intermediate_dim=64, num_blocks=2,
        attn_dropout=dropout, resid_dropout=dropout,
    )  # fmt: skip


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


def test_training_learns_and_writes_checkpoints_and_snapshot(tmp_path: Path, lm_runs: LmRuns) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=10", "optim.lr=0.01")
    assert names(run / "ck") == ["step_000003", "step_000006", "step_000009", "step_000010"]
    evals = [r for r in read_metrics(run / "ck/metrics.jsonl") if "eval_loss" in r]
    assert [r["step"] for r in evals] == [5, 10]
    assert evals[-1]["eval_loss"] < math.log(256) - 0.3
    assert [s for s, _ in losses(run / "ck")] == list(range(1, 11))
    meta = read_meta(run / "snap/run.yaml")
    assert (meta["status"], meta["step"], meta["checkpoint"]) == ("finished", 10, "step_000010")
    assert meta["world_size"] == 1 and meta["created"] <= meta["updated"]
    assert load_snapshot(run / "snap/run.yaml", cls=TrainLoop) == tiny("max_steps=10", "optim.lr=0.01")


def test_checkpoint_config_equals_start_config_sharing_included(
    tmp_path: Path, lm_runs: LmRuns
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=6")
    saved = load_snapshot(run / "ck/step_000003/config.yaml", cls=TrainLoop)
    assert saved == tiny("max_steps=6")
    assert saved.model.dataset is saved.train_dataset
    assert saved.eval_dataset is not saved.train_dataset


def test_resume_after_a_checkpoint_is_exact(tmp_path: Path, lm_runs: LmRuns) -> None:
    full = lm_runs.copy(tmp_path / "full", "max_steps=12")
    cut = lm_runs.copy(tmp_path / "cut", "max_steps=7")
    # Resume from step 6 (step 7 is the end of the short run, also a checkpoint): drop 7.
    resumed = tiny("max_steps=12").run(
        metaconfig(cut), resume_from=str(cut / "ck/step_000006"), discard_newer=True
    )
    assert resumed.train_log[0]["step"] == 7
    final = torch.load(full / "ck/step_000012/model.pt", weights_only=True)
    assert same_params(final, resumed.model.state_dict())
    assert losses(cut / "ck") == losses(full / "ck")
    # The tokens log is the running total of tokens seen, carried over the resume.
    seen = [r["tokens"] for r in read_metrics(cut / "ck/metrics.jsonl") if "loss" in r]
    assert seen == [step * 16 * 31 for step in range(1, 13)]  # bsize 16, 31 targets a chunk
    assert torch.load(cut / "ck/step_000012/state.pt", weights_only=True)["tokens"] == seen[-1]
    # meta.created is the run's start; meta.updated its last write.
    before, after = read_meta(full / "snap/run.yaml"), read_meta(cut / "snap/run.yaml")
    assert after["created"] == read_meta(cut / "ck/step_000003/config.yaml")["created"]
    assert after["updated"] >= before["updated"]


def test_extending_epochs_on_resume_matches_a_longer_run(tmp_path: Path, lm_runs: LmRuns) -> None:
    # Train on the small validation file with a big batch: an epoch of 5 steps.
    extra = (f"train_dataset.f_path={VALID_RAW}", "bsize=128", "eval_every=100", "save_every=100")
    full = lm_runs.copy(tmp_path / "full", *extra, "epochs=2")
    cut = lm_runs.copy(tmp_path / "cut", *extra, "epochs=1")
    assert names(cut / "ck") == ["step_000005"] and names(full / "ck") == ["step_000010"]
    resumed = tiny(*extra, "epochs=2").run(metaconfig(cut), resume_from=str(cut / "ck"))
    assert resumed.epoch == 1
    final = torch.load(full / "ck/step_000010/model.pt", weights_only=True)
    assert same_params(final, resumed.model.state_dict())
    assert losses(cut / "ck") == losses(full / "ck")


def test_corrupt_newest_checkpoint_falls_back_with_a_warning(
    tmp_path: Path, lm_runs: LmRuns, capsys
) -> None:
    ck = lm_runs.copy(tmp_path, "max_steps=6") / "ck"
    model_file = ck / "step_000006/model.pt"
    model_file.write_bytes(model_file.read_bytes()[:100])  # truncated
    checkpoint = load_latest(ck, read_config)
    assert checkpoint.path.name == "step_000003"
    assert checkpoint.state["step"] == 3
    assert "step_000006 is corrupt" in capsys.readouterr().err
    for step in ("step_000003", "step_000006"):
        (ck / step / "state.pt").unlink()
    with pytest.raises(ConfigError, match="no complete checkpoint"):
        load_latest(ck, read_config)


def test_half_written_checkpoint_folder_is_ignored(tmp_path: Path, lm_runs: LmRuns) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    (run / "ck/.step_000006.tmp-123").mkdir()
    assert [p.name for p in list_checkpoints(run / "ck")] == ["step_000003"]
    tiny("max_steps=4").run(metaconfig(run), resume_from=str(run / "ck"))
    assert not (run / "ck/.step_000006.tmp-123").exists()
    assert names(run / "ck") == ["step_000003", "step_000004"]


def test_resume_refuses_a_shape_change(tmp_path: Path, lm_runs: LmRuns) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    wider = tiny("max_steps=6", "model.transformer_config.hidden_dim=48")
    with pytest.raises(ConfigError) as info:
        wider.run(metaconfig(run), resume_from=str(run / "ck"))
    assert info.value.path == "model.transformer_config.hidden_dim"


def test_already_finished_names_what_caps_the_run(tmp_path: Path, lm_runs: LmRuns, capsys) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    tiny("max_steps=3").run(metaconfig(run), resume_from=str(run / "ck"))
    assert "already at step 3 of 3: max_steps=3 ends it" in capsys.readouterr().out
    extra = (f"train_dataset.f_path={VALID_RAW}", "bsize=128", "eval_every=100", "save_every=100")
    run = lm_runs.copy(tmp_path / "epochs", *extra, "epochs=1")
    tiny(*extra, "epochs=1").run(metaconfig(run), resume_from=str(run / "ck"))
    assert "already at step 5 of 5: epochs=1 ends it; raise epochs" in capsys.readouterr().out


def test_a_resume_shorter_than_the_checkpoint_is_refused_before_writing(tmp_path: Path, lm_runs: LmRuns) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    before = {p: p.read_bytes() for p in (run / "snap").rglob("*.yaml")}
    assert before
    with pytest.raises(ConfigError, match="the checkpoint is at step 3, past the 2 steps") as info:
        tiny("max_steps=2").run(metaconfig(run), resume_from=str(run / "ck"))
    assert info.value.path == "max_steps"
    assert {p: p.read_bytes() for p in before} == before  # the snapshot still says 3 steps


def test_tokens_seen_of_a_checkpoint_without_the_count_is_rebuilt(
    tmp_path: Path, lm_runs: LmRuns
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    state_file = run / "ck/step_000003/state.pt"
    state = torch.load(state_file, weights_only=True)
    del state["tokens"]  # as written before the count was saved
    torch.save(state, state_file)
    resumed = tiny("max_steps=4").run(metaconfig(run), resume_from=str(run / "ck"))
    assert [r["tokens"] for r in resumed.train_log] == [4 * 16 * 31]


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
        "--overwrite",
    ):
        assert key in out.stdout


@pytest.mark.parametrize("module", ["lm_demo.train", "lm_demo.resume", "lm_demo"])
def test_help_into_a_closed_pipe_ends_quietly(module: str) -> None:
    shell = f"{sys.executable} -m {module} --help | head -1"
    out = subprocess.run(shell, shell=True, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.startswith("usage:")
    assert out.stderr == ""


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
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    overrides = [arg for arg in args if "=" in arg]
    rest = [arg for arg in args if "=" not in arg]
    code, _, err = call("lm_demo.train", *tiny_args(*overrides), *rest, root=tmp_path)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_data_file_fails_before_torch_is_imported(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from lm_demo.train import main\n"
        f"code = main(['train_dataset.f_path={tmp_path / 'no.raw'}'])\n"
        "assert code == 2, code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == f"error: train_dataset.f_path: data file not found: {tmp_path / 'no.raw'}"


def test_snapshot_with_an_unknown_class_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("micro_config: 1\nmeta: {}\nconfig:\n  _target_: os.system\n  command: ls\n")
    for args in (["lm_demo.train", "--from", str(bad)], ["lm_demo.resume", str(bad)]):
        code, _, err = call(*args, root=tmp_path)  # in process: a traceback would raise here
        assert code == 2, err
        assert err.startswith("error: ") and len(err.splitlines()) == 1
        assert "os.system" in err


def test_train_from_snapshot_reproduces_losses_and_resume_cli(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    code, out, err = call("lm_demo.train", *tiny_args("max_steps=8"), root=a)
    assert code == 0, err
    snapshot = a / "snap/run.yaml"
    code, _, err = call("lm_demo.train", "--from", str(snapshot), root=b)
    assert code == 0, err
    assert losses(b / "ck") == losses(a / "ck")
    assert len(losses(a / "ck")) == 8
    # The end of a run says where everything is and how to go on.
    assert f"snapshot: {snapshot}" in out and "python -m lm_demo.resume" in out
    # Extend the first run through the resume command, then refuse a shape change.
    code, _, err = call("lm_demo.resume", str(snapshot), "max_steps=10", root=a)
    assert code == 0, err
    assert [s for s, _ in losses(a / "ck")] == list(range(1, 11))
    assert load_snapshot(snapshot, cls=TrainLoop).max_steps == 10
    code, _, err = call("lm_demo.resume", str(snapshot), "model.transformer_config.num_blocks=2", root=a)
    assert code == 2
    assert err.startswith("error: model.transformer_config.num_blocks: changes the model's shape")


def test_kill_9_then_resume_is_exact(tmp_path: Path, lm_runs: LmRuns) -> None:
    """SIGKILL after an optimizer step (step 8), then, resumed, half-way through writing a
    checkpoint (step 9); resumed again, the run ends as the uninterrupted one. The killed runs
    are subprocesses (SIGKILL ends the process); the last resume runs in this process."""
    reference = lm_runs.copy(tmp_path / "ref", "max_steps=12")
    killed = tmp_path / "killed"
    out = run_module(
        "lm_demo.train", *tiny_args("max_steps=12"), root=killed, env={"LM_DEMO_KILL_AT": "8"}
    )
    assert out.returncode == -9, out.stderr
    assert names(killed / "ck") == ["step_000003", "step_000006"]
    out = run_module(
        "lm_demo.resume", "snap/run.yaml", root=killed, cwd=killed, env={"LM_DEMO_KILL_AT": "9:save"}
    )
    assert out.returncode == -9, out.stderr
    assert "resuming from ck/step_000006" in out.stdout
    assert names(killed / "ck") == ["step_000003", "step_000006"]
    assert [p.name for p in (killed / "ck").glob(".step_000009.tmp-*")]  # half-written
    code, out_text, err = call("lm_demo.resume", str(killed / "snap/run.yaml"), root=killed)
    assert code == 0, err
    assert "step_000006" in out_text
    final = torch.load(killed / "ck/step_000012/model.pt", weights_only=True)
    assert same_params(torch.load(reference / "ck/step_000012/model.pt", weights_only=True), final)
    assert losses(killed / "ck") == losses(reference / "ck")
    assert not list((killed / "ck").glob(".step_*"))


def test_resume_with_no_readable_checkpoint_is_one_line_and_exit_2(
    tmp_path: Path, lm_runs: LmRuns
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    state = run / "ck/step_000003/state.pt"
    state.write_bytes(state.read_bytes()[:50])
    code, _, err = call("lm_demo.resume", str(run / "snap/run.yaml"), "max_steps=6", root=run)
    assert code == 2  # (a traceback would have raised here)
    lines = err.strip().splitlines()
    assert lines[0].startswith("warning: checkpoint") and "is corrupt" in lines[0]
    assert lines[-1].startswith("error: no complete checkpoint in")


def test_unroll_and_the_command_line_train_alike(tmp_path: Path) -> None:
    """``TrainLoop.unroll`` is the command without a resume: the same losses."""
    result = train(tmp_path / "in", "max_steps=2", "save_every=100")
    code, _, err = call("lm_demo.train", *tiny_args("max_steps=2", "save_every=100"), root=tmp_path / "cli")
    assert code == 0, err
    assert [(r["step"], r["loss"]) for r in result.train_log] == losses(tmp_path / "cli/ck")


def test_a_run_without_num_threads_uses_torchs_default_whatever_ran_before() -> None:
    from lm_demo import state

    before = torch.get_num_threads()
    try:
        state.setup_torch(0, True, 1)
        assert torch.get_num_threads() == 1
        state.setup_torch(0, True, None)  # not the 1 left by the previous run
        assert torch.get_num_threads() == state.DEFAULT_THREADS
    finally:
        torch.set_num_threads(before)
