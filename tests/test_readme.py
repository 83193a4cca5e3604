"""Every ```python block of README.md runs as written.

A reader pastes the README's Python blocks into one Python session, top to bottom: later blocks use
names that earlier ones defined (``WikiDataConfig``, ``dataclass``, ...). So the test does the same:
the blocks run in the order they appear, in ONE namespace (a fresh ``__main__`` module, as in a
REPL, with ``sys.argv == [""]``), in one subprocess. Its current folder is a temporary copy of the
project (the packages, the shipped data, ``pyproject.toml``; in a git repository of its own, as a
clone is), with ``MICRO_CONFIG_ROOT`` pointing there, so the snapshots, checkpoints and metrics the
blocks write land in that copy and never in the repository. A failing block is reported with its
line number in README.md.

Rules for README authors: a ```python block must run as written, quickly (tiny runs: e.g.
``max_steps=`` on a training loop); a block that demonstrates an error catches it itself
(``except ConfigError as err: print(err)``). Shell commands go in ```shell blocks (not run here).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# what a reader's checkout needs for the blocks: the packages and the shipped corpus
PROJECT_PARTS = (".gitignore", "pyproject.toml", "README.md", "micro_config", "schemas", "lm_demo")

FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)

RUNNER = r"""
import json, sys, time, traceback, types

blocks = json.load(open(sys.argv[1], encoding="utf-8"))
main = types.ModuleType("__main__")  # one namespace for all blocks, as a REPL session has
main.__dict__["__builtins__"] = __builtins__
sys.modules["__main__"] = main
sys.argv = [""]  # as in an interactive session: no command-line overrides for cli()
for line, source in blocks:
    print(f"--- README.md:{line}", flush=True)
    start = time.perf_counter()
    # padded so that tracebacks name the README's own lines (and show them: the copy has it)
    code = compile("\n" * (line - 1) + source, "README.md", "exec")
    try:
        exec(code, main.__dict__)
    except BaseException:
        traceback.print_exc()
        print(f"README block at line {line} failed", file=sys.stderr)
        sys.exit(1)
    print(f"    ran in {time.perf_counter() - start:.1f} s", flush=True)
print("--- all blocks ran", flush=True)
"""


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The ```python blocks of a Markdown text, as (line of the block's first code line, code)."""
    blocks = []
    for match in FENCE.finditer(text):
        if match.group(1) == "python":
            first_line = text.count("\n", 0, match.start(2)) + 1
            blocks.append((first_line, match.group(2)))
    return blocks


def test_python_blocks_are_found_with_their_line_numbers():
    text = (
        "intro\n```python\nx = 1\n```\n\n```shell\nls\n```\n"
        "```python\ny = x + 1\nprint(y)\n```\n```\nplain\n```\n"
    )
    assert python_blocks(text) == [(3, "x = 1\n"), (10, "y = x + 1\nprint(y)\n")]
    lines = README.read_text(encoding="utf-8").splitlines()
    found = python_blocks(README.read_text(encoding="utf-8"))
    assert found, "README.md has no ```python block"
    for line, source in found:
        assert lines[line - 2].startswith("```python")
        assert lines[line - 1] == source.splitlines()[0]


def copy_project(dest: Path) -> None:
    """A reader's checkout: the project's files in a git repository of their own (snapshots
    record the commit), committed, so that only what the blocks write makes it dirty."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, dest / part, ignore=ignore)
        else:
            shutil.copy2(source, dest / part)
    if shutil.which("git") is None:
        pytest.skip("git is needed: the README's blocks read the commit a snapshot records")
    git = ["git", "-c", "user.name=readme", "-c", "user.email=readme@example.invalid"]
    git += ["-c", "commit.gpgsign=false"]  # and --no-verify: no signing, no hooks
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "copy"]):
        subprocess.run([*git, *command], cwd=dest, check=True, capture_output=True)


@pytest.mark.timeout(600)
def test_readme_python_blocks_run_as_written(tmp_path):
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    project = tmp_path / "project"
    project.mkdir()
    copy_project(project)
    (tmp_path / "blocks.json").write_text(json.dumps(blocks), encoding="utf-8")
    (tmp_path / "runner.py").write_text(RUNNER, encoding="utf-8")
    env = {
        **os.environ,
        "MICRO_CONFIG_ROOT": str(project),
        "PYTHONPATH": str(project),  # the copy's packages, ahead of the editable install
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "blocks.json")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    assert "--- all blocks ran" in done.stdout
    # the blocks wrote into the copy: the repository's own folders were not their target
    written = sorted(p.relative_to(project).as_posix() for p in project.glob("snapshots/*"))
    assert written, "the README's blocks wrote no snapshot into the temporary project"


def section(text: str, title: str) -> str:
    """The text of the README section headed ``## title`` (up to the next ``## ``)."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def recorded_sessions(block: str) -> list[tuple[str, list[str]]]:
    """``$ command`` lines of a recorded terminal block, each with the lines it printed."""
    sessions: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            sessions.append((line[2:].split("  #")[0].strip(), []))
        elif sessions:
            sessions[-1][1].append(line)
    return sessions


