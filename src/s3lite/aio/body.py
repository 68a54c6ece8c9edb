"""Request bodies the async transport can send besides `transport.Body`'s (bytes, str, files,
iterables): async iterables, sent once (a retry after any of it went out is refused)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator

from ..transport import Body, BodyLike, BodyNotReplayable

__all__ = ["AsyncBody", "AsyncBodyLike", "make_body"]

AsyncBodyLike = BodyLike | AsyncIterable[bytes]


class AsyncBody(Body):
    """A request body from an async iterable of bytes (`length`: its size when known)."""

    def __init__(self, source: AsyncIterable[bytes], length: int | None = None) -> None:
        super().__init__(None)
        self.length = length
        self._source = source
        self._opened = False

    @property
    def is_bytes(self) -> bool:
        return False

    @property
    def replayable(self) -> bool:
        return not self._opened or self.sent == 0

    def open(self) -> Iterator[bytes] | bytes | memoryview:
        raise TypeError("an async body is sent by the async transport (aopen)")

    def aopen(self) -> AsyncIterator[bytes]:
        """The one pass over the source, counting what is taken from it."""
        if self._opened and self.sent:
            raise BodyNotReplayable(
                "cannot retry: the request body is an async stream that was already (partly) "
                f"sent ({self.sent} bytes); pass bytes or a seekable file to make the request "
                "retryable"
            )
        self._opened = True
        return self._one_pass()

    async def _one_pass(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"body iterator yielded {type(chunk).__name__}, not bytes")
            if chunk:
                self.sent += len(chunk)
                yield chunk if isinstance(chunk, bytes) else bytes(chunk)


def make_body(source: AsyncBodyLike, length: int | None = None) -> Body:
    """The request body for any source: an `AsyncBody` for async iterables, else a `Body`."""
    if isinstance(source, AsyncIterable):
        return AsyncBody(source, length)
    return Body(source, length)
