"""Blocking local work of the async transfers, run off the event loop and tracked, and
clean-ups that a cancellation cannot cut short.

`Offload.run` runs a blocking call (reading a part of a file, writing and hashing a
downloaded range) in the loop's default executor. A cancelled caller stops waiting, but the
thread goes on: `settle()` waits for every such thread, so that a file is closed (or a
`.part` file removed) only once nothing is still reading or writing it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["Offload", "run_to_end"]

T = TypeVar("T")


class Offload:
    """Runs blocking calls in threads and remembers those still running."""

    def __init__(self) -> None:
        self._running: set[asyncio.Future[Any]] = set()

    async def run(self, func: Callable[..., T], /, *args: Any) -> T:
        """`func(*args)` in a thread; its result or exception."""
        future = asyncio.get_running_loop().run_in_executor(None, functools.partial(func, *args))
        self._running.add(future)
        future.add_done_callback(self._done)
        return await asyncio.shield(future)

    def _done(self, future: asyncio.Future[Any]) -> None:
        self._running.discard(future)
        if not future.cancelled():
            future.exception()  # retrieved: a caller that was cancelled will not look at it

    async def settle(self) -> None:
        """Wait until no call started here is still running (whatever their outcome)."""
        while self._running:
            await asyncio.wait(set(self._running))


async def run_to_end(awaitable: Awaitable[T]) -> T:
    """Await `awaitable` to its end even when the awaiting task is cancelled meanwhile (a
    clean-up: aborting an upload, removing a partial download); such a cancellation is
    raised once it is done."""
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
            continue
        if cancelled:
            raise asyncio.CancelledError
        return result
