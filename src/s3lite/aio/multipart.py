"""Multipart uploads on the event loop: the sync `MultipartUpload`'s planning, checks and
resume (`multipart.UploadState`), with the parts sent as concurrent tasks (at most
`concurrency` in flight) through an async session's `multipart_backend` (`start`,
`upload_part`, `complete`, `abort`, `list_parts`, all coroutines).

Parts of a file are read off the loop into a few reused buffers. Any failure, and the
cancellation of the task running the upload, stops the parts in flight and aborts the upload
(the abort runs to its end even as the task is being cancelled), so no orphan parts remain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..errors import NoSuchUpload, S3LiteError
from ..multipart import MultipartUpload, UploadState, backend_of
from ..parts import (
    FileSection,
    Part,
    PartBuffers,
    PartLimits,
    PartResult,
    PartSource,
    stray_uploads,
)
from .docs import mirrors
from .offload import Offload, run_to_end

if TYPE_CHECKING:
    from ..listing import UploadInfo
    from ..parts import PartData
    from ..progress import ProgressCallback

__all__ = ["AsyncMultipartBackend", "AsyncMultipartUpload"]

log = logging.getLogger("s3lite")


class AsyncMultipartBackend(PartLimits, Protocol):
    """The multipart primitives of an async session (its `multipart_backend`):
    `multipart.MultipartBackend`'s, as coroutines (`bucket` and `now` stay plain calls)."""

    def bucket(self, name: str | None) -> str: ...

    async def start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
    ) -> str: ...

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: PartData
    ) -> PartResult: ...

    async def complete(
        self, bucket: str, key: str, upload_id: str, parts: list[PartResult]
    ) -> Any: ...

    async def abort(self, bucket: str, key: str, upload_id: str) -> None: ...

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]: ...

    async def head_object(self, key: str, *, bucket: str | None = None) -> Any: ...

    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> AsyncIterable[UploadInfo]: ...

    def now(self) -> float: ...


