"""Multipart uploads: one engine for S3 multipart uploads and B2 large files.

A backend provides a few primitives (`MultipartBackend`); `MultipartUpload` cuts the source
into parts, sends them in parallel on the session's connection pool (each part retried on its
own by the transport), then completes and verifies the upload, or aborts it so that no
orphan parts are left behind.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NamedTuple, Protocol

from .errors import NoSuchUpload, S3LiteError
from .parts import (
    DEFAULT_PART_SIZE,
    GROWTH_EVERY,
    FileSection,
    PartData,
    PartResult,
    part_checksum,
    plan_part_size,
    start_was_ambiguous,
    stray_uploads,
)
from .progress import ProgressCallback, ProgressReporter

if TYPE_CHECKING:
    from .response import Response

__all__ = [
    "DEFAULT_PART_SIZE",
    "GROWTH_EVERY",
    "FileSection",
    "MultipartBackend",
    "MultipartUpload",
    "PartData",
    "PartResult",
    "abort_strays",
    "plan_part_size",
    "start_was_ambiguous",
]


class MultipartBackend(Protocol):
    """The primitives a session provides for multipart uploads.

    `upload_id` is S3's UploadId or B2's large-file id.
    """

    #: Smallest part (except the last), largest part, most parts.
    multipart_min_part_size: int
    multipart_max_part_size: int
    multipart_max_parts: int

    def _bucket(self, bucket: str | None) -> str: ...

    def _mp_start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
    ) -> str: ...

    def _mp_upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: PartData
    ) -> PartResult: ...

    def _mp_complete(
        self, bucket: str, key: str, upload_id: str, parts: list[PartResult]
    ) -> Response: ...

    def _mp_abort(self, bucket: str, key: str, upload_id: str) -> None: ...

    def _mp_list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]: ...


def _backend(session: Any) -> MultipartBackend:
    """The session behind `session` (a Connection hands over its S3Session)."""
    backend = getattr(session, "multipart_backend", session)
    for name in ("_mp_start", "_mp_upload_part", "_mp_complete", "_mp_abort"):
        if not callable(getattr(backend, name, None)):
            raise TypeError(f"{type(session).__name__} cannot do multipart uploads")
    return backend  # type: ignore[no-any-return]


# --- sources ----------------------------------------------------------------------------------


class _Part(NamedTuple):
    number: int
    offset: int
    length: int
    data: PartData | None  # None: the worker opens it (path sources)
    buffer: bytearray | None = None  # pooled buffer holding `data`, returned when sent


class _Buffers:
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


class _Source:
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

    def read_part(self, part: _Part, *, in_memory: bool = False) -> _Part:
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
        self, part_size: int, grow: bool, skip: set[int], buffers: _Buffers | None = None
    ) -> Iterator[_Part]:
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
                yield _Part(number, offset, length, data)
            return
        pool = buffers or _Buffers()
        if self._file is not None:
            yield from self._file_parts(self._file, part_size, grow, skip, pool)
            return
        assert self._iter is not None
        yield from self._iter_parts(self._iter, part_size, grow, pool)

    def _file_parts(
        self, f: IO[bytes], part_size: int, grow: bool, skip: set[int], pool: _Buffers
    ) -> Iterator[_Part]:
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
                    yield _Part(1, 0, 0, b"")
                return
            yield _Part(number, offset, got, memoryview(buf)[:got], buf)
            offset += got
            if got < size:
                return

    def _iter_parts(
        self, chunks: Iterator[bytes], part_size: int, grow: bool, pool: _Buffers
    ) -> Iterator[_Part]:
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
                    yield _Part(number, offset, size, memoryview(buf), buf)
                    offset += size
                    number += 1
                    size = _grown(part_size, number) if grow else part_size
                    buf = pool.get(size)
                    filled = 0
        if filled or number == 1:
            yield _Part(number, offset, filled, memoryview(buf)[:filled], buf)
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


def _digest_matches(part: PartResult, data: bytes | bytearray | memoryview) -> bool:
    """Whether a part already on the server holds exactly `data` (resume check)."""
    if part.size != len(data):
        return False
    if part.sha1:
        return hashlib.sha1(data).hexdigest() == part.sha1.lower()  # noqa: S324 - B2's digest
    etag = (part.etag or "").strip('"').lower()
    if len(etag) == 32 and all(c in "0123456789abcdef" for c in etag):
        return hashlib.md5(data).hexdigest() == etag  # noqa: S324 - S3's ETag is an MD5
    return True  # nothing to compare with (e.g. SSE-KMS ETags): trust the size


# --- uploads left behind by a retried start ----------------------------------------------------


def abort_strays(
    backend: Any,
    bucket: str,
    key: str,
    keep: str | None,
    started: float,
    elapsed: float,
) -> int:
    """Abort the uploads of exactly `key` that an earlier attempt of a retried start created
    (its answer was lost, so nobody knows their ids); returns how many. See `stray_uploads`.

    Best effort: a failure to list or abort is logged, never raised (the caller's own outcome
    stands). A concurrent upload of the same key started within the same seconds would be
    aborted too; its writer then fails with `NoSuchUpload`, it never stores a wrong object.
    """
    import logging

    log = logging.getLogger("s3lite")
    try:
        uploads = list(backend.list_multipart_uploads(key, bucket=bucket))
        strays = stray_uploads(uploads, key, keep, started, elapsed)
        for upload_id in strays:
            backend._mp_abort(bucket, key, upload_id)
    except S3LiteError as exc:
        log.warning("could not look for uploads of %s left by a retried start: %s", key, exc)
        return 0
    if strays:
        log.debug("aborted %d upload(s) of %s left by a retried start", len(strays), key)
    return len(strays)


# --- the engine -------------------------------------------------------------------------------


def _part_options(
    backend: Any, checksum: str | None, sse_customer_key: bytes | str | None
) -> dict[str, Any]:
    """Keyword arguments for the backend's part primitives: `checksum` (the algorithm every
    part carries) and `headers` (SSE-C); ValueError if the backend cannot do them."""
    options: dict[str, Any] = {}
    if checksum is None and sse_customer_key is None:
        return options
    import inspect

    accepted = inspect.signature(backend._mp_upload_part).parameters
    if checksum is not None:
        if not isinstance(checksum, str):
            raise TypeError(f"checksum must be a str, not {type(checksum).__name__}")
        if "checksum" in accepted:
            options["checksum"] = part_checksum(checksum)
        elif checksum.lower() != "sha1":  # B2 verifies a SHA-1 of every part anyway
            raise ValueError(
                f"{type(backend).__name__} checks every part with SHA-1; checksum={checksum!r} "
                "is not available"
            )
    if sse_customer_key is not None:
        if "headers" not in accepted:
            raise ValueError(f"{type(backend).__name__} does not support sse_customer_key")
        from .s3_endpoint import sse_customer_headers

        options["headers"] = sse_customer_headers(sse_customer_key)
    return options


class MultipartUpload:
    """Upload one object in parts, in parallel, with bounded memory.

    As a context manager (`with MultipartUpload(session, source, key) as up:`) it starts the
    upload on entry and, on a clean exit, sends whatever of `source` is not yet sent and
    completes; an exception (KeyboardInterrupt too) aborts it. As a plain object: `start()`,
    `upload_part(n, data)`, `complete()`, `abort()`, or `upload()` for all of it.
    Memory stays within `concurrency` × part size.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> MultipartUpload:
        """`MultipartUpload(conn, bucket, key)` (a tinys3/minis3 `Connection` or `Pool`, then
        a str or None and a str, nothing else) is their multipart object; any other call
        (a session, a source that is not a str, any keyword) is s3lite's upload of a source."""
        if cls is MultipartUpload and len(args) == 3 and not kwargs:
            conn, bucket, key = args
            # A Connection or Pool names the class it builds (so this module needs not know
            # them): `multipart_upload_type`.
            made = getattr(type(conn), "multipart_upload_type", None)
            if (
                made is not None
                and getattr(conn, "multipart_backend", None) is not None
                and (isinstance(bucket, str) or bucket is None)
                and isinstance(key, str)
            ):
                return super().__new__(made)  # type: ignore[no-any-return]
        return super().__new__(cls)

    def __init__(
        self,
        session: Any,
        source: Any = None,
        key: str | None = None,
        bucket: str | None = None,
        part_size: int | None = None,
        concurrency: int = 8,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        progress: ProgressCallback | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        size: int | None = None,
        upload_id: str | None = None,
        checksum: str | None = None,
        sse_customer_key: bytes | str | None = None,
    ) -> None:
        from .s3_endpoint import validate_key

        self.backend = _backend(session)
        if key is None:
            raise TypeError("MultipartUpload needs a key")
        self.key = validate_key(key)
        self.bucket = self.backend._bucket(bucket)
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
        self.concurrency = concurrency
        self.metadata = metadata
        self.content_type = content_type
        self.headers = headers
        # Per-part options (S3): the checksum algorithm, the SSE-C key (kept out of repr).
        self._part_options = _part_options(self.backend, checksum, sse_customer_key)
        self._sse_customer_key = sse_customer_key
        self._source = _Source(source, size) if source is not None else None
        total = self._source.size if self._source is not None else size
        self._explicit_part_size = part_size is not None
        self.part_size = plan_part_size(total, part_size, self.backend)
        self._progress = ProgressReporter(progress, total)
        self.upload_id = upload_id
        self._parts: dict[int, PartResult] = {}
        self._lock = threading.Lock()
        self.completed: Response | None = None
        self.aborted = False

    # --- plain-object API --------------------------------------------------------------------
    @property
    def parts(self) -> list[PartResult]:
        """The parts uploaded so far, in order."""
        with self._lock:
            return [self._parts[n] for n in sorted(self._parts)]

    def start(self) -> str:
        """Create the upload on the server (once); returns its id."""
        if self.upload_id is None:
            options = self._part_options
            extra = {"checksum": options["checksum"]} if "checksum" in options else {}
            headers = {**(self.headers or {}), **options.get("headers", {})}
            self.upload_id = self.backend._mp_start(
                self.bucket,
                self.key,
                metadata=self.metadata,
                content_type=self.content_type,
                headers=headers or None,
                **extra,
            )
        return self.upload_id

    def upload_part(self, number: int, data: PartData) -> PartResult:
        """Upload one part (1-based `number`); thread-safe."""
        if self.upload_id is None:
            raise RuntimeError("call start() before upload_part()")
        if not isinstance(number, int) or not 1 <= number <= self.backend.multipart_max_parts:
            raise ValueError(
                f"part number must be between 1 and {self.backend.multipart_max_parts}"
            )
        result = self.backend._mp_upload_part(
            self.bucket, self.key, self.upload_id, number, data, **self._part_options
        )
        with self._lock:
            self._parts[number] = result
        self._progress.add(len(data))
        return result

    def complete(self) -> Response:
        """Assemble the uploaded parts into the object and check the result."""
        if self.completed is not None:
            return self.completed
        if self.upload_id is None:
            raise RuntimeError("nothing to complete: the upload was not started")
        parts = self.parts
        if not parts:
            raise ValueError("cannot complete an upload without parts")
        numbers = [p.number for p in parts]
        if numbers != list(range(1, len(parts) + 1)):
            missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            raise ValueError(f"cannot complete: parts {missing[:10]} are missing")
        try:
            response = self.backend._mp_complete(
                self.bucket, self.key, self.upload_id, parts, **self._part_options
            )
        except NoSuchUpload:
            # A retried completion whose first attempt succeeded: check what is stored.
            response = self._already_completed(parts)
        verify = getattr(self.backend, "_mp_verify", None)
        if verify is not None:
            verify(response, parts)
        self.completed = response
        self._progress.finish()
        return response

    def _already_completed(self, parts: list[PartResult]) -> Response:
        sse = {"sse_customer_key": self._sse_customer_key} if self._sse_customer_key else {}
        head = self.backend.head_object(self.key, bucket=self.bucket, **sse)  # type: ignore[attr-defined]
        expected = getattr(self.backend, "_mp_expected_etag", lambda _p: None)(parts)
        if expected is None or head.etag != expected:
            raise NoSuchUpload(
                404, "NoSuchUpload", f"upload {self.upload_id} vanished before completion"
            )
        return head  # type: ignore[no-any-return]

    def abort(self) -> None:
        """Abort the upload and delete its parts (safe to call more than once)."""
        if self.upload_id is None or self.aborted or self.completed is not None:
            return
        self.backend._mp_abort(self.bucket, self.key, self.upload_id)
        self.aborted = True

    # --- whole-source upload -------------------------------------------------------------------
    def upload(self) -> Response:
        """Start (if needed), send every part of the source not yet sent, complete.

        Any failure, KeyboardInterrupt included, aborts the upload before it propagates.
        """
        if self._source is None:
            raise ValueError("no source to upload")
        try:
            self.start()
            self._send_all()
            return self.complete()
        except BaseException:
            self._abort_quietly()
            raise
        finally:
            self._source.close()

    def _send_all(self) -> None:
        assert self._source is not None
        source = self._source
        grow = source.size is None and not self._explicit_part_size
        with self._lock:
            done = set(self._parts)
        slots = threading.BoundedSemaphore(self.concurrency)
        failed = threading.Event()
        futures: list[Future[PartResult]] = []
        buffers = _Buffers()

        def send(part: _Part) -> PartResult:
            try:
                if failed.is_set():
                    raise _Cancelled
                part = source.read_part(part)
                assert part.data is not None
                return self.upload_part(part.number, part.data)
            except BaseException:
                failed.set()
                raise
            finally:
                buffers.put(part.buffer)
                slots.release()

        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="s3lite-part") as pool:
            try:
                for part in source.parts(self.part_size, grow, done, buffers):
                    if part.number > self.backend.multipart_max_parts:
                        raise ValueError(
                            f"source needs more than {self.backend.multipart_max_parts} parts; "
                            "pass a larger part_size"
                        )
                    while not slots.acquire(timeout=0.5):
                        if failed.is_set():
                            break
                    else:
                        futures.append(pool.submit(send, part))
                        continue
                    buffers.put(part.buffer)
                    break  # a part failed: stop reading the source
                wait(futures, return_when=FIRST_EXCEPTION)
            except BaseException:
                failed.set()
                for future in futures:
                    future.cancel()
                raise
        for future in futures:
            exc = future.exception()
            if exc is not None and not isinstance(exc, _Cancelled):
                raise exc
        for future in futures:
            if future.exception() is not None:
                raise RuntimeError("upload stopped: a part failed") from future.exception()

    def _abort_quietly(self) -> None:
        try:
            self.abort()
        except Exception:
            import logging

            logging.getLogger("s3lite").warning(
                "could not abort multipart upload %s of %s", self.upload_id, self.key
            )

    # --- resume ------------------------------------------------------------------------------
    @classmethod
    def resume(
        cls,
        session: Any,
        key: str,
        upload_id: str,
        source: Any,
        *,
        bucket: str | None = None,
        part_size: int | None = None,
        concurrency: int = 8,
        progress: ProgressCallback | None = None,
        verify_existing: bool = True,
        checksum: str | None = None,
        sse_customer_key: bytes | str | None = None,
    ) -> Response:
        """Finish an interrupted upload: list the parts already there, send only the rest.

        Parts on the server are checked against the source (size and MD5/SHA-1) unless
        `verify_existing` is False; a part that differs is sent again.
        """
        backend = _backend(session)
        bucket = backend._bucket(bucket)
        existing = backend._mp_list_parts(bucket, key, upload_id)
        if part_size is None and existing:
            first = min(existing, key=lambda p: p.number)
            if first.number == 1:
                part_size = first.size
        upload = cls(
            session, source, key, bucket, part_size, concurrency, progress=progress,
            upload_id=upload_id, checksum=checksum, sse_customer_key=sse_customer_key,
        )  # fmt: skip
        src = upload._source
        assert src is not None
        if not src.seekable:
            src.close()
            raise ValueError("resume needs a seekable source (a path, bytes or seekable file)")
        size = src.size or 0
        adopt = getattr(upload.backend, "_mp_adopt_part", None)
        for part in existing:
            offset = (part.number - 1) * upload.part_size
            length = min(upload.part_size, size - offset)
            if length <= 0 or part.size != length:
                continue  # not a part of this source as we cut it: send it again
            probe = src.read_part(
                _Part(part.number, offset, length, src.slice(offset, length)), in_memory=True
            )
            data = probe.data
            assert data is not None and not isinstance(data, FileSection)
            if verify_existing and not _digest_matches(part, data):
                continue
            adopted = adopt(part, data) if adopt is not None else part  # e.g. fill in the CRC
            algorithm = upload._part_options.get("checksum")
            if algorithm not in (None, "crc32"):  # the parts' checksums completing needs
                from .checksums import b64, new_checksum

                sums = new_checksum(algorithm)
                sums.update(data)  # type: ignore[arg-type]
                adopted = adopted._replace(
                    checksum=None if algorithm == "md5" else b64(sums.digest())
                )
            upload._parts[part.number] = adopted
            upload._progress.add(part.size)
        return upload.upload()

    # --- context manager -----------------------------------------------------------------------
    def __enter__(self) -> MultipartUpload:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._abort_quietly()
            if self._source is not None:
                self._source.close()
            return
        if self.completed is not None or self.aborted:
            return
        if self._source is not None:
            self.upload()
        else:
            try:
                self.complete()
            except BaseException:
                self._abort_quietly()
                raise

    def __repr__(self) -> str:
        return (
            f"<MultipartUpload {self.bucket}/{self.key} upload_id={self.upload_id!r} "
            f"parts={len(self._parts)}>"
        )


class _Cancelled(Exception):
    """A queued part skipped because another part already failed."""
