"""The parts of a multipart upload, shared by the upload engine and the backends' operations:
what a part holds (`PartData`, `FileSection`), what uploading it gave (`PartResult`), how big
parts are (`plan_part_size`), how a source is cut into them (`PartSource`), which checksums
they carry, and how to recognise the uploads a retried start may have left behind. Nothing
here sends anything.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple, Protocol

from .errors import ClientError, S3LiteError

if TYPE_CHECKING:
    from .listing import UploadInfo

__all__ = [
    "DEFAULT_PART_SIZE",
    "GROWTH_EVERY",
    "PART_CHECKSUMS",
    "STRAY_SLACK",
    "FileSection",
    "Part",
    "PartBuffers",
    "PartData",
    "PartLimits",
    "PartResult",
    "PartSource",
    "digest_matches",
    "part_checksum",
    "plan_part_size",
    "start_was_ambiguous",
    "stray_uploads",
]

MiB = 1024 * 1024
DEFAULT_PART_SIZE = 8 * MiB
#: Unknown-size streams double their part size every this many parts (so 10,000 parts
#: reach hundreds of GiB); parts need not all be the same size.
GROWTH_EVERY = 2000


class PartResult(NamedTuple):
    """One uploaded part: its number, size, and what the backend needs to complete it
    (S3: the ETag and CRC32; B2: the SHA-1)."""

    number: int
    size: int
    etag: str | None = None
    sha1: str | None = None
    checksum: str | None = None  # base64 CRC32 the server verified (S3)


_HAS_PREADV = hasattr(os, "preadv")


class FileSection:
    """A window of an open file, read with pread: seekable, so a retried part is re-read
    from disk rather than held in memory; safe to use from many threads at once."""

    def __init__(self, fd: int, offset: int, length: int) -> None:
        self._fd = fd
        self._offset = offset
        self._length = length
        self._pos = 0

    def __len__(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._length}[whence]
        self._pos = min(max(0, base + offset), self._length)
        return self._pos

    def read(self, n: int = -1) -> bytes:
        left = self._length - self._pos
        n = left if n is None or n < 0 else min(n, left)
        if n <= 0:
            return b""
        data = os.pread(self._fd, n, self._offset + self._pos)
        if not data:
            raise ValueError("file shrank while it was being uploaded")
        self._pos += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer)
        n = min(len(view), self._length - self._pos)
        if n <= 0:
            return 0
        if _HAS_PREADV:
            got = os.preadv(self._fd, [view[:n]], self._offset + self._pos)
        else:
            data = os.pread(self._fd, n, self._offset + self._pos)
            got = len(data)
            view[:got] = data
        if not got:
            raise ValueError("file shrank while it was being uploaded")
        self._pos += got
        return got

    def chunks(self, size: int = MiB) -> Iterator[memoryview]:
        """The section from its start, in chunks that share one buffer: each chunk is valid
        until the next is read (leaves the position at the end)."""
        self.seek(0)
        buffer = memoryview(bytearray(size))
        while got := self.readinto(buffer):
            yield buffer[:got]


#: What a part's bytes may be: in memory, or a section of a file read as it is sent.
PartData = bytes | bytearray | memoryview | FileSection


class PartLimits(Protocol):
    """A backend's limits on parts: smallest part (except the last), largest part, most parts
    (read-only here: attributes or properties)."""

    @property
    def multipart_min_part_size(self) -> int: ...
    @property
    def multipart_max_part_size(self) -> int: ...
    @property
    def multipart_max_parts(self) -> int: ...


def plan_part_size(size: int | None, part_size: int | None, backend: PartLimits) -> int:
    """The part size to use: checked against the backend's limits before anything is sent.

    Automatic sizes are at least 8 MiB (and the backend minimum) and large enough to fit the
    object in the backend's maximum number of parts.
    """
    low = backend.multipart_min_part_size
    high = backend.multipart_max_part_size
    most = backend.multipart_max_parts
    if part_size is not None:
        if not isinstance(part_size, int) or isinstance(part_size, bool) or part_size <= 0:
            raise ValueError(f"part_size must be a positive int, got {part_size!r}")
        if part_size < low and (size is None or size > part_size):
            raise ValueError(f"part_size {part_size} is below the minimum part size {low}")
        if part_size > high:
            raise ValueError(f"part_size {part_size} is above the maximum part size {high}")
        if size is not None and -(-size // part_size) > most:
            raise ValueError(
                f"part_size {part_size} would need {-(-size // part_size)} parts for "
                f"{size} bytes; at most {most} are allowed"
            )
        return part_size
    chosen = max(low, DEFAULT_PART_SIZE)
    if size is not None:
        needed = -(-size // most)
        if needed > chosen:
            chosen = -(-needed // MiB) * MiB
        if chosen > high:
            raise ValueError(f"{size} bytes do not fit in {most} parts of at most {high} bytes")
    return chosen


# --- sources ----------------------------------------------------------------------------------


class Part(NamedTuple):
    number: int
    offset: int
    length: int
    data: PartData | None  # None: the worker opens it (path sources)
    buffer: bytearray | None = None  # pooled buffer holding `data`, returned when sent


class PartBuffers:
    """Reusable part buffers: parts are read into the same few bytearrays over and over,
    so memory stays flat (no allocator churn, no fresh pages to fault in for every part)."""

    def __init__(self) -> None:
        self._free: list[bytearray] = []
        self._lock = threading.Lock()

    def get(self, size: int) -> bytearray:
        with self._lock:
            for i, buf in enumerate(self._free):
                if len(buf) == size:
                    return self._free.pop(i)
        return bytearray(size)

    def put(self, buf: bytearray | None) -> None:
        if buf is not None:
            with self._lock:
                self._free.append(buf)


class PartSource:
    """Cuts a path, file object, bytes or iterator of bytes into numbered parts."""

    def __init__(self, source: Any, size: int | None = None) -> None:
        self.path: str | None = None
        self.fd: int | None = None
        self._file: IO[bytes] | None = None
        self._bytes: memoryview | None = None
        self._iter: Iterator[bytes] | None = None
        self.size = size
        self.seekable = True
        self._start = 0
        self._opened: IO[bytes] | None = None
        if isinstance(source, (str, os.PathLike)) and not hasattr(os, "pread"):
            source = open(source, "rb")  # noqa: SIM115 - no pread here (Windows): read in order
            self._opened = source
        if isinstance(source, (str, os.PathLike)):
            self.path = os.fspath(source)
            self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            self.size = os.fstat(self.fd).st_size
        elif isinstance(source, (bytes, bytearray, memoryview)):
            self._bytes = memoryview(source).cast("B")
            self.size = len(self._bytes)
        elif hasattr(source, "read"):
            self._file = source
            try:
                self.seekable = bool(source.seekable())
                self._start = source.tell() if self.seekable else 0
            except (AttributeError, OSError, ValueError):
                self.seekable = False
            if self.size is None and self.seekable:
                end = source.seek(0, os.SEEK_END)
                source.seek(self._start)
                self.size = end - self._start
        elif isinstance(source, Iterable):
            self._iter = iter(source)
            self.seekable = False
        else:
            raise TypeError(
                "source must be a path, bytes, a binary file object or an iterable of bytes, "
                f"not {type(source).__name__}"
            )

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def slice(self, offset: int, length: int) -> bytes | memoryview | None:
        """The bytes at offset..offset+length for in-memory and file sources (None: read
        by `read_part` from the path)."""
        if self._bytes is not None:
            return self._bytes[offset : offset + length]
        if self._file is not None:
            self._file.seek(self._start + offset)
            data = _read_exactly(self._file, length)
            self._file.seek(self._start)
            return data
        return None

    def read_part(self, part: Part, *, in_memory: bool = False) -> Part:
        """The part with its data. Path sources give a `FileSection` read as it is sent
        (or, with `in_memory`, the bytes)."""
        if part.data is not None:
            return part
        assert self.fd is not None
        if not in_memory:
            return part._replace(data=FileSection(self.fd, part.offset, part.length))
        data = os.pread(self.fd, part.length, part.offset)
        if len(data) != part.length:
            raise ValueError(f"{self.path} changed while uploading: short read at {part.offset}")
        return part._replace(data=data)

    def parts(
        self, part_size: int, grow: bool, skip: set[int], buffers: PartBuffers | None = None
    ) -> Iterator[Part]:
        """Yield parts in order; numbers in `skip` are already uploaded (resume). Streamed
        sources are read into buffers from `buffers` (given back after each part is sent)."""
        if self._bytes is not None or self.path is not None:
            assert self.size is not None
            count = max(1, -(-self.size // part_size))
            for i in range(count):
                number, offset = i + 1, i * part_size
                if number in skip:
                    continue
                length = min(part_size, self.size - offset)
                data = self._bytes[offset : offset + length] if self._bytes is not None else None
                yield Part(number, offset, length, data)
            return
        pool = buffers or PartBuffers()
        if self._file is not None:
            yield from self._file_parts(self._file, part_size, grow, skip, pool)
            return
        assert self._iter is not None
        yield from self._iter_parts(self._iter, part_size, grow, pool)

    def _file_parts(
        self, f: IO[bytes], part_size: int, grow: bool, skip: set[int], pool: PartBuffers
    ) -> Iterator[Part]:
        number, offset = 0, 0
        while True:
            number += 1
            size = _grown(part_size, number) if grow else part_size
            if number in skip and self.seekable:
                offset += size
                f.seek(self._start + offset)
                if self.size is not None and offset >= self.size:
                    return
                continue
            buf = pool.get(size)
            got = _readinto_exactly(f, memoryview(buf))
            if not got:
                pool.put(buf)
                if number == 1:
                    yield Part(1, 0, 0, b"")
                return
            yield Part(number, offset, got, memoryview(buf)[:got], buf)
            offset += got
            if got < size:
                return

    def _iter_parts(
        self, chunks: Iterator[bytes], part_size: int, grow: bool, pool: PartBuffers
    ) -> Iterator[Part]:
        number, offset = 1, 0
        size = part_size
        buf = pool.get(size)
        filled = 0
        for chunk in chunks:
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"source iterator yielded {type(chunk).__name__}, not bytes")
            view = memoryview(chunk).cast("B")
            while view:
                take = min(len(view), size - filled)
                buf[filled : filled + take] = view[:take]
                filled += take
                view = view[take:]
                if filled == size:
                    yield Part(number, offset, size, memoryview(buf), buf)
                    offset += size
                    number += 1
                    size = _grown(part_size, number) if grow else part_size
                    buf = pool.get(size)
                    filled = 0
        if filled or number == 1:
            yield Part(number, offset, filled, memoryview(buf)[:filled], buf)
        else:
            pool.put(buf)


def _grown(part_size: int, number: int) -> int:
    return part_size << min((number - 1) // GROWTH_EVERY, 9)


def _readinto_exactly(f: IO[bytes], view: memoryview) -> int:
    """Fill `view` from `f` (fewer bytes only at the end of the file); returns the count."""
    readinto = getattr(f, "readinto", None)
    got = 0
    while got < len(view):
        if readinto is not None:
            n = readinto(view[got:])
        else:
            data = f.read(len(view) - got)
            n = len(data)
            view[got : got + n] = data
        if not n:
            break
        got += n
    return got


def _read_exactly(f: IO[bytes], size: int) -> bytes:
    data = f.read(size)
    if not data or len(data) == size:
        return data or b""
    pieces = [data]
    got = len(data)
    while got < size:
        more = f.read(size - got)
        if not more:
            break
        pieces.append(more)
        got += len(more)
    return b"".join(pieces)


def digest_matches(part: PartResult, data: bytes | bytearray | memoryview) -> bool:
    """Whether a part already on the server holds exactly `data` (resume check)."""
    if part.size != len(data):
        return False
    if part.sha1:
        return hashlib.sha1(data).hexdigest() == part.sha1.lower()  # noqa: S324 - B2's digest
    etag = (part.etag or "").strip('"').lower()
    if len(etag) == 32 and all(c in "0123456789abcdef" for c in etag):
        return hashlib.md5(data).hexdigest() == etag  # noqa: S324 - S3's ETag is an MD5
    return True  # nothing to compare with (e.g. SSE-KMS ETags): trust the size


#: Checksums a multipart upload's parts may carry (md5: Content-MD5 per part).
PART_CHECKSUMS = ("crc32", "crc32c", "sha1", "sha256", "md5")


def part_checksum(checksum: bool | str | None) -> str | None:
    """The per-part checksum of a multipart upload: True means CRC32, False/None none."""
    if checksum is True:
        return "crc32"
    if not checksum:
        return None
    name = checksum.lower()
    if name not in PART_CHECKSUMS:
        raise ValueError(
            f"checksum {checksum!r} cannot be sent per part of a multipart upload; "
            f"use one of {', '.join(PART_CHECKSUMS)}"
        )
    return name


# --- uploads left behind by a retried start ----------------------------------------------------

#: Seconds of slack around the window in which strays are looked for (`Initiated` is stamped
#: to the second; without our own upload to compare with, the local clock is used).
STRAY_SLACK = 2.0


def start_was_ambiguous(exc: BaseException) -> bool:
    """Whether a failed start (CreateMultipartUpload, b2_start_large_file) may still have
    created an upload on the server: anything but a refusal on the first and only attempt."""
    if isinstance(exc, ClientError):
        return exc.attempts > 1
    return isinstance(exc, S3LiteError)


def stray_uploads(
    uploads: Sequence[UploadInfo], key: str, keep: str | None, started: float, elapsed: float
) -> list[str]:
    """The ids among `uploads` of exactly `key` that an earlier attempt of a retried start
    created: a start that took `elapsed` seconds, begun at `started` (the transport's clock),
    can only have created uploads in that window, measured back from our own upload `keep`
    by the server's `Initiated` stamps when it is listed, else by the clock."""
    mine = [u for u in uploads if u["key"] == key]
    ours = next((u["initiated"] for u in mine if u["upload_id"] == keep), None)
    if ours is not None:
        low, high = ours.timestamp() - elapsed - 1.0, ours.timestamp() + 1.0
    else:
        low, high = started - STRAY_SLACK, started + elapsed + STRAY_SLACK
    return [
        u["upload_id"]
        for u in mine
        if u["upload_id"] != keep
        and u["initiated"] is not None
        and low <= u["initiated"].timestamp() <= high
    ]
