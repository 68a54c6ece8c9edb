"""Upload bodies for B2: every upload carries the SHA-1 of its content.

In-memory bodies send their hex digest up front in `X-Bz-Content-Sha1`; streams send
`hex_digits_at_end` and the 40 digits follow the body, so a stream is read once. A stream
of unknown length is spooled (and hashed) once to learn its length.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import IO, cast

from .b2_requests import MAX_UPLOAD_BYTES
from .request_body import remaining_length, start_of
from .transport import Body, BodyLike

__all__ = [
    "SHA1_TRAILER",
    "SPOOL_MEMORY",
    "Sha1Trailer",
    "check_upload_size",
    "prepare_upload",
    "remaining_length",
    "sha1_trailer_chunks",
    "start_of",
]

#: Bodies of unknown length are spooled (and hashed) to learn their length; this much in memory.
SPOOL_MEMORY = 8 * 1024 * 1024
#: The length of the hex SHA-1 that follows a `hex_digits_at_end` body.
SHA1_TRAILER = 40


class Sha1Trailer:
    """A file's next `length` bytes followed by their SHA-1 in 40 hex digits, as a file object
    (B2's `hex_digits_at_end`). Seeking back to the start (a retry) starts the hash afresh."""

    def __init__(self, f: IO[bytes], length: int, start: int) -> None:
        self._f = f
        self._length = length
        self._start = start
        self._pos = 0
        self._sha = hashlib.sha1()  # noqa: S324 - B2's integrity check, not security
        self._tail = b""
        self._tail_pos = 0

    def seekable(self) -> bool:
        return self._start >= 0

    def tell(self) -> int:
        return self._pos + self._tail_pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset != 0 or whence != 0 or self._start < 0:
            raise OSError("only a rewind to the start is supported")
        self._f.seek(self._start)
        self._pos = self._tail_pos = 0
        self._sha = hashlib.sha1()  # noqa: S324
        self._tail = b""
        return 0

    def read(self, n: int = -1) -> bytes:
        remaining = self._length - self._pos
        if remaining > 0:
            chunk = self._f.read(remaining if n is None or n < 0 else min(n, remaining))
            if not chunk:
                raise ValueError(
                    f"upload body ended {remaining} bytes short of its declared length"
                )
            self._pos += len(chunk)
            self._sha.update(chunk)
            return chunk
        if not self._tail:
            self._tail = self._sha.hexdigest().encode("ascii")
        end = len(self._tail) if n is None or n < 0 else self._tail_pos + n
        out = self._tail[self._tail_pos : end]
        self._tail_pos += len(out)
        return out


def sha1_trailer_chunks(chunks: Iterable[bytes], length: int) -> Iterator[bytes]:
    """An iterable's chunks (exactly `length` bytes) followed by their SHA-1 in hex."""
    sha = hashlib.sha1()  # noqa: S324
    sent = 0
    for chunk in chunks:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"body iterator yielded {type(chunk).__name__}, not bytes")
        if not chunk:
            continue
        sent += len(chunk)
        if sent > length:
            raise ValueError(f"upload body is longer than its declared length ({length})")
        sha.update(chunk)
        yield bytes(chunk) if not isinstance(chunk, bytes) else chunk
    if sent != length:
        raise ValueError(f"upload body ended {length - sent} bytes short of its declared length")
    yield sha.hexdigest().encode("ascii")


def prepare_upload(body: BodyLike, content_length: int | None) -> tuple[Body, str]:
    """The body to send and its X-Bz-Content-Sha1: the hex digest up front for bytes (and
    for streams of unknown length, spooled once), else `hex_digits_at_end`."""
    if content_length is not None and (
        not isinstance(content_length, int)
        or isinstance(content_length, bool)
        or content_length < 0
    ):
        raise ValueError(f"content_length must be a non-negative int, got {content_length!r}")
    if body is None:
        body = b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body) if isinstance(body, bytearray) else body
        check_upload_size(len(data) if isinstance(data, bytes) else memoryview(data).nbytes)
        return Body(data), hashlib.sha1(data).hexdigest()  # noqa: S324
    if hasattr(body, "read"):
        f: IO[bytes] = body  # type: ignore[assignment]
        start = start_of(f)
        length = content_length
        if length is None and start >= 0:
            length = remaining_length(f, start)
        if length is None:
            return _spool(_file_chunks(f))
        check_upload_size(length)
        reader = cast("IO[bytes]", Sha1Trailer(f, length, start))
        return Body(reader, length + SHA1_TRAILER), "hex_digits_at_end"
    if isinstance(body, Iterable):
        if content_length is None:
            return _spool(iter(body))
        check_upload_size(content_length)
        return (
            Body(sha1_trailer_chunks(body, content_length), content_length + SHA1_TRAILER),
            "hex_digits_at_end",
        )
    raise TypeError(
        f"body must be bytes, str, a binary file object or an iterable of bytes, "
        f"not {type(body).__name__}"
    )


def check_upload_size(length: int) -> None:
    """Refuse a single upload over B2's 5 GB."""
    if length > MAX_UPLOAD_BYTES:
        raise ValueError(
            f"a single B2 upload holds at most {MAX_UPLOAD_BYTES} bytes ({length} given); use "
            "a multipart (large file) upload"
        )


def _file_chunks(f: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = f.read(1024 * 1024)
        if not chunk:
            return
        yield chunk


def _spool(chunks: Iterator[bytes]) -> tuple[Body, str]:
    """Read a stream of unknown length once into a temporary file, hashing on the way."""
    import tempfile

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
    sha = hashlib.sha1()  # noqa: S324
    try:
        for chunk in chunks:
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"body iterator yielded {type(chunk).__name__}, not bytes")
            spool.write(chunk)
            sha.update(chunk)
        size = spool.tell()
        check_upload_size(size)
    except BaseException:
        spool.close()  # nothing is left behind by a failed read, a bad chunk or Ctrl-C
        raise
    spool.seek(0)
    return Body(spool, size, owned=True), sha.hexdigest()
