"""B2 files: upload, download, head, hide, delete and server-side copy.

Each is an operation (a generator yielding `Call`s, no I/O) with, where arguments must be
checked before anything is sent, a pure builder; `B2ObjectsMixin` drives them as
`B2Session`'s object methods.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, Literal

from .b2_bodies import prepare_upload
from .b2_calls import B2Context, api, bucket_id, download_request, get_upload_url, send_upload
from .b2_listings import B2ListingsMixin
from .b2_requests import (
    B2_DIALECT,
    apply_file,
    content_type_of,
    encode_name,
    file_info,
    fix_etag,
    json_list,
    json_str,
    ok_download,
    parse_error,
    upload_headers,
    validate_key,
)
from .errors import (
    ChecksumMismatch,
    ClientError,
    InvalidRequest,
    MalformedResponse,
    NoSuchBucket,
    NoSuchKey,
    ObjectChanged,
    PreconditionFailed,
)
from .operation import Call, Operation
from .response import Response
from .transport import BodyLike, Request

__all__ = [
    "B2ObjectsMixin",
    "copy_file",
    "copy_params",
    "delete_file",
    "delete_file_version",
    "download_headers",
    "file_version_ids",
    "get_file",
    "head_file",
    "hide_file",
    "resumed_at",
    "synthetic_response",
    "upload_file",
    "upload_request",
]


# --- operations ----------------------------------------------------------------------------------


def upload_request(
    key: str,
    body: BodyLike,
    metadata: Mapping[str, str] | None = None,
    content_type: str | None = None,
    *,
    cache_control: str | None = None,
    content_disposition: str | None = None,
    content_encoding: str | None = None,
    content_language: str | None = None,
    expires: _dt.datetime | str | None = None,
    headers: Mapping[str, str] | None = None,
    content_length: int | None = None,
) -> tuple[Request, str]:
    """A b2_upload_file request (its upload URL is filled in when it is sent) and the
    X-Bz-Content-Sha1 it carries (`hex_digits_at_end` for a stream)."""
    validate_key(key)
    info = file_info(
        metadata, cache_control=cache_control, content_disposition=content_disposition,
        content_encoding=content_encoding, content_language=content_language, expires=expires,
    )  # fmt: skip
    hdrs = upload_headers(key, info, content_type)
    if headers:
        hdrs.update(headers)
    prepared, sha1 = prepare_upload(body, content_length)
    hdrs["X-Bz-Content-Sha1"] = sha1
    assert prepared.length is not None
    hdrs["Content-Length"] = str(prepared.length)
    return Request("POST", "https", "", "", headers=hdrs, body=prepared), sha1


def upload_file(ctx: B2Context, bucket: str, request: Request, sha1: str) -> Operation[Response]:
    """b2_upload_file of an `upload_request` on a pooled upload URL of the bucket; the
    response carries the new version's fields."""
    known = yield from bucket_id(ctx, bucket)
    try:
        response, obj = yield from send_upload(
            ctx, request, "b:" + known, lambda: get_upload_url(ctx, known)
        )
    except NoSuchBucket:
        ctx.slot.forget_bucket_id(known)
        raise
    if sha1 != "hex_digits_at_end" and obj.get("contentSha1") not in (sha1, None):
        raise ChecksumMismatch(f"B2 stored SHA-1 {obj.get('contentSha1')}, sent {sha1}")
    return apply_file(response, obj)


def download_headers(
    range_start: int | None, range_end: int | None, headers: Mapping[str, str] | None
) -> dict[str, str]:
    """A download's headers: the inclusive byte range, if any, and the caller's."""
    from .arguments import range_header

    hdrs: dict[str, str] = {}
    byte_range = range_header(range_start, range_end)
    if byte_range:
        hdrs["Range"] = byte_range
    if headers:
        hdrs.update(headers)
    return hdrs


def get_file(
    ctx: B2Context,
    bucket: str,
    key: str,
    version_id: str | None,
    headers: dict[str, str],
    *,
    stream: bool,
    max_size: int | None = None,
) -> Operation[Response]:
    """Download a file by name (or by file id with `version_id`); the body streamed or read
    whole (at most `max_size` bytes)."""
    request = download_request(ctx, "GET", bucket, key, version_id, headers)
    response = yield Call(request, stream=stream, ok=ok_download, max_body=max_size)
    return fix_etag(response)


def head_file(
    ctx: B2Context, bucket: str, key: str, version_id: str | None, headers: dict[str, str]
) -> Operation[Response]:
    """The headers of a file (by name, or by file id with `version_id`), without its body."""
    response = yield Call(download_request(ctx, "HEAD", bucket, key, version_id, headers))
    return fix_etag(response)


