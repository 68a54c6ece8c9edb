"""The multipart hooks of `AsyncB2Session` (coroutines with the names and arguments of
`B2LargeFilesMixin`'s), driving the operations of `s3lite.b2_large_files` on the loop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from ..b2_large_files import (
    B2LargeFilesMixin,
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
    from ..multipart import PartData
    from .response import AsyncResponse

__all__ = ["B2_ABSOLUTE_MIN_PART_SIZE", "AsyncB2LargeFilesMixin"]

log = logging.getLogger("s3lite")

#: B2's smallest part (absoluteMinimumPartSize) before an authorization says otherwise.
B2_ABSOLUTE_MIN_PART_SIZE = 5_000_000
#: ... and the part size it recommends.
B2_RECOMMENDED_PART_SIZE = 100_000_000


class AsyncB2LargeFilesMixin(AsyncB2ObjectsMixin):
    """`_mp_start`, `_mp_upload_part`, `_mp_complete`, `_mp_abort`, `_mp_list_parts` and
    `abort_multipart_uploads`."""

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

    @mirrors(B2LargeFilesMixin._mp_start)
    async def _mp_start(
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
        ctx = await self._context()
        await self._bucket_id(bucket)
        started, clock = self.transport.now(), time.monotonic()
        try:
            upload_id, response = await self.run(
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
            uploads = [u async for u in self.list_multipart_uploads(key, bucket=bucket)]
            strays = stray_uploads(uploads, key, keep, started, elapsed)
            for upload_id in strays:
                await self._mp_abort(bucket, key, upload_id)
        except S3LiteError as exc:
            log.warning("could not look for uploads of %s left by a retried start: %s", key, exc)
            return 0
        return len(strays)

    @mirrors(B2LargeFilesMixin._mp_upload_part)
    async def _mp_upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: PartData
    ) -> PartResult:
        in_memory = isinstance(data, (bytes, bytearray, memoryview))
        if not in_memory or len(memoryview(cast("bytes", data)).cast("B")) <= HASH_ON_LOOP:
            request, size, sha1 = part_request(number, data)
        else:  # hashing a large buffer would hold the loop up
            request, size, sha1 = await asyncio.to_thread(part_request, number, data)
        ctx = await self._context()
        return await self.run(upload_part(ctx, upload_id, number, request, size, sha1))

    @mirrors(B2LargeFilesMixin._mp_complete)
    async def _mp_complete(
        self, bucket: str, key: str, upload_id: str, parts: list[PartResult]
    ) -> AsyncResponse:
        response = await self.run(finish_large_file(await self._context(), upload_id, parts))
        return cast("AsyncResponse", response)

    @mirrors(B2LargeFilesMixin._mp_abort)
    async def _mp_abort(self, bucket: str, key: str, upload_id: str) -> None:
        await self.run(cancel_large_file(await self._context(), upload_id))

    @mirrors(B2LargeFilesMixin._mp_list_parts)
    async def _mp_list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]:
        return await self.run(list_parts(await self._context(), upload_id))

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
                await self._mp_abort(bucket, upload["key"], upload["upload_id"])
        return len(stale)
