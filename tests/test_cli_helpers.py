"""describe() and cli(): what a script's command line can change, and applying it."""

from __future__ import annotations

import pytest

from micro_config import ConfigScriptList, cli, describe
from tests.configs_core import Derived, Node, WikiDataConfig, walkthrough


def test_describe_lists_every_overridable_path_with_type_and_value() -> None:
    lines = describe(walkthrough()).splitlines()
    assert "epochs: int = 10" in lines
    assert "model.transformer_config.hidden_dim: int = 768" in lines
    assert "model.transformer_config.dims: tuple[int, ...] = (1, 2)" in lines
    assert "optim: AdamWConfig" in lines
    assert "model.transformer_config.act: Act = GELU" in lines  # what one would type
    assert "optim.lr: float = 0.0001" in lines
    assert "out: Optional[Path] = None" in lines
    assert "model.checkpoint_path: Optional[str] = None" in lines


def test_describe_shows_a_shared_node_once_with_its_other_paths() -> None:
    text = describe(walkthrough())
    lines = text.splitlines()
    assert "train_dataset: WikiDataConfig  (shared; also reached as model.dataset)" in lines
    assert "model.dataset: WikiDataConfig  (same node as train_dataset)" in lines
    assert sum(line.endswith(".max_len: int = 256") for line in lines) == 2  # train + eval only
    assert not any(line.startswith("model.dataset.") for line in lines)


def test_describe_skips_derived_fields_and_is_linear_on_an_alias_bomb() -> None:
    assert describe(Derived(size=3)) == "size: int = 3"
    node = Node(x=0)
    for level in range(40):
        node = Node(a=node, b=node, x=level)
    lines = describe(node).splitlines()
    assert len(lines) < 200
    assert "b: Node  (same node as a)" in lines


def test_describe_lists_items_of_a_config_list() -> None:
    text = describe(Node(a=ConfigScriptList([WikiDataConfig()])))
    assert "a.0: WikiDataConfig" in text.splitlines()
    assert "a.0.max_len: int = 256" in text.splitlines()


def test_cli_applies_overrides() -> None:
    config = walkthrough()
    new = cli(config, ["epochs=1", "model.dataset.max_len=512"])
    assert new.epochs == 1 and new.train_dataset is new.model.dataset
    assert new.train_dataset.max_len == 512 and config.train_dataset.max_len == 256
    assert cli(config, []) == config


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_cli_help_prints_describe_and_exits_0(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = walkthrough()
    with pytest.raises(SystemExit) as info:
        cli(config, ["epochs=1", flag])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "key=value" in out.splitlines()[0]
    assert describe(cli(config, ["epochs=1"])) in out  # the config the overrides make
    assert "epochs: int = 1" in out.splitlines()


def test_cli_help_after_a_bad_override_is_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli(walkthrough(), ["epochs=many", "--help"])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == "error: epochs: expected int, got 'many'\n" and captured.out == ""


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["model.transformer_config.hidden_dim=abc"],
         "error: model.transformer_config.hidden_dim: expected int, got 'abc'"),
        (["model.transformer_config.hiden_dim=1"],
         "error: model.transformer_config.hiden_dim: no such field "
         "(did you mean 'model.transformer_config.hidden_dim'?)"),
        (["epochs"], "error: expected key=value, got 'epochs'"),
        (["--hlep"], "error: unknown option '--hlep' (did you mean '--help'?)"),
        (["--help=x"], "error: --help takes no value (give --help alone)"),
        (["--epochs=3"], "error: unknown option '--epochs': overrides are key=value (did you mean epochs=3?)"),
        (["--seed=3"], "error: unknown option '--seed': overrides are key=value (did you mean seed=3?)"),
        (["epochs=1", "epochs=2"], "error: epochs: given twice"),
        (["model.dataset.max_len=2", "model=1"],
         "error: model: conflicts with the longer key model.dataset=..."),
        (["model=1", "model.dataset.max_len=2"], "error: model.dataset.max_len: conflicts with model=..."),
    ],
)
def test_cli_bad_input_is_one_stderr_line_and_exit_2(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli(walkthrough(), argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == line + "\n"
    assert captured.out == ""


def test_cli_reads_sys_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["train.py", "bsize=4"])
    assert cli(walkthrough()).bsize == 4
