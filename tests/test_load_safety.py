"""Loading never imports or calls what the file asks for unless it is a fitting config class
from an allowed package. Each test checks that the forbidden module was not imported and that
nothing ran."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from micro_config import ConfigError, from_json, from_yaml
from tests.configs_field_kinds import Leaf, Node

# hand-written test files leave most fields out: that drift is not what these tests check
pytestmark = pytest.mark.filterwarnings("ignore:schema drift")

MODULE = """
from dataclasses import dataclass
from pathlib import Path

from micro_config import ConfigScript

Path({imported!r}).write_text("imported")


@dataclass
class Trap(ConfigScript):
    x: int = 0

    def __post_init__(self):
        Path({ran!r}).write_text("ran")

    def unroll(self, metaconfig=None):
        return self.x


@dataclass
class PlainTrap:
    x: int = 0

    def __post_init__(self):
        Path({ran!r}).write_text("ran")
"""


class Trap:
    """A module on sys.path that records being imported and its classes being built."""

    def __init__(self, folder: Path, package: bool) -> None:
        self.top = f"h2trap_{uuid.uuid4().hex[:8]}"
        self.imported, self.ran = folder / "imported", folder / "ran"
        code = MODULE.format(imported=str(self.imported), ran=str(self.ran))
        if package:  # top.sub holds the classes; top.root is a harmless sibling
            (folder / self.top).mkdir()
            (folder / self.top / "__init__.py").write_text("")
            (folder / self.top / "sub.py").write_text(code)
            (folder / self.top / "root.py").write_text(textwrap.dedent(ROOT_MODULE))
            self.module = f"{self.top}.sub"
        else:
            (folder / f"{self.top}.py").write_text(code)
            self.module = self.top

    def assert_untouched(self) -> None:
        assert self.module not in sys.modules and self.top not in sys.modules
        assert not self.imported.exists() and not self.ran.exists()


ROOT_MODULE = """
from dataclasses import dataclass
from typing import Any

from micro_config import ConfigScript


@dataclass
class Root(ConfigScript):
    child: Any = None

    def unroll(self, metaconfig=None):
        return self.child
