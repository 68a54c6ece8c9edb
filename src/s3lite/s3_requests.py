"""S3 object operations without I/O: each builds its request(s) and reads the answers.

Every S3Session method is one of these run by the session's driver (`S3Session.run`); an
asyncio driver runs the very same ones. An operation is a generator (see `s3lite.operation`):
it yields `Call`s, is resumed with each `Response`, and returns the result. Deleting many
keys, bucket-level configuration, listings and multipart uploads have their own modules
(`s3_delete_requests`, `s3_bucket_requests`, `s3_listing_requests`, `s3_multipart_requests`),
loaded on first use: a session that only gets, puts and heads objects never imports them.

Bodies are prepared (spooled, hashed) by the driver beforehand with `s3_payload.prepare_body`:
that is I/O on local files.
"""

from __future__ import annotations

import datetime as _dt
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Literal

from .arguments import http_date, presign_seconds, query_fields, quoted_etag, range_header
from .errors import ChecksumMismatch, EntityTooLarge, InvalidRequest, ObjectChanged
from .operation import Call, Operation
from .s3_endpoint import (
    SSE_C_ALGORITHM,
    TOKEN_RE,
    S3Endpoint,
    document_call,
    guess_type,
    metadata_headers,
    ok_get,
    sse_customer_headers,
    validate_key,
)
from .signing import EMPTY_SHA256
from .transport import Body, Request

if TYPE_CHECKING:
    from .checksums import Checksum
    from .credentials_base import Credentials
    from .parts import PartLimits
    from .response import Response
    from .s3_multipart_requests import CopyInParts
    from .s3_payload import PreparedBody

__all__ = [
    "ResumableGet",
    "check_resumed",
    "copy_object",
    "custom_request",
    "custom_request_target",
    "delete_object",
    "get_object",
    "head_object",
    "object_changed",
    "part_size_of",
    "presign_url",
    "put_object",
    "put_object_headers",
    "resume_request",
    "verify_checksum",
]

_URL_RE = r"^[A-Za-z][A-Za-z0-9+.-]*://"


# --- put ---------------------------------------------------------------------------------------
def put_object_headers(
    endpoint: S3Endpoint,
    key: str,
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
    sse_customer_key: bytes | str | None = None,
) -> tuple[str, dict[str, str]]:
    """(bucket, headers) of a PutObject, every argument checked (see `S3Session.put_object`);
    the body is prepared apart (`s3_payload.prepare_body`), then `put_object` sends it."""
    validate_key(key)
    bucket = endpoint.resolve_bucket(bucket)
    hdrs: dict[str, str] = {"Content-Type": content_type or guess_type(key)}
    metadata_headers(metadata, hdrs)
    if cache_control is not None:
        hdrs["Cache-Control"] = cache_control
    if content_disposition is not None:
        hdrs["Content-Disposition"] = content_disposition
    if content_encoding is not None:
        hdrs["Content-Encoding"] = content_encoding
    if content_language is not None:
        hdrs["Content-Language"] = content_language
    if acl is not None:
        hdrs["x-amz-acl"] = acl
    if storage_class is not None:
        hdrs["x-amz-storage-class"] = storage_class
    if expires is not None:
        hdrs["Expires"] = http_date(expires)
    if if_none_match is not None:
        hdrs["If-None-Match"] = (
            if_none_match if if_none_match == "*" else quoted_etag(if_none_match)
        )
    if if_match is not None:
        hdrs["If-Match"] = quoted_etag(if_match)
    if sse_customer_key is not None:
        hdrs.update(sse_customer_headers(sse_customer_key))
    if headers:
        hdrs.update(headers)
    return bucket, hdrs


def put_object(
    endpoint: S3Endpoint, bucket: str, key: str, headers: dict[str, str], body: PreparedBody
) -> Operation[Response]:
    """PutObject of a prepared body with `put_object_headers`' headers (taken over); the
    checksum computed while preparing is sent, and checked against what the server echoes."""
    sums = body.sums
    if sums is not None:
        from .checksums import b64, header_name

        headers[header_name(sums.name)] = b64(sums.digest())
        if sums.name != "md5" and not any(
            k.lower() == "x-amz-sdk-checksum-algorithm" for k in headers
        ):  # as AWS SDKs send it: some servers store the checksum only when named here
            headers["x-amz-sdk-checksum-algorithm"] = sums.name.upper()
    request = endpoint.build(
        "PUT", bucket, key, None, headers, body.body, payload_hash=body.payload_hash
    )
    response = yield document_call(request)
    if sums is not None and not (sums.name == "md5" and SSE_C_ALGORITHM in headers):
        verify_checksum(response, sums)  # (an SSE-C object's ETag is no MD5)
    return response


