"""AsyncS3Session's multipart calls, as coroutines: the primitives the async multipart engine
drives (`AsyncS3MultipartBackend`, the session's `multipart_backend`: start, upload a part,
complete, abort, list parts; the names and arguments of `S3MultipartBackend`'s), and the
uploads in progress (list, abort).

Each runs the operation of `s3lite.s3_multipart_requests` the sync method runs.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from .. import s3_multipart_requests as ops
from ..parts import FileSection
from ..s3_listing_requests import list_multipart_uploads
from ..s3_multipart import S3MultipartBackend, S3MultipartBase, S3MultipartMixin, S3PartSettings
from ..s3_payload import part_checksum_of
from .docs import mirrors
from .s3_driver import AsyncS3Driver

if TYPE_CHECKING:
    from ..listing import UploadInfo
    from ..operation import Operation
    from ..parts import PartData, PartResult
    from .listing import AsyncListing
    from .response import AsyncResponse
    from .transport import AsyncTransport

__all__ = ["AsyncS3MultipartBackend", "AsyncS3MultipartMixin", "AsyncS3MultipartSession"]

#: Parts held in memory up to this size have their checksum computed on the loop.
CHECKSUM_ON_LOOP = 256 * 1024

T = TypeVar("T")


class AsyncS3MultipartSession(S3PartSettings, Protocol):
    """The public methods of `AsyncS3Session` that `AsyncS3MultipartBackend` calls."""

    @property
    def transport(self) -> AsyncTransport: ...
    async def run(self, operation: Operation[T]) -> T: ...
    async def head_object(
        self, key: str, *, bucket: str | None = None, sse_customer_key: bytes | str | None = None
    ) -> AsyncResponse: ...
    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> AsyncListing[UploadInfo]: ...


class AsyncS3MultipartBackend(S3MultipartBase[AsyncS3MultipartSession]):
    """The multipart primitives of an `AsyncS3Session` (`session.multipart_backend`):
    `S3MultipartBackend`'s, as coroutines."""

    @mirrors(S3MultipartBackend.start)
    async def start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        checksum: bool | str = True,
    ) -> str:
        session = self._session
        return await session.run(
            ops.start_multipart(
                session.s3_endpoint, bucket, key, metadata=metadata, content_type=content_type,
                headers=headers, checksum=checksum, clock=session.transport.now,
            )
        )  # fmt: skip

    @mirrors(S3MultipartBackend.upload_part)
    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        data: PartData,
        *,
        headers: Mapping[str, str] | None = None,
        checksum: str = "crc32",
    ) -> PartResult:
        if isinstance(data, FileSection) or len(data) > CHECKSUM_ON_LOOP:
            # A file section is read once for it, a large part takes a while: off the loop.
            algorithm, value = await asyncio.to_thread(part_checksum_of, data, checksum)
        else:
            algorithm, value = part_checksum_of(data, checksum)
        return await self._session.run(
            ops.upload_part(
                self._session.s3_endpoint, bucket, key, upload_id, number, data, value,
                algorithm, headers=headers,
            )
        )  # fmt: skip

    @mirrors(S3MultipartBackend.upload_part_copy)
    async def upload_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        source_bucket: str,
        source_key: str,
        byte_range: tuple[int, int] | None,
        source_version_id: str | None,
        if_match: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> PartResult:
        return await self._session.run(
            ops.upload_part_copy(
                self._session.s3_endpoint, bucket, key, upload_id, number, source_bucket,
                source_key, byte_range, source_version_id, if_match, headers,
            )
        )  # fmt: skip

    @mirrors(S3MultipartBackend.complete)
    async def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[PartResult],
        *,
        headers: Mapping[str, str] | None = None,
        checksum: str = "crc32",
    ) -> AsyncResponse:
        # The operation's result is the response it was resumed with: here an AsyncResponse.
        response = await self._session.run(
            ops.complete_multipart(
                self._session.s3_endpoint, bucket, key, upload_id, parts, headers=headers,
                checksum=checksum,
            )
        )  # fmt: skip
        return cast("AsyncResponse", response)

    @mirrors(S3MultipartBackend.abort)
    async def abort(
        self, bucket: str, key: str, upload_id: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        await self._session.run(
            ops.abort_multipart(self._session.s3_endpoint, bucket, key, upload_id, headers=headers)
        )

    @mirrors(S3MultipartBackend.list_parts)
    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]:
        return await self._session.run(
            ops.list_parts(self._session.s3_endpoint, bucket, key, upload_id)
        )

    # --- the session's public calls the engine makes -----------------------------------------
    @mirrors(S3MultipartBackend.head_object)
    async def head_object(
        self, key: str, *, bucket: str | None = None, sse_customer_key: bytes | str | None = None
    ) -> AsyncResponse:
        return await self._session.head_object(
            key, bucket=bucket, sse_customer_key=sse_customer_key
        )

    @mirrors(S3MultipartBackend.list_multipart_uploads)
    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> AsyncListing[UploadInfo]:
        return self._session.list_multipart_uploads(prefix, bucket=bucket)

    @mirrors(S3MultipartBackend.now)
    def now(self) -> float:
        return self._session.transport.now()


class AsyncS3MultipartMixin(AsyncS3Driver):
    """Multipart uploads (`multipart_backend`, the async engine's primitives) and uploads in
    progress."""

    _multipart_backend: weakref.ReferenceType[AsyncS3MultipartBackend] | None = None

    @property
    def multipart_backend(self) -> AsyncS3MultipartBackend:
        """The primitives `AsyncMultipartUpload` drives on this session (start, upload a part,
        complete, abort, list parts, as coroutines): one object while any holds it. It refers
        to the session, the session only weakly to it (no cycle)."""
        ref = self._multipart_backend
        backend = ref() if ref is not None else None
        if backend is None:
            backend = AsyncS3MultipartBackend(cast("AsyncS3MultipartSession", self))
            self._multipart_backend = weakref.ref(backend)
        return backend

    @mirrors(S3MultipartMixin.list_multipart_uploads)
    def list_multipart_uploads(
        self,
        prefix: str = "",
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncListing[UploadInfo]:
        return self._listing(
            list_multipart_uploads(self._endpoint, prefix, bucket=bucket, headers=headers)
        )

    @mirrors(S3MultipartMixin.abort_multipart_uploads)
    async def abort_multipart_uploads(
        self,
        prefix: str = "",
        *,
        bucket: str | None = None,
        older_than: _dt.timedelta | float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        return await self.run(
            ops.abort_multipart_uploads(
                self._endpoint, prefix, bucket=bucket, older_than=older_than, headers=headers
            )
        )
