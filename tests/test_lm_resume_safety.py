"""The LM demo never loses a run: nothing deleted by default, by bad input, by a resume from
somewhere else; only what it wrote and recognises; a resume is exact or refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from demo_runs import (
    LmRuns,
    call,
    files_of,
    metaconfig,
    names,
    run_module,
    tiny,
    tiny_args,
    train,
)

from lm_demo.checkpoint import list_checkpoints, load_run_config
from lm_demo.resume import main as resume_main
from lm_demo.train import read_config
from micro_config import ConfigError, load_snapshot, read_meta
from schemas import TrainLoop

# --- a new run never replaces another one ------------------------------------------------------


def test_a_second_run_in_the_same_folder_is_refused_naming_the_flag_and_resume(
    tmp_path: Path, lm_runs: LmRuns
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    before = files_of(run)
    code, _, err = call("lm_demo.train", *tiny_args("max_steps=3"), root=run)
    assert code == 2
    line = err.strip()
    assert len(line.splitlines()) == 1 and line.startswith("error: save_checkpoint_dir: ")
    assert "--overwrite" in line and "python -m lm_demo.resume" in line
    assert files_of(run) == before
    # --overwrite starts over: the old checkpoints go, a foreign file next to them stays.
    (run / "ck/notes.txt").write_text("mine")
    code, _, err = call("lm_demo.train", *tiny_args("max_steps=2"), "--overwrite", root=run)
    assert code == 0, err
    assert names(run / "ck") == ["step_000002"]
    assert (run / "ck/notes.txt").read_text() == "mine"


def test_python_m_lm_demo_is_train_and_refuses_too(tmp_path: Path, lm_runs: LmRuns) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    out = run_module("lm_demo", *tiny_args("max_steps=3"), root=run)
    assert out.returncode == 2 and "--overwrite" in out.stderr
    assert names(run / "ck") == ["step_000003"]


def test_a_step_folder_holding_a_foreign_file_is_never_deleted(
    tmp_path: Path, lm_runs: LmRuns, capsys
) -> None:
    """A run that would write a step folder holding a file of yours is refused before anything
    is deleted (--overwrite or not: saving there would replace the folder); pruning old
    checkpoints keeps your file and strips only the demo's own."""
    run = lm_runs.copy(tmp_path, "max_steps=6")
    (run / "ck/step_000006/my_analysis.ipynb").write_text("{}")
    before = files_of(run)
    with pytest.raises(ConfigError, match=r"step_000006 holds files the demo did not write \(my_analysis.ipynb\)"):
        tiny("max_steps=6").run(metaconfig(run), overwrite=True)
    assert files_of(run) == before
    # a run that does not write that step starts over; your file stays, the demo's go
    tiny("max_steps=2").run(metaconfig(run), overwrite=True)
    assert sorted(p.name for p in (run / "ck/step_000006").iterdir()) == ["my_analysis.ipynb"]
    (run / "ck/step_000006/my_analysis.ipynb").unlink()
    (run / "ck/step_000006").rmdir()
    fresh = tmp_path / "fresh"  # a new folder: a step folder of only your files
    (fresh / "ck/step_000003").mkdir(parents=True)
    (fresh / "ck/step_000003/notes.txt").write_text("important")
    with pytest.raises(ConfigError, match="step_000003 holds files the demo did not write"):
        tiny("max_steps=6").run(metaconfig(fresh))
    assert (fresh / "ck/step_000003/notes.txt").read_text() == "important"
    # pruning (keep_checkpoints=1) the folder holding your file keeps the file, drops the rest
    (run / "ck/step_000002/notes.txt").write_text("mine")
    code, _, err = call("lm_demo.resume", "snap/run.yaml", "max_steps=9", "keep_checkpoints=1", root=run)
    assert code == 0, err
    assert "kept " in err
    assert sorted(p.name for p in (run / "ck/step_000002").iterdir()) == ["notes.txt"]
    assert [p.name for p in list_checkpoints(run / "ck")] == ["step_000009"]


