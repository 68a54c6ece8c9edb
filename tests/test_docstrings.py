"""Every public method of the sessions documents itself: `help(S3Session)` is enough."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator

import pytest

from s3lite import B2Session, S3Session


def public_methods(cls: type) -> Iterator[tuple[str, object]]:
    yield "__init__", cls.__init__
    for name, member in inspect.getmembers(cls):
        if name.startswith("_"):
            continue
        if inspect.isfunction(member) or isinstance(inspect.getattr_static(cls, name), property):
            yield name, member


def undocumented(cls: type) -> list[str]:
    problems = []
    for name, member in public_methods(cls):
        if isinstance(inspect.getattr_static(cls, name, None), property):
            if not (member.__doc__ or "").strip():  # type: ignore[attr-defined]
                problems.append(f"{cls.__name__}.{name}: no docstring")
            continue
        doc = inspect.getdoc(member) or ""
        if not doc.strip():
            problems.append(f"{cls.__name__}.{name}: no docstring")
            continue
        params = inspect.signature(member).parameters.values()  # type: ignore[arg-type]
        for param in params:
            if param.name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if not re.search(rf"`{re.escape(param.name)}[`=]", doc):  # `name` or `name=...`
                problems.append(f"{cls.__name__}.{name}: parameter {param.name!r} not described")
    return problems


@pytest.mark.parametrize("cls", [S3Session, B2Session])
def test_every_public_method_documents_its_parameters(cls: type) -> None:
    assert undocumented(cls) == []


def test_constructors_are_documented() -> None:
    text = S3Session.__init__.__doc__ or ""
    assert "endpoint_url" in text and "region" in text
    text = B2Session.__init__.__doc__ or ""
    assert "api_url" in text