def verify_checksum(response: Response, sums: Checksum) -> None:
    """ChecksumMismatch when the server stored another checksum than the one sent (for MD5:
    when a plain ETag is not the MD5 of the body)."""
    from .checksums import b64, header_name

    sent = b64(sums.digest())
    if sums.name == "md5":
        etag = response.etag
        if etag and "-" not in etag and len(etag) == 32 and etag != sums.digest().hex():
            raise ChecksumMismatch(f"ETag {etag} does not match the MD5 of the body sent")
        return
    echoed = response.headers.get(header_name(sums.name))
    if echoed is not None and echoed != sent:
        raise ChecksumMismatch(f"server stored {sums.name} {echoed}, sent {sent}")


# --- get, head, delete -------------------------------------------------------------------------
class ResumableGet(Call):
    """A streamed GET whose body the driver may resume when the connection breaks: it asks
    for the rest with `resume_request` (pinned to the first answer's ETag) and checks that
    answer with `check_resumed`. `start`, `end`: the inclusive byte range first asked for."""

    __slots__ = ("end", "start")

    def __init__(self, request: Request, start: int, end: int | None) -> None:
        super().__init__(request, stream=True, ok=ok_get)
        self.start = start
        self.end = end


def get_object(
    endpoint: S3Endpoint,
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
    stream: bool = True,
    headers: Mapping[str, str] | None = None,
    resume: bool = True,
    max_size: int | None = None,
    sse_customer_key: bytes | str | None = None,
) -> Operation[Response]:
    """GetObject (see `S3Session.get_object`); a streamed, resumable one is a `ResumableGet`."""
    validate_key(key)
    bucket = endpoint.resolve_bucket(bucket)
    hdrs: dict[str, str] = {}
    if range_start is not None or range_end is not None:
        byte_range = range_header(range_start, range_end)
        if byte_range:
            hdrs["Range"] = byte_range
    if if_match is not None:
        hdrs["If-Match"] = quoted_etag(if_match)
    if if_none_match is not None:
        hdrs["If-None-Match"] = quoted_etag(if_none_match)
    if if_modified_since is not None:
        hdrs["If-Modified-Since"] = http_date(if_modified_since)
    if if_unmodified_since is not None:
        hdrs["If-Unmodified-Since"] = http_date(if_unmodified_since)
    if sse_customer_key is not None:
        hdrs.update(sse_customer_headers(sse_customer_key))
    if headers:
        hdrs.update(headers)
    params = [("versionId", version_id)] if version_id else None
    request = endpoint.build("GET", bucket, key, params, hdrs, payload_hash=EMPTY_SHA256)
    if stream and resume:
        call: Call = ResumableGet(request, range_start or 0, range_end)
    else:
        call = Call(request, stream=stream, ok=ok_get, max_body=max_size)
    response: Response = yield call
    return response


def resume_request(
    request: Request, etag: str, start: int, end: int | None, delivered: int
) -> Request:
    """The GET for the rest of a broken body: from byte `start + delivered`, only if the
    object still has `etag` (preconditions about other states are dropped)."""
    hdrs = dict(request.headers)
    hdrs["Range"] = f"bytes={start + delivered}-{'' if end is None else end}"
    hdrs["If-Match"] = etag
    hdrs.pop("If-None-Match", None)
    hdrs.pop("If-Modified-Since", None)
    return Request(
        request.method, request.scheme, request.host, request.path, request.query,
        hdrs, Body(None), request.payload_hash, request.resource, request.params,
    )  # fmt: skip


def object_changed(etag: str, delivered: int) -> ObjectChanged:
    """The error of a resume refused because the object no longer has `etag`."""
    return ObjectChanged(
        f"object changed while it was being read (ETag no longer {etag}); "
        f"stopped after {delivered} bytes instead of splicing two versions"
    )


def check_resumed(status: int, content_range: str, offset: int) -> ObjectChanged | None:
    """None if a resumed GET's answer continues at byte `offset`; else the error to raise."""
    if status != 206 or not content_range.startswith(f"bytes {offset}-"):
        return ObjectChanged(
            f"resumed GET did not continue at byte {offset} "
            f"(status {status}, Content-Range {content_range!r})"
        )
    return None