def test_recorded_sessions_are_split_by_prompt():
    block = "$ a x   # note\nout 1\nout 2\n$ echo $?\n1\n"
    assert recorded_sessions(block) == [("a x", ["out 1", "out 2"]), ("echo $?", ["1"])]


@pytest.mark.timeout(300)
def test_compare_two_runs_prints_what_the_readme_records(tmp_path):
    """The "Compare two runs" section: the configs its `lm_demo.train` commands run are saved as
    their snapshots (what a run writes before its first step; training would only add `meta`),
    then each recorded `micro-config diff` between snapshots and `module:attr` objects runs
    for real and must print exactly the recorded lines and exit with the recorded `echo $?`,
    up to the first recorded `python -m ...` (a run that changes the snapshots). Diffs of
    checkpoints and `--meta` carry run times, so they are not compared."""
    from micro_config import cli, save_snapshot
    from schemas import default_train

    text = section(README.read_text(encoding="utf-8"), "Compare two runs")
    blocks = [m.group(2) for m in FENCE.finditer(text)]
    commands = blocks[0].replace("\\\n", " ")
    runs = 0
    for line in commands.splitlines():
        words = shlex.split(line, comments=True)
        if words[:3] == ["python", "-m", "lm_demo.train"]:
            config = cli(default_train(), words[3:])
            save_snapshot(config, tmp_path / config.snapshot_dir / f"{config.run_name}.yaml")
            runs += 1
        elif words:  # e.g. a resume would change a snapshot that the diffs below compare
            raise AssertionError(f"not modelled here, run it in the recorded session: {line}")
    assert runs >= 2, "the section's shell block runs fewer than two trainings"
    sessions = recorded_sessions(blocks[1])
    checked = 0
    done = None
    for command, printed in sessions:
        words = shlex.split(command)
        if words[:2] == ["python", "-m"]:
            break  # a run from here on changes the snapshots: later diffs are not replayed
        if words == ["echo", "$?"] and done is not None:
            assert printed == [str(done.returncode)], f"exit code of: {done.args}"
        done = None
        if words[:2] != ["micro-config", "diff"] or "--meta" in words:
            continue
        if any(word.startswith("checkpoints/") for word in words):
            continue
        done = subprocess.run(
            [sys.executable, "-m", "micro_config", *words[1:]],
            cwd=tmp_path,
            env={**os.environ, "MICRO_CONFIG_ROOT": str(tmp_path), "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.stderr == "", done.stderr
        assert done.stdout.splitlines() == printed, f"$ {command}\n{done.stdout}"
        checked += 1
    assert checked >= 2, "the section records fewer than two diffs that can be checked"


@pytest.mark.timeout(300)
def test_recorded_demo_errors_are_what_the_commands_print(tmp_path):
    """Every recorded `$ python -m lm_demo.train ... KEY=VALUE` whose output is one line
    `error: KEY: ...` (an error about the command's own override, which needs no earlier run)
    runs for real in a temporary copy of the project: exit code 2, that one line on stderr,
    nothing on stdout. (The README's paths were recorded in a checkout at /work/main.)"""
    project = tmp_path / "project"
    project.mkdir()
    copy_project(project)
    env = {**os.environ, "MICRO_CONFIG_ROOT": str(project), "PYTHONPATH": str(project)}
    checked = 0
    for match in FENCE.finditer(README.read_text(encoding="utf-8")):
        if match.group(1) not in ("", "text", "console"):
            continue
        for command, printed in recorded_sessions(match.group(2)):
            words = shlex.split(command, comments=True)
            if words[:3] != ["python", "-m", "lm_demo.train"] or len(printed) != 1:
                continue
            key = printed[0].removeprefix("error: ").split(":")[0]
            about_an_override = any(word.startswith(f"{key}=") for word in words)
            if not printed[0].startswith("error: ") or not about_an_override:
                continue
            done = subprocess.run(
                [sys.executable, *words[1:]],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            expected = printed[0].replace("/work/main/", f"{project}/")
            assert (done.returncode, done.stdout, done.stderr) == (2, "", expected + "\n"), command
            checked += 1
    assert checked >= 3, "the README records fewer than three demo errors"
