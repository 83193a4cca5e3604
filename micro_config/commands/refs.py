"""A config named on the command line: ``module:attr`` or ``path/to/file.py:attr``.

The attribute is a config object, or a function (or config class) returning one when called
with no argument. Only the module named is imported: a file inside a package on ``sys.path``
(or under the current folder) is imported under its module name, so ``schemas/experiments.py:tiny``
is ``schemas.experiments:tiny``; any other file is loaded as a module named after it. The
``micro-config`` command and the demo's entry points share this one reading of a reference.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import types
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UnknownFieldError, WrongTypeError, did_you_mean, short_repr
from ..tree import is_node

_MODULE_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_FILE_REF = re.compile(r"^(?P<file>.+\.py):(?P<attr>[A-Za-z_][\w.]*)$")


def is_ref(text: str) -> bool:
    """``module:attr`` or ``path/to/file.py:attr`` rather than a path (an existing file wins)."""
    return bool(_MODULE_REF.match(text) or _FILE_REF.match(text)) and not Path(text).exists()


def importable_cwd() -> None:
    """Let modules in the current folder import, as under ``python -m`` (the console script's
    ``sys.path`` starts with its own folder instead)."""
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())


def _offered(owner: Any) -> list[str]:
    """The names to offer for a mistyped reference into ``owner``: in a module, the configs it
    holds and the functions and classes it defines (not what it imports, nor ``annotations``);
    elsewhere (or when a module has none of those) every public name."""
    public = [n for n in dir(owner) if not n.startswith("_")]
    if not isinstance(owner, types.ModuleType):
        return public

    def offered(name: str) -> bool:
        value = getattr(owner, name, None)
        return is_node(value) or (callable(value) and getattr(value, "__module__", None) == owner.__name__)

    return [n for n in public if offered(n)] or public


def load_ref(ref: str, expect: type | None = None) -> Any:
    """The config ``ref`` names (see the module's doc). With ``expect``, the config must be an
    instance of that class (a :class:`WrongTypeError` otherwise)."""
    if not (_MODULE_REF.match(ref) or _FILE_REF.match(ref)):
        raise ConfigError(
            f"{short_repr(ref)} is not a reference: give module:attr (schemas.experiments:tiny) or "
            "path/to/file.py:attr"
        )
    importable_cwd()
    found = _FILE_REF.match(ref)
    if found is not None:  # a file wins over a module named "x.py"
        owner, attr = _module_of_file(ref, Path(found["file"])), found["attr"]
    else:
        module_name, _, attr = ref.partition(":")
        owner = _import(ref, module_name)
    value: Any = owner
    where = owner.__name__
    for name in attr.split("."):
        if not hasattr(value, name):
            names = _offered(value)
            raise UnknownFieldError(f"{ref}: {where} has no {name!r}{did_you_mean(name, names)}")
        value = getattr(value, name)
        where = f"{where}.{name}"
    if not is_node(value) and callable(value):
        try:
            value = value()
        except ConfigError as err:
            raise type(err)(f"{ref}: {err}") from None
        except Exception as err:
            raise ConfigError(f"{ref}: calling it failed: {_one_line(err)}") from None
    if not is_node(value):
        raise WrongTypeError(
            f"{ref}: holds {type(value).__name__} {short_repr(value)}, not a config object"
        )
    if expect is not None and not isinstance(value, expect):
        raise WrongTypeError(
            f"{ref}: holds {_article(type(value).__qualname__)}, but this command runs "
            f"{_article(expect.__qualname__)} ({expect.__module__}.{expect.__qualname__})"
        )
    return value


def _article(name: str) -> str:
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _import(ref: str, module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ConfigError(f"{ref}: no module named {err.name!r}") from None
    except Exception as err:  # the user's module failed: say so in one line
        raise ConfigError(f"{ref}: importing {module_name} failed: {_one_line(err)}") from None


def _module_of_file(ref: str, file: Path) -> Any:
    """The module of a ``.py`` file: imported by its dotted name when it lies in a package
    (folders with ``__init__.py``; the folder above the top one is added at the end of
    ``sys.path`` if the package is not importable otherwise), else loaded from the file under
    its own name (once per process)."""
    if not file.is_file():
        raise ConfigError(f"{ref}: no such file {str(file)!r}")
    path = file.resolve()
    top = path.parent
    while (top / "__init__.py").is_file():
        top = top.parent
    parts = path.relative_to(top).with_suffix("").parts
    if len(parts) > 1 and all(p.isidentifier() for p in parts):
        name = ".".join(parts)
        module = _import_file_module(name, path)
        if module is None and str(top) not in sys.path:
            sys.path.append(str(top))
            module = _import_file_module(name, path)
        if module is None:
            raise ConfigError(f"{ref}: {name} imports another file than {file}")
        return module
    return _load_file(ref, path)


def _import_file_module(name: str, path: Path) -> Any:
    """The module ``name`` if it imports and is the file ``path``, else None."""
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        return None
    except Exception as err:
        raise ConfigError(f"{path}: importing {name} failed: {_one_line(err)}") from None
    found = getattr(module, "__file__", None)
    return module if found and Path(found).resolve() == path else None


def _load_file(ref: str, path: Path) -> Any:
    """A ``.py`` file outside any package, as the module named after it."""
    name = path.stem
    known = sys.modules.get(name)
    if known is not None:
        if Path(getattr(known, "__file__", "") or "").resolve() == path:
            return known
        raise ConfigError(f"{ref}: a module named {name!r} is already imported from "
                          "elsewhere; rename the file")
    if not name.isidentifier():
        raise ConfigError(f"{ref}: {path.name} is not a module name (letters, digits, _)")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{ref}: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # classes defined in the file are found under this name
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise ConfigError(f"{ref}: importing {path} failed: {_one_line(err)}") from None
    return module


def _one_line(error: BaseException) -> str:
    text = str(error) if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())
