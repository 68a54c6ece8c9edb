"""The file objects of paths: `S3ObjectReader` (ranged GETs with read-ahead, pinned to one
version) and `S3ObjectWriter` (one PUT, or a multipart upload streamed in the background,
committed on close and aborted on failure)."""

from __future__ import annotations

import errno
import io
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import ObjectChanged, PreconditionFailed
from ..progress import ProgressCallback, ProgressReporter
from .configuration import PathConfig
from .oserrors import pathlib_error, pathlib_errors
from .pure import PureS3Path

if TYPE_CHECKING:
    from ..multipart import MultipartUpload
    from ..response import Response

__all__ = ["S3ObjectReader", "S3ObjectWriter", "TextWriter"]

log = logging.getLogger("s3lite")

MiB = 1024 * 1024
#: Ranged reads start with this many bytes and double while the reading stays sequential.
READ_WINDOW_MIN = 1 * MiB
READ_WINDOW_MAX = 32 * MiB
#: A forward seek within the open range reads and drops up to this much instead of
#: starting a new request.
SKIP_LIMIT = 256 * 1024


class S3ObjectReader(io.RawIOBase):
    """A seekable raw binary stream over ranged GETs of one object version.

    Every GET is pinned to what the first HEAD saw (If-Match on the ETag, or B2's file id),
    so a replaced object raises `ObjectChanged` instead of mixing two versions. Reads keep
    one ranged response open: the range starts at 1 MiB and doubles (up to 32 MiB) while
    reading stays sequential (read-ahead: the next bytes are already on their way), and a
    seek elsewhere starts a fresh, small range.
    """

    def __init__(
        self,
        path: PureS3Path,
        session: Any,
        head: Response,
        progress: ProgressCallback | None,
        *,
        key: str | None = None,
    ) -> None:
        super().__init__()
        self.name = str(path)
        self._session = session
        self._bucket = path.bucket
        self._key = key if key is not None else path.key
        self.size: int = head.content_length or 0
        self.etag = head.etag
        version_id = getattr(path, "version_id", None)  # a VersionedS3Path's
        self._pin: dict[str, str] = {"version_id": version_id} if version_id else {}
        if self._pin:
            pass  # one stored version: nothing can replace it
        elif getattr(session, "supports_if_match", True) and head.etag:
            self._pin["if_match"] = head.etag
        elif head.version_id:
            self._pin["version_id"] = head.version_id
        self._pos = 0
        self._response: Response | None = None
        self._response_pos = 0
        self._response_end = 0
        self._window = READ_WINDOW_MIN
        self._reporter = ProgressReporter(progress, self.size) if progress else None

    @property
    def mode(self) -> str:
        return "rb"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._pos + offset
        elif whence == io.SEEK_END:
            position = self.size + offset
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._pos = position
        return position

    def _drop(self) -> None:
        if self._response is not None:
            response, self._response = self._response, None
            response.close()

    def _open_range(self) -> None:
        sequential = self._response_end == self._pos and self._pos > 0
        self._window = min(self._window * 2, READ_WINDOW_MAX) if sequential else READ_WINDOW_MIN
        end = min(self.size, self._pos + self._window)
        try:
            with pathlib_errors(self.name):
                self._response = self._session.get_object(
                    self._key, bucket=self._bucket, range_start=self._pos, range_end=end - 1,
                    stream=True, **self._pin,
                )  # fmt: skip
        except PreconditionFailed as exc:
            raise ObjectChanged(
                f"{self.name} changed while it was being read (ETag no longer {self.etag})"
            ) from exc
        self._response_pos = self._pos
        self._response_end = end

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        view = memoryview(buffer).cast("B")
        if not len(view) or self._pos >= self.size:
            return 0
        if self._response is not None and self._response_pos != self._pos:
            gap = self._pos - self._response_pos
            if 0 < gap <= SKIP_LIMIT and self._pos < self._response_end:
                while gap:  # cheaper than a new request
                    skipped = len(self._response.read(gap))
                    if not skipped:
                        break
                    gap -= skipped
                    self._response_pos += skipped
            if self._response_pos != self._pos:
                self._drop()
        if self._response is None:
            self._open_range()
        assert self._response is not None
        want = min(len(view), self._response_end - self._pos)
        data = self._response.read(want)
        n = len(data)
        if not n:
            self._drop()
            raise OSError(errno.EIO, f"{self.name}: the response ended early")
        view[:n] = data
        self._pos += n
        self._response_pos += n
        if self._response_pos >= self._response_end:
            self._drop()  # fully read: the connection goes back to the pool
        if self._reporter is not None:
            self._reporter.add(n)
            if self._pos >= self.size:
                self._reporter.finish()
        return n

    def readall(self) -> bytes:
        """The rest of the object, read in large ranges."""
        chunks = []
        buffer = bytearray(min(max(self.size - self._pos, 0), 8 * MiB) or 1)
        while True:
            n = self.readinto(buffer)
            if not n:
                break
            chunks.append(bytes(buffer[:n]))
        return b"".join(chunks)

    def close(self) -> None:
        if not self.closed:
            self._drop()
        super().close()