def test_a_file_at_the_snapshot_path_is_never_replaced_by_another_run(tmp_path: Path, lm_runs: LmRuns) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    mine = run / "snap/notes.yaml"
    mine.write_text("lr: 0.1  # my sweep file\n")
    with pytest.raises(ConfigError, match="is no run's snapshot") as info:
        tiny("max_steps=3", "run_name=notes", "save_checkpoint_dir=ck2").run(metaconfig(run))
    assert info.value.path == "run_name" and mine.read_text() == "lr: 0.1  # my sweep file\n"
    before = (run / "snap/run.yaml").read_bytes()  # another run's snapshot, same run_name
    with pytest.raises(ConfigError, match="records the run in ck: set run_name"):
        tiny("max_steps=3", "save_checkpoint_dir=ck2").run(metaconfig(run))
    assert (run / "snap/run.yaml").read_bytes() == before and not (run / "ck2").exists()
    tiny("max_steps=3", "save_checkpoint_dir=ck2").run(metaconfig(run), overwrite=True)  # asked for
    assert read_meta(run / "snap/run.yaml")["checkpoint_dir"] == "ck2"
    assert names(run / "ck") == ["step_000003"]  # that run's checkpoints are untouched


@pytest.mark.parametrize(("name", "value", "says"), [
    ("state.pt", {}, "state.pt does not hold the loop's state"),
    ("state.pt", [1, 2], "state.pt does not hold the loop's state"),
    ("model.pt", [1], "model.pt holds a list"),
    ("optim.pt", {"optimizer": 1}, "optim.pt does not hold"),
])
def test_a_checkpoint_file_that_loads_but_is_not_the_demos_is_skipped(
    tmp_path: Path, lm_runs: LmRuns, name: str, value: object, says: str
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=6")
    torch.save(value, run / "ck/step_000006" / name)
    code, out, err = call("lm_demo.resume", "snap/run.yaml", "max_steps=7", root=run)
    assert code == 0, err
    assert says in err and "falling back to the previous checkpoint" in err
    assert "resuming from ck/step_000003" in out or "step_000003 (step 3" in out, out


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (("bsize=100000",), "bsize"),
        (("snapshot_dir=blocker",), "snapshot_dir"),
        (("run_name=" + "r" * 300,), "run_name"),
        (("save_checkpoint_dir=blocker/ck",), "save_checkpoint_dir"),
        (("snapshot_dir=/proc/self",), "snapshot_dir"),  # a folder no file can be made in
        (("model.device=meta",), "model.device"),  # places a model, cannot train one
    ],
)
def test_bad_input_with_overwrite_deletes_nothing(
    tmp_path: Path, lm_runs: LmRuns, extra: tuple[str, ...], field: str
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    (run / "blocker").write_text("a file where a folder is expected")
    before = files_of(run)
    code, _, err = call("lm_demo.train", *tiny_args("max_steps=3", *extra), "--overwrite", root=run)
    assert code == 2
    assert err.startswith(f"error: {field}: ") and len(err.splitlines()) == 1
    assert "removing" not in err
    assert files_of(run) == before


def test_a_folder_outside_the_project_named_by_a_file_is_never_pruned(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "elsewhere"
    root = tmp_path / "project"
    args = tiny_args("max_steps=4", "keep_checkpoints=1", "save_every=1", f"save_checkpoint_dir={outside}")
    assert call("lm_demo.train", *args, root=root)[0] == 0
    assert names(outside) == ["step_000004"]  # typed on the command line: pruned
    code, _, err = call("lm_demo.resume", str(root / "snap/run.yaml"), "max_steps=6", root=root)
    assert code == 0, err
    assert names(outside) == ["step_000004", "step_000005", "step_000006"]
    assert "keeping every checkpoint" in err


# --- Ctrl-C ------------------------------------------------------------------------------------


def test_ctrl_c_advice_works_before_and_after_the_first_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process (``LM_DEMO_KILL_AT=N:interrupt`` raises KeyboardInterrupt as Ctrl-C would);
    the snapshot records ``meta.status: interrupted`` each time, ``finished`` at the end."""
    monkeypatch.chdir(tmp_path)  # the advice shows paths as typed from here
    monkeypatch.setenv("LM_DEMO_KILL_AT", "2:interrupt")
    code, _, err = call("lm_demo.train", *tiny_args("max_steps=5"), root=tmp_path)
    assert code == 130
    advice = err.strip().splitlines()[-1]
    assert "nothing to resume" in advice
    assert read_meta(tmp_path / "snap/run.yaml")["status"] == "interrupted"
    command = advice.split("`")[1].split()
    assert command[:4] == ["python", "-m", "lm_demo.train", "--from"]
    monkeypatch.setenv("LM_DEMO_KILL_AT", "4:interrupt")
    code, _, err = call(*command[2:], root=tmp_path)
    assert code == 130
    advice = err.strip().splitlines()[-1]
    assert "step_000003 is the newest checkpoint" in advice
    meta = read_meta(tmp_path / "snap/run.yaml")
    assert (meta["status"], meta["step"], meta["checkpoint"]) == ("interrupted", 4, "step_000003")
    command = advice.split("`")[1].split()
    assert command == ["python", "-m", "lm_demo.resume", "snap/run.yaml"]
    monkeypatch.delenv("LM_DEMO_KILL_AT")
    code, _, err = call(*command[2:], root=tmp_path)
    assert code == 0, err
    assert names(tmp_path / "ck")[-1] == "step_000005"
    assert read_meta(tmp_path / "snap/run.yaml")["status"] == "finished"


def test_sigterm_records_interrupted_and_the_run_resumes(tmp_path: Path) -> None:
    """SIGTERM (``kill PID``, a job scheduler) stops a run as Ctrl-C does: exit 130, the advice
    line, ``meta.status: interrupted``, not a run left ``running``. A subprocess: the signal
    goes to the process itself."""
    out = run_module(
        "lm_demo.train", *tiny_args("max_steps=5"), root=tmp_path, cwd=tmp_path,
        env={"LM_DEMO_KILL_AT": "4:term"},
    )
    assert out.returncode == 130, out.stderr
    assert "step_000003 is the newest checkpoint" in out.stderr.strip().splitlines()[-1]
    meta = read_meta(tmp_path / "snap/run.yaml")
    assert (meta["status"], meta["step"], meta["checkpoint"]) == ("interrupted", 4, "step_000003")
    code, _, err = call("lm_demo.resume", str(tmp_path / "snap/run.yaml"), root=tmp_path)
    assert code == 0, err
    assert read_meta(tmp_path / "snap/run.yaml")["status"] == "finished"


def test_a_run_that_fails_records_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lm_demo.loop

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(lm_demo.loop, "evaluate", broken)  # the first eval is at step 5
    with pytest.raises(RuntimeError, match="disk on fire"):
        train(tmp_path, "max_steps=6")
    meta = read_meta(tmp_path / "snap/run.yaml")
    assert (meta["status"], meta["step"], meta["checkpoint"]) == ("failed", 5, "step_000003")


def test_an_old_runs_migration_warning_is_one_line_printed_once(tmp_path: Path) -> None:
    """Resuming a run saved before a schema change reads two old configs (the one named and
    the checkpoint's): the migration is one ``warning:`` line, not Python's two-line format."""
    import warnings

    from lm_demo import console
    from micro_config import MigrationWarning

    old = tmp_path / "tests" / "data" / "v1"
    shutil.copytree(Path(__file__).parent / "data" / "v1", old)
    shutil.rmtree(old / "run" / "step_000002")
    console._warned.clear()  # noqa: SLF001 - warnings are once per process
    with warnings.catch_warnings():
        warnings.simplefilter("error", MigrationWarning)  # none may escape as a Python warning
        code, out, err = call("lm_demo.resume", str(old / "snapshot.yaml"), root=tmp_path)
    assert code == 0, err
    assert "resuming from" in out
    lines = [line for line in err.splitlines() if "migrat" in line]
    assert lines == [
        "warning: migrated older class versions: schemas.model.TransformerConfig version 1 -> 2 "
        "(1 node) (resave, or run 'micro-config migrate', to update the file)"
    ]


# --- a resume is exact or refused --------------------------------------------------------------


def test_a_checkpoint_config_lacking_fields_is_refused_unless_allowed(
    tmp_path: Path, lm_runs: LmRuns, capsys, monkeypatch
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    for file in (run / "ck/step_000003/config.yaml", run / "snap/run.yaml"):
        text = file.read_text()
        assert "  seed: 0\n" in text
        file.write_text(text.replace("  seed: 0\n", ""))
    monkeypatch.setenv("MICRO_CONFIG_ROOT", str(run))
    before = files_of(run)
    assert resume_main([str(run / "snap/run.yaml"), "max_steps=4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "'seed'" in err and "--allow-drift" in err
    assert len(err.splitlines()) == 1
    assert files_of(run) == before
    assert resume_main([str(run / "snap/run.yaml"), "max_steps=4", "--allow-drift"]) == 0
    assert names(run / "ck") == ["step_000003", "step_000004"]


def test_a_run_failing_on_bsize_keeps_the_previous_runs_checkpoints(
    tmp_path: Path, lm_runs: LmRuns
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    before = files_of(run)
    with pytest.raises(ConfigError) as info:
        tiny("max_steps=3", "bsize=100000").run(metaconfig(run), overwrite=True)
    assert info.value.path == "bsize"
    assert files_of(run) == before


def test_resuming_a_copied_folder_continues_in_the_copy(
    tmp_path: Path, lm_runs: LmRuns, capsys, monkeypatch
) -> None:
    run = lm_runs.copy(tmp_path / "run", "max_steps=6")
    orig, copy = run / "ck", tmp_path / "copy"
    shutil.copytree(orig, copy)
    untouched = files_of(orig)
    monkeypatch.setenv("MICRO_CONFIG_ROOT", str(run))
    # From its newest checkpoint: fine, and every new file goes to the copy.
    assert resume_main([str(copy), "max_steps=8"]) == 0
    assert files_of(orig) == untouched
    assert names(copy) == ["step_000003", "step_000006", "step_000008"]
    saved = load_snapshot(copy / "step_000008/config.yaml", cls=TrainLoop)
    assert Path(saved.save_checkpoint_dir) == copy.resolve()
    err = capsys.readouterr().err
    assert "described the run in ck" in err  # the snapshot now points at the copy
    assert "removing" not in err


def test_resuming_an_older_checkpoint_needs_discard_newer(
    tmp_path: Path, lm_runs: LmRuns, capsys, monkeypatch
) -> None:
    run = lm_runs.copy(tmp_path / "run", "max_steps=6")
    orig, copy = run / "ck", tmp_path / "copy"
    shutil.copytree(orig, copy)
    monkeypatch.setenv("MICRO_CONFIG_ROOT", str(run))
    untouched, copied = files_of(orig), files_of(copy)
    assert resume_main([str(copy / "step_000003"), "max_steps=5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "--discard-newer" in err and "step_000006" in err
    assert files_of(copy) == copied and files_of(orig) == untouched
    assert resume_main([str(copy / "step_000003"), "max_steps=5", "--discard-newer"]) == 0
    assert "removing 1 checkpoint(s) newer than step 3" in capsys.readouterr().err
    assert names(copy) == ["step_000003", "step_000005"]
    assert files_of(orig) == untouched


def test_run_refuses_a_checkpoint_outside_save_checkpoint_dir(
    tmp_path: Path, lm_runs: LmRuns
) -> None:
    a = lm_runs.copy(tmp_path / "a", "max_steps=3")
    b = lm_runs.copy(tmp_path / "b", "max_steps=3")
    before = files_of(tmp_path)
    with pytest.raises(ConfigError) as info:
        tiny("max_steps=6").run(metaconfig(b), resume_from=str(a / "ck/step_000003"))
    assert info.value.path == "save_checkpoint_dir"
    assert str(a / "ck") in str(info.value)
    assert files_of(tmp_path) == before


def test_falling_back_past_an_unreadable_checkpoint_needs_no_flag(
    tmp_path: Path, lm_runs: LmRuns
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=6")
    (run / "ck/step_000006/optim.pt").write_bytes(b"garbage")
    result = tiny("max_steps=7").run(metaconfig(run), resume_from=str(run / "ck"))
    assert result.train_log[0]["step"] == 4
    assert names(run / "ck") == ["step_000003", "step_000006", "step_000007"]


def test_resume_from_a_folder_falls_back_past_a_truncated_config(
    tmp_path: Path, lm_runs: LmRuns, capsys, monkeypatch
) -> None:
    run = lm_runs.copy(tmp_path / "run", "max_steps=6")
    config = run / "ck/step_000006/config.yaml"
    config.write_text(config.read_text()[:300])  # cut inside the meta block
    capsys.readouterr()
    monkeypatch.setenv("MICRO_CONFIG_ROOT", str(run))
    monkeypatch.chdir(tmp_path)  # PATH: relative to the working directory, as typed
    assert resume_main(["run/ck", "max_steps=7"]) == 0
    err = capsys.readouterr().err
    assert err.count("falling back to the previous checkpoint") == 1, err  # said once
    assert "checkpoint run/ck/step_000006 has an unreadable config.yaml" in err
    assert names(run / "ck") == ["step_000003", "step_000006", "step_000007"]
    assert read_meta(run / "ck/step_000007/config.yaml")["step"] == 7


def test_a_path_is_also_found_from_the_project_root(
    tmp_path: Path, lm_runs: LmRuns, monkeypatch
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    (run / "sub").mkdir()
    monkeypatch.setenv("MICRO_CONFIG_ROOT", str(run))
    monkeypatch.chdir(run / "sub")  # snap/run.yaml is not here, but in the project root
    assert resume_main(["snap/run.yaml", "max_steps=4"]) == 0
    assert names(run / "ck") == ["step_000003", "step_000004"]
    code, _, err = call("lm_demo.train", "--from", "snap/run.yaml", "max_steps=1",
                        "save_checkpoint_dir=ck2", "run_name=run2", root=run)  # fmt: skip
    assert code == 0, err
    assert names(run / "ck2") == ["step_000001"]


def test_load_run_config_says_when_no_config_reads(tmp_path: Path, lm_runs: LmRuns, capsys) -> None:
    ck = lm_runs.copy(tmp_path, "max_steps=6") / "ck"
    for step in ("step_000003", "step_000006"):
        (ck / step / "config.yaml").write_text("micro_config: 1\nmeta: {}\n")
    with pytest.raises(ConfigError, match="no checkpoint in .* has a readable config.yaml"):
        load_run_config(ck, read_config)
    assert capsys.readouterr().err.count("falling back") == 2
    assert resume_main([str(ck)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: no checkpoint in")


def test_model_errors_name_the_full_path_and_keep_the_checkpoints(
    tmp_path: Path, lm_runs: LmRuns
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    before = files_of(run)
    absent = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(ConfigError) as info:
        tiny("max_steps=3", f"model.device={absent}").run(metaconfig(run), overwrite=True)
    assert str(info.value) == f"model.device: {absent!r} is not available on this machine"
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "other.pt")
    with pytest.raises(ConfigError) as info:
        tiny("max_steps=3", f"model.checkpoint_path={tmp_path / 'other.pt'}").run(
            metaconfig(run), overwrite=True
        )
    assert info.value.path == "model.checkpoint_path"
    assert "does not fit the model: " in str(info.value) and "\n" not in str(info.value)
    assert "2 unexpected keys (weight, bias)" in str(info.value)
    assert files_of(run) == {**before, "other.pt": (tmp_path / "other.pt").read_bytes()}


def test_meta_argv_is_the_command_as_typed(tmp_path: Path) -> None:
    args = tiny_args("max_steps=1")
    code, _, err = call("lm_demo.train", *args, root=tmp_path)
    assert code == 0, err
    argv = read_meta(tmp_path / "snap/run.yaml")["argv"]
    assert argv == ["python", "-m", "lm_demo.train", *args]  # not the script's machine path


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (("optim=SGDConfig",), "optim"),  # the checkpoint holds AdamW's state
        (("optim.lr=0.5",), "optim.lr"),  # restored from the checkpoint: would not be used
        (("seed=5",), "seed"),
    ],
)
def test_a_resume_refuses_changes_the_checkpoint_would_override(
    tmp_path: Path, lm_runs: LmRuns, extra: tuple[str, ...], field: str
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    before = files_of(run)
    code, _, err = call("lm_demo.resume", "snap/run.yaml", "max_steps=4", *extra, root=run)
    assert code == 2 and err.startswith(f"error: {field}: ") and len(err.splitlines()) == 1
    assert files_of(run) == before  # the snapshot is not rewritten either
    assert call("lm_demo.resume", "snap/run.yaml", "max_steps=4", "optim.grad_clip=0.5", root=run)[0] == 0


def test_paths_in_printed_commands_paste_into_a_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex

    from lm_demo.console import shown

    monkeypatch.chdir(tmp_path)
    for name in ("snapshots/run.yaml", "snapshots/my run.yaml", "snapshots/it's $HOME.yaml"):
        assert shlex.split(f"python -m lm_demo.resume {shown(name)}")[-1] == name
    assert shown("snapshots/run.yaml") == "snapshots/run.yaml"  # quoted only when needed


def test_a_mistyped_resume_flag_is_one_line_with_the_closest(tmp_path: Path) -> None:
    code, out, err = call("lm_demo.resume", str(tmp_path / "run.yaml"), "--discard-newr", root=tmp_path)
    assert code == 2 and out == ""
    assert err == "error: unknown option '--discard-newr' (did you mean '--discard-newer'?)\n"
    code, _, err = call("lm_demo.resume", str(tmp_path / "run.yaml"), "--allow-drift=yes", root=tmp_path)
    assert (code, err) == (2, "error: --allow-drift takes no value (give --allow-drift alone)\n")
    code, _, err = call("lm_demo.resume", str(tmp_path / "run.yaml"), "--overwrite", root=tmp_path)
    assert code == 2 and err.startswith("error: --overwrite is an option of a new run") and err.count("\n") == 1
    code, _, err = call("lm_demo.resume", "--discard-newer", str(tmp_path / "run.yaml"), root=tmp_path)
    assert code == 2 and err.startswith("error: the snapshot or checkpoint PATH comes first")


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path: Path, lm_runs: LmRuns) -> None:
    """Two runs writing one folder (a command launched twice, a job requeued while the first
    still runs) replaced each other's checkpoints: the folder's lock refuses the second."""
    import os
    import subprocess
    import sys

    from lm_demo.checkpoint import LOCK_FILE, FolderLock

    run = lm_runs.copy(tmp_path, "max_steps=3")
    holder = subprocess.Popen(  # another process holding the folder, as a running run does
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from lm_demo.checkpoint import FolderLock; FolderLock.take(Path(sys.argv[1])); "
         "print('held', flush=True); time.sleep(60)", str(run / "ck")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        before = files_of(run)
        code, out, err = call("lm_demo.resume", "snap/run.yaml", "max_steps=4", root=run)
        assert code == 2 and out == ""
        assert f"another run (pid {holder.pid}) is writing in" in err and err.count("\n") == 1
        assert files_of(run) == before
    finally:
        holder.kill()
        holder.wait()
    code, _, err = call("lm_demo.resume", "snap/run.yaml", "max_steps=4", root=run)  # freed
    assert code == 0, err
    assert (run / "ck" / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    FolderLock.take(run / "ck").close()  # the finished run let it go


def test_a_resume_never_replaces_a_file_that_is_no_runs_snapshot(tmp_path: Path, lm_runs: LmRuns) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=3")
    (run / "snap/mine.yaml").write_text("my: notes\n")
    code, _, err = call("lm_demo.resume", "ck", "max_steps=4", "run_name=mine", root=run)
    assert code == 2 and "is no run's snapshot" in err
    assert (run / "snap/mine.yaml").read_text() == "my: notes\n"


def test_a_checkpoint_with_a_wrong_random_state_is_skipped_and_a_linked_step_folder_refused(
    tmp_path: Path, lm_runs: LmRuns
) -> None:
    run = lm_runs.copy(tmp_path, "max_steps=6")
    state = torch.load(run / "ck/step_000006/state.pt", weights_only=True)
    state["rng"] = {}
    torch.save(state, run / "ck/step_000006/state.pt")
    code, out, err = call("lm_demo.resume", "snap/run.yaml", "max_steps=7", root=run)
    assert code == 0, err
    assert "no random state" in err and "step_000003 (step 3" in out
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(run / "ck/step_000003", elsewhere)
    shutil.rmtree(run / "ck/step_000003")
    (run / "ck/step_000003").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="step_000003 is a link, where this run writes"):
        tiny("max_steps=6").run(metaconfig(run), overwrite=True)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["config.yaml", "model.pt", "optim.pt", "state.pt"]


@pytest.mark.parametrize(("rank", "talks"), [("0", True), ("1", False)])
def test_only_rank_0_says_where_a_resume_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], rank: str, talks: bool
) -> None:
    from lm_demo.resume import continue_in
    from micro_config import MetaConfig
    from schemas import default_train

    monkeypatch.setenv("RANK", rank)
    moved = continue_in(default_train(), tmp_path / "copied", MetaConfig(verbose=False))
    assert moved.save_checkpoint_dir == str((tmp_path / "copied").resolve())
    assert ("continuing in" in capsys.readouterr().out) is talks
