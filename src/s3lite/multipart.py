"""Multipart uploads: one engine for S3 multipart uploads and B2 large files.

A backend provides a few primitives (`MultipartBackend`); `MultipartUpload` cuts the source
into parts, sends them in parallel on the session's connection pool (each part retried on its
own by the transport), then completes and verifies the upload, or aborts it so that no
orphan parts are left behind.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, cast

from .errors import NoSuchUpload, S3LiteError
from .parts import (
    DEFAULT_PART_SIZE,
    GROWTH_EVERY,
    FileSection,
    Part,
    PartBuffers,
    PartData,
    PartLimits,
    PartResult,
    PartSource,
    digest_matches,
    part_checksum,
    plan_part_size,
    start_was_ambiguous,
    stray_uploads,
)
from .progress import ProgressCallback, ProgressReporter

if TYPE_CHECKING:
    from .listing import UploadInfo
    from .response import Response

__all__ = [
    "DEFAULT_PART_SIZE",
    "GROWTH_EVERY",
    "FileSection",
    "MultipartBackend",
    "MultipartUpload",
    "Part",
    "PartBuffers",
    "PartData",
    "PartResult",
    "PartSource",
    "UploadState",
    "abort_strays",
    "backend_of",
    "digest_matches",
    "part_options",
    "plan_part_size",
    "start_was_ambiguous",
]


class MultipartBackend(PartLimits, Protocol):
    """The primitives a session provides for multipart uploads: its `multipart_backend`
    (`S3MultipartBackend`, `B2MultipartBackend`, and their async twins, whose methods are
    coroutines).

    `upload_id` is S3's UploadId or B2's large-file id. Backends may also have
    `adopt_part(part, data)`, `expected_etag(parts)` and `verify(response, parts)` (S3's
    checks of parts and results), and accept `checksum`/`headers` keywords on their part
    calls (`part_options`).
    """

    def bucket(self, name: str | None) -> str: ...

    def start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
    ) -> str: ...

    def upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: PartData
    ) -> PartResult: ...

    def complete(
        self, bucket: str, key: str, upload_id: str, parts: list[PartResult]
    ) -> Response: ...

    def abort(self, bucket: str, key: str, upload_id: str) -> None: ...

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]: ...

    def head_object(self, key: str, *, bucket: str | None = None) -> Response: ...

    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> Iterable[UploadInfo]: ...

    def now(self) -> float: ...


def backend_of(session: Any) -> MultipartBackend:
    """The multipart primitives of `session`: its `multipart_backend` (a session's backend
    object; a tinys3/minis3 Connection or Pool hands over its S3Session's)."""
    backend = getattr(session, "multipart_backend", None)
    for name in ("start", "upload_part", "complete", "abort", "bucket"):
        if not callable(getattr(backend, name, None)):
            raise TypeError(f"{type(session).__name__} cannot do multipart uploads")
    return cast("MultipartBackend", backend)


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
            backend.abort(bucket, key, upload_id)
    except S3LiteError as exc:
        log.warning("could not look for uploads of %s left by a retried start: %s", key, exc)
        return 0
    if strays:
        log.debug("aborted %d upload(s) of %s left by a retried start", len(strays), key)
    return len(strays)


# --- the engine -------------------------------------------------------------------------------


def part_options(
    backend: Any, checksum: str | None, sse_customer_key: bytes | str | None
) -> dict[str, Any]:
    """Keyword arguments for the backend's part primitives: `checksum` (the algorithm every
    part carries) and `headers` (SSE-C); ValueError if the backend cannot do them."""
    options: dict[str, Any] = {}
    if checksum is None and sse_customer_key is None:
        return options
    import inspect

    accepted = inspect.signature(backend.upload_part).parameters
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


class UploadState:
    """What a multipart upload knows and decides without sending anything, shared by the
    sync `MultipartUpload` and the async engine: its options checked and planned (part size,
    per-part options), the parts uploaded so far, and the checks before completing and when
    resuming. Subclasses add the calls."""

    #: The name `repr` gives the upload.
    label = "MultipartUpload"

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

        self.backend = backend_of(session)
        if key is None:
            raise TypeError(f"{self.label} needs a key")
        self.key = validate_key(key)
        self.bucket = self.backend.bucket(bucket)
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
        self.concurrency = concurrency
        self.metadata = metadata
        self.content_type = content_type
        self.headers = headers
        # Per-part options (S3): the checksum algorithm, the SSE-C key (kept out of repr).
        self._part_options = part_options(self.backend, checksum, sse_customer_key)
        self._sse_customer_key = sse_customer_key
        self._source = PartSource(source, size) if source is not None else None
        total = self._source.size if self._source is not None else size
        self._explicit_part_size = part_size is not None
        self.part_size = plan_part_size(total, part_size, self.backend)
        self._progress = ProgressReporter(progress, total)
        self.upload_id = upload_id
        self._parts: dict[int, PartResult] = {}
        self._lock = threading.Lock()
        self.completed: Any = None
        self.aborted = False

    @property
    def parts(self) -> list[PartResult]:
        """The parts uploaded so far, in order."""
        with self._lock:
            return [self._parts[n] for n in sorted(self._parts)]

    def start_arguments(self) -> dict[str, Any]:
        """Keyword arguments of the backend's `start` for this upload."""
        options = self._part_options
        extra = {"checksum": options["checksum"]} if "checksum" in options else {}
        headers = {**(self.headers or {}), **options.get("headers", {})}
        return {
            "metadata": self.metadata,
            "content_type": self.content_type,
            "headers": headers or None,
            **extra,
        }

    def check_part_number(self, number: int) -> str:
        """The upload id, once `number` is known to be a part number of a started upload."""
        if self.upload_id is None:
            raise RuntimeError("call start() before upload_part()")
        if not isinstance(number, int) or not 1 <= number <= self.backend.multipart_max_parts:
            raise ValueError(
                f"part number must be between 1 and {self.backend.multipart_max_parts}"
            )
        return self.upload_id

    def record_part(self, number: int, result: PartResult, size: int) -> None:
        """Keep uploaded part `number` (`size` bytes) for completing; count its progress."""
        with self._lock:
            self._parts[number] = result
        self._progress.add(size)

    def parts_to_complete(self) -> list[PartResult]:
        """The parts to complete with (all of 1..n), else RuntimeError/ValueError."""
        if self.upload_id is None:
            raise RuntimeError("nothing to complete: the upload was not started")
        parts = self.parts
        if not parts:
            raise ValueError("cannot complete an upload without parts")
        numbers = [p.number for p in parts]
        if numbers != list(range(1, len(parts) + 1)):
            missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            raise ValueError(f"cannot complete: parts {missing[:10]} are missing")
        return parts

    def sse_arguments(self) -> dict[str, Any]:
        """The SSE-C key as a `head_object` keyword argument ({} without one)."""
        return {"sse_customer_key": self._sse_customer_key} if self._sse_customer_key else {}

    def completed_head(self, head: Any, parts: list[PartResult]) -> Any:
        """`head` of the object, when it is what completing `parts` stores (a retried
        completion whose first attempt succeeded), else NoSuchUpload."""
        expected = getattr(self.backend, "expected_etag", lambda _p: None)(parts)
        if expected is None or head.etag != expected:
            raise NoSuchUpload(
                404, "NoSuchUpload", f"upload {self.upload_id} vanished before completion"
            )
        return head

    def finish(self, response: Any, parts: list[PartResult]) -> None:
        """Check the completed object (when the backend can) and keep it as the result."""
        verify = getattr(self.backend, "verify", None)
        if verify is not None:
            verify(response, parts)
        self.completed = response
        self._progress.finish()

    @property
    def needs_abort(self) -> bool:
        """Whether aborting would do anything (started, neither aborted nor completed)."""
        return self.upload_id is not None and not self.aborted and self.completed is None

    def grows_parts(self) -> bool:
        """Whether parts grow as they go (a source of unknown size, no part size given)."""
        assert self._source is not None
        return self._source.size is None and not self._explicit_part_size

    def check_part_count(self, part: Part) -> None:
        """ValueError once a source needs more parts than the backend allows."""
        if part.number > self.backend.multipart_max_parts:
            raise ValueError(
                f"source needs more than {self.backend.multipart_max_parts} parts; "
                "pass a larger part_size"
            )

    # --- resume ------------------------------------------------------------------------------
    @staticmethod
    def resume_part_size(existing: list[PartResult], part_size: int | None) -> int | None:
        """The part size a resumed upload goes on with: the given one, else its first part's."""
        if part_size is None and existing:
            first = min(existing, key=lambda p: p.number)
            if first.number == 1:
                part_size = first.size
        return part_size

    def check_resumable(self) -> PartSource:
        """The source, if a resume can read it again (else the source is closed, ValueError)."""
        src = self._source
        assert src is not None
        if not src.seekable:
            src.close()
            raise ValueError("resume needs a seekable source (a path, bytes or seekable file)")
        return src

    def existing_part(self, part: PartResult) -> Part | None:
        """Where a part found on the server lies in the source (None: not a part of it as it
        is cut here, so it is sent again)."""
        assert self._source is not None
        size = self._source.size or 0
        offset = (part.number - 1) * self.part_size
        length = min(self.part_size, size - offset)
        if length <= 0 or part.size != length:
            return None
        return Part(part.number, offset, length, None)

    def read_existing(self, where: Part) -> bytes | bytearray | memoryview:
        """The source's bytes of a part found on the server (reads the source)."""
        src = self._source
        assert src is not None
        probe = src.read_part(
            where._replace(data=src.slice(where.offset, where.length)), in_memory=True
        )
        data = probe.data
        assert data is not None and not isinstance(data, FileSection)
        return data

    def adopt(
        self, part: PartResult, data: bytes | bytearray | memoryview, verify_existing: bool
    ) -> None:
        """Count a part found on the server as uploaded if it holds `data` (or if not
        `verify_existing`), completing what it needs (e.g. its CRC32) from `data`."""
        if verify_existing and not digest_matches(part, data):
            return
        adopt = getattr(self.backend, "adopt_part", None)
        adopted = adopt(part, data) if adopt is not None else part  # e.g. fill in the CRC
        algorithm = self._part_options.get("checksum")
        if algorithm not in (None, "crc32"):  # the parts' checksums completing needs
            from .checksums import b64, new_checksum

            sums = new_checksum(algorithm)
            sums.update(data)  # type: ignore[arg-type]
            adopted = adopted._replace(checksum=None if algorithm == "md5" else b64(sums.digest()))
        self._parts[part.number] = adopted
        self._progress.add(part.size)

    def __repr__(self) -> str:
        return (
            f"<{self.label} {self.bucket}/{self.key} upload_id={self.upload_id!r} "
            f"parts={len(self._parts)}>"
        )


class MultipartUpload(UploadState):
    """Upload one object in parts, in parallel, with bounded memory.

    As a context manager (`with MultipartUpload(session, source, key) as up:`) it starts the
    upload on entry and, on a clean exit, sends whatever of `source` is not yet sent and
    completes; an exception (KeyboardInterrupt too) aborts it. As a plain object: `start()`,
    `upload_part(n, data)`, `complete()`, `abort()`, or `upload()` for all of it.
    Memory stays within `concurrency` × part size.
    """

    completed: Response | None

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

    # --- plain-object API --------------------------------------------------------------------
    def start(self) -> str:
        """Create the upload on the server (once); returns its id."""
        if self.upload_id is None:
            self.upload_id = self.backend.start(self.bucket, self.key, **self.start_arguments())
        return self.upload_id

    def upload_part(self, number: int, data: PartData) -> PartResult:
        """Upload one part (1-based `number`); thread-safe."""
        upload_id = self.check_part_number(number)
        result = self.backend.upload_part(
            self.bucket, self.key, upload_id, number, data, **self._part_options
        )
        self.record_part(number, result, len(data))
        return result

    def complete(self) -> Response:
        """Assemble the uploaded parts into the object and check the result."""
        if self.completed is not None:
            return self.completed
        parts = self.parts_to_complete()
        assert self.upload_id is not None
        try:
            response = self.backend.complete(
                self.bucket, self.key, self.upload_id, parts, **self._part_options
            )
        except NoSuchUpload:
            # A retried completion whose first attempt succeeded: check what is stored.
            response = self._already_completed(parts)
        self.finish(response, parts)
        return response

    def _already_completed(self, parts: list[PartResult]) -> Response:
        head = self.backend.head_object(self.key, bucket=self.bucket, **self.sse_arguments())
        return self.completed_head(head, parts)  # type: ignore[no-any-return]

    def abort(self) -> None:
        """Abort the upload and delete its parts (safe to call more than once)."""
        if not self.needs_abort:
            return
        assert self.upload_id is not None
        self.backend.abort(self.bucket, self.key, self.upload_id)
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
        grow = self.grows_parts()
        with self._lock:
            done = set(self._parts)
        slots = threading.BoundedSemaphore(self.concurrency)
        failed = threading.Event()
        futures: list[Future[PartResult]] = []
        buffers = PartBuffers()

        def send(part: Part) -> PartResult:
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
                    self.check_part_count(part)
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
        backend = backend_of(session)
        bucket = backend.bucket(bucket)
        existing = backend.list_parts(bucket, key, upload_id)
        part_size = cls.resume_part_size(existing, part_size)
        upload = cls(
            session, source, key, bucket, part_size, concurrency, progress=progress,
            upload_id=upload_id, checksum=checksum, sse_customer_key=sse_customer_key,
        )  # fmt: skip
        upload.check_resumable()
        for part in existing:
            where = upload.existing_part(part)
            if where is not None:  # else not a part of this source as we cut it: sent again
                upload.adopt(part, upload.read_existing(where), verify_existing)
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


class _Cancelled(Exception):
    """A queued part skipped because another part already failed."""
