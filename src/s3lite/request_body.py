"""Request bodies: bytes, files and streams, sent again on a retry whenever that is possible."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from typing import IO

from .errors import TransportError

__all__ = ["SEND_CHUNK", "Body", "BodyLike", "BodyNotReplayable", "remaining_length", "start_of"]

BodyLike = bytes | bytearray | memoryview | str | IO[bytes] | Iterable[bytes] | None
#: Chunk size used to stream request bodies from files and iterators.
SEND_CHUNK = 1024 * 1024


class BodyNotReplayable(TransportError):
    """A retry needed the request body again, but it was a stream already (partly) sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class Body:
    """A request body that can be sent again on a retry whenever that is possible.

    Bytes are always replayable; seekable files are rewound to where they started; other
    streams (iterators, pipes) can be sent once.
    """

    def __init__(self, source: BodyLike, length: int | None = None, *, owned: bool = False) -> None:
        self.length = length
        #: The source is a temporary file made for this body (a spool): `close()` removes it.
        self.owned = owned
        self._bytes: bytes | memoryview | None = None
        self._file: IO[bytes] | None = None
        self._iter: Iterable[bytes] | None = None
        self._start = 0
        self._stream: Iterator[bytes] | None = None  # the one pass over a one-shot source
        self.sent = 0  # bytes taken from the source in the latest attempt
        if source is None:
            self._bytes = b""
        elif isinstance(source, str):
            self._bytes = source.encode("utf-8")
        elif isinstance(source, (bytes, bytearray, memoryview)):
            self._bytes = source if not isinstance(source, bytearray) else bytes(source)
        elif hasattr(source, "read"):
            self._file = source  # type: ignore[assignment]
            self._start = start_of(source)  # type: ignore[arg-type]
        elif isinstance(source, Iterable):
            self._iter = source
        else:
            raise TypeError(
                f"body must be bytes, str, a binary file object or an iterable of bytes, "
                f"not {type(source).__name__}"
            )
        if self._bytes is not None:
            self.length = len(self._bytes)
        elif self._file is not None and self.length is None:
            self.length = remaining_length(self._file, self._start)

    @property
    def is_bytes(self) -> bool:
        return self._bytes is not None

    def close(self) -> None:
        """Remove the temporary file an `owned` body was spooled to, at once rather than at
        garbage collection; a caller's own file or stream is left open."""
        if self.owned and self._file is not None:
            self._file.close()

    @property
    def data(self) -> bytes | memoryview:
        """The body, when it is held in memory (`is_bytes`)."""
        assert self._bytes is not None
        return self._bytes

    @property
    def replayable(self) -> bool:
        """Whether the body can be sent (again): bytes, a seekable file, or an untouched stream."""
        if self._bytes is not None or (self._file is not None and self._start >= 0):
            return True
        return self.sent == 0

    def open(self) -> Iterator[bytes] | bytes | memoryview:
        """What to send for one attempt: the bytes, or an iterator of chunks from the start."""
        if self._bytes is not None:
            return self._bytes
        if not self.replayable:
            raise BodyNotReplayable(
                "cannot retry: the request body is a non-seekable stream that was already "
                f"(partly) sent ({self.sent} bytes); pass bytes or a seekable file to make the "
                "request retryable"
            )
        if self._file is not None and self._start >= 0:
            if self.sent:
                self._file.seek(self._start)
            self.sent = 0
            return self._file_chunks(self._file)
        if self._stream is None:
            if self._file is not None:
                self._stream = self._file_chunks(self._file)
            else:
                assert self._iter is not None
                self._stream = self._counted(iter(self._iter))
        return self._stream

    def _file_chunks(self, f: IO[bytes]) -> Iterator[bytes]:
        """The file in chunks. With `readinto`, one buffer is reused for every chunk (each is
        sent before the next is read), so a large upload allocates nothing per chunk."""
        remaining = self.length
        readinto = getattr(f, "readinto", None)
        buffer = bytearray(SEND_CHUNK) if readinto is not None else None
        view = memoryview(buffer) if buffer is not None else None
        while remaining is None or remaining > 0:
            n = SEND_CHUNK if remaining is None else min(SEND_CHUNK, remaining)
            if view is not None:
                got = readinto(view[:n])  # type: ignore[misc]
                chunk: bytes = view[:got] if got else b""  # type: ignore[assignment]
            else:
                chunk = f.read(n)
            if not chunk:
                if remaining:
                    raise ValueError(
                        f"request body ended {remaining} bytes short of its declared length"
                    )
                return
            if remaining is not None:
                remaining -= len(chunk)
            self.sent += len(chunk)
            yield chunk

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"body iterator yielded {type(chunk).__name__}, not bytes")
            if chunk:
                self.sent += len(chunk)
                yield bytes(chunk) if not isinstance(chunk, bytes) else chunk

    def chunks(self) -> Iterator[bytes]:
        """The body as an iterator of chunks (for signers that frame it)."""
        opened = self.open()
        if isinstance(opened, (bytes, memoryview)):
            view = memoryview(opened)
            return (bytes(view[i : i + SEND_CHUNK]) for i in range(0, len(view), SEND_CHUNK))
        return opened


def start_of(f: IO[bytes]) -> int:
    """Where a file object starts, or -1 if it cannot seek (so it cannot be replayed)."""
    try:
        if f.seekable():
            return f.tell()
    except (AttributeError, OSError, ValueError):
        pass
    return -1


def remaining_length(f: IO[bytes], start: int) -> int | None:
    if start < 0:
        return None
    try:
        fileno = f.fileno()
        size = os.fstat(fileno).st_size
        if size:
            return max(0, size - start)
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    try:
        end = f.seek(0, os.SEEK_END)
        f.seek(start)
        return max(0, end - start)
    except (AttributeError, OSError, ValueError):
        return None
