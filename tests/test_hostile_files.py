"""Hostile and broken snapshot files: each is a ConfigError (one line from the command) with its
line or path, found in bounded time, before anything is read that should not be. Every test has a
timeout, so a regression to a hang fails fast."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from micro_config import (
    ConfigError,
    ConfigScript,
    deep_replace,
    from_json,
    from_yaml,
    load_snapshot,
    parse_args,
    read_meta,
    save_snapshot,
    to_json,
    to_yaml,
)
from micro_config.errors import MalformedFileError
from micro_config.snapshot import files
from micro_config.snapshot.format import DEPTH_LIMIT
from micro_config.snapshot.parse import parse_json, parse_yaml
from tests.configs_field_kinds import Leaf, Node

pytestmark = [pytest.mark.timeout(60), pytest.mark.filterwarnings("ignore:schema drift")]
LEAF = "tests.configs_field_kinds.Leaf"


def micro_config(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("micro-config")
    assert exe is not None
    env = {k: v for k, v in os.environ.items() if k not in ("MICRO_CONFIG_ALLOW", "MICRO_CONFIG_ROOT")}
    return subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2 and "Traceback" not in result.stderr, result
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


# ---------------------------------------------------------------- a file means one thing


@pytest.mark.parametrize("text, key, line", [
    (f"_target_: {LEAF}\n_target_: tests.configs_field_kinds.Node\n", "_target_", 2),
    (f"_target_: {LEAF}\ncount: 1\nname: x\ncount: 2\n", "count", 4),
    (f"_target_: {LEAF}\ntable:\n  a: 1\n  b: 2\n  a: 3\n", "a", 5),
])
def test_a_key_given_twice_in_yaml_names_key_and_line(text: str, key: str, line: int) -> None:
    with pytest.raises(MalformedFileError, match=f"line {line}.*'{key}' is given twice"):
        from_yaml(text)


def test_a_key_given_twice_in_json_names_key_and_line() -> None:
    text = f'{{"_target_": "{LEAF}",\n "count": 1,\n "table": {{"a": 1}},\n "count": 2}}'
    with pytest.raises(MalformedFileError, match="line 4.*'count' is given twice"):
        from_json(text)
    with pytest.raises(MalformedFileError, match="line 1.*'a' is given twice"):
        parse_json('{"x": {"a": 1, "a": 2}, "a": 3}')


@pytest.mark.parametrize("value, what", [
    ("2024-01-01", "date"),
    ("2024-01-01 10:00:00", "date"),
    ("!!timestamp 2024-01-01", "date"),
    ("!!binary aGVsbG8=", "binary"),
    ("!!set {a, b}", "set"),
    ("!!omap [a: 1]", "ordered map"),
    ("!!pairs [a: 1]", "pairs"),
    ("!mytag x", "'!mytag'"),
    ("[1, !!python/tuple [1, 2]]", "python/tuple"),
])
def test_only_the_formats_own_yaml_types_load(value: str, what: str) -> None:
    text = f"_target_: {LEAF}\nanything:\n  deep: {value}\n"
    with pytest.raises(MalformedFileError, match=f"line 3.*{what}.*not part of the snapshot format") as err:
        from_yaml(text)
    assert err.value.path.startswith("anything.deep")
    with pytest.raises(MalformedFileError, match="not part of the snapshot format"):
        parse_yaml(text)


def test_merge_keys_are_refused_not_merged() -> None:
    with pytest.raises(MalformedFileError, match="line 4.*merge key"):
        parse_yaml("base: &b {x: 1}\nother:\n  y: 2\n  <<: *b\n")
    assert parse_yaml("'<<': 1\n") == {"<<": 1}  # a quoted key is a string


@pytest.mark.parametrize("word", ["y", "Y", "n", "N", "yes", "No", "on", "OFF", "true", "~", "null"])
def test_strings_any_yaml_reader_takes_for_another_type_are_quoted(word: str) -> None:
    import yaml

    text = to_yaml(Leaf(name=word, anything=[word]))
    assert f"name: '{word}'" in text and f"- '{word}'" in text
    back = from_yaml(text)
    assert back.name == word and back.anything == [word]
    # a YAML 1.1 reader that knows y/n as bools reads a string too
    loader = type("Yaml11", (yaml.SafeLoader,), {})
    loader.add_implicit_resolver("tag:yaml.org,2002:bool", __import__("re").compile("^(?:y|Y|n|N)$"), list("yYnN"))
    assert yaml.load(text, Loader=loader)["name"] == word  # noqa: S506 - a safe loader


def test_a_ref_that_is_not_a_string_is_refused_with_its_path() -> None:
    for ref in ("1", "null", "[\"a\"]", "{\"_ref_\": \"a\"}"):
        text = f'{{"_target_": "{LEAF}", "anything": {{"k": {{"_ref_": {ref}}}}}}}'
        with pytest.raises(MalformedFileError, match="_ref_") as err:
            from_json(text)
        assert err.value.path == "anything.k"
    with pytest.raises(ConfigError, match="reserved"):
        from_yaml(f"_target_: {LEAF}\nanything:\n  _ref_: 1\n")


def test_integers_past_pythons_text_limit_are_refused_at_parse() -> None:
    digits = "9" * (sys.get_int_max_str_digits() + 1)
    with pytest.raises(MalformedFileError, match="line 2.*integer"):
        from_yaml(f"_target_: {LEAF}\ncount: {digits}\n")
    with pytest.raises(MalformedFileError, match="line 2"):
        from_json(f'{{"_target_": "{LEAF}",\n "count": {digits}}}')
    big = int("9" * (sys.get_int_max_str_digits() - 1))
    assert from_yaml(to_yaml(Leaf(count=big))).count == big  # what loads is written again


@pytest.mark.timeout(20)
def test_integers_in_other_bases_past_the_limit_and_long_base_60_are_refused_at_parse() -> None:
    """Hex/octal/binary are read whatever their length (an int no text could show), and PyYAML
    reads a base-60 int (``1:20``) in quadratic time: refused, with their line."""
    limit = sys.get_int_max_str_digits()
    for text in ("0x" + "f" * limit, "0b" + "1" * (4 * limit), "0" + "7" * (2 * limit)):
        with pytest.raises(MalformedFileError, match="line 2.*integer of"):
            from_yaml(f"_target_: {LEAF}\ncount: {text}\n")
    with pytest.raises(MalformedFileError, match="line 2.*base-60 integer"):
        from_yaml(f"_target_: {LEAF}\ncount: 1{':59' * 300_000}\n")  # ~1 MB: took 28 s
    assert from_yaml(f"_target_: {LEAF}\ncount: 0x1f\n").count == 31
    assert from_yaml(f"_target_: {LEAF}\ncount: 1:20\n").count == 80
    with pytest.raises(ConfigError, match="cannot read"):  # the command line: the same limit
        deep_replace(Leaf(), **parse_args(["count=0x" + "f" * limit]))


def test_a_float_past_the_range_is_refused_in_files_as_on_the_command_line() -> None:
    with pytest.raises(MalformedFileError, match="line 2.*past a float's range"):
        from_yaml(f"_target_: {LEAF}\nratio: 1.0e+400\n")
    with pytest.raises(MalformedFileError, match="past a float's range") as info:
        from_json(f'{{"_target_": "{LEAF}", "ratio": -1e400}}')
    assert info.value.path == "ratio"
    for word in ("NaN", "Infinity", "-Infinity"):  # Python's extension, not JSON
        with pytest.raises(MalformedFileError, match=f"{word} is not JSON"):
            from_json(f'{{"_target_": "{LEAF}", "ratio": {word}}}')
    for value in (float("inf"), float("-inf"), 1e308):  # what the format writes reads back
        leaf = Leaf(ratio=value)
        assert from_json(to_json(leaf)) == leaf and from_yaml(to_yaml(leaf)) == leaf
    assert from_json(f'{{"_target_": "{LEAF}", "ratio": 1e300}}').ratio == 1e300
    for literal in ("1" + "0" * 400 + ".0", "9" * 300 + "e99"):  # no 3-digit exponent
        with pytest.raises(MalformedFileError, match="past a float's range"):
            from_json(f'{{"_target_": "{LEAF}", "ratio": {literal}}}')
    with pytest.raises(MalformedFileError, match="past a float's range"):  # was an OverflowError
        from_yaml(f"_target_: {LEAF}\nratio: {':'.join(['1'] * 175)}.5\n")


# ---------------------------------------------------------------- depth


def chain(n: int) -> Node:
    node = Node(label="end")
    for i in range(n - 1):
        node = Node(label=str(i), other=node)
    return node


@pytest.mark.parametrize("write, read", [(to_yaml, from_yaml), (to_json, from_json)])
def test_what_is_written_reads_back_even_deep(write, read) -> None:  # noqa: ANN001
    deep = chain(900)
    text = write(deep)
    assert write(read(text)) == text
    nested: list = []
    inner = nested
    for _ in range(DEPTH_LIMIT - 3):
        inner.append([])
        inner = inner[0]
    text = write(Leaf(anything=nested))
    assert write(read(text)) == text


@pytest.mark.parametrize("write", [to_yaml, to_json])
def test_past_the_depth_limit_writing_is_a_config_error(write) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=f"more than {DEPTH_LIMIT} levels"):
        write(chain(DEPTH_LIMIT + 5))


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,  # libyaml would recurse in C and crash the process
    "{a: " * 50_000 + "1" + "}" * 50_000,
    "- " * 5_000 + "x\n",
    "".join("  " * i + "a:\n" for i in range(DEPTH_LIMIT + 5)) + "  " * (DEPTH_LIMIT + 5) + "b: 1\n",
], ids=["flow-lists", "flow-maps", "compact-lists", "block-maps"])
def test_hostile_depth_in_yaml_is_refused_before_libyaml_builds_it(text: str) -> None:
    code = ("import sys; from micro_config import from_yaml, ConfigError\n"
            "try:\n    from_yaml(sys.stdin.read())\nexcept ConfigError as e:\n    print(type(e).__name__, e)\n")
    done = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-500:]  # a crash is -11
    assert done.stdout.startswith("MalformedFileError") and f"more than {DEPTH_LIMIT}" in done.stdout


def test_hostile_depth_in_json_and_through_aliases_is_a_config_error() -> None:
    for text in ("[" * 100_000 + "]" * 100_000, '{"a": ' * 5_000 + "1" + "}" * 5_000):
        for read in (from_json, parse_json):
            with pytest.raises(MalformedFileError, match=f"more than {DEPTH_LIMIT}"):
                read(text)
    # aliases nest what the text does not: each list holds the one before
    lines = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 3 * DEPTH_LIMIT)]
    text = f"_target_: {LEAF}\nanything:\n" + "".join(f"  {line}\n" for line in lines)
    for read in (from_yaml, parse_yaml):
        try:
            read(text)
        except ConfigError:
            pass  # refused or loaded: never a RecursionError


# ---------------------------------------------------------------- reading files


def test_only_regular_files_are_read_and_fifos_do_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(MalformedFileError, match="a FIFO, not a snapshot file"):
        load_snapshot(fifo)
    with pytest.raises(MalformedFileError, match="FIFO"):
        read_meta(fifo)
    assert time.perf_counter() - start < 5
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(MalformedFileError, match="a device"):
        load_snapshot(tmp_path / "zero.yaml")
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(ConfigError, match="not a checkpoint folder"):
        load_snapshot(tmp_path / "dir.yaml")
    result = micro_config("show", "zero.yaml", cwd=tmp_path)
    assert "a device" in one_line_error(result)


def test_files_over_the_size_cap_are_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_snapshot(Leaf(), tmp_path / "a.yaml")
    monkeypatch.setattr(files, "SIZE_LIMIT", 100)
    with pytest.raises(MalformedFileError, match="larger than"):
        load_snapshot(path)
    monkeypatch.undo()
    assert load_snapshot(path) == Leaf()  # the same file, under the real cap
    assert files.SIZE_LIMIT >= 100 * 2**20  # generous: documented in docs/format.md


def test_non_utf8_text_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"_target_: x\nname: \xff\n")
    with pytest.raises(MalformedFileError, match="not UTF-8"):
        load_snapshot(tmp_path / "a.yaml")


# ---------------------------------------------------------------- writing files


def test_a_killed_saves_temporary_is_removed_by_the_next_save(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    host = files._HOST
    stale = tmp_path / f".run.yaml.{host}-{dead}.k1ll3d.tmp"
    alive = tmp_path / f".run.yaml.{host}-{os.getppid()}.wr1t1ng.tmp"  # a live writer's
    other_host = tmp_path / f".run.yaml.elsewhere-{dead}.abc.tmp"  # maybe alive over there
    foreign = tmp_path / ".notes.tmp"
    for path in (stale, alive, other_host, foreign):
        path.write_text("partial")
    save_snapshot(Leaf(), tmp_path / "run.yaml")
    assert not stale.exists()
    assert alive.exists() and other_host.exists() and foreign.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == sorted(
        p.name for p in (alive, other_host, foreign))


def test_created_is_kept_when_passed_back_and_updated_moves(tmp_path: Path) -> None:
    path = save_snapshot(Leaf(), tmp_path / "run.yaml")
    first = read_meta(path)
    assert first["created"] == first["updated"]
    save_snapshot(Leaf(count=1), path, meta={"created": "2020-01-01T00:00:00+00:00"})
    again = read_meta(path)
    assert again["created"] == "2020-01-01T00:00:00+00:00"
    assert again["updated"] >= first["updated"] and again["updated"] != again["created"]


def test_argv_is_the_command_as_typed() -> None:
    assert files.typed_argv(["/usr/local/bin/python3.11", "-m", "pkg.mod", "a=1"]) == [
        "python3.11", "-m", "pkg.mod", "a=1"]
    assert files.typed_argv(["/venv/bin/python", "/venv/bin/micro-config", "diff", "a", "b"]) == [
        "micro-config", "diff", "a", "b"]
    here = os.path.join(os.getcwd(), "run.py")
    assert files.typed_argv(["python", "-u", here, "x"]) == ["python", "-u", "run.py", "x"]


def test_classes_from_main_warn_and_strict_refuses(tmp_path: Path) -> None:
    @dataclasses.dataclass
    class Local(ConfigScript):
        x: int = 1

        def unroll(self, metaconfig=None):  # noqa: ANN001, ANN201
            return self.x

    Local.__module__, Local.__qualname__ = "__main__", "Local"
    with pytest.warns(UserWarning, match="__main__.*no other process can load"):
        save_snapshot(Local(), tmp_path / "a.yaml")
    with pytest.raises(ConfigError, match="__main__"):
        save_snapshot(Local(), tmp_path / "b.yaml", strict=True)
    assert not (tmp_path / "b.yaml").exists()


# ---------------------------------------------------------------- the command


def test_validate_allows_the_projects_own_packages_only(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text(
        "from dataclasses import dataclass\nfrom micro_config import ConfigScript\n\n"
        "@dataclass\nclass C(ConfigScript):\n    x: int = 1\n\n"
        "    def unroll(self, metaconfig=None):\n        return self.x\n")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "a.yaml").write_text("_target_: mypkg.C\nx: 2\n")
    (tmp_path / "sub").mkdir()
    result = micro_config("validate", "runs/a.yaml", cwd=tmp_path / "sub")  # found from the root
    assert result.returncode == 0, result.stderr
    assert "OK: runs/a.yaml (mypkg.C)" in result.stdout and "mypkg" in result.stdout.splitlines()[1]
    assert "refusing" in one_line_error(micro_config("validate", "runs/a.yaml", "--no-project",
                                                     cwd=tmp_path))
    (tmp_path / "runs" / "b.yaml").write_text("_target_: wsgiref.simple_server.X\n")  # stdlib: refused
    assert "refusing to import" in one_line_error(micro_config("validate", "runs/b.yaml", cwd=tmp_path))
    result = micro_config("show", "runs/a.yaml", "--paths", cwd=tmp_path / "sub")
    assert result.returncode == 0 and "x = 2" in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["diff", "--help"], ["show", "--help"]])
def test_a_closed_pipe_ends_quietly(args: list[str], tmp_path: Path) -> None:
    exe = shutil.which("micro-config")
    assert exe is not None
    proc = subprocess.Popen([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 1) and err == ""


def test_show_of_a_big_tree_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    path = save_snapshot(Node(items=[Leaf(name=str(i)) for i in range(3000)]), tmp_path / "big.yaml")
    exe = shutil.which("micro-config")
    assert exe is not None
    proc = subprocess.Popen([exe, "show", str(path), "--paths"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)
    proc.stdout.close()
    assert proc.stderr.read().decode() == "" and proc.wait(timeout=60) in (0, 1)


@pytest.mark.timeout(10)
def test_a_megabyte_dotted_target_is_refused_fast() -> None:
    name = ".".join(["a"] * 500_000)
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="not a <module>.<Class> name") as err:
        from_yaml(f"_target_: {name}\n")
    assert time.perf_counter() - start < 2 and len(str(err.value)) < 500


def test_show_and_diff_follow_data_as_deep_as_the_format_allows(tmp_path: Path) -> None:
    n = DEPTH_LIMIT - 5
    (tmp_path / "deep.yaml").write_text(
        f"_target_: {LEAF}\nanything: {{_type_: tuple, value: {'[' * n}{']' * n}}}\n")
    for args in (["show", "deep.yaml", "--paths"], ["show", "deep.yaml", "--json"],
                 ["diff", "deep.yaml", "deep.yaml"]):
        result = micro_config(*args, cwd=tmp_path)
        assert result.returncode == 0 and result.stderr == "", result.stderr[-300:]
    (tmp_path / "deeper.yaml").write_text(f"a: {'[' * (DEPTH_LIMIT + 1)}{']' * (DEPTH_LIMIT + 1)}\n")
    assert f"more than {DEPTH_LIMIT}" in one_line_error(micro_config("show", "deeper.yaml", cwd=tmp_path))


def alias_bomb(doublings: int) -> str:
    """YAML anchors that double at each step: a few hundred bytes standing for 2**n items."""
    lines = ["a0: &a0 [x, x]"] + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, doublings)]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(20)
@pytest.mark.parametrize("marker", ["_target_", "_type_"])
def test_a_class_or_kind_that_is_no_string_is_one_error_for_every_reader(tmp_path: Path, marker: str) -> None:
    # an alias bomb where a name belongs: diff, show and graph used to render it (a hang) or
    # hash it (a TypeError); every reader now refuses it at its path, at once
    bomb = alias_bomb(40).replace("\n", "\n  ")
    (tmp_path / "bomb.yaml").write_text(f"_target_: {LEAF}\nanything:\n  x:\n    {bomb}\n"
                                        f"  {marker}: *a39\n  value: 1\n")
    (tmp_path / "leaf.yaml").write_text(f"_target_: {LEAF}\n")
    import micro_config as mc

    with pytest.raises(MalformedFileError, match="named by a string") as err:
        mc.diff(tmp_path / "bomb.yaml", tmp_path / "leaf.yaml")
    assert err.value.path == f"anything.{marker}"
    for command in (["diff", "bomb.yaml", "leaf.yaml"], ["show", "--paths", "bomb.yaml"], ["graph", "bomb.yaml"]):
        done = micro_config(*command, cwd=tmp_path)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(f"micro-config: error: anything.{marker}: a class or kind is named")
        assert done.stderr.count("\n") == 1 and len(done.stderr) < 300


def test_a_mistyped_document_block_is_refused_with_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(f"micro_config: 1\nmeta: {{}}\nconfig:\n  _target_: {LEAF}\nconfg:\n  _target_: {LEAF}\n")
    with pytest.raises(MalformedFileError, match="'confg' is not a block of a snapshot document") as err:
        load_snapshot(path)
    assert "did you mean 'config'" in str(err.value) and err.value.path == "confg"
    assert micro_config("validate", "run.yaml", cwd=tmp_path).returncode == 2


def test_an_empty_file_is_malformed_not_none(tmp_path: Path) -> None:
    for text in ("", "\n\n", "# only a comment\n"):
        (tmp_path / "empty.yaml").write_text(text)
        with pytest.raises(MalformedFileError, match="the file is empty"):
            load_snapshot(tmp_path / "empty.yaml")
    assert from_yaml("null\n") is None  # what to_yaml(None) writes still loads
    with pytest.raises(MalformedFileError, match="holds None, not a Leaf"):
        from_yaml("null\n", Leaf)  # no config at all: not a question of class
    with pytest.raises(MalformedFileError, match="holds 3, not a Leaf"):
        from_json("3", Leaf)


@pytest.mark.parametrize("name", ["a" * 300 + ".yaml", "x/" * 50_000 + "a.yaml", "a" * 100_000])
def test_a_file_name_too_long_for_the_system_is_one_bounded_config_error(name: str) -> None:
    for read in (load_snapshot, read_meta):
        with pytest.raises(ConfigError, match="cannot read it|no such file") as err:
            read(name)
        assert len(str(err.value)) < 300


def test_a_mistyped_marker_kind_gets_the_closest() -> None:
    with pytest.raises(MalformedFileError, match=r"'tupel' is no marker kind .* \(did you mean 'tuple'\?\)") as err:
        from_yaml(f"_target_: {LEAF}\nanything: {{_type_: tupel, value: [1]}}\n")
    assert err.value.path == "anything._type_"