"""


@pytest.fixture
def trap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(tmp_path))
    made = Trap(tmp_path, package=False)
    yield made
    sys.modules.pop(made.module, None)


@pytest.fixture
def package_trap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(tmp_path))
    made = Trap(tmp_path, package=True)
    yield made
    for name in [n for n in sys.modules if n.startswith(made.top)]:
        del sys.modules[name]


def test_module_outside_the_allowed_packages_is_not_imported(trap: Trap) -> None:
    text = f"_target_: {trap.module}.Trap\nx: 1\n"
    with pytest.raises(ConfigError, match="refusing to import") as err:
        from_yaml(text)
    assert "allow_modules" in str(err.value) and err.value.path == "_target_"
    with pytest.raises(ConfigError, match="refusing to import"):
        from_yaml(text, Leaf, allow_modules=("tests",))
    with pytest.raises(ConfigError, match="refusing to import"):
        from_json(f'{{"_target_": "{trap.module}.Trap"}}')
    trap.assert_untouched()


def test_nested_forbidden_target_is_refused_with_its_path(trap: Trap) -> None:
    text = f"_target_: tests.configs_field_kinds.Node\nother:\n  _target_: {trap.module}.Trap\n"
    with pytest.raises(ConfigError) as err:
        from_yaml(text)
    assert err.value.path == "other._target_"
    trap.assert_untouched()


def test_allow_modules_lets_the_module_be_imported(trap: Trap) -> None:
    config = from_yaml(f"_target_: {trap.module}.Trap\nx: 3\n", allow_modules=(trap.module,))
    assert config.x == 3 and trap.ran.exists()


def test_the_top_level_package_of_cls_may_be_imported(package_trap: Trap) -> None:
    root_cls = __import__(f"{package_trap.top}.root", fromlist=["Root"]).Root
    text = f"_target_: {package_trap.top}.root.Root\nchild:\n  _target_: {package_trap.module}.Trap\n"
    config = from_yaml(text, root_cls)
    assert type(config.child).__name__ == "Trap"


@pytest.mark.parametrize("target", ["os.system", "builtins.eval", "subprocess.Popen",
                                    "os.path.join", "tests.configs_field_kinds.UNROLLS"])
def test_non_config_targets_are_refused_and_not_called(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import subprocess

    calls: list[Any] = []  # (builtins.eval is not patched: typing itself calls it)
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(a))
    for text in (f"_target_: {target}\ncommand: touch /tmp/x\n",
                 f"_target_: tests.configs_field_kinds.Leaf\nanything:\n  _type_: {target}\n  value: x\n"):
        with pytest.raises(ConfigError, match="not a config class|not an Enum"):
            from_yaml(text)
    assert calls == []


def test_dunder_lookups_are_refused() -> None:
    for target in ("tests.configs_field_kinds.Leaf.__class__", "tests.configs_field_kinds.__builtins__.eval",
                   "tests.configs_field_kinds.Leaf.__init__.__globals__"):
        with pytest.raises(ConfigError, match="not a <module>.<Class> name"):
            from_yaml(f"_target_: {target}\n")


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['touch {flag}']",
                                 "!!python/object/new:subprocess.Popen [['touch', '{flag}']]",
                                 "!!python/name:os.system",
                                 "!!python/module:{module}"])
def test_python_yaml_tags_are_refused(tag: str, trap: Trap, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    text = f"_target_: tests.configs_field_kinds.Leaf\nanything: {tag.format(flag=flag, module=trap.module)}\n"
    with pytest.raises(ConfigError, match="line 2") as err:
        from_yaml(text)
    assert "tag" in str(err.value)
    assert not flag.exists()
    trap.assert_untouched()


def test_a_target_must_fit_its_field() -> None:
    text = "_target_: tests.configs_field_kinds.Node\nfirst:\n  _target_: tests.configs_field_kinds.Node\n"
    with pytest.raises(ConfigError, match="does not fit here: expected Leaf") as err:
        from_yaml(text)
    assert err.value.path == "first._target_"
    point = "_target_: tests.configs_field_kinds.Leaf\npoint:\n  _target_: tests.configs_field_kinds.Leaf\n"
    with pytest.raises(ConfigError, match="does not fit"):
        from_yaml(point)
    subclass = "_target_: tests.configs_field_kinds.Node\nfirst:\n  _target_: tests.configs_field_kinds.Derived\n"
    assert type(from_yaml(subclass).first).__name__ == "Derived"  # a subclass fits


def test_a_config_cannot_stand_where_a_plain_value_is_expected() -> None:
    text = "_target_: tests.configs_field_kinds.Leaf\ncount:\n  _target_: tests.configs_field_kinds.Leaf\n"
    with pytest.raises(ConfigError, match="expected int") as err:
        from_yaml(text)
    assert err.value.path == "count._target_"


def test_root_must_be_an_instance_of_cls() -> None:
    with pytest.raises(ConfigError, match="does not fit here: expected Node"):
        from_yaml("_target_: tests.configs_field_kinds.Leaf\n", Node)
    with pytest.raises(ConfigError, match="not a Node"):
        from_yaml("[1, 2]\n", Node)


def test_plain_dataclass_not_named_by_any_config_is_refused_where_the_annotation_is_open(
    trap: Trap,
) -> None:
    __import__(trap.module)  # already imported: found without importing, still not trusted
    text = f"_target_: tests.configs_field_kinds.Leaf\nanything:\n  _target_: {trap.module}.PlainTrap\n"
    with pytest.raises(ConfigError, match="neither a ConfigScript nor a field type"):
        from_yaml(text)
    assert not trap.ran.exists()
    allowed = from_yaml(text, allow_modules=(trap.module,))
    assert type(allowed.anything).__name__ == "PlainTrap"


def test_plain_dataclass_named_by_a_config_is_accepted_where_the_annotation_is_open() -> None:
    text = "_target_: tests.configs_field_kinds.Leaf\nanything:\n  _target_: tests.configs_field_kinds.Point\n"
    assert type(from_yaml(text).anything).__name__ == "Point"


def test_an_already_imported_config_class_resolves_without_allow_modules() -> None:
    assert type(from_yaml("_target_: tests.configs_field_kinds.Leaf\n")) is Leaf


@pytest.mark.parametrize("field, marker", [("count", False), ("weights", False), ("count", True),
                                           ("name", True)])
def test_a_target_where_no_class_can_stand_imports_nothing(package_trap: Trap, field: str,
                                                           marker: bool) -> None:
    """Even inside the allowed packages: an int (list[float], str) field admits no config class
    or typed marker, so the module is not imported to find that out."""
    name = f"{package_trap.module}.Trap"
    value = f"{{_type_: {name}, value: x}}" if marker else f"{{_target_: {name}}}"
    if field == "weights":
        value = f"[{value}]"
    with pytest.raises(ConfigError, match="cannot stand here") as err:
        from_yaml(f"_target_: tests.configs_field_kinds.Leaf\n{field}: {value}\n",
                  allow_modules=(package_trap.top,))
    assert err.value.path.startswith(field)
    package_trap.assert_untouched()


def test_a_module_that_does_not_exist_is_named() -> None:
    with pytest.raises(ConfigError, match="no class 'nosuch_pkg.mod.X': there is no module named 'nosuch_pkg'"):
        from_yaml("_target_: nosuch_pkg.mod.X\n", allow_modules=("nosuch_pkg",))