def head_object(
    endpoint: S3Endpoint,
    key: str,
    version_id: str | None = None,
    *,
    bucket: str | None = None,
    if_match: str | None = None,
    if_none_match: str | None = None,
    checksum_mode: bool = False,
    sse_customer_key: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[Response]:
    """HeadObject (see `S3Session.head_object`)."""
    validate_key(key)
    bucket = endpoint.resolve_bucket(bucket)
    hdrs: dict[str, str] = {"x-amz-checksum-mode": "ENABLED"} if checksum_mode else {}
    if if_match is not None:
        hdrs["If-Match"] = quoted_etag(if_match)
    if if_none_match is not None:
        hdrs["If-None-Match"] = quoted_etag(if_none_match)
    if sse_customer_key is not None:
        hdrs.update(sse_customer_headers(sse_customer_key))
    if headers:
        hdrs.update(headers)
    params = [("versionId", version_id)] if version_id else None
    request = endpoint.build("HEAD", bucket, key, params, hdrs, payload_hash=EMPTY_SHA256)
    response: Response = yield document_call(request)
    return response


def part_size_of(
    endpoint: S3Endpoint,
    key: str,
    part_number: int,
    *,
    bucket: str | None = None,
    version_id: str | None = None,
    if_match: str | None = None,
    sse_customer_key: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[int | None]:
    """The size of one part of a multipart object (HEAD ?partNumber), None if not told."""
    validate_key(key)
    bucket = endpoint.resolve_bucket(bucket)
    params = [("partNumber", str(part_number))]
    if version_id:
        params.append(("versionId", version_id))
    hdrs = {"If-Match": quoted_etag(if_match)} if if_match else {}
    hdrs.update(sse_customer_headers(sse_customer_key))
    if headers:
        hdrs.update(headers)
    response = yield document_call(
        endpoint.build("HEAD", bucket, key, params, hdrs, payload_hash=EMPTY_SHA256)
    )
    if "x-amz-mp-parts-count" not in response.headers:
        return None
    return response.content_length


def delete_object(
    endpoint: S3Endpoint,
    key: str,
    version_id: str | None = None,
    *,
    bucket: str | None = None,
    if_match: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[Response]:
    """DeleteObject (see `S3Session.delete_object`)."""
    validate_key(key)
    bucket = endpoint.resolve_bucket(bucket)
    params = [("versionId", version_id)] if version_id else None
    hdrs = {"If-Match": quoted_etag(if_match)} if if_match is not None else {}
    if headers:
        hdrs.update(headers)
    request = endpoint.build("DELETE", bucket, key, params, hdrs, payload_hash=EMPTY_SHA256)
    response: Response = yield document_call(request)
    return response


# --- copy --------------------------------------------------------------------------------------
def copy_object(
    endpoint: S3Endpoint,
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
    sse_customer_key: bytes | str | None = None,
    copy_source_sse_customer_key: bytes | str | None = None,
    limits: PartLimits,
    clock: Callable[[], float] = time.time,
) -> Operation[Response | CopyInParts]:
    """CopyObject (see `S3Session.copy_object`). A source too large for it (over
    `multipart_threshold` when given, or refused as too large) gives instead the plan of a
    copy in parts (`CopyInParts`) for the driver to run; `limits`: the session's part
    limits, `clock`: the transport's clock."""
    from . import s3xml
    from .s3_multipart_requests import CopyInParts, copy_source

    validate_key(source_key)
    validate_key(dest_key)
    src_bucket = endpoint.resolve_bucket(source_bucket)
    dst_bucket = endpoint.resolve_bucket(dest_bucket)
    hdrs = {"x-amz-copy-source": copy_source(src_bucket, source_key, source_version_id)}
    if metadata_directive is None:
        metadata_directive = (
            "REPLACE" if metadata is not None or content_type is not None else "COPY"
        )
    if metadata_directive not in ("COPY", "REPLACE"):
        raise ValueError("metadata_directive must be 'COPY' or 'REPLACE'")
    hdrs["x-amz-metadata-directive"] = metadata_directive
    if metadata_directive == "REPLACE":
        hdrs["Content-Type"] = content_type or guess_type(dest_key)
        metadata_headers(metadata, hdrs)
    if cache_control is not None:
        hdrs["Cache-Control"] = cache_control
    if acl is not None:
        hdrs["x-amz-acl"] = acl
    if storage_class is not None:
        hdrs["x-amz-storage-class"] = storage_class
    if if_match is not None:
        hdrs["x-amz-copy-source-if-match"] = quoted_etag(if_match)
    sse = sse_customer_headers(sse_customer_key)
    sse.update(sse_customer_headers(copy_source_sse_customer_key, copy_source=True))
    hdrs.update(sse)
    if headers:
        hdrs.update(headers)

    def source_head() -> Operation[Response]:
        return head_object(
            endpoint, source_key, bucket=src_bucket, version_id=source_version_id,
            if_match=if_match, sse_customer_key=copy_source_sse_customer_key,
        )  # fmt: skip

    def in_parts(head: Response) -> CopyInParts:
        return CopyInParts(
            endpoint, head, limits, source_bucket=src_bucket, source_key=source_key,
            source_version_id=source_version_id, dest_bucket=dst_bucket, dest_key=dest_key,
            directive=metadata_directive, metadata=metadata, content_type=content_type,
            headers=hdrs, if_match=if_match, part_size=part_size, part_headers=sse, clock=clock,
        )  # fmt: skip

    if multipart_threshold is not None:
        head = yield from source_head()
        if (head.content_length or 0) > multipart_threshold:
            return in_parts(head)
    request = endpoint.build("PUT", dst_bucket, dest_key, None, dict(hdrs), b"")
    try:
        response = yield document_call(request)
    except (EntityTooLarge, InvalidRequest) as exc:
        if "larger than the maximum" not in exc.message and not isinstance(exc, EntityTooLarge):
            raise
        head = yield from source_head()
        return in_parts(head)
    etag, last_modified = s3xml.parse_copy_result(response.data)
    response._override("etag", etag)
    response._override("last_modified", last_modified)
    return response


# --- any request -------------------------------------------------------------------------------
def custom_request_target(
    endpoint: S3Endpoint,
    method: str,
    url_or_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    fields: Mapping[str, str | int | None] | Iterable[tuple[str, str]] | None = None,
    *,
    bucket: str | None = None,
) -> tuple[str, str | None, str | None, list[tuple[str, str]], dict[str, str]]:
    """(method, bucket, key, query, headers) of `S3Session.request`, every argument checked
    (a URL must be on this endpoint); the body is prepared apart, then `custom_request`."""
    if not isinstance(method, str) or not re.match(TOKEN_RE, method):
        raise ValueError(f"method must be an HTTP method name, got {method!r}")
    method = method.upper()
    params: list[tuple[str, str]] = []
    target: str | None
    key: str | None
    if isinstance(url_or_key, str) and re.match(_URL_RE, url_or_key):
        if bucket is not None:
            raise ValueError("pass a full URL or bucket=, not both")
        target, key, params = endpoint.own_url(url_or_key)
    else:
        key = validate_key(url_or_key) if url_or_key is not None else None
        target = endpoint.resolve_bucket(bucket)
    params.extend(query_fields(fields))
    hdrs = dict(headers or {})
    if any(name.lower() == "host" for name in hdrs):
        raise ValueError("the Host header comes from the endpoint; do not pass one")
    return method, target, key, params, hdrs


def custom_request(
    endpoint: S3Endpoint,
    method: str,
    bucket: str | None,
    key: str | None,
    params: list[tuple[str, str]],
    headers: dict[str, str],
    body: PreparedBody,
    *,
    stream: bool = False,
) -> Operation[Response]:
    """Any request on the endpoint, as `custom_request_target` checked it."""
    prepared = body.body
    if method not in ("PUT", "POST") and prepared.length:
        headers["Content-Length"] = str(prepared.length)
    request = endpoint.build(
        method, bucket, key, params, headers, prepared, payload_hash=body.payload_hash
    )
    response: Response = yield document_call(request) if not stream else Call(request, stream=True)
    return response


# --- presigned URLs ----------------------------------------------------------------------------
def presign_url(
    endpoint: S3Endpoint,
    credentials: Callable[[], Credentials | None],
    now: float,
    method: str,
    key: str,
    expires_in: int | _dt.timedelta = 3600,
    *,
    bucket: str | None = None,
    version_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> str:
    """A presigned URL (see `S3Session.presign`), signed at time `now` with what
    `credentials()` gives once the arguments are checked (None: anonymous, refused)."""
    method = method.upper()
    if method not in ("GET", "PUT", "HEAD", "DELETE"):
        raise ValueError(f"presign supports GET, PUT, HEAD and DELETE, not {method!r}")
    validate_key(key)
    seconds = presign_seconds(expires_in)
    bucket = endpoint.resolve_bucket(bucket)
    creds = credentials()
    if creds is None:
        raise ValueError("presigning needs credentials; this session is anonymous")
    host, path, resource = endpoint.locate(bucket, key)
    query = list((params or {}).items())
    if version_id:
        query.append(("versionId", version_id))
    if endpoint.signature_version == "s3":
        from .signing import presign_v2

        return presign_v2(
            creds.access_key, creds.secret_key, method, endpoint.scheme, host, path, resource,
            query, int(now) + seconds, session_token=creds.token,
        )  # fmt: skip
    from .signing import SigV4Context, amz_date, presign_v4

    ctx = SigV4Context(
        creds.access_key, creds.secret_key, endpoint.region, "s3", amz_date(now), creds.token
    )  # fmt: skip
    url, _ = presign_v4(ctx, method, endpoint.scheme, host, path, query, seconds, headers=headers)
    return url
