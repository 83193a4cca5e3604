"""The ``micro-config`` command, run as the real console script (and as ``python -m``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from micro_config.commands.diff import Change
from micro_config.commands.main import main
from micro_config.commands.report import format_change, render
from micro_config.commands.sources import allowed_packages

if TYPE_CHECKING:
    from demo_runs import LmRuns

CONFIG_MODULE = '''
from dataclasses import dataclass, field
from micro_config import ConfigScript


class Echo(ConfigScript):
    def unroll(self, metaconfig=None):
        return self


@dataclass
class Data(Echo):
    f_path: str = "train.raw"
    max_len: int = 256


@dataclass
class Model(Echo):
    dataset: Data = field(default_factory=Data)
    dim: int = 8


@dataclass
class Train(Echo):
    train_dataset: Data = field(default_factory=Data)
    model: Model = field(default_factory=Model)
    lr: float = 0.001
    tags: dict = field(default_factory=dict)


def broken():
    raise RuntimeError("boom")


def default():
    data = Data()
    return Train(train_dataset=data, model=Model(dataset=data))
'''

SNAPSHOT = """\
micro_config: 1
meta:
  argv: [train.py]
config:
  _target_: cfgmod.Train
  train_dataset: &train_dataset
    _target_: cfgmod.Data
    f_path: train.raw
    max_len: {max_len}
  model:
    _target_: cfgmod.Model
    dataset: *train_dataset
    dim: 8
  lr: 0.001
  tags: {{}}
"""


@pytest.fixture(scope="module")
def exe() -> str:
    path = shutil.which("micro-config")
    assert path is not None, "the console script is not installed: pip install -e ."
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a config module and two snapshots that differ in one shared value."""
    (tmp_path / "cfgmod.py").write_text(CONFIG_MODULE)
    (tmp_path / "a.yaml").write_text(SNAPSHOT.format(max_len=256))
    (tmp_path / "b.yaml").write_text(SNAPSHOT.format(max_len=512))
    step = tmp_path / "ckpt" / "step_000002"
    step.mkdir(parents=True)
    (step / "config.yaml").write_text(SNAPSHOT.format(max_len=512))
    return tmp_path


