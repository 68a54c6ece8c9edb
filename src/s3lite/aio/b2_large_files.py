"""The multipart side of `AsyncB2Session`: its `multipart_backend` (`AsyncB2MultipartBackend`,
coroutines with the names and arguments of `B2MultipartBackend`'s) driving the operations of
`s3lite.b2_large_files` on the loop, its part sizes, and the cancelling of unfinished large
files."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from ..b2_calls import B2Context, bucket_id
from ..b2_large_files import (
    B2LargeFilesMixin,
    B2MultipartBackend,
    B2MultipartBase,
    B2PartSettings,
    cancel_large_file,
    finish_large_file,
    list_parts,
    part_request,
    start_large_file,
    upload_part,
)
from ..b2_requests import content_type_of, file_info, validate_key
from ..errors import NoSuchUpload, S3LiteError
from ..multipart import PartResult
from ..parts import start_was_ambiguous, stray_uploads
from .b2_objects import HASH_ON_LOOP, AsyncB2ObjectsMixin
from .docs import mirrors

if TYPE_CHECKING:
    from ..listing import UploadInfo
    from ..multipart import PartData
    from ..operation import Operation
    from .listing import AsyncListing
    from .response import AsyncResponse
    from .transport import AsyncTransport

__all__ = [
    "B2_ABSOLUTE_MIN_PART_SIZE",
    "AsyncB2LargeFilesMixin",
    "AsyncB2MultipartBackend",
    "AsyncB2MultipartSession",
]

log = logging.getLogger("s3lite")

#: B2's smallest part (absoluteMinimumPartSize) before an authorization says otherwise.
B2_ABSOLUTE_MIN_PART_SIZE = 5_000_000
#: ... and the part size it recommends.
B2_RECOMMENDED_PART_SIZE = 100_000_000

T = TypeVar("T")


class AsyncB2MultipartSession(B2PartSettings, Protocol):
    """The public methods of `AsyncB2Session` that `AsyncB2MultipartBackend` calls."""

    @property
    def transport(self) -> AsyncTransport: ...
    async def run(self, operation: Operation[T]) -> T: ...
    async def head_object(self, key: str, *, bucket: str | None = None) -> AsyncResponse: ...
    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> AsyncListing[UploadInfo]: ...


class AsyncB2MultipartBackend(B2MultipartBase[AsyncB2MultipartSession]):
    """The multipart primitives of an `AsyncB2Session` (`session.multipart_backend`):
    `B2MultipartBackend`'s, as coroutines.

    `bucket` resolves a bucket name as the session does (without I/O), `resolve_bucket` too,
    authorizing first when only the authorization can name it; `context` gives the session's
    `B2Context`.
    """

    def __init__(
        self,
        session: AsyncB2MultipartSession,
        *,
        bucket: Callable[[str | None], str],
        resolve_bucket: Callable[[str | None], Awaitable[str]],
        context: Callable[[], Awaitable[B2Context]],
    ) -> None:
        super().__init__(session, bucket)
        self._resolve_bucket = resolve_bucket
        self._context = context

    @mirrors(B2MultipartBackend.start)
    async def start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
    ) -> str:
        validate_key(key)
        bucket = await self._resolve_bucket(bucket)
        info = file_info(metadata, headers=headers)
        content_type_of(content_type)
        session = self._session
        ctx = await self._context()
        await session.run(bucket_id(ctx, bucket))  # known before the clock starts
        started, clock = session.transport.now(), time.monotonic()
        try:
            upload_id, response = await session.run(
                start_large_file(ctx, bucket, key, info, content_type)
            )
        except BaseException as exc:
            if start_was_ambiguous(exc):
                await self._abort_strays(bucket, key, None, started, time.monotonic() - clock)
            raise
        if response.attempts > 1:  # an earlier attempt may have started a large file too
            await self._abort_strays(bucket, key, upload_id, started, time.monotonic() - clock)
        return upload_id

    async def _abort_strays(
        self, bucket: str, key: str, keep: str | None, started: float, elapsed: float
    ) -> int:
        """`multipart.abort_strays` on the loop: cancel the large files of exactly `key` an
        earlier attempt of a retried start created; best effort (failures are logged)."""
        try:
            listing = self._session.list_multipart_uploads(key, bucket=bucket)
            uploads = [u async for u in listing]
            strays = stray_uploads(uploads, key, keep, started, elapsed)
            for upload_id in strays:
                await self.abort(bucket, key, upload_id)
        except S3LiteError as exc:
            log.warning("could not look for uploads of %s left by a retried start: %s", key, exc)
            return 0
        return len(strays)

    @mirrors(B2MultipartBackend.upload_part)
    async def upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: PartData
    ) -> PartResult:
        in_memory = isinstance(data, (bytes, bytearray, memoryview))
        if not in_memory or len(memoryview(cast("bytes", data)).cast("B")) <= HASH_ON_LOOP:
            request, size, sha1 = part_request(number, data)
        else:  # hashing a large buffer would hold the loop up
            request, size, sha1 = await asyncio.to_thread(part_request, number, data)
        ctx = await self._context()
        return await self._session.run(upload_part(ctx, upload_id, number, request, size, sha1))

    @mirrors(B2MultipartBackend.complete)
    async def complete(
        self, bucket: str, key: str, upload_id: str, parts: list[PartResult]
    ) -> AsyncResponse:
        ctx = await self._context()
        response = await self._session.run(finish_large_file(ctx, upload_id, parts))
        return cast("AsyncResponse", response)

    @mirrors(B2MultipartBackend.abort)
    async def abort(self, bucket: str, key: str, upload_id: str) -> None:
        await self._session.run(cancel_large_file(await self._context(), upload_id))

    @mirrors(B2MultipartBackend.list_parts)
    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]:
        return await self._session.run(list_parts(await self._context(), upload_id))

    # --- the session's public calls the engine makes -----------------------------------------
    @mirrors(B2MultipartBackend.head_object)
    async def head_object(self, key: str, *, bucket: str | None = None) -> AsyncResponse:
        return await self._session.head_object(key, bucket=bucket)

    @mirrors(B2MultipartBackend.list_multipart_uploads)
    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> AsyncListing[UploadInfo]:
        return self._session.list_multipart_uploads(prefix, bucket=bucket)

    @mirrors(B2MultipartBackend.now)
    def now(self) -> float:
        return self._session.transport.now()


class AsyncB2LargeFilesMixin(AsyncB2ObjectsMixin):
    """The multipart side of `AsyncB2Session`: its part sizes, its `multipart_backend`, and
    `abort_multipart_uploads`."""

    _multipart_backend: weakref.ReferenceType[AsyncB2MultipartBackend] | None = None

    @property
    def multipart_backend(self) -> AsyncB2MultipartBackend:
        """The primitives `AsyncMultipartUpload` drives on this session (start a large file,
        upload a part, finish, cancel, list parts, as coroutines): one object while any holds
        it. It refers to the session, the session only weakly to it (no cycle)."""
        ref = self._multipart_backend
        backend = ref() if ref is not None else None
        if backend is None:
            backend = AsyncB2MultipartBackend(
                cast("AsyncB2MultipartSession", self), bucket=self._bucket,
                resolve_bucket=self._resolve_bucket, context=self._context,
            )  # fmt: skip
            self._multipart_backend = weakref.ref(backend)
        return backend

    @property
    def multipart_min_part_size(self) -> int:
        """B2's smallest part (all but the last): b2_authorize_account's
        absoluteMinimumPartSize (B2's 5 MB before the session has authorized), unless set on
        the session."""
        if self._min_part_size is not None:
            return self._min_part_size
        account = self._slot.cached() or self._seen
        return account.min_part_size if account is not None else B2_ABSOLUTE_MIN_PART_SIZE

    @multipart_min_part_size.setter
    def multipart_min_part_size(self, value: int) -> None:
        self._min_part_size = value

    @property
    def multipart_recommended_part_size(self) -> int:
        """The part size B2 recommends, from b2_authorize_account (B2's 100 MB before the
        session has authorized)."""
        account = self._slot.cached() or self._seen
        return account.recommended_part_size if account is not None else B2_RECOMMENDED_PART_SIZE

    @mirrors(B2LargeFilesMixin.abort_multipart_uploads)
    async def abort_multipart_uploads(
        self,
        prefix: str = "",
        *,
        bucket: str | None = None,
        older_than: _dt.timedelta | float | None = None,
    ) -> int:
        bucket = await self._resolve_bucket(bucket)
        if isinstance(older_than, (int, float)):
            older_than = _dt.timedelta(seconds=older_than)
        cutoff = _dt.datetime.now(_dt.timezone.utc) - older_than if older_than else None
        stale = [
            u
            async for u in self.list_multipart_uploads(prefix, bucket=bucket)
            if cutoff is None or (u["initiated"] is not None and u["initiated"] < cutoff)
        ]
        for upload in stale:
            with contextlib.suppress(NoSuchUpload):  # finished or cancelled meanwhile
                await self.multipart_backend.abort(bucket, upload["key"], upload["upload_id"])
        return len(stale)