def resumed_at(status: int, headers: Mapping[str, str], file_id: str, at: int) -> bool:
    """Whether a resumed download continues file version `file_id` at byte `at`."""
    return (
        status == 206
        and headers.get("x-bz-file-id") == file_id
        and headers.get("content-range", "").startswith(f"bytes {at}-")
    )


def hide_file(ctx: B2Context, bucket: str, key: str) -> Operation[Response]:
    """b2_hide_file: B2's delete marker; `NoSuchKey` if nothing is visible under `key`."""
    params = {"bucketId": (yield from bucket_id(ctx, bucket)), "fileName": key}
    try:
        response, obj = yield from api(ctx, "b2_hide_file", params)
    except ClientError as exc:
        if exc.code == "already_hidden":
            raise NoSuchKey(
                exc.status, exc.code, exc.message, request_id=exc.request_id, resource=key
            ) from None
        raise
    return apply_file(response, obj)


def delete_file_version(ctx: B2Context, key: str, version_id: str) -> Operation[bool]:
    """b2_delete_file_version; False if the version was not there."""
    if not isinstance(version_id, str) or not version_id:
        raise ValueError(f"version_id must be a non-empty str (a B2 file id), got {version_id!r}")
    try:
        yield from api(ctx, "b2_delete_file_version", {"fileId": version_id, "fileName": key})
    except NoSuchKey:
        return False
    return True


def file_version_ids(ctx: B2Context, bucket: str, key: str) -> Operation[list[str]]:
    """The ids of every version (and hide marker) of exactly `key` (b2_list_file_versions)."""
    known = yield from bucket_id(ctx, bucket)
    ids: list[str] = []
    start_id: str | None = None
    while True:
        params: dict[str, Any] = {
            "bucketId": known, "startFileName": key, "prefix": key, "maxFileCount": 1000,
        }  # fmt: skip
        if start_id:
            params["startFileId"] = start_id
        _, obj = yield from api(ctx, "b2_list_file_versions", params)
        for entry in json_list(obj, "files"):
            if not isinstance(entry, dict) or entry.get("fileName") != key:
                continue
            if entry.get("action") in ("upload", "hide", "copy"):
                ids.append(json_str(entry, "fileId"))
        next_name, next_id = obj.get("nextFileName"), obj.get("nextFileId")
        if next_name != key or not isinstance(next_id, str) or next_id == start_id:
            return ids
        start_id = next_id


def delete_file(
    ctx: B2Context, bucket: str, key: str, version_id: str | None
) -> Operation[Response]:
    """Delete one version, or every version of `key` (hide markers included); a 204
    response naming the last version deleted."""
    if version_id is not None:
        deleted = [version_id] if (yield from delete_file_version(ctx, key, version_id)) else []
    else:
        deleted = []
        for vid in (yield from file_version_ids(ctx, bucket, key)):
            if (yield from delete_file_version(ctx, key, vid)):
                deleted.append(vid)
    headers = {"X-Bz-File-Name": encode_name(key)}
    if deleted:
        headers["X-Bz-File-Id"] = deleted[-1]
    return synthetic_response(204, headers)


def synthetic_response(status: int, headers: Mapping[str, str]) -> Response:
    """A response for an operation that made several requests (or none)."""
    import urllib3

    raw = urllib3.HTTPResponse(
        body=b"", headers=dict(headers), status=status, preload_content=False
    )
    return Response(raw, B2_DIALECT, preload=True)


def copy_params(
    dest_key: str,
    metadata: Mapping[str, str] | None,
    content_type: str | None,
    *,
    metadata_directive: Literal["COPY", "REPLACE"] | None = None,
    cache_control: str | None = None,
    content_disposition: str | None = None,
    content_encoding: str | None = None,
    content_language: str | None = None,
    expires: _dt.datetime | str | None = None,
) -> dict[str, Any]:
    """b2_copy_file's parameters but the source: the name, and the file info and content
    type when they are replaced (`metadata_directive`, default REPLACE if any is given)."""
    if metadata_directive is None:
        metadata_directive = (
            "REPLACE" if metadata is not None or content_type is not None else "COPY"
        )
    if metadata_directive not in ("COPY", "REPLACE"):
        raise ValueError("metadata_directive must be 'COPY' or 'REPLACE'")
    params: dict[str, Any] = {"fileName": dest_key, "metadataDirective": metadata_directive}
    if metadata_directive == "REPLACE":
        params["contentType"] = content_type_of(content_type)
        params["fileInfo"] = file_info(
            metadata, cache_control=cache_control, content_disposition=content_disposition,
            content_encoding=content_encoding, content_language=content_language,
            expires=expires,
        )  # fmt: skip
    return params