def run(exe: str, *args: str, cwd: Path, env: dict[str, str] | None = None,
        module: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "micro_config"] if module else [exe]
    full_env = {k: v for k, v in os.environ.items() if k not in ("MICRO_CONFIG_ALLOW", "NO_COLOR")}
    full_env.update(env or {})
    return subprocess.run([*command, *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("micro-config: error: ")


# ---------------------------------------------------------------- diff


@pytest.mark.parametrize("module", [False, True])
def test_diff_exit_codes_like_diff(exe: str, project: Path, module: bool) -> None:
    same = run(exe, "diff", "a.yaml", "a.yaml", cwd=project, module=module)
    assert (same.returncode, same.stdout, same.stderr) == (0, "", "")
    different = run(exe, "diff", "a.yaml", "b.yaml", cwd=project, module=module)
    assert different.returncode == 1
    assert different.stdout == "train_dataset.max_len: 256 -> 512  (also model.dataset.max_len)\n"
    missing = run(exe, "diff", "a.yaml", "nope.yaml", cwd=project, module=module)
    assert_one_line_error(missing)
    assert "nope.yaml" in missing.stderr


def test_diff_json_is_machine_readable(exe: str, project: Path) -> None:
    result = run(exe, "diff", "a.yaml", "b.yaml", "--json", cwd=project)
    assert result.returncode == 1
    assert json.loads(result.stdout) == [
        {"path": "train_dataset.max_len", "kind": "changed", "old": 256, "new": 512,
         "also": ["model.dataset.max_len"]}
    ]
    same = run(exe, "diff", "a.yaml", "a.yaml", "--json", cwd=project)
    assert (same.returncode, json.loads(same.stdout)) == (0, [])


def test_diff_a_checkpoint_folder_and_meta(exe: str, project: Path) -> None:
    result = run(exe, "diff", "b.yaml", "ckpt/step_000002", cwd=project)
    assert (result.returncode, result.stdout) == (0, "")
    (project / "c.yaml").write_text(SNAPSHOT.format(max_len=512).replace("train.py", "resume.py"))
    assert run(exe, "diff", "b.yaml", "c.yaml", cwd=project).returncode == 0
    with_meta = run(exe, "diff", "b.yaml", "c.yaml", "--meta", cwd=project)
    assert with_meta.returncode == 1
    assert with_meta.stdout == 'meta.argv: ["train.py"] -> ["resume.py"]\n'
    assert_one_line_error(run(exe, "diff", "a.yaml", "ckpt", cwd=project))  # no config.yaml


def test_color_only_on_request_or_a_terminal(exe: str, project: Path) -> None:
    plain = run(exe, "diff", "a.yaml", "b.yaml", cwd=project)  # a pipe: auto means plain
    assert "\x1b[" not in plain.stdout
    colored = run(exe, "diff", "a.yaml", "b.yaml", "--color=always", cwd=project)
    assert "\x1b[31m256" in colored.stdout and "\x1b[32m512" in colored.stdout
    never = run(exe, "diff", "a.yaml", "b.yaml", "--color", "never", cwd=project)
    assert never.stdout == plain.stdout


def test_diff_against_a_python_object_imports_only_what_is_named(exe: str, project: Path):
    (project / "evil.py").write_text("open('imported', 'w').close()\n")
    (project / "x.yaml").write_text(SNAPSHOT.format(max_len=256).replace("cfgmod.Data", "evil.X"))
    result = run(exe, "diff", "x.yaml", "cfgmod:default", cwd=project)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == ["train_dataset: class evil.X -> cfgmod.Data"
                                          "  (also model.dataset)"]
    assert run(exe, "show", "x.yaml", cwd=project).returncode == 0
    assert not (project / "imported").exists()
    assert run(exe, "diff", "a.yaml", "cfgmod:default", cwd=project).returncode == 0
    assert run(exe, "diff", "cfgmod:Train", "a.yaml", cwd=project).stdout.splitlines() == [
        "model.dataset: separate -> shared with train_dataset"
    ]


@pytest.mark.parametrize(
    ("spec", "words"),
    [("cfgmod:defualt", "has no 'defualt' (did you mean 'default'?)"), ("nomod:x", "no module named 'nomod'"),
     ("cfgmod:CONFIG_MODULE", "has no"), ("cfgmod:field", "not a config object"),
     ("cfgmod:broken", "calling it failed: RuntimeError: boom")],
)
def test_bad_object_names_are_one_line(exe: str, project: Path, spec: str, words: str) -> None:
    result = run(exe, "diff", "a.yaml", spec, cwd=project)
    assert_one_line_error(result)
    assert words in result.stderr


def test_broken_files_and_bad_usage_are_one_line(exe: str, project: Path) -> None:
    (project / "bad.yaml").write_text("config: [unclosed\n")
    assert_one_line_error(run(exe, "diff", "bad.yaml", "a.yaml", cwd=project))
    (project / "bad.json").write_text("{")
    assert_one_line_error(run(exe, "show", "bad.json", cwd=project))
    (project / "notes.txt").write_text("hi")
    assert_one_line_error(run(exe, "diff", "notes.txt", "a.yaml", cwd=project))
    assert_one_line_error(run(exe, "diff", "a.yaml", cwd=project))
    assert_one_line_error(run(exe, "frobnicate", cwd=project))
    assert_one_line_error(run(exe, "diff", "--color=pink", "a.yaml", "b.yaml", cwd=project))


@pytest.mark.parametrize("command", ["diff", "show", "validate"])
def test_help_on_every_subcommand_has_examples(exe: str, project: Path, command: str) -> None:
    result = run(exe, command, "--help", cwd=project)
    assert result.returncode == 0
    assert "examples:" in result.stdout and f"micro-config {command} " in result.stdout
    assert run(exe, "--help", cwd=project).returncode == 0


# ---------------------------------------------------------------- show


def test_show_paths_marks_shared_nodes(exe: str, project: Path) -> None:
    result = run(exe, "show", "a.yaml", "--paths", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "_target_ = cfgmod.Train",
        "train_dataset._target_ = cfgmod.Data",
        'train_dataset.f_path = "train.raw"',
        "train_dataset.max_len = 256",
        "model._target_ = cfgmod.Model",
        "model.dataset = <shared: train_dataset>",
        "model.dim = 8",
        "lr = 0.001",
        "tags = {}",
    ]


def test_show_yaml_and_json(exe: str, project: Path) -> None:
    yaml_text = run(exe, "show", "a.yaml", cwd=project)
    assert yaml_text.returncode == 0, yaml_text.stderr
    assert "&train_dataset" in yaml_text.stdout and "*train_dataset" in yaml_text.stdout
    json_text = run(exe, "show", "ckpt/step_000002", "--json", cwd=project)
    assert json_text.returncode == 0, json_text.stderr
    tree = json.loads(json_text.stdout)
    assert tree["model"]["dataset"] == {"_ref_": "train_dataset"}
    assert tree["train_dataset"]["max_len"] == 512
    from_object = run(exe, "show", "cfgmod:default", "--json", cwd=project)
    assert json.loads(from_object.stdout)["train_dataset"]["max_len"] == 256


# ---------------------------------------------------------------- validate


def test_validate_imports_only_allowed_packages(exe: str, project: Path) -> None:
    refused = run(exe, "validate", "a.yaml", cwd=project)
    assert_one_line_error(refused)
    assert "cfgmod" in refused.stderr
    ok = run(exe, "validate", "a.yaml", "--allow", "cfgmod", cwd=project)
    assert (ok.returncode, ok.stdout) == (0, "OK: a.yaml (cfgmod.Train)\n")
    from_env = run(exe, "validate", "ckpt/step_000002", cwd=project,
                   env={"MICRO_CONFIG_ALLOW": "other, cfgmod"})
    assert from_env.returncode == 0, from_env.stderr
    assert run(exe, "validate", "cfgmod:default", cwd=project).returncode == 0


def test_validate_strict_fails_on_warnings(exe: str, project: Path) -> None:
    (project / "old.yaml").write_text(SNAPSHOT.format(max_len=256).replace("    dim: 8\n", ""))
    lenient = run(exe, "validate", "old.yaml", "--allow", "cfgmod", cwd=project)
    assert lenient.returncode == 0, lenient.stderr
    assert "dim" in lenient.stderr and "warning" in lenient.stderr
    strict = run(exe, "validate", "old.yaml", "--allow", "cfgmod", "--strict", cwd=project)
    assert strict.returncode == 2
    assert "Traceback" not in strict.stderr
    (project / "new.yaml").write_text(SNAPSHOT.format(max_len=256).replace("dim: 8", "dims: 8"))
    unknown = run(exe, "validate", "new.yaml", "--allow", "cfgmod", cwd=project)
    assert_one_line_error(unknown)
    assert "model.dims" in unknown.stderr


def test_validate_refuses_plain_data(exe: str, project: Path) -> None:
    (project / "plain.yaml").write_text("a: 1\n")
    (project / "list.json").write_text("[1, 2]\n")
    for name in ("plain.yaml", "list.json"):
        refused = run(exe, "validate", name, cwd=project)
        assert_one_line_error(refused)
        assert "not a config tree" in refused.stderr


def test_a_file_without_a_config_is_refused_by_every_command(exe: str, project: Path) -> None:
    (project / "empty.yaml").write_text("")
    (project / "list.yaml").write_text("- 1\n- 2\n")
    for name in ("empty.yaml", "list.yaml"):
        for args in (["show", name], ["diff", name, "a.yaml"], ["validate", name]):
            refused = run(exe, *args, cwd=project)
            assert_one_line_error(refused)
            assert "not a config tree" in refused.stderr and f"(in {name})" in refused.stderr


def test_show_and_validate_word_an_error_in_a_file_alike(exe: str, project: Path) -> None:
    (project / "broken.yaml").write_text("_target_: cfgmod.Data\nf_path: [1\n")
    errors = {run(exe, command, "broken.yaml", cwd=project).stderr for command in ("show", "validate")}
    assert len(errors) == 1 and "malformed YAML" in errors.pop()


def test_show_help_names_only_its_one_source(exe: str, project: Path) -> None:
    shown = run(exe, "show", "--help", cwd=project)
    assert "A may be" in shown.stdout and "A and B" not in shown.stdout


# ---------------------------------------------------------------- in-process pieces


def test_main_returns_the_exit_status(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(project / "a.yaml"), str(project / "a.yaml")]) == 0
    assert main(["diff", str(project / "a.yaml"), str(project / "b.yaml")]) == 1
    assert main(["diff", str(project / "a.yaml")]) == 2
    assert main(["--version"]) == 0
    assert "micro-config" in capsys.readouterr().out


def test_rendering_of_values_and_changes() -> None:
    assert render([1.5, float("nan"), -0.0, None, True, "yes"]) == '[1.5, nan, -0.0, null, true, "yes"]'
    assert render({"_target_": "m.A", "x": [float("-inf")]}) == "{_target_: \"m.A\", x: [-inf]}"
    assert render(list(range(1000)), limit=20).endswith("...") and len(render(list(range(1000)), limit=20)) == 20
    added = Change("tags.x", "added", None, 3)
    assert format_change(added) == "tags.x: <absent> -> 3"
    assert format_change(Change("m", "class", "a.B", "a.C")) == "m: class a.B -> a.C"
    many = Change("x", "changed", 1, 2, also=("a", "b", "c", "d", "e"))
    assert format_change(many) == "x: 1 -> 2  (also a, b, c and 2 more)"


def test_allow_list_from_flags_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICRO_CONFIG_ALLOW", " lm_demo,,schemas ")
    assert allowed_packages(["a,b", "schemas"]) == ("a", "b", "schemas", "lm_demo")
    monkeypatch.delenv("MICRO_CONFIG_ALLOW")
    assert allowed_packages(None) == ()


# ---------------------------------------------------------------- real lm_demo runs


def test_diff_two_real_runs(exe: str, lm_runs: LmRuns, tmp_path: Path) -> None:
    here = lm_runs.two_runs(tmp_path)
    result = run(exe, "diff", "a/ck/step_000003", "b/snap/run.yaml", cwd=here)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == ["optim.lr: 0.003 -> 0.01", "max_steps: 3 -> 10"]
    as_json = json.loads(run(exe, "diff", "a/ck/step_000003", "b/snap/run.yaml", "--json",
                             cwd=here).stdout)
    assert as_json[0] == {"path": "optim.lr", "kind": "changed", "old": 0.003, "new": 0.01,
                          "also": []}
    assert [c["path"] for c in as_json] == [line.split(":")[0] for line in result.stdout.splitlines()]


def test_diff_a_real_run_and_its_resume(exe: str, lm_runs: LmRuns, tmp_path: Path) -> None:
    here = lm_runs.two_runs(tmp_path)
    resumed = run(exe, "diff", "a/ck/step_000003", "a/snap/run.yaml", cwd=here, module=True)
    assert (resumed.returncode, resumed.stdout) == (1, "max_steps: 3 -> 6\n")
    same = run(exe, "diff", "a/ck/step_000006", "a/snap/run.yaml", cwd=here)
    assert (same.returncode, same.stdout) == (0, "")
    meta = run(exe, "diff", "a/ck/step_000003", "a/ck/step_000006", "--meta", cwd=here)
    assert "meta.step: 3 -> 6" in meta.stdout.splitlines()


def test_diff_a_real_run_against_the_defaults(exe: str, lm_runs: LmRuns, tmp_path: Path) -> None:
    from demo_runs import tiny_args

    here = lm_runs.two_runs(tmp_path)
    result = run(exe, "diff", "a/snap/run.yaml", "schemas:default_train", "--json", cwd=here)
    assert result.returncode == 1, result.stderr
    changes = json.loads(result.stdout)
    assert {c["path"] for c in changes} == {a.split("=", 1)[0] for a in tiny_args(*lm_runs.RESUME_A)}
    assert {c["kind"] for c in changes} == {"changed"}
    assert {"path": "train_dataset.max_len", "kind": "changed", "old": 32, "new": 64,
            "also": ["model.dataset.max_len"]} in changes


def test_show_and_validate_a_real_checkpoint(exe: str, lm_runs: LmRuns, tmp_path: Path) -> None:
    here = lm_runs.two_runs(tmp_path)
    paths = run(exe, "show", "a/ck/step_000006", "--paths", cwd=here).stdout.splitlines()
    assert "model.dataset = <shared: train_dataset>" in paths
    assert "model.transformer_config.hidden_dim = 32" in paths
    assert "max_steps = 6" in paths
    ok = run(exe, "validate", "a/ck/step_000006", "--allow", "schemas", cwd=here)
    assert (ok.returncode, ok.stdout) == (0, "OK: a/ck/step_000006 (schemas.train.TrainLoop)\n")
    refused = run(exe, "validate", "b/snap/run.yaml", cwd=here)
    assert_one_line_error(refused)
    assert "--allow schemas" in refused.stderr
