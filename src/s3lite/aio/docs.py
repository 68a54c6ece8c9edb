"""The async sessions' methods say what the sync ones say: their docstrings are copied from
the sync methods they mirror, so each is written once."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["mirrors"]

F = TypeVar("F", bound=Callable[..., Any])


def mirrors(sync: Callable[..., Any], note: str | None = None) -> Callable[[F], F]:
    """Decorate an async method with the docstring of the sync method `sync` it mirrors
    (same arguments, same result, awaited), followed by `note` (what differs) if given."""

    def decorate(method: F) -> F:
        doc = inspect.cleandoc(sync.__doc__ or "")
        method.__doc__ = f"{doc}\n\n{note}" if note else doc
        return method

    return decorate