class S3ObjectWriter(io.BufferedIOBase):
    """A write-only binary stream that becomes the object on `close()`.

    Up to the threshold the bytes stay in memory and end as one PUT. Past it, a multipart
    upload starts and full parts are sent in the background, at most `concurrency` at a
    time (writes wait for a free slot), so memory stays within (concurrency + 1) × part
    size. `close()` sends the last part and completes; a failed write, or leaving a `with`
    block by an exception, aborts instead (`abort()` does so explicitly): the object is
    then left as it was, and no upload remains.
    """

    def __init__(
        self,
        path: PureS3Path,
        config: PathConfig,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__()
        self.name = str(path)
        self._path = path
        self._session = config.session
        self._bucket = path.bucket
        self._key = key if key is not None else path.key
        self._fields = config.object_fields()
        mp_metadata, mp_type, self._part_headers = config.multipart_fields()
        if metadata is not None:
            merged = dict(metadata)
            merged.update(mp_metadata or {})
            self._fields["metadata"] = mp_metadata = merged
        if content_type is not None and "content_type" not in self._fields:
            self._fields["content_type"] = mp_type = content_type
        self._part_metadata = mp_metadata
        self._part_type = mp_type
        self._threshold = config.threshold
        self._concurrency = config.concurrency
        from ..multipart import plan_part_size

        self._part_size = plan_part_size(None, config.part_size, self._session)
        self._max_parts: int = self._session.multipart_max_parts
        self._max_part_size: int = self._session.multipart_max_part_size
        self._progress = config.progress_for(path)
        self._buffer = bytearray()
        self._written = 0
        self._upload: MultipartUpload | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._slots = threading.Semaphore(self._concurrency)
        self._futures: list[Future[None]] = []
        self._error: BaseException | None = None
        self._failed = False
        self._number = 0
        self._at_start = False
        self._part: bytearray | None = None  # the part being filled, and how far
        self._fill = 0
        self._free: list[bytearray] = []
        self._lock = threading.Lock()
        self._constructed = True

    #: False until `__init__` has finished: a writer whose arguments were refused has
    #: started nothing, and its finalizer's `close()` must not try to commit or abort.
    _constructed = False

    @property
    def mode(self) -> str:
        return "wb"

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return self._at_start

    def tell(self) -> int:
        """Bytes written so far."""
        return self._written

    def flush(self) -> None:
        """Nothing to do: an object appears whole, on `close()`."""
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        if self._failed:
            raise ValueError(f"{self.name}: an earlier write failed; the upload is aborted")
        view = memoryview(data).cast("B")
        size = view.nbytes
        try:
            self._raise_part_error()
            if self._upload is None:
                if len(self._buffer) + size <= self._threshold:
                    self._buffer += view
                    self._written += size
                    return size
                self._start()
            self._feed(view)
        except BaseException:
            self._failed = True
            raise
        self._written += size
        return size

    # --- parts -------------------------------------------------------------------------
    def _next_size(self) -> int:
        """Part size of the next part: doubled every 2000 parts, so an object of unknown
        size still fits in the backend's most parts."""
        from ..multipart import GROWTH_EVERY

        grown = self._part_size << min(self._number // GROWTH_EVERY, 9)
        return min(grown, self._max_part_size)

    def _start(self) -> None:
        from ..multipart import MultipartUpload

        upload = MultipartUpload(
            self._session, None, self._key, self._bucket, self._part_size, self._concurrency,
            self._part_metadata, self._part_type, self._progress, headers=self._part_headers,
        )  # fmt: skip
        with pathlib_errors(self.name):
            upload.start()
        self._upload = upload
        self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="s3lite-path-part")

    def _feed(self, view: memoryview) -> None:
        if self._buffer:  # what was held back before the upload started
            held, self._buffer = self._buffer, bytearray()
            self._fill_parts(memoryview(held))
        self._fill_parts(view)

    def _fill_parts(self, view: memoryview) -> None:
        """Copy into part buffers (allocated at their exact size, recycled once sent);
        each one that is full goes out."""
        while view.nbytes:
            if self._part is None:
                self._part = self._take_buffer(self._next_size())
                self._fill = 0
            part = self._part
            take = min(view.nbytes, len(part) - self._fill)
            part[self._fill : self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == len(part):
                self._part = None
                self._send(part, len(part))

    def _take_buffer(self, size: int) -> bytearray:
        with self._lock:
            while self._free:
                buffer = self._free.pop()
                if len(buffer) == size:
                    return buffer
        return bytearray(size)

    def _send(self, part: bytearray, length: int) -> None:
        assert self._upload is not None and self._pool is not None
        if self._number >= self._max_parts:
            raise ValueError(
                f"{self.name}: more than {self._max_parts} parts; register a larger part_size"
            )
        while not self._slots.acquire(timeout=0.5):
            self._raise_part_error()
        try:
            self._raise_part_error()
        except BaseException:
            self._slots.release()
            raise
        self._number += 1
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self._pool.submit(self._upload_part, self._number, part, length))

    def _upload_part(self, number: int, part: bytearray, length: int) -> None:
        assert self._upload is not None
        try:
            self._upload.upload_part(number, memoryview(part)[:length])
        except BaseException as exc:
            if self._error is None:
                self._error = exc
            raise
        finally:
            with self._lock:
                if len(self._free) <= self._concurrency:
                    self._free.append(part)
            self._slots.release()

    def _raise_part_error(self) -> None:
        error = self._error
        if error is None:
            return
        mapped = pathlib_error(error, self.name)
        if mapped is not None:
            raise mapped from error
        raise error

    # --- the end -------------------------------------------------------------------------
    def _commit(self) -> None:
        if self._upload is None:
            reporter = ProgressReporter(self._progress, len(self._buffer))
            with pathlib_errors(self.name):
                self._session.put_object(
                    self._key, memoryview(self._buffer), bucket=self._bucket, **self._fields
                )
            reporter.add(len(self._buffer))
            reporter.finish()
            return
        assert self._pool is not None
        if self._part is not None and self._fill:
            part, self._part = self._part, None
            self._send(part, self._fill)
        elif self._number == 0:
            self._send(bytearray(), 0)
        self._pool.shutdown(wait=True)
        self._raise_part_error()
        with pathlib_errors(self.name):
            self._upload.complete()

    def _abort(self) -> None:
        self._failed = True
        self._buffer = bytearray()
        self._part = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._upload is not None:
            try:
                self._upload.abort()
            except Exception:
                log.warning("could not abort the multipart upload of %s", self.name)

    def abort(self) -> None:
        """Discard what was written: no object is created, the upload (if any) is aborted."""
        if self.closed:
            return
        if not self._constructed:
            super().close()
            return
        try:
            self._abort()
        finally:
            super().close()

    def close(self) -> None:
        """Commit the object (or abort, after a failed write)."""
        if self.closed:
            return
        if not self._constructed:
            super().close()
            return
        try:
            if self._failed:
                self._abort()
            else:
                self._commit()
        except BaseException:
            self._abort()
            raise
        finally:
            super().close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


class TextWriter(io.TextIOWrapper):
    """TextIOWrapper whose `with` block aborts the upload when it raises (a plain
    TextIOWrapper would flush and commit the partial text)."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and isinstance(self.buffer, S3ObjectWriter):
            self.buffer.abort()
        self.close()
