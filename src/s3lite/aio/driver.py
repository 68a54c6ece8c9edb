"""The asyncio driver of operations: the same generators `operation.run` drives, with each
call sent by an async `send`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from ..operation import Call, Operation
    from ..response import Response
    from .response import AsyncResponse

__all__ = ["run_async"]

T = TypeVar("T")


async def run_async(operation: Operation[T], send: Callable[[Call], Awaitable[AsyncResponse]]) -> T:
    """Drive `operation` to its result, sending each call with `send` (the async driver).

    A call that is not streamed has its body read (bounded by the call's `max_body`) before
    the operation sees the response, so operations use `.data` as they do under `run`. An
    exception from `send` or from that read is thrown into the operation, which may handle it
    or let it propagate to the caller. If the driver itself is cancelled, the operation is
    closed (its `finally` blocks run).
    """
    try:
        call = next(operation)
        while True:
            try:
                response = await send(call)
                if not call.stream and not response.loaded:
                    response.max_body = call.max_body
                    await response.load()
            except Exception as exc:
                call = operation.throw(exc)
            else:
                # Operations use only what both response types share: status, headers, the
                # header-derived fields and (not streamed) `.data`.
                call = operation.send(cast("Response", response))
    except StopIteration as stop:
        result: T = stop.value
        return result
    except BaseException:
        operation.close()
        raise
