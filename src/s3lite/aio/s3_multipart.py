"""AsyncS3Session's multipart calls, as coroutines: the hooks the async multipart engine drives
(start, upload a part, complete, abort, list parts; the same names and arguments as
`S3MultipartMixin`'s), and the uploads in progress (list, abort).

Each runs the operation of `s3lite.s3_multipart_requests` the sync method runs.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .. import s3_multipart_requests as ops
from ..parts import FileSection
from ..s3_listing_requests import list_multipart_uploads
from ..s3_multipart import S3MultipartMixin
from ..s3_payload import part_checksum_of
from .docs import mirrors
from .s3_driver import AsyncS3Driver

if TYPE_CHECKING:
    from ..listing import UploadInfo
    from ..parts import PartData, PartResult
    from ..response import Response
    from .listing import AsyncListing
    from .response import AsyncResponse

__all__ = ["AsyncS3MultipartMixin"]

#: Parts held in memory up to this size have their checksum computed on the loop.
CHECKSUM_ON_LOOP = 256 * 1024


class AsyncS3MultipartMixin(AsyncS3Driver):
    """Multipart uploads (the async engine's backend hooks) and uploads in progress."""

    async def _mp_start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        checksum: bool | str = True,
    ) -> str:
        return await self.run(
            ops.start_multipart(
                self._endpoint, bucket, key, metadata=metadata, content_type=content_type,
                headers=headers, checksum=checksum, clock=self.transport.now,
            )
        )  # fmt: skip

    async def _mp_upload_part(
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
        return await self.run(
            ops.upload_part(
                self._endpoint, bucket, key, upload_id, number, data, value, algorithm,
                headers=headers,
            )
        )  # fmt: skip

    async def _mp_upload_part_copy(
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
        return await self.run(
            ops.upload_part_copy(
                self._endpoint, bucket, key, upload_id, number, source_bucket, source_key,
                byte_range, source_version_id, if_match, headers,
            )
        )  # fmt: skip

    async def _mp_complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[PartResult],
        *,
        headers: Mapping[str, str] | None = None,
        checksum: str = "crc32",
    ) -> AsyncResponse:
        return await self._respond(
            ops.complete_multipart(
                self._endpoint, bucket, key, upload_id, parts, headers=headers, checksum=checksum
            )
        )

    async def _mp_abort(
        self, bucket: str, key: str, upload_id: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        await self.run(ops.abort_multipart(self._endpoint, bucket, key, upload_id, headers=headers))

    async def _mp_list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]:
        return await self.run(ops.list_parts(self._endpoint, bucket, key, upload_id))

    @staticmethod
    def _mp_adopt_part(part: PartResult, data: bytes | bytearray | memoryview) -> PartResult:
        return ops.adopt_part(part, data)

    @staticmethod
    def _mp_expected_etag(parts: list[PartResult]) -> str | None:
        return ops.expected_multipart_etag(parts)

    def _mp_verify(self, response: Response, parts: list[PartResult]) -> None:
        ops.verify_multipart_etag(response, parts)

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