class AsyncMultipartUpload(UploadState):
    """Upload one object in parts, concurrently on the event loop, with bounded memory.

    `async with AsyncMultipartUpload(session, source, key) as up:` starts the upload on entry
    and, on a clean exit, sends whatever of `source` is not yet sent and completes; an
    exception (or the task's cancellation) aborts it. As a plain object: `await start()`,
    `await upload_part(n, data)`, `await complete()`, `await abort()`, or `await upload()`
    for all of it. Memory stays within `concurrency` × part size. The arguments are
    `MultipartUpload`'s.
    """

    label = "AsyncMultipartUpload"

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
        super().__init__(
            session, source, key, bucket, part_size, concurrency, metadata, content_type,
            progress, headers=headers, size=size, upload_id=upload_id, checksum=checksum,
            sse_customer_key=sse_customer_key,
        )  # fmt: skip
        self._calls = cast("AsyncMultipartBackend", self.backend)
        self._offload = Offload()

    # --- plain-object API --------------------------------------------------------------------
    @mirrors(MultipartUpload.start)
    async def start(self) -> str:
        if self.upload_id is None:
            started, clock = self._calls.now(), time.monotonic()
            try:
                self.upload_id = await self._calls.start(
                    self.bucket, self.key, **self.start_arguments()
                )
            except asyncio.CancelledError:
                # The request may have reached the server: abort what it may have started.
                await run_to_end(self._abort_strays(started, time.monotonic() - clock))
                raise
        return self.upload_id

    @mirrors(MultipartUpload.upload_part)
    async def upload_part(self, number: int, data: PartData) -> PartResult:
        upload_id = self.check_part_number(number)
        result = await self._calls.upload_part(
            self.bucket, self.key, upload_id, number, data, **self._part_options
        )
        self.record_part(number, result, len(data))
        return result

    @mirrors(MultipartUpload.complete)
    async def complete(self) -> Any:
        if self.completed is not None:
            return self.completed
        parts = self.parts_to_complete()
        assert self.upload_id is not None
        try:
            response = await self._calls.complete(
                self.bucket, self.key, self.upload_id, parts, **self._part_options
            )
        except NoSuchUpload:
            # A retried completion whose first attempt succeeded: check what is stored.
            head = await self._calls.head_object(
                self.key, bucket=self.bucket, **self.sse_arguments()
            )
            response = self.completed_head(head, parts)
        self.finish(response, parts)
        return response

    @mirrors(MultipartUpload.abort)
    async def abort(self) -> None:
        if not self.needs_abort:
            return
        assert self.upload_id is not None
        await self._calls.abort(self.bucket, self.key, self.upload_id)
        self.aborted = True

    # --- whole-source upload -------------------------------------------------------------------
    async def upload(self) -> Any:
        """Start (if needed), send every part of the source not yet sent, complete.

        Any failure, the task's cancellation included, aborts the upload before it propagates.
        """
        source = self._source
        if source is None:
            raise ValueError("no source to upload")
        try:
            await self.start()
            await self._send_all(source)
            return await self.complete()
        except BaseException:
            await run_to_end(self._abort_quietly())
            raise
        finally:
            await self._close_source()

    async def _send_all(self, source: PartSource) -> None:
        """Send the source's parts not yet sent as tasks, at most `concurrency` at a time;
        the first failure stops the rest (cancelled, and awaited before it is raised)."""
        buffers = PartBuffers()
        slots = asyncio.Semaphore(self.concurrency)
        parts = source.parts(self.part_size, self.grows_parts(), set(self._parts), buffers)
        tasks: list[asyncio.Task[PartResult]] = []
        failed: list[asyncio.Task[PartResult]] = []

        def note(task: asyncio.Task[PartResult]) -> None:
            if not task.cancelled() and task.exception() is not None:
                failed.append(task)

        try:
            while True:
                await slots.acquire()
                if failed:
                    break  # a part failed: stop reading the source
                # A path's parts are read by their task; other sources read as they are cut.
                if source.path is not None:
                    part = next(parts, None)
                else:
                    part = await self._offload.run(next, parts, None)
                if part is None:
                    break
                self.check_part_count(part)
                task = asyncio.create_task(self._send(source, part, buffers, slots))
                task.add_done_callback(note)
                tasks.append(task)
            if tasks and not failed:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            if failed:
                raise cast("BaseException", failed[0].exception())
        except BaseException:
            for task in tasks:
                task.cancel()
            if tasks:
                await run_to_end(asyncio.gather(*tasks, return_exceptions=True))
            raise

    async def _send(
        self, source: PartSource, part: Part, buffers: PartBuffers, slots: asyncio.Semaphore
    ) -> PartResult:
        buffer = part.buffer
        reusable = True
        try:
            data = part.data
            if data is None:  # a section of a path: read into a pooled buffer, off the loop
                assert source.fd is not None
                buffer = buffers.get(part.length)
                view = memoryview(buffer)[: part.length]
                await self._offload.run(_read_section, source.fd, part, view)
                data = view
            return await self.upload_part(part.number, data)
        except asyncio.CancelledError:
            reusable = False  # a read may still be filling it
            raise
        finally:
            if reusable:
                buffers.put(buffer)
            slots.release()

    async def _abort_strays(self, started: float, elapsed: float) -> None:
        """Abort the uploads of exactly this key started within a cancelled start's window
        (its id never came back); best effort, as `multipart.abort_strays`."""
        try:
            listing = self._calls.list_multipart_uploads(self.key, bucket=self.bucket)
            uploads = [upload async for upload in listing]
            for upload_id in stray_uploads(uploads, self.key, None, started, elapsed):
                await self._calls.abort(self.bucket, self.key, upload_id)
        except (S3LiteError, AttributeError, TypeError) as exc:
            log.warning(
                "could not look for uploads of %s left by a cancelled start: %s", self.key, exc
            )

    async def _abort_quietly(self) -> None:
        try:
            await self.abort()
        except Exception:
            log.warning("could not abort multipart upload %s of %s", self.upload_id, self.key)

    async def _close_source(self) -> None:
        """Close the source once no read of it is still running."""
        try:
            await run_to_end(self._offload.settle())
        finally:
            if self._source is not None:
                self._source.close()

    # --- resume ------------------------------------------------------------------------------
    @classmethod
    @mirrors(MultipartUpload.resume)
    async def resume(
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
    ) -> Any:
        backend = cast("AsyncMultipartBackend", backend_of(session))
        bucket = backend.bucket(bucket)
        existing = await backend.list_parts(bucket, key, upload_id)
        part_size = cls.resume_part_size(existing, part_size)
        upload = cls(
            session, source, key, bucket, part_size, concurrency, progress=progress,
            upload_id=upload_id, checksum=checksum, sse_customer_key=sse_customer_key,
        )  # fmt: skip
        upload.check_resumable()
        try:
            for part in existing:
                where = upload.existing_part(part)
                if where is not None:  # else not a part of this source as we cut it: sent again
                    await upload._offload.run(upload._adopt_existing, part, where, verify_existing)
        except BaseException:
            await upload._close_source()
            raise
        return await upload.upload()

    def _adopt_existing(self, part: PartResult, where: Part, verify_existing: bool) -> None:
        """Read the source's bytes of a part found on the server and adopt it (in a thread)."""
        self.adopt(part, self.read_existing(where), verify_existing)

    # --- context manager -----------------------------------------------------------------------
    async def __aenter__(self) -> AsyncMultipartUpload:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            await run_to_end(self._abort_quietly())
            await self._close_source()
            return
        if self.completed is not None or self.aborted:
            return
        if self._source is not None:
            await self.upload()
        else:
            try:
                await self.complete()
            except BaseException:
                await run_to_end(self._abort_quietly())
                raise


def _read_section(fd: int, part: Part, view: memoryview) -> None:
    """Fill `view` with the part's bytes of the file `fd` (ValueError if the file shrank)."""
    section = FileSection(fd, part.offset, part.length)
    got = 0
    while got < len(view):
        got += section.readinto(view[got:])