def copy_file(
    ctx: B2Context,
    source_bucket: str,
    source_key: str,
    dest_bucket: str,
    params: dict[str, Any],
    *,
    source_version_id: str | None = None,
    if_match: str | None = None,
) -> Operation[Response]:
    """b2_copy_file of the source's latest version (found with a HEAD), or of
    `source_version_id`; `if_match` is checked against the SHA-1 of the very version copied."""
    file_id = source_version_id
    if file_id is None or if_match is not None:
        head = yield from head_file(ctx, source_bucket, source_key, source_version_id, {})
        file_id = head.version_id
        if not file_id:
            raise MalformedResponse("download response has no X-Bz-File-Id")
        if if_match is not None and head.etag != if_match.strip('"'):
            raise PreconditionFailed(
                412, "PreconditionFailed", f"the source's SHA-1 is {head.etag}, not {if_match}",
                resource=source_key,
            )  # fmt: skip
    params = {**params, "sourceFileId": file_id}
    if dest_bucket != source_bucket:
        params["destinationBucketId"] = yield from bucket_id(ctx, dest_bucket)
    try:
        response, obj = yield from api(ctx, "b2_copy_file", params)
    except InvalidRequest as exc:
        if source_version_id is not None and "sourceFileId" in exc.message:
            raise NoSuchKey(
                exc.status, exc.code, exc.message, request_id=exc.request_id,
                resource=source_key,
            ) from None  # fmt: skip
        raise
    return apply_file(response, obj)


# --- the sync driver -----------------------------------------------------------------------------


