"""The parts of a multipart upload, shared by the upload engine and the backends' operations:
what a part holds (`PartData`, `FileSection`), what uploading it gave (`PartResult`), how big
parts are (`plan_part_size`), which checksums they carry, and how to recognise the uploads a
retried start may have left behind. Nothing here sends anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

from .errors import ClientError, S3LiteError

if TYPE_CHECKING:
    from .listing import UploadInfo

__all__ = [
    "DEFAULT_PART_SIZE",
    "GROWTH_EVERY",
    "PART_CHECKSUMS",
    "STRAY_SLACK",
    "FileSection",
    "PartData",
    "PartLimits",
    "PartResult",
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
    """A backend's limits on parts: smallest part (except the last), largest part, most parts."""

    multipart_min_part_size: int
    multipart_max_part_size: int
    multipart_max_parts: int


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
