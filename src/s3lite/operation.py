"""Operations without I/O: the contract between what a request means and who sends it.

An operation is a generator. It yields `Call`s (an unsigned `Request` and how its answer is
to be read) and is resumed with each `Response`, or has the send's exception thrown into it;
its return value is the operation's result. Building requests and reading answers stay in
the operation, so the sync sessions (`run`) and an asyncio driver run the very same code.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .response import Response
    from .transport import Auth, Request

__all__ = ["Call", "Operation", "run"]

T = TypeVar("T")


class Call:
    """One request an operation wants sent, and how its answer is read.

    `stream`: leave the body unread (the caller streams it); otherwise the driver reads it
    whole, refusing more than `max_body` bytes (None: no bound). `ok`: the statuses that are
    answers rather than errors (default: 2xx). `auth`: a signer for this call instead of the
    session's (B2 upload URLs carry their own token).
    """

    __slots__ = ("auth", "max_body", "ok", "request", "stream")

    def __init__(
        self,
        request: Request,
        *,
        stream: bool = False,
        max_body: int | None = None,
        ok: Callable[[int], bool] | None = None,
        auth: Auth | None = None,
    ) -> None:
        self.request = request
        self.stream = stream
        self.max_body = max_body
        self.ok = ok
        self.auth = auth

    def __repr__(self) -> str:
        return f"Call({self.request!r}, stream={self.stream})"


#: A generator yielding Calls, resumed with their Responses, returning a result.
Operation = Generator[Call, "Response", T]


def run(operation: Operation[T], send: Callable[[Call], Response]) -> T:
    """Drive `operation` to its result, sending each call with `send` (the sync driver).

    An exception from `send` (KeyboardInterrupt included) is thrown into the operation, which
    may handle it (a fallback request, a clean-up such as aborting what it started) or let it
    propagate to the caller.
    """
    try:
        call = next(operation)
        while True:
            try:
                response = send(call)
            except Exception as exc:
                call = operation.throw(exc)
            else:
                call = operation.send(response)
    except StopIteration as stop:
        result: T = stop.value
        return result
