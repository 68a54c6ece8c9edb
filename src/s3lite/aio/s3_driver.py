"""The sending half of AsyncS3Session: it runs the very operations `S3Session` runs, on an
event loop (`aio.driver.run_async`) through an `AsyncTransport`, signing with the sync
session's signers over credentials fetched off the loop (`LoopCredentials`).

The async session's mixins (objects, multipart, buckets) build on this base as the sync
ones build on `s3_driver.S3Driver`; only what touches I/O differs: sending, resuming a
broken download, running parts concurrently, and preparing bodies off the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

from ..response import S3_DIALECT
from ..s3_driver import parse_error
from ..s3_endpoint import ok_get
from ..s3_payload import SPOOL_MEMORY, PreparedBody, prepare_body
from ..s3_requests import ResumableGet, check_resumed, object_changed, resume_request
from ..s3_settings import S3EndpointSettings
from ..signing import UNSIGNED_PAYLOAD
from ..transport import Body
from .body import AsyncBody
from .driver import run_async
from .listing import AsyncListing

if TYPE_CHECKING:
    from ..listing import ListPage
    from ..operation import Call, Operation
    from ..parts import PartResult
    from ..response import Response
    from ..s3_endpoint import S3Endpoint
    from ..s3_listing_requests import Pages
    from ..s3_multipart_requests import CopyInParts
    from ..signing import SigV2Auth, SigV4Auth
    from .body import AsyncBodyLike
    from .credentials import LoopCredentials
    from .response import AsyncResponse, AsyncResumer
    from .transport import AsyncTransport

__all__ = ["AsyncS3Driver", "bounded_gather"]

T = TypeVar("T")
ItemT = TypeVar("ItemT")

#: The copy of one part, to be awaited.
PartCopy = Callable[[], Awaitable["PartResult"]]
#: Bytes of an async stream gathered before they are written to its spool file at once.
SPOOL_BATCH = 1024 * 1024


async def bounded_gather(calls: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Await every call, at most `limit` at a time, results in order. On the first failure
    (or if cancelled) the calls still running are cancelled and awaited, then it raises."""
    if limit < 1:
        raise ValueError(f"concurrency must be at least 1, got {limit!r}")
    results: list[Any] = [None] * len(calls)
    todo = iter(enumerate(calls))

    async def worker() -> None:
        for index, call in todo:
            results[index] = await call()

    workers = [asyncio.ensure_future(worker()) for _ in range(min(limit, len(calls)))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return results


def _spool_body(source: Body) -> IO[bytes]:
    """A stream of unknown length (or already partly read) in a spooled temporary file
    (called on a worker thread)."""
    import tempfile

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
    try:
        for chunk in source.chunks():
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    return spool


class AsyncS3Driver(S3EndpointSettings):
    """Runs S3 operations on an `AsyncTransport` with a signer (`await run(op)`); the
    endpoint's settings are read and set through it (`bucket`, `addressing_style`, ...)."""

    _endpoint: S3Endpoint
    _auth: SigV4Auth | SigV2Auth
    _loop_credentials: LoopCredentials
    transport: AsyncTransport
    #: Whether `get_object` streams by default.
    stream: bool
    multipart_min_part_size: int
    multipart_max_part_size: int
    multipart_max_parts: int

    # --- the driver --------------------------------------------------------------------------
    async def run(self, operation: Operation[T]) -> T:
        """Drive an I/O-free operation from `s3lite.operation` (such as those of
        `s3lite.s3_requests`) through this session's transport and signer; returns its result.

        `operation`: a generator that yields `Call`s and is resumed with their responses
        (or has their errors thrown into it).
        """
        return await run_async(operation, self._send_call)

    async def _respond(self, operation: Operation[Response]) -> AsyncResponse:
        """Run an operation whose result is the response it was resumed with: on this driver,
        the `AsyncResponse` (operations see it through what it shares with `Response`)."""
        return cast("AsyncResponse", await run_async(operation, self._send_call))

    async def _send_call(self, call: Call) -> AsyncResponse:
        credentials = self._loop_credentials
        if credentials.stale:
            await credentials.ensure()
        if type(call) is ResumableGet:
            return await self._send_resumable(call)
        request = call.request
        response = await self.transport.send(
            request,
            call.auth or self._auth,
            stream=call.stream,
            dialect=S3_DIALECT,
            error_parser=parse_error,
            ok=call.ok,
            max_body=call.max_body,
        )
        response.url = request.url
        return response

    async def _send_resumable(self, call: ResumableGet) -> AsyncResponse:
        """A streamed GET that, if the connection breaks mid-body, resumes where it stopped
        with a ranged GET pinned to the same ETag (as `S3Driver._send_resumable`)."""
        request = call.request
        auth = call.auth or self._auth
        response = await self.transport.send_raw(
            request, auth, dialect=S3_DIALECT, error_parser=parse_error, ok=ok_get
        )
        etag = response.header("etag")  # (without building the headers: the hot path)
        if etag:
            response.resume_with(self._resumer(call, etag, auth), self.transport.retry.max_attempts)
        response.url = request.url
        return response

    def _resumer(self, call: ResumableGet, etag: str, auth: Any) -> AsyncResumer:
        """A coroutine function that re-requests the rest of a broken GET, pinned to `etag`."""
        from ..errors import PreconditionFailed

        async def resume(delivered: int) -> AsyncResponse:
            retry = resume_request(call.request, etag, call.start, call.end, delivered)
            credentials = self._loop_credentials
            if credentials.stale:
                await credentials.ensure()
            try:
                raw = await self.transport.send_raw(
                    retry, auth, dialect=S3_DIALECT, error_parser=parse_error, ok=ok_get
                )
            except PreconditionFailed as exc:
                raise object_changed(etag, delivered) from exc
            problem = check_resumed(
                raw.status, raw.headers.get("content-range", ""), call.start + delivered
            )
            if problem is not None:
                raw.close()
                raise problem
            return raw

        return resume

    def _listing(self, pages: Pages[ItemT]) -> AsyncListing[ItemT]:
        """A lazy async listing whose pages are fetched by running `pages.page` operations."""

        def fetch(marker: str | None, version: str | None) -> Awaitable[ListPage[ItemT]]:
            return self.run(pages.page(marker, version))

        return AsyncListing(fetch, pages.limit)

    async def _copy_in_parts(self, plan: CopyInParts, concurrency: int) -> AsyncResponse:
        """Run a copy in parts: `concurrency` part copies at a time; aborted on failure or
        cancellation."""
        upload_id = await self.run(plan.start())

        def copy_part(numbered: tuple[int, tuple[int, int] | None]) -> PartCopy:
            return lambda: self.run(plan.part(upload_id, *numbered))

        try:
            parts = await bounded_gather([copy_part(n) for n in plan.ranges], concurrency)
            return await self._respond(plan.complete(upload_id, parts))
        except BaseException:
            await self.run(plan.abort(upload_id))
            raise

    # --- bodies --------------------------------------------------------------------------------
    async def _prepare_body(
        self, body: AsyncBodyLike | Body, length: int | None, checksum: str | None
    ) -> tuple[PreparedBody, IO[bytes] | None]:
        """A body ready to send (see `s3_payload.prepare_body`), and the spool file to close
        once it is sent (or None). Bytes are prepared here; a file or iterable that must be
        hashed, on a worker thread; a stream of unknown length is spooled there first, then
        sent as a file is. An async iterable of known length goes out as it comes,
        UNSIGNED-PAYLOAD, unless a checksum, 'signed' or 'streaming' payloads ask for its
        bytes first: then (and when its length is unknown) it is spooled (memory, then a
        temporary file) and sent as a file is."""
        mode = self._endpoint.payload_signing
        if not isinstance(body, AsyncIterable):
            source = body if isinstance(body, Body) else Body(body, length)  # nothing read yet
            needs_bytes = checksum is not None or mode == "signed"
            if source.is_bytes or (source.length is not None and not needs_bytes):
                return prepare_body(source, length, checksum, mode), None
            if source.length is not None and source.replayable:
                return await asyncio.to_thread(prepare_body, source, length, checksum, mode), None
            spool = await asyncio.to_thread(_spool_body, source)
        elif length is not None and checksum is None and mode in ("auto", "unsigned"):
            prepared = prepare_body(AsyncBody(body, length), length, None, mode)
            return prepared._replace(payload_hash=UNSIGNED_PAYLOAD), None
        else:
            spool = await self._spool(body)
        try:
            size = spool.tell()
            spool.seek(0)
            prepared = await asyncio.to_thread(prepare_body, spool, size, checksum, mode)
        except BaseException:
            spool.close()
            raise
        return prepared, spool

    @staticmethod
    async def _spool(source: AsyncIterable[bytes]) -> IO[bytes]:
        """The whole stream in a spooled temporary file (written on a worker thread)."""
        import tempfile

        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
        try:
            pending: list[bytes] = []
            size = 0
            async for chunk in source:
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise TypeError(f"body iterator yielded {type(chunk).__name__}, not bytes")
                pending.append(bytes(chunk))
                size += len(chunk)
                if size >= SPOOL_BATCH:
                    await asyncio.to_thread(spool.write, b"".join(pending))
                    pending, size = [], 0
            if pending:
                await asyncio.to_thread(spool.write, b"".join(pending))
        except BaseException:
            spool.close()
            raise
        return spool
