"""The public names of `s3lite`: cheap to import, all resolvable, all visible to type checkers."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import s3lite
from s3lite import errors

INIT = Path(s3lite.__file__)


def _modules_after(code: str) -> list[str]:
    """Modules a fresh interpreter has loaded after `code`, beyond a bare start."""
    probe = (
        "import sys; before = set(sys.modules); "
        f"{code}; "
        "after = set(sys.modules); print(' '.join(sorted(after - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return out.split()


def test_import_is_cheap() -> None:
    """`import s3lite` loads the package alone: no submodule, no urllib3, not even typing."""
    loaded = _modules_after("import s3lite")
    assert set(loaded) <= {"s3lite", "__future__"}, loaded
    # A name used for the first time imports what it needs, and only then.
    loaded = _modules_after("import s3lite; s3lite.NoSuchKey")
    assert "s3lite.errors" in loaded
    assert not {"urllib3", "s3lite.s3", "s3lite.b2", "typing"} & set(loaded), loaded


def test_every_public_name_resolves() -> None:
    assert s3lite.__all__ == sorted(s3lite.__all__)
    assert len(set(s3lite.__all__)) == len(s3lite.__all__)
    for name in s3lite.__all__:
        assert getattr(s3lite, name) is not None, name
    assert sorted(dir(s3lite)) == sorted(s3lite.__all__)
    assert s3lite.S3Session.__module__ == "s3lite.s3"


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        s3lite.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def _type_checking_reexports() -> dict[str, str]:
    """name -> module of each `from .module import Name as Name` under `if TYPE_CHECKING:`."""
    tree = ast.parse(INIT.read_text())
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.level == 1, ast.dump(stmt)
                for alias in stmt.names:
                    # `as Name` is what makes it an explicit re-export for mypy and pyright
                    assert alias.asname == alias.name, alias.name
                    found[alias.name] = str(stmt.module)
    return found


def test_type_checkers_see_every_public_name() -> None:
    """The static `__all__` literal and the TYPE_CHECKING re-exports match the lazy table."""
    tree = ast.parse(INIT.read_text())
    literal = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__"
    )
    assert isinstance(literal, ast.List), "__all__ must be a literal list"
    static_all = ast.literal_eval(literal)
    assert static_all == s3lite.__all__
    lazy: dict[str, str] = s3lite._EXPORTS  # type: ignore[attr-defined]
    assert _type_checking_reexports() == lazy
    assert set(static_all) == {"__version__", *lazy}


def test_every_error_class_is_exported() -> None:
    """Every exception class the package defines for callers is a top-level name."""
    public = set(s3lite.__all__)
    missing = [n for n in errors.__all__ if n[0].isupper() and n not in public]
    assert not missing
    parts = ("", "_base", "_http", "_sts", "_process", "_metadata", "_profile")
    credentials = [f"credentials{part}" for part in parts]  # the module and those it gathers
    for module_name in ("config", *credentials, "transport", "errors", "lock", "s3", "b2"):
        module = importlib.import_module(f"s3lite.{module_name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, errors.S3LiteError)
                and cls.__module__ == module.__name__
                and not name.startswith("_")
            ):
                assert name in public, f"{module_name}.{name} is not exported"
    for name in ("MethodNotAllowed", "NotImplementedByServer", "NotFound", "Forbidden"):
        assert issubclass(getattr(s3lite, name), s3lite.S3LiteError)