class B2ObjectsMixin(B2ListingsMixin):
    """The object methods of `B2Session`: each drives one operation above."""

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
        headers: Mapping[str, str] | None = None,
        content_length: int | None = None,
    ) -> Response:
        """Upload one file (b2_upload_file; at most 5 GB).

        `body` is bytes, str, a binary file object or an iterable of bytes. Streams are read
        once: their SHA-1 follows the body (`hex_digits_at_end`); a stream of unknown length
        (no `content_length`, not seekable) is spooled to a temporary file first. The content
        type is `b2/x-auto` (B2 picks it from the name) unless given; `cache_control` & co.
        are stored as B2's `b2-*` file info and come back as headers on download. Retries
        (each on a fresh upload URL) need a replayable body: bytes or a seekable file.

        `key`: the file name. `bucket`: the bucket (default the session's). `metadata`: file info
        (`x-bz-info-*`). `content_type`: default `b2/x-auto`. `cache_control`,
        `content_disposition`, `content_encoding`, `content_language`, `expires` (a datetime or HTTP
        date): stored as `b2-*` file info. `headers`: extra upload headers. `content_length`: the
        size of a stream of unknown length, so it is not spooled.
        """
        validate_key(key)
        bucket = self._bucket(bucket)
        request, sha1 = upload_request(
            key, body, metadata, content_type, cache_control=cache_control,
            content_disposition=content_disposition, content_encoding=content_encoding,
            content_language=content_language, expires=expires, headers=headers,
            content_length=content_length,
        )  # fmt: skip
        try:
            return self.run(upload_file(self._context(), bucket, request, sha1))
        finally:
            if request.body is not None:
                request.body.close()  # a spooled body's temporary file goes now, not at GC

    def get_object(
        self,
        key: str,
        version_id: str | None = None,
        range_start: int | None = None,
        range_end: int | None = None,
        *,
        bucket: str | None = None,
        stream: bool | None = None,
        headers: Mapping[str, str] | None = None,
        resume: bool = True,
        max_size: int | None = None,
    ) -> Response:
        """Download a file by name (its latest version) or, with `version_id`, by file id;
        optionally the inclusive byte range `range_start`..`range_end`.

        Streamed by default (see the session's `stream`); close it or use `with`. If the
        connection breaks mid-body, the stream resumes where it stopped with a ranged download
        of the same file id, so two versions are never spliced.

        `key`: the file name. `bucket`: the bucket (default the session's). `stream`: leave the body
        unread (default: the session's `stream`). `headers`: extra request headers. `resume`:
        resume a broken stream (True) or raise `TransportError`.
        `max_size`: with `stream=False`, the largest body read into memory (a larger one is
        refused as `MalformedResponse` while it is read); default no bound.
        """
        validate_key(key)
        bucket = self._bucket(bucket)
        hdrs = download_headers(range_start, range_end, headers)
        stream = self.stream if stream is None else stream
        ctx = self._context()
        if not stream or not resume:
            return self.run(
                get_file(ctx, bucket, key, version_id, hdrs, stream=stream, max_size=max_size)
            )
        # A resumable stream is this driver's own: the transport hands over the raw body,
        # and a break is resumed from the same file id.
        request = download_request(ctx, "GET", bucket, key, version_id, hdrs)
        raw = self.transport.send_raw(
            request, self._token_auth(), error_parser=parse_error, ok=ok_download
        )
        resumer = self._resumer(ctx, bucket, raw, range_start or 0, range_end)
        return fix_etag(
            Response(raw, B2_DIALECT, resume=resumer, max_resumes=self.transport.retry.max_attempts)
        )

    def _resumer(self, ctx: B2Context, bucket: str, first: Any, start: int, end: int | None) -> Any:
        """A function that downloads the rest of a broken body from the same file id."""
        file_id = first.headers.get("x-bz-file-id")
        if not file_id:
            return None

        def resume(delivered: int) -> Any:
            at = start + delivered
            hdrs = {"Range": f"bytes={at}-{'' if end is None else end}"}
            request = download_request(ctx, "GET", bucket, "", file_id, hdrs)
            try:
                raw = self.transport.send_raw(
                    request, self._token_auth(), error_parser=parse_error, ok=ok_download
                )
            except NoSuchKey as exc:
                raise ObjectChanged(
                    f"file version {file_id} was deleted while it was being read; stopped "
                    f"after {delivered} bytes"
                ) from exc
            if not resumed_at(raw.status, raw.headers, file_id, at):
                content_range = raw.headers.get("content-range", "")
                raw.close()
                raw.release_conn()
                raise ObjectChanged(
                    f"resumed download did not continue file {file_id} at byte {at} "
                    f"(status {raw.status}, Content-Range {content_range!r})"
                )
            return raw

        return resume

    def head_object(
        self,
        key: str,
        version_id: str | None = None,
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """The file's headers (size, type, SHA-1, file id, file info) without its body.

        `key`: the file name. `bucket`: the bucket (default the session's). `version_id`: one
        version (its file id).
        `headers`: extra request headers (B2's download headers).
        """
        validate_key(key)
        bucket = self._bucket(bucket)
        return self.run(head_file(self._context(), bucket, key, version_id, dict(headers or {})))

    def hide_object(self, key: str, *, bucket: str | None = None) -> Response:
        """Hide a file name (b2_hide_file): B2's delete marker. The versions stay; the name
        drops out of `list_objects` and downloads by name. `NoSuchKey` if nothing is visible.

        `key`: the file name. `bucket`: the bucket (default the session's).
        """
        validate_key(key)
        bucket = self._bucket(bucket)
        return self.run(hide_file(self._context(), bucket, key))

    def delete_object(
        self, key: str, version_id: str | None = None, *, bucket: str | None = None
    ) -> Response:
        """Delete one version (`version_id`, a file id) or every version of a file name,
        hide markers included. Deleting what is not there succeeds, as on S3.

        The response is the same for both (B2 has no single "delete" call): status 204, with
        `X-Bz-File-Id` of the last version deleted.

        `key`: the file name. `bucket`: the bucket (default the session's). `version_id`: delete
        only that version (file id).
        """
        validate_key(key)
        bucket = self._bucket(bucket)
        return self.run(delete_file(self._context(), bucket, key, version_id))

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
        content_disposition: str | None = None,
        content_encoding: str | None = None,
        content_language: str | None = None,
        expires: _dt.datetime | str | None = None,
        if_match: str | None = None,
    ) -> Response:
        """Copy a file server-side (b2_copy_file, up to 5 GB), within or between buckets.

        The source is its latest version, or `source_version_id`. File info and content type
        are copied unless `metadata` or `content_type` is given (then they are replaced by
        what is given: `metadata_directive='REPLACE'`). `if_match` is checked against the
        SHA-1 of the very version that is then copied (`PreconditionFailed` otherwise).

        Positional order as s3func's S3Session: `source_key`, `dest_key`: the names;
        `source_version_id`: copy that version (file id); `source_bucket`, `dest_bucket`: their
        buckets (default the session's); `metadata`, `content_type`; then keyword-only:
        `metadata_directive`: see above; `cache_control`, `content_disposition`,
        `content_encoding`, `content_language`, `expires`: set on the copy (its file info is
        then replaced).
        """
        validate_key(source_key)
        validate_key(dest_key)
        src_bucket = self._bucket(source_bucket)
        dst_bucket = self._bucket(dest_bucket)
        params = copy_params(
            dest_key, metadata, content_type, metadata_directive=metadata_directive,
            cache_control=cache_control, content_disposition=content_disposition,
            content_encoding=content_encoding, content_language=content_language,
            expires=expires,
        )  # fmt: skip
        return self.run(
            copy_file(
                self._context(), src_bucket, source_key, dst_bucket, params,
                source_version_id=source_version_id, if_match=if_match,
            )
        )  # fmt: skip
