"""Time bounds on awaits that never lose the caller's cancellation.

`asyncio.wait_for` before Python 3.12 can return the inner result and drop a cancellation
of the caller that comes as the inner awaitable finishes: a cancelled upload would go on.
These bounds are built on `asyncio.wait` instead; what the awaitable made for a caller that
was cancelled meanwhile (a new connection) is handed to `discard`, never leaked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["await_within", "bounded"]

T = TypeVar("T")


async def bounded(
    awaitable: Awaitable[T],
    timeout: float | None,
    discard: Callable[[T], object] | None = None,
) -> tuple[bool, T | None]:
    """Await `awaitable` for at most `timeout` seconds (None: no bound): (True, its result)
    -- its error is raised -- or (False, None) once it was cut off (cancelled, and awaited
    while it cleans up). When the caller is cancelled, the awaitable is cancelled too and
    the cancellation is raised; a result it still produced goes to `discard`."""
    ended = await _ended(awaitable, timeout, discard)
    if ended is None:
        return False, None
    return True, ended.result()


async def await_within(
    awaitable: Awaitable[T],
    timeout: float | None,
    what: str,
    discard: Callable[[T], object] | None = None,
) -> T:
    """`awaitable`'s result within `timeout` seconds, else `TimeoutError("timed out {what}")`
    (the error the connection's own timers raise); `discard` as for `bounded`."""
    ended = await _ended(awaitable, timeout, discard)
    if ended is None:
        raise TimeoutError(f"timed out {what}")
    return ended.result()


async def _ended(
    awaitable: Awaitable[T], timeout: float | None, discard: Callable[[T], object] | None
) -> asyncio.Future[T] | None:
    """`awaitable` as a future that has ended by itself (with a result or an error), or
    None once it was cut off after `timeout` seconds; see `bounded`."""
    inner = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait((inner,), timeout=None if timeout is None else max(0.0, timeout))
    except BaseException:  # the caller is cancelled: the result is not wanted
        if not inner.done():
            await _settle(inner)
        _drop(inner, discard)
        raise
    if not inner.done() and await _settle(inner):  # cancelled while the awaitable cleaned up
        _drop(inner, discard)
        raise asyncio.CancelledError
    return None if inner.cancelled() else inner


async def _settle(inner: asyncio.Future[T]) -> bool:
    """Cancel `inner` and wait until it has ended; whether the caller was cancelled
    meanwhile (the cancellation is then the caller's to raise, not lost)."""
    inner.cancel()
    cancelled = False
    while not inner.done():
        try:
            await asyncio.wait((inner,))
        except asyncio.CancelledError:
            cancelled = True
    return cancelled


def _drop(inner: asyncio.Future[T], discard: Callable[[T], object] | None) -> None:
    """Hand a result nobody awaits any more to `discard` (and retrieve an error, so that
    none is reported as never retrieved)."""
    if not inner.done() or inner.cancelled():
        return
    if inner.exception() is None and discard is not None:
        discard(inner.result())
