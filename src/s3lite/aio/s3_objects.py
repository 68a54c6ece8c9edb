"""AsyncS3Session's object calls, as coroutines: put, get, head, delete (one or many), copy
(in concurrent parts when large), and listings (async iterators).

Each runs the operation (`s3lite.s3_requests` and its sibling modules) the sync method
runs; the docstrings are the sync methods' (`S3ObjectsMixin`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

from .. import s3_delete_requests, s3_listing_requests, s3_requests
from ..s3_multipart_requests import CopyInParts
from ..s3_objects import S3ObjectsMixin
from .docs import mirrors
from .s3_driver import AsyncS3Driver

if TYPE_CHECKING:
    from ..deletes import DeleteResult
    from ..listing import ObjectInfo, VersionInfo
    from .body import AsyncBodyLike
    from .listing import AsyncListing
    from .response import AsyncResponse

__all__ = ["BODY_NOTE", "AsyncS3ObjectsMixin"]

#: What the async `put_object` (and `request`) take besides the sync bodies.
BODY_NOTE = """On the async API `body` may also be an async iterable of bytes: with its
`content_length` given it is sent as it comes (UNSIGNED-PAYLOAD: give a `checksum` to have the
bytes verified, or rely on TLS); without it, or when a checksum or 'signed'/'streaming'
payloads need the bytes first, it is spooled (memory, then a temporary file) and sent as a
file is."""


class AsyncS3ObjectsMixin(AsyncS3Driver):
    """Objects: put_object, get_object, head_object, part_size_of, delete_object(s),
    copy_object; listings: list_objects, list_object_versions (awaitable)."""

    @mirrors(S3ObjectsMixin.put_object, BODY_NOTE)
    async def put_object(
        self,
        key: str,
        body: AsyncBodyLike,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        *,
        bucket: str | None = None,
        cache_control: str | None = None,
        content_disposition: str | None = None,
        content_encoding: str | None = None,
        content_language: str | None = None,
        expires: _dt.datetime | str | None = None,
        acl: str | None = None,
        storage_class: str | None = None,
        headers: Mapping[str, str] | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
        checksum: str | None = None,
        content_length: int | None = None,
        sse_customer_key: bytes | str | None = None,
    ) -> AsyncResponse:
        bucket, hdrs = s3_requests.put_object_headers(
            self._endpoint, key, metadata, content_type, bucket=bucket,
            cache_control=cache_control, content_disposition=content_disposition,
            content_encoding=content_encoding, content_language=content_language,
            expires=expires, acl=acl, storage_class=storage_class, headers=headers,
            if_none_match=if_none_match, if_match=if_match, sse_customer_key=sse_customer_key,
        )  # fmt: skip
        prepared, spool = await self._prepare_body(body, content_length, checksum)
        try:
            return await self._respond(
                s3_requests.put_object(self._endpoint, bucket, key, hdrs, prepared)
            )
        finally:
            if spool is not None:
                spool.close()

    @mirrors(S3ObjectsMixin.get_object)
    async def get_object(
        self,
        key: str,
        version_id: str | None = None,
        range_start: int | None = None,
        range_end: int | None = None,
        *,
        bucket: str | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: _dt.datetime | str | None = None,
        if_unmodified_since: _dt.datetime | str | None = None,
        stream: bool | None = None,
        headers: Mapping[str, str] | None = None,
        resume: bool = True,
        max_size: int | None = None,
        sse_customer_key: bytes | str | None = None,
    ) -> AsyncResponse:
        return await self._respond(
            s3_requests.get_object(
                self._endpoint, key, version_id, range_start, range_end, bucket=bucket,
                if_match=if_match, if_none_match=if_none_match,
                if_modified_since=if_modified_since, if_unmodified_since=if_unmodified_since,
                stream=self.stream if stream is None else stream, headers=headers,
                resume=resume, max_size=max_size, sse_customer_key=sse_customer_key,
            )
        )  # fmt: skip

    @mirrors(S3ObjectsMixin.head_object)
    async def head_object(
        self,
        key: str,
        version_id: str | None = None,
        *,
        bucket: str | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        checksum_mode: bool = False,
        sse_customer_key: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncResponse:
        return await self._respond(
            s3_requests.head_object(
                self._endpoint, key, version_id, bucket=bucket, if_match=if_match,
                if_none_match=if_none_match, checksum_mode=checksum_mode,
                sse_customer_key=sse_customer_key, headers=headers,
            )
        )  # fmt: skip

    @mirrors(S3ObjectsMixin.part_size_of)
    async def part_size_of(
        self,
        key: str,
        part_number: int,
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        if_match: str | None = None,
        sse_customer_key: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> int | None:
        return await self.run(
            s3_requests.part_size_of(
                self._endpoint, key, part_number, bucket=bucket, version_id=version_id,
                if_match=if_match, sse_customer_key=sse_customer_key, headers=headers,
            )
        )  # fmt: skip

    @mirrors(S3ObjectsMixin.delete_object)
    async def delete_object(
        self,
        key: str,
        version_id: str | None = None,
        *,
        bucket: str | None = None,
        if_match: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncResponse:
        return await self._respond(
            s3_requests.delete_object(
                self._endpoint, key, version_id, bucket=bucket, if_match=if_match, headers=headers
            )
        )

    @mirrors(S3ObjectsMixin.delete_objects)
    async def delete_objects(
        self,
        keys: Iterable[str | tuple[str, str | None] | Mapping[str, Any]] | None = None,
        prefix: str | None = None,
        purge: bool = False,
        *,
        bucket: str | None = None,
        raise_errors: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> DeleteResult:
        return await self.run(
            s3_delete_requests.delete_objects(
                self._endpoint, keys, prefix, purge, bucket=bucket, raise_errors=raise_errors,
                headers=headers,
            )
        )  # fmt: skip

    @mirrors(S3ObjectsMixin.list_objects)
    def list_objects(
        self,
        prefix: str = "",
        start_after: str | None = None,
        delimiter: str | None = None,
        max_keys: int | None = None,
        *,
        bucket: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncListing[ObjectInfo]:
        return self._listing(
            s3_listing_requests.list_objects(
                self._endpoint, prefix, start_after, delimiter, max_keys, bucket=bucket,
                limit=limit, page_size=page_size, headers=headers,
            )
        )  # fmt: skip

    @mirrors(S3ObjectsMixin.list_object_versions)
    def list_object_versions(
        self,
        prefix: str = "",
        key_marker: str | None = None,
        delimiter: str | None = None,
        max_keys: int | None = None,
        *,
        bucket: str | None = None,
        version_id_marker: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncListing[VersionInfo]:
        return self._listing(
            s3_listing_requests.list_object_versions(
                self._endpoint, prefix, key_marker, delimiter, max_keys, bucket=bucket,
                version_id_marker=version_id_marker, limit=limit, page_size=page_size,
                headers=headers,
            )
        )  # fmt: skip

    @mirrors(S3ObjectsMixin.copy_object)
    async def copy_object(
        self,
        source_key: str,
        dest_key: str,
        source_version_id: str | None = None,
        source_bucket: str | None = None,
        dest_bucket: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        *,
        metadata_directive: Literal["COPY", "REPLACE"] | None = None,
        cache_control: str | None = None,
        acl: str | None = None,
        storage_class: str | None = None,
        headers: Mapping[str, str] | None = None,
        if_match: str | None = None,
        multipart_threshold: int | None = None,
        part_size: int | None = None,
        concurrency: int = 8,
        sse_customer_key: bytes | str | None = None,
        copy_source_sse_customer_key: bytes | str | None = None,
    ) -> AsyncResponse:
        result = await self.run(
            s3_requests.copy_object(
                self._endpoint, source_key, dest_key, source_version_id, source_bucket,
                dest_bucket, metadata, content_type, metadata_directive=metadata_directive,
                cache_control=cache_control, acl=acl, storage_class=storage_class,
                headers=headers, if_match=if_match, multipart_threshold=multipart_threshold,
                part_size=part_size, sse_customer_key=sse_customer_key,
                copy_source_sse_customer_key=copy_source_sse_customer_key, limits=self,
                clock=self.transport.now,
            )
        )  # fmt: skip
        if isinstance(result, CopyInParts):
            return await self._copy_in_parts(result, concurrency)
        return cast("AsyncResponse", result)
