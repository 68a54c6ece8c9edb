"""The transfer engine behind `upload_file` and `download_file` (see `transfer.TransferMixin`).

Uploads above a threshold go through `MultipartUpload`; downloads above it are fetched as
parallel ranged GETs pinned to the object's ETag (or version), written in place, and
verified against the size and the ETag (MD5, or MD5-of-parts) or B2's SHA-1. Loaded on a
session's first file transfer, not with the session.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
import zlib
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from .errors import ChecksumMismatch, MalformedResponse
from .progress import ProgressReporter

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .progress import ProgressCallback
    from .response import Response

__all__ = [
    "CHUNK",
    "MAX_OBJECT_SIZE",
    "Sink",
    "Verifier",
    "chain_stream",
    "check_object_size",
    "checksum_header",
    "checksum_of",
    "download_file",
    "download_pin",
    "download_small",
    "plan_ranges",
    "read_up_to",
    "remaining_size",
    "request_options",
    "upload_file",
    "upload_options",
    "with_large_file_sha1",
]

CHUNK = 1024 * 1024
_MD5 = r"^[0-9a-f]{32}$"
_MULTIPART = r"^[0-9a-f]{32}-(\d+)$"
_COMPOSITE = r"^[A-Za-z0-9+/=]+-(\d+)$"
#: Largest object size believed from a server (S3 stores up to 50 TB, B2 10 TB): a larger
#: Content-Length is a malformed answer, not a file to pre-size.
MAX_OBJECT_SIZE = 1 << 50


class Verifier:
    """What a download is checked against, decided from the object's headers.

    Cheapest first: the CRC32 the server keeps (per part, or for the whole object: ranges
    hashed in parallel and combined), a full-object CRC64NVME when it runs in C, then the
    ETag (MD5 of the object or MD5 of its parts' MD5s) or B2's SHA-1, then a CRC64NVME in
    pure Python (slow: used only when nothing cheaper proves the bytes), else the size alone.
    """

    #: kinds whose ranges must be the object's own parts
    ALIGNED = ("crc32-parts", "md5-parts")

    def __init__(
        self, kind: str, expected: str | None, parts: int = 0, fallback: str | None = None
    ) -> None:
        self.kind = kind
        self.expected = expected
        self.parts = parts
        #: a full-object CRC64NVME to check if the parts' boundaries turn out unknown
        self.fallback = fallback

    @classmethod
    def for_head(cls, head: Response, enabled: bool) -> Verifier:
        if not enabled:
            return cls("size", None)
        crc = head.headers.get("x-amz-checksum-crc32")
        if crc:
            match = re.match(_COMPOSITE, crc)
            if match:
                return cls("crc32-parts", crc, int(match.group(1)))
            return cls("crc32", crc)
        from .checksums import crc64nvme_is_fast

        crc64 = head.headers.get("x-amz-checksum-crc64nvme")
        crc64 = crc64 if crc64 and "-" not in crc64 else None  # full-object values only
        if crc64 and crc64nvme_is_fast():
            return cls("crc64nvme", crc64)
        sha1 = head.headers.get("x-bz-content-sha1")
        if sha1 and sha1 != "none":
            return cls("sha1", sha1.removeprefix("unverified:").lower())
        large_sha1 = head.metadata.get("large_file_sha1")
        if large_sha1:
            return cls("sha1", large_sha1.lower())
        etag = (head.etag or "").lower()
        kms = "x-amz-server-side-encryption-aws-kms-key-id" in head.headers
        if "x-amz-server-side-encryption-customer-algorithm" in head.headers:
            # SSE-C: the ETag is no MD5 of the plaintext
            return cls("crc64nvme", crc64) if crc64 else cls("size", None)
        if re.match(_MD5, etag) and not kms:
            return cls("md5", etag)
        match = re.match(_MULTIPART, etag)
        if match:
            return cls("md5-parts", etag, int(match.group(1)), fallback=crc64)
        if crc64:
            return cls("crc64nvme", crc64)
        return cls("size", None)

    @property
    def in_order(self) -> bool:
        """Whether the bytes must be hashed in order (a whole-object MD5 or SHA-1)."""
        return self.kind in ("md5", "sha1")

    def whole_hasher(self) -> Any:
        if self.kind == "sha1":
            return hashlib.sha1()  # noqa: S324 - B2's content digest
        return hashlib.md5()  # noqa: S324 - S3's ETag is an MD5

    def range_hasher(self) -> Any:
        """A hash for one range, or None when ranges are not hashed on their own."""
        from .checksums import new_checksum

        if self.kind in ("crc32", "crc32-parts"):
            return new_checksum("crc32")
        if self.kind == "crc64nvme":
            return new_checksum("crc64nvme")
        if self.kind == "md5-parts":
            return hashlib.md5()  # noqa: S324
        return None

    def finish(self, ranges: list[tuple[int, bytes]], whole: str | None) -> None:
        """Compare what was downloaded (per-range digests, or the whole digest) with the
        object's; raise ChecksumMismatch on a difference."""
        from .checksums import b64, crc32_combine

        if self.kind == "size":
            return
        if self.in_order:
            got = whole
        elif self.kind == "crc32":
            crc = 0
            for length, digest in ranges:
                crc = crc32_combine(crc, int.from_bytes(digest, "big"), length)
            got = b64(crc.to_bytes(4, "big"))
        elif self.kind == "crc64nvme":
            from .checksums import crc64nvme_combine

            crc = 0
            for length, digest in ranges:
                crc = crc64nvme_combine(crc, int.from_bytes(digest, "big"), length)
            got = b64(crc.to_bytes(8, "big"))
        elif self.kind == "crc32-parts":
            got = b64(zlib.crc32(b"".join(d for _, d in ranges)).to_bytes(4, "big"))
            got += f"-{len(ranges)}"
        else:
            got = hashlib.md5(b"".join(d for _, d in ranges)).hexdigest() + f"-{len(ranges)}"  # noqa: S324
        if got != self.expected:
            raise ChecksumMismatch(
                f"downloaded bytes have {self.kind} {got}, the object says {self.expected}"
            )


class Sink:
    """Where downloaded bytes go: a temporary file renamed over the target path on success,
    a seekable file object written at offsets, or a stream written in order."""

    def __init__(self, dest: str | os.PathLike[str] | IO[bytes], size: int) -> None:
        self.path: str | None = None
        self.temp: str | None = None
        self.fd: int | None = None
        self.file: IO[bytes] | None = None
        self.base = 0
        self.seekable = True
        self._lock = threading.Lock()
        if isinstance(dest, (str, os.PathLike)):
            self.path = os.fspath(dest)
            directory, name = os.path.split(os.path.abspath(self.path))
            if os.path.isdir(self.path):
                raise IsADirectoryError(f"{self.path} is a directory")
            self.temp = os.path.join(directory, _temp_name(directory, name))
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            self.fd = os.open(self.temp, flags, 0o666)
            if size:
                try:
                    os.ftruncate(self.fd, size)
                except BaseException:
                    self.discard()
                    raise
            return
        if not hasattr(dest, "write"):
            raise TypeError("dest must be a path or a binary file object with write()")
        self.file = dest
        try:
            self.seekable = bool(dest.seekable())
            self.base = dest.tell() if self.seekable else 0
        except (AttributeError, OSError, ValueError):
            self.seekable = False
        if self.seekable:
            try:
                dest.flush()
                self.fd = dest.fileno()
            except (AttributeError, OSError, ValueError):
                self.fd = None

    def write_at(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        if self.fd is not None:
            view = memoryview(data)
            while view:
                written = os.pwrite(self.fd, view, self.base + offset)
                view = view[written:]
                offset += written
            return
        assert self.file is not None
        with self._lock:
            if self.seekable:
                self.file.seek(self.base + offset)
            self.file.write(data)

    def commit(self, size: int) -> None:
        if self.temp is not None and self.path is not None:
            assert self.fd is not None
            os.close(self.fd)
            self.fd = None
            os.replace(self.temp, self.path)
            self.temp = None
        elif self.file is not None and self.seekable:
            self.file.seek(self.base + size)

    def discard(self) -> None:
        if self.temp is not None:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp)
            self.temp = None


def _temp_name(directory: str, name: str) -> str:
    """The temporary name a download to `directory/name` is written under: hidden, unique,
    recognisable (`.NAME.s3lite-XXXXXXXX.part`), and within the file system's NAME_MAX: a
    long `name` is shortened (whole characters) to make room for the suffix."""
    suffix = f".s3lite-{os.urandom(4).hex()}.part"
    try:
        limit = os.pathconf(directory, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
    except (OSError, ValueError):
        limit = 255
    room = max(1, min(limit, 255) - 1 - len(suffix))
    while len(os.fsencode(name)) > room:
        name = name[:-1]
    return f".{name}{suffix}"


def upload_file(
    session: Any,
    source: str | os.PathLike[str] | IO[bytes],
    key: str,
    *,
    bucket: str | None = None,
    metadata: Mapping[str, str] | None = None,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    threshold: int,
    part_size: int | None,
    concurrency: int,
    progress: ProgressCallback | None = None,
    storage_class: str | None = None,
    checksum: str | None = None,
    sse_customer_key: bytes | str | None = None,
) -> Response:
    """`TransferMixin.upload_file` on `session`."""
    from .multipart import MultipartUpload

    size: int | None
    opened: IO[bytes] | None = None
    headers, put_options, mp_options = upload_options(
        session, headers, storage_class, checksum, sse_customer_key
    )
    if isinstance(source, (str, os.PathLike)):
        size = os.stat(source).st_size
    else:
        size = remaining_size(source)
    if size is None:
        # Unknown length (a pipe): read up to the threshold to decide.
        assert not isinstance(source, (str, os.PathLike))
        head = read_up_to(source, threshold + 1)
        if len(head) <= threshold:
            return session.put_object(  # type: ignore[no-any-return]
                key, head, bucket=bucket, metadata=metadata, content_type=content_type,
                headers=headers, **put_options,
            )  # fmt: skip
        stream = chain_stream(head, source)
        return MultipartUpload(
            session, stream, key, bucket, part_size, concurrency, metadata, content_type,
            progress, headers=headers, **mp_options,
        ).upload()  # fmt: skip
    if size > threshold:
        if getattr(session, "records_large_file_sha1", False):
            metadata = with_large_file_sha1(
                source, size, metadata, headers, getattr(session, "max_info_entries", None)
            )
        return MultipartUpload(
            session, source, key, bucket, part_size, concurrency, metadata, content_type,
            progress, headers=headers, **mp_options,
        ).upload()  # fmt: skip
    reporter = ProgressReporter(progress, size)
    try:
        if isinstance(source, (str, os.PathLike)):
            opened = open(source, "rb")  # noqa: SIM115 - closed below
            body: Any = opened
        else:
            body = source
        all_headers = dict(headers or {})
        if getattr(session, "supports_checksum_mode", False):
            # The server verifies and stores it, so downloads can check it cheaply.
            name = (checksum or "crc32").lower()
            all_headers[checksum_header(name)] = checksum_of(body, size, name)
        sse = {k: v for k, v in put_options.items() if k == "sse_customer_key"}
        response = session.put_object(
            key, _CountingReader(body, reporter), bucket=bucket, metadata=metadata,
            content_type=content_type, headers=all_headers, content_length=size, **sse,
        )  # fmt: skip
    finally:
        if opened is not None:
            opened.close()
    reporter.finish()
    return response  # type: ignore[no-any-return]


def download_file(
    session: Any,
    key: str,
    dest: str | os.PathLike[str] | IO[bytes],
    *,
    bucket: str | None = None,
    version_id: str | None = None,
    threshold: int,
    part_size: int,
    concurrency: int,
    progress: ProgressCallback | None = None,
    verify: bool = True,
    sse_customer_key: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """`TransferMixin.download_file` on `session`."""
    if concurrency < 1 or part_size < 1:
        raise ValueError("concurrency and part_size must be positive")
    extra = {"checksum_mode": True} if getattr(session, "supports_checksum_mode", False) else {}
    options = request_options(session, sse_customer_key, headers)
    head = session.head_object(key, bucket=bucket, version_id=version_id, **extra, **options)
    size = check_object_size(key, head)
    verifier = Verifier.for_head(head, verify)
    pin = download_pin(session, head, bucket, version_id, options)
    reporter = ProgressReporter(progress, size)
    sink = Sink(dest, size)
    try:
        if size <= threshold and verifier.parts <= 1:
            written = _download_single(session, key, pin, sink, verifier, reporter)
        else:
            ranges = _ranges(session, key, pin, size, part_size, verifier)
            written = _download_ranges(
                session, key, pin, sink, verifier, reporter, ranges, concurrency
            )
        if written != size:
            raise ChecksumMismatch(f"downloaded {written} bytes, the object has {size}")
        sink.commit(size)
    except BaseException:
        sink.discard()
        raise
    reporter.finish()
    return head  # type: ignore[no-any-return]


def _ranges(
    session: Any, key: str, pin: dict[str, Any], size: int, part_size: int, v: Verifier
) -> list[tuple[int, int]]:
    """Byte ranges (inclusive) to fetch: see `plan_ranges`."""
    first = 0
    if v.kind in v.ALIGNED and hasattr(session, "part_size_of"):
        first = session.part_size_of(key, 1, **pin)
    return plan_ranges(size, part_size, v, first)


def plan_ranges(size: int, part_size: int, v: Verifier, first: int) -> list[tuple[int, int]]:
    """Byte ranges (inclusive) to fetch: the object's own parts when its checksum or ETag
    covers parts (so each range can be hashed on its own; `first`: the size of its first part,
    0 if unknown), else `part_size`. Unknown boundaries downgrade `v` to what can be checked."""
    if v.kind in v.ALIGNED:
        if first and -(-size // first) == v.parts:
            part_size = first
        elif v.fallback:  # the parts' boundaries are unknown: the CRC64NVME instead
            v.kind, v.expected = "crc64nvme", v.fallback
        else:
            v.kind = "size"  # the parts' boundaries are unknown: check the size only
    return [(start, min(start + part_size, size) - 1) for start in range(0, size, part_size)]


def check_object_size(key: str, head: Response) -> int:
    """The object's size from its HEAD; MalformedResponse for one no service stores."""
    size = head.content_length or 0
    if size > MAX_OBJECT_SIZE:
        raise MalformedResponse(
            f"the server says {key!r} has {size} bytes (Content-Length), more than any "
            f"service stores ({MAX_OBJECT_SIZE}): not downloaded"
        )
    return size


def download_pin(
    session: Any,
    head: Response,
    bucket: str | None,
    version_id: str | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    """The GET arguments that pin every request of a download to the object first seen
    (its version, and its ETag where the backend honours If-Match), with `options`."""
    pin: dict[str, Any] = {"bucket": bucket, "version_id": version_id or head.version_id}
    if head.etag and getattr(session, "supports_if_match", True):
        pin["if_match"] = head.etag
    pin.update(options)
    return pin


def remaining_size(f: Any) -> int | None:
    try:
        if f.seekable():
            here = f.tell()
            end = f.seek(0, os.SEEK_END)
            f.seek(here)
            return int(end - here)
    except (AttributeError, OSError, ValueError):
        pass
    return None


def upload_options(
    session: Any,
    headers: Mapping[str, str] | None,
    storage_class: str | None,
    checksum: str | None,
    sse_customer_key: bytes | str | None,
) -> tuple[dict[str, str] | None, dict[str, Any], dict[str, Any]]:
    """upload_file's object options as (headers, put_object options, MultipartUpload
    options); ValueError naming an option the session's backend cannot do."""
    put: dict[str, Any] = {}
    multipart: dict[str, Any] = {}
    if storage_class is None and checksum is None and sse_customer_key is None:
        return (dict(headers) if headers is not None else None), put, multipart
    import inspect

    accepted = inspect.signature(session.put_object).parameters
    kind = type(session).__name__
    if storage_class is not None:
        if "storage_class" not in accepted:
            raise ValueError(f"{kind} has no storage classes: storage_class is not available")
        if not isinstance(storage_class, str) or not storage_class:
            raise ValueError(f"storage_class must be a non-empty str, got {storage_class!r}")
        headers = {**(headers or {}), "x-amz-storage-class": storage_class}
    if checksum is not None:
        from .checksums import new_checksum

        if "checksum" not in accepted:
            if not isinstance(checksum, str) or checksum.lower() != "sha1":
                raise ValueError(f"{kind} verifies uploads with SHA-1; checksum={checksum!r}")
        else:
            new_checksum(checksum)  # a known algorithm (a multipart upload may take fewer)
            put["checksum"] = multipart["checksum"] = checksum.lower()
    if sse_customer_key is not None:
        if "sse_customer_key" not in accepted:
            raise ValueError(f"{kind} does not support sse_customer_key")
        put["sse_customer_key"] = multipart["sse_customer_key"] = sse_customer_key
    return (dict(headers) if headers is not None else None), put, multipart


def with_large_file_sha1(
    source: str | os.PathLike[str] | IO[bytes],
    size: int,
    metadata: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
    max_info_entries: int | None = None,
) -> Mapping[str, str] | None:
    """`metadata` plus `large_file_sha1`: the SHA-1 of the whole source, which B2 does not
    compute for a large file; it becomes the file's ETag and what downloads check. One extra
    read of the source. `max_info_entries`: how many entries the backend's file info holds
    (its `max_info_entries`; None: no limit)."""
    result = dict(metadata or {})
    if any(name.lower() == "large_file_sha1" for name in result):
        return result
    if max_info_entries is not None and len(result) + len(headers or {}) >= max_info_entries:
        return metadata  # no room left in the file info: the file goes without one
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            digest = checksum_of(f, size, "sha1")
    else:
        digest = checksum_of(source, size, "sha1")
    import base64

    result["large_file_sha1"] = base64.b64decode(digest).hex()
    return result


def request_options(
    session: Any, sse_customer_key: bytes | str | None, headers: Mapping[str, str] | None
) -> dict[str, Any]:
    """download_file's options for its HEAD and GETs (ValueError if the backend lacks one)."""
    options: dict[str, Any] = {}
    if sse_customer_key is not None:
        import inspect

        if "sse_customer_key" not in inspect.signature(session.get_object).parameters:
            raise ValueError(f"{type(session).__name__} does not support sse_customer_key")
        options["sse_customer_key"] = sse_customer_key
    if headers:
        options["headers"] = dict(headers)
    return options


def checksum_header(name: str) -> str:
    from .checksums import header_name

    return header_name(name)


def checksum_of(f: Any, size: int, name: str = "crc32") -> str:
    """Base64 checksum (`name`: crc32, sha256, ...) of the next `size` bytes of a seekable
    file, which is left where it was."""
    from .checksums import b64, new_checksum

    sums = new_checksum(name)
    here = f.tell()
    left = size
    while left > 0:
        chunk = f.read(min(CHUNK, left))
        if not chunk:
            break
        sums.update(chunk)
        left -= len(chunk)
    f.seek(here)
    return b64(sums.digest())


def read_up_to(f: IO[bytes], n: int) -> bytes:
    pieces, got = [], 0
    while got < n:
        chunk = f.read(min(CHUNK, n - got))
        if not chunk:
            break
        pieces.append(chunk)
        got += len(chunk)
    return b"".join(pieces)


def chain_stream(first: bytes, f: IO[bytes]) -> Iterator[bytes]:
    yield first
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            return
        yield chunk


class _CountingReader:
    """A file object that reports bytes read to a progress reporter."""

    def __init__(self, f: Any, reporter: ProgressReporter) -> None:
        self._f = f
        self._reporter = reporter

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._f.read(n)
        self._reporter.add(len(data))
        return data

    def seekable(self) -> bool:
        return bool(self._f.seekable())

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._f.seek(offset, whence))

    def tell(self) -> int:
        return int(self._f.tell())


def _download_single(
    session: Any,
    key: str,
    pin: dict[str, Any],
    sink: Sink,
    verifier: Verifier,
    reporter: ProgressReporter,
) -> int:
    with session.get_object(key, stream=True, **pin) as resp:
        return _write_verified(resp, sink, verifier, reporter)


def _write_verified(
    resp: Response, sink: Sink, verifier: Verifier, reporter: ProgressReporter
) -> int:
    """Write a whole body into `sink` from offset 0, hashing it as `verifier` asks, and check
    it (ChecksumMismatch); returns the number of bytes written."""
    whole = verifier.whole_hasher() if verifier.in_order else None
    part = verifier.range_hasher()
    offset = 0
    for chunk in resp.iter_chunks(CHUNK):
        sink.write_at(offset, chunk)
        if whole is not None:
            whole.update(chunk)
        if part is not None:
            part.update(chunk)
        offset += len(chunk)
        reporter.add(len(chunk))
    verifier.finish(
        [(offset, part.digest())] if part is not None else [],
        whole.hexdigest() if whole is not None else None,
    )
    return offset


def download_small(
    session: Any,
    key: str,
    bucket: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
    whole_only: bool = False,
) -> bool:
    """Download a small object with one GET (no HEAD first), verified like `download_file`
    (stored CRC32, MD5 ETag or B2 SHA-1, and the size) and written to a temporary file renamed
    into place. Returns False, having written nothing, for an object that must be fetched by
    parts (its checksum covers parts), unless `whole_only` (then the size alone is checked)."""
    hdrs = dict(headers or {})
    if getattr(session, "supports_checksum_mode", False):
        hdrs["x-amz-checksum-mode"] = "ENABLED"
    with session.get_object(key, bucket=bucket, stream=True, headers=hdrs) as response:
        verifier = Verifier.for_head(response, True)
        if verifier.kind in Verifier.ALIGNED:
            if not whole_only:
                return False
            verifier = Verifier("size", None)
        size = response.content_length or 0
        reporter = ProgressReporter(progress, size)
        sink = Sink(path, size)
        try:
            written = _write_verified(response, sink, verifier, reporter)
            if written != size:
                raise ChecksumMismatch(f"downloaded {written} bytes, the object has {size}")
            sink.commit(size)
        except BaseException:
            sink.discard()
            raise
    reporter.finish()
    return True


def _download_ranges(
    session: Any,
    key: str,
    pin: dict[str, Any],
    sink: Sink,
    verifier: Verifier,
    reporter: ProgressReporter,
    ranges: list[tuple[int, int]],
    concurrency: int,
) -> int:
    """Fetch ranges in parallel. Whole-object digests and in-order sinks need the bytes in
    order: then at most `concurrency` ranges are held in memory at a time."""
    from concurrent.futures import ThreadPoolExecutor

    in_order = verifier.in_order or not sink.seekable
    whole = verifier.whole_hasher() if verifier.in_order else None
    slots = threading.Semaphore(concurrency)
    failed = threading.Event()

    def fetch(start: int, end: int) -> tuple[int, bytearray | None, bytes | None]:
        part_hash = verifier.range_hasher()
        held = bytearray() if in_order else None
        offset = start
        if failed.is_set():
            raise _Stopped
        with session.get_object(key, range_start=start, range_end=end, stream=True, **pin) as r:
            for chunk in r.iter_chunks(CHUNK):
                if sink.seekable:
                    sink.write_at(offset, chunk)
                if held is not None:
                    held += chunk
                if part_hash is not None:
                    part_hash.update(chunk)
                offset += len(chunk)
                if not in_order:
                    reporter.add(len(chunk))
        if offset != end + 1:
            raise ChecksumMismatch(f"range {start}-{end} ended at byte {offset}")
        return offset - start, held, part_hash.digest() if part_hash is not None else None

    def stop_on_error(future: Future[Any]) -> None:
        if future.exception() is not None:
            failed.set()

    written = 0
    digests: list[tuple[int, bytes]] = []
    with ThreadPoolExecutor(concurrency, thread_name_prefix="s3lite-range") as pool:
        futures: list[Future[tuple[int, bytearray | None, bytes | None]] | None] = []
        submitted = 0
        try:
            for index in range(len(ranges)):
                while submitted < len(ranges) and submitted < index + concurrency:
                    slots.acquire()
                    future = pool.submit(fetch, *ranges[submitted])
                    future.add_done_callback(stop_on_error)
                    futures.append(future)
                    submitted += 1
                current = futures[index]
                assert current is not None
                count, data, digest = current.result()
                futures[index] = None  # drop the reference: its bytes may be large
                slots.release()
                if data is not None:
                    if not sink.seekable:
                        sink.write_at(ranges[index][0], data)
                    if whole is not None:
                        whole.update(data)
                    reporter.add(count)
                if digest is not None:
                    digests.append((count, digest))
                written += count
        except BaseException:
            failed.set()
            for pending in futures:
                if pending is not None:
                    pending.cancel()
            raise
    verifier.finish(digests, whole.hexdigest() if whole is not None else None)
    return written


class _Stopped(Exception):
    """A queued range skipped because another one already failed."""
