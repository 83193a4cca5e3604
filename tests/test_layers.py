"""Imports point one way: micro_config <- lm_demo runtime <- schemas <- the demo's entry points.

``micro_config`` imports neither demo package; ``lm_demo`` (data, model, loop, checkpoints) never
imports ``schemas``, not even inside a function, except its command-line entry points. The same
rules as ``../shared/tools/layers.py`` (which ``.ci/run`` also runs when it is there), kept here
so that every clone enforces them. Imports are read with ``ast``: nothing is imported or run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# package -> top-level packages it must never import, at any depth
FORBIDDEN = {"micro_config": {"schemas", "lm_demo"}, "lm_demo": {"schemas"}}
# the demo's command-line entry points may know both sides
ENTRY_POINTS = {"lm_demo/train.py", "lm_demo/resume.py", "lm_demo/__main__.py"}


def imported_tops(source: str, filename: str = "<source>") -> set[str]:
    """Top-level packages a module imports: ``import``, ``from ... import`` (absolute), and
    ``importlib.import_module("...")`` / ``__import__("...")`` with a literal name, anywhere."""
    tops = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                if isinstance(first.value, str):
                    tops.add(first.value.split(".")[0])
    return tops


def test_imported_tops_sees_imports_inside_functions_and_dynamic_ones():
    source = (
        "import os.path\n"
        "from . import sibling\n"
        "def f():\n"
        "    from schemas.train import TrainLoop\n"
        "    import importlib\n"
        "    importlib.import_module('lm_demo.loop')\n"
        "    return __import__('yaml')\n"
    )
    assert imported_tops(source) == {"os", "schemas", "importlib", "lm_demo", "yaml"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_against_the_layers(package):
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"no modules found under {package}/"
    broken = []
    for path in modules:
        rel = path.relative_to(ROOT).as_posix()
        if rel in ENTRY_POINTS:
            continue
        hits = imported_tops(path.read_text(encoding="utf-8"), rel) & FORBIDDEN[package]
        broken += [f"{rel} imports {hit}" for hit in sorted(hits)]
    assert not broken, "imports against the layers:\n" + "\n".join(broken)
