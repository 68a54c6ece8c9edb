"""S3Session's object calls: put, get, head, delete (one or many), copy, and listings.

Each is one operation of `s3lite.s3_requests` run by the session's driver; deleting many
keys, listing and copying in parts import their operations' modules on first use.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from . import s3_requests
from .response import Response
from .s3_driver import S3Driver

if TYPE_CHECKING:
    from .deletes import DeleteResult
    from .listing import Listing, ObjectInfo, VersionInfo
    from .transport import BodyLike

__all__ = ["S3ObjectsMixin"]


class S3ObjectsMixin(S3Driver):
    """Objects: put_object, get_object, head_object, part_size_of, delete_object(s),
    copy_object; listings: list_objects, list_object_versions."""

    def put_object(
        self,
        key: str,
        body: BodyLike,
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
    ) -> Response:
        """Upload one object in a single PUT.

        `body` is bytes, str, a binary file object or an iterable of bytes; streams are not
        read into memory (a stream of unknown length is spooled to a temporary file first).
        `if_none_match='*'` writes only if the key is absent, `if_match=etag` only if it is
        unchanged (else `PreconditionFailed`). `checksum` ('crc32', 'crc32c', 'crc64nvme',
        'sha1', 'sha256', 'md5') is sent for the server to verify the bytes.

        `key`: the object's key. `bucket`: the bucket (default the session's). `metadata`: user
        metadata (`x-amz-meta-*`, non-ASCII values RFC 2047-encoded). `content_type`: default
        guessed from the key. `cache_control`, `content_disposition`, `content_encoding`,
        `content_language`, `expires` (a datetime or HTTP date): stored and returned as those
        headers on download. `acl`: a canned ACL; `storage_class`: e.g. 'STANDARD_IA'. `headers`:
        extra request headers (they override those set from the arguments). `content_length`: the
        size of a stream of unknown length, so it is not spooled.
        `sse_customer_key`: the SSE-C key (32 bytes, AES256) the object is written or read with.
        """
        bucket, hdrs = s3_requests.put_object_headers(
            self._endpoint, key, metadata, content_type, bucket=bucket,
            cache_control=cache_control, content_disposition=content_disposition,
            content_encoding=content_encoding, content_language=content_language,
            expires=expires, acl=acl, storage_class=storage_class, headers=headers,
            if_none_match=if_none_match, if_match=if_match, sse_customer_key=sse_customer_key,
        )  # fmt: skip
        prepared = self._prepare_body(body, content_length, checksum)
        try:
            return self.run(s3_requests.put_object(self._endpoint, bucket, key, hdrs, prepared))
        finally:
            prepared.body.close()  # a spooled body's temporary file goes now, not at GC

    def get_object(
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
    ) -> Response:
        """Download an object (or the inclusive byte range `range_start`..`range_end`).

        Streamed by default (see the session's `stream`): read it with `read()`,
        `iter_chunks()` or `data`, and close it (or use `with`). If the connection breaks
        mid-body, the stream resumes where it stopped with a ranged GET that must match the
        same ETag (`ObjectChanged` if the object was replaced meanwhile).

        `key`: the object's key. `bucket`: the bucket (default the session's). `version_id`: one
        version instead of the latest. `if_match` / `if_none_match`: an ETag the object must (not)
        have (`PreconditionFailed` / `NotModified` otherwise); `if_modified_since` /
        `if_unmodified_since`: a timezone-aware datetime or an HTTP date. `stream`: leave the body
        unread (default: the session's `stream`). `headers`: extra request headers (e.g. SSE-C).
        `resume`: resume a broken stream (True) or raise `TransportError`.
        `max_size`: with `stream=False`, the largest body read into memory (a larger one is
        refused as `MalformedResponse` while it is read); default no bound.
        `sse_customer_key`: the SSE-C key (32 bytes, AES256) the object is written or read with.
        """
        return self.run(
            s3_requests.get_object(
                self._endpoint, key, version_id, range_start, range_end, bucket=bucket,
                if_match=if_match, if_none_match=if_none_match,
                if_modified_since=if_modified_since, if_unmodified_since=if_unmodified_since,
                stream=self.stream if stream is None else stream, headers=headers,
                resume=resume, max_size=max_size, sse_customer_key=sse_customer_key,
            )
        )  # fmt: skip

    def head_object(
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
    ) -> Response:
        """The object's headers (size, type, ETag, metadata) without its body; with
        `checksum_mode`, also the checksums the server stored (`x-amz-checksum-*`).

        `key`: the object's key. `bucket`: the bucket (default the session's). `version_id`: one
        version instead of the latest. `if_match` / `if_none_match`: an ETag the object must (not)
        have.
        `sse_customer_key`: the SSE-C key (32 bytes, AES256) the object is written or read with.
        `headers`: extra request headers.
        """
        return self.run(
            s3_requests.head_object(
                self._endpoint, key, version_id, bucket=bucket, if_match=if_match,
                if_none_match=if_none_match, checksum_mode=checksum_mode,
                sse_customer_key=sse_customer_key, headers=headers,
            )
        )  # fmt: skip

    def part_size_of(
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
        """Size of part `part_number` of a multipart object (None if the server won't say).

        `key`: the object's key. `bucket`: the bucket (default the session's). `version_id`: one
        version; `if_match`: the ETag it must still have.
        `sse_customer_key`: the SSE-C key (32 bytes, AES256) the object is written or read with.
        `headers`: extra request headers.
        """
        return self.run(
            s3_requests.part_size_of(
                self._endpoint, key, part_number, bucket=bucket, version_id=version_id,
                if_match=if_match, sse_customer_key=sse_customer_key, headers=headers,
            )
        )  # fmt: skip

    def delete_object(
        self,
        key: str,
        version_id: str | None = None,
        *,
        bucket: str | None = None,
        if_match: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Delete an object (or one version of it). Deleting a missing key succeeds.

        `if_match=etag` deletes only if the object still has that ETag (`PreconditionFailed`
        otherwise; servers without conditional deletes may ignore it).

        `key`: the object's key. `version_id` (2nd positional, as in s3func): delete that
        version for good (without it, a versioned bucket gets a delete marker). `bucket`: the
        bucket (default the session's).
        `headers`: extra request headers.
        """
        return self.run(
            s3_requests.delete_object(
                self._endpoint, key, version_id, bucket=bucket, if_match=if_match, headers=headers
            )
        )

    def delete_objects(
        self,
        keys: Iterable[str | tuple[str, str | None] | Mapping[str, Any]] | None = None,
        prefix: str | None = None,
        purge: bool = False,
        *,
        bucket: str | None = None,
        raise_errors: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> DeleteResult:
        """Delete many keys (or every key under `prefix`) in batches of 1000.

        - `keys`: strings, `(key, version_id)` pairs, or dicts with `key` (and `version_id`):
          listing items work as they are. Exclusive with `prefix`.
        - `prefix`: every object whose key starts with it (`''`: the whole bucket).
        - `purge`: also delete every older version and delete marker of those keys (keys
          given with a version id delete only that version). Default False: a versioned
          bucket keeps the old versions, recoverable.
        - `bucket`: default the session's.
        - `raise_errors`: every batch is attempted, then `DeleteObjectsError` names the keys
          that failed. With False, failures are only reported in `DeleteResult.errors`.
        - `headers`: extra request headers.
        """
        from .s3_delete_requests import delete_objects

        return self.run(
            delete_objects(
                self._endpoint, keys, prefix, purge, bucket=bucket, raise_errors=raise_errors,
                headers=headers,
            )
        )  # fmt: skip

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
    ) -> Listing[ObjectInfo]:
        """List objects (ListObjectsV2), following every page lazily.

        Iterate `.iter_objects()` for dicts with key, content_length, etag,
        upload_timestamp and storage_class, or `.iter_prefixes()` for the common prefixes
        when `delimiter` is given. `prefix`, `start_after` (list keys after this one),
        `delimiter` (usually '/'), `bucket` (default the session's). `max_keys` (or its
        alias `page_size`) is the size of each page (at most 1000), as in S3 and s3func:
        every key is still listed. `limit` caps the total number of items.
        `headers`: extra request headers.
        """
        from .s3_listing_requests import list_objects

        return self._listing(
            list_objects(
                self._endpoint, prefix, start_after, delimiter, max_keys, bucket=bucket,
                limit=limit, page_size=page_size, headers=headers,
            )
        )  # fmt: skip

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
    ) -> Listing[VersionInfo]:
        """List object versions and delete markers (items add version_id, is_latest and
        delete_marker), following every page lazily.

        `prefix`: only keys starting with it. `key_marker` (s3func's `start_after`) /
        `version_id_marker`: start after that key (and version). `delimiter`: group keys into
        common prefixes (`iter_prefixes()`). `max_keys` (alias `page_size`): items per request
        (at most 1000); every item is still listed. `limit`: stop after this many items.
        `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        from .s3_listing_requests import list_object_versions

        return self._listing(
            list_object_versions(
                self._endpoint, prefix, key_marker, delimiter, max_keys, bucket=bucket,
                version_id_marker=version_id_marker, limit=limit, page_size=page_size,
                headers=headers,
            )
        )  # fmt: skip

    def copy_object(
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
    ) -> Response:
        """Copy an object server-side, within or between buckets.

        Metadata is copied unless `metadata` or `content_type` is given (then it is replaced
        by what is given: `metadata_directive='REPLACE'`). `if_match` applies to the source.
        Objects over 5 GiB (or over `multipart_threshold`, when given) are copied in parallel
        parts with UploadPartCopy.

        Positional order as s3func's: `source_key`, `dest_key`: the keys; `source_version_id`:
        copy that version; `source_bucket`, `dest_bucket`: their buckets (default the
        session's); `metadata`, `content_type`; then keyword-only: `metadata_directive` (see
        above); `cache_control`, `acl`, `storage_class`: set on the copy; `headers`: extra
        request headers. `if_match`: the ETag the source must have. `multipart_threshold`,
        `part_size`, `concurrency`: when and how a copy goes in parts.
        `sse_customer_key`: the SSE-C key (32 bytes) to encrypt the copy with;
        `copy_source_sse_customer_key`: the SSE-C key the source was written with.
        """
        result = self.run(
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
        if isinstance(result, Response):
            return result
        return self._copy_in_parts(result, concurrency)
