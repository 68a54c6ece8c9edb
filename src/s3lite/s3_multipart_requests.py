"""S3 multipart uploads and copies in parts as operations: start, upload a part (or copy a
range into one), complete, abort, list parts and uploads; no I/O.

`CopyInParts` is the plan of a copy too large for one CopyObject: a driver starts it, runs
its part operations (concurrently if it can), completes it, and aborts it on any failure.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from . import checksums, s3xml
from .arguments import quoted_etag
from .errors import ChecksumMismatch, NoSuchUpload, S3LiteError
from .operation import Operation
from .parts import PartLimits, PartResult, part_checksum, start_was_ambiguous, stray_uploads
from .s3_endpoint import (
    S3Endpoint,
    document_call,
    guess_type,
    metadata_headers,
    validate_key,
)
from .s3_listing_requests import all_items, list_multipart_uploads
from .signing import EMPTY_SHA256, UNSIGNED_PAYLOAD
from .transport import Body

if TYPE_CHECKING:
    from .parts import PartData
    from .response import Response

__all__ = [
    "COPIED_HEADERS",
    "CopyInParts",
    "abort_multipart",
    "abort_multipart_uploads",
    "abort_strays",
    "adopt_part",
    "complete_multipart",
    "copy_source",
    "expected_multipart_etag",
    "list_parts",
    "start_multipart",
    "upload_part",
    "upload_part_copy",
    "verify_multipart_etag",
]

log = logging.getLogger("s3lite")

#: Headers of the source that a multipart copy carries over (a single CopyObject copies them).
COPIED_HEADERS = frozenset(
    {"cache-control", "content-disposition", "content-encoding", "content-language", "expires"}
)


def copy_source(bucket: str, key: str, version_id: str | None) -> str:
    """The `x-amz-copy-source` header naming an object (and version) to copy from."""
    source = f"/{bucket}/{quote(key, safe='/~')}"
    if version_id:
        source += f"?versionId={quote(version_id, safe='')}"
    return source


def start_multipart(
    endpoint: S3Endpoint,
    bucket: str,
    key: str,
    *,
    metadata: Mapping[str, str] | None,
    content_type: str | None,
    headers: Mapping[str, str] | None,
    checksum: bool | str = True,
    clock: Callable[[], float] = time.time,
) -> Operation[str]:
    """CreateMultipartUpload; returns the upload id. When the start had to be retried (an
    earlier attempt may have created an upload whose id nobody knows), the uploads of `key`
    that it left are aborted. `clock`: the transport's clock (what `Initiated` is compared
    with)."""
    validate_key(key)
    hdrs: dict[str, str] = {"Content-Type": content_type or guess_type(key)}
    metadata_headers(metadata, hdrs)
    if headers:
        hdrs.update(headers)
    algorithm = part_checksum(checksum)
    if algorithm and algorithm != "md5":  # every part then carries it; the server verifies
        hdrs["x-amz-checksum-algorithm"] = algorithm.upper()
    request = endpoint.build("POST", bucket, key, [("uploads", "")], hdrs, b"")
    started, ticks = clock(), time.monotonic()
    try:
        response = yield document_call(request)
        upload_id = s3xml.parse_initiate_multipart(response.data)
    except BaseException as exc:  # Ctrl-C included: the uploads it may have left are aborted
        if request.attempts and start_was_ambiguous(exc):
            yield from abort_strays(endpoint, bucket, key, None, started, time.monotonic() - ticks)
        raise
    if request.attempts > 1:  # an earlier attempt may have created an upload too
        yield from abort_strays(endpoint, bucket, key, upload_id, started, time.monotonic() - ticks)
    return upload_id


def abort_strays(
    endpoint: S3Endpoint,
    bucket: str,
    key: str,
    keep: str | None,
    started: float,
    elapsed: float,
) -> Operation[int]:
    """Abort the uploads of `key` that a retried start left (see `parts.stray_uploads`);
    returns how many. Best effort: a failure is logged, never raised."""
    try:
        uploads = yield from all_items(list_multipart_uploads(endpoint, key, bucket=bucket))
        strays = stray_uploads(uploads, key, keep, started, elapsed)
        for upload_id in strays:
            yield from abort_multipart(endpoint, bucket, key, upload_id)
    except S3LiteError as exc:
        log.warning("could not look for uploads of %s left by a retried start: %s", key, exc)
        return 0
    if strays:
        log.debug("aborted %d upload(s) of %s left by a retried start", len(strays), key)
    return len(strays)


def upload_part(
    endpoint: S3Endpoint,
    bucket: str,
    key: str,
    upload_id: str,
    number: int,
    data: PartData,
    checksum: str,
    algorithm: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> Operation[PartResult]:
    """UploadPart of `data` whose `algorithm` checksum (base64) is `checksum` (computed by the
    driver, see `s3_payload.part_checksum_of`); the checksum the server echoes must match."""
    size = len(data)
    # The signed checksum header protects the body; hashing it again for SigV4 is not needed.
    header = checksums.header_name(algorithm)
    hdrs = {header: checksum}
    if headers:
        hdrs.update(headers)
    params = [("partNumber", str(number)), ("uploadId", upload_id)]
    body = Body(data, size)  # type: ignore[arg-type]
    request = endpoint.build("PUT", bucket, key, params, hdrs, body, payload_hash=UNSIGNED_PAYLOAD)
    response = yield document_call(request)
    if algorithm == "md5":  # Content-MD5: the server checked it; nothing goes in the list
        return PartResult(number, size, etag=response.etag)
    echoed = response.headers.get(header)
    if echoed is not None and echoed != checksum:
        raise ChecksumMismatch(
            f"part {number}: server stored {algorithm} {echoed}, sent {checksum}"
        )
    return PartResult(number, size, etag=response.etag, checksum=checksum)


def upload_part_copy(
    endpoint: S3Endpoint,
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
) -> Operation[PartResult]:
    """UploadPartCopy of the inclusive `byte_range` of the source (None: all of it), pinned
    to the source's ETag `if_match`; `headers`: the SSE-C keys of both objects."""
    hdrs = {"x-amz-copy-source": copy_source(source_bucket, source_key, source_version_id)}
    if byte_range is not None:
        hdrs["x-amz-copy-source-range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
    if if_match:
        hdrs["x-amz-copy-source-if-match"] = quoted_etag(if_match)
    if headers:
        hdrs.update(headers)
    params = [("partNumber", str(number)), ("uploadId", upload_id)]
    response = yield document_call(endpoint.build("PUT", bucket, key, params, hdrs, b""))
    etag, _ = s3xml.parse_copy_result(response.data)
    size = 0 if byte_range is None else byte_range[1] - byte_range[0] + 1
    return PartResult(number, size, etag=etag)


def complete_multipart(
    endpoint: S3Endpoint,
    bucket: str,
    key: str,
    upload_id: str,
    parts: list[PartResult],
    *,
    headers: Mapping[str, str] | None = None,
    checksum: str = "crc32",
) -> Operation[Response]:
    """CompleteMultipartUpload; the response's etag is the completed object's."""
    algorithm = part_checksum(checksum) or "crc32"
    listed = algorithm != "md5"  # Content-MD5 parts list no checksum
    body = s3xml.complete_multipart_body(
        ((p.number, p.etag or "", p.checksum if listed else None) for p in parts), algorithm
    )
    hdrs = {"Content-Type": "application/xml"}
    if headers:
        hdrs.update(headers)
    request = endpoint.build("POST", bucket, key, [("uploadId", upload_id)], hdrs, body)
    response = yield document_call(request)
    result = s3xml.parse_complete_multipart(response.data)
    response._override("etag", result["etag"])
    return response


def abort_multipart(
    endpoint: S3Endpoint,
    bucket: str,
    key: str,
    upload_id: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> Operation[None]:
    """AbortMultipartUpload; an upload already aborted or completed is no error."""
    request = endpoint.build(
        "DELETE", bucket, key, [("uploadId", upload_id)], dict(headers) if headers else None,
        payload_hash=EMPTY_SHA256,
    )  # fmt: skip
    with contextlib.suppress(NoSuchUpload):
        yield document_call(request)


def list_parts(
    endpoint: S3Endpoint, bucket: str, key: str, upload_id: str
) -> Operation[list[PartResult]]:
    """Every part of an upload in progress (ListParts, all pages)."""
    parts: list[PartResult] = []
    marker: int | None = None
    while True:
        params = [("uploadId", upload_id), ("max-parts", "1000")]
        if marker:
            params.append(("part-number-marker", str(marker)))
        response = yield document_call(endpoint.build("GET", bucket, key, params))
        page, truncated, marker = s3xml.parse_list_parts(response.data)
        parts.extend(
            PartResult(p["part_number"], p["size"], etag=p["etag"], checksum=p.get("checksumcrc32"))
            for p in page
        )
        if not truncated or not marker:
            return parts


def abort_multipart_uploads(
    endpoint: S3Endpoint,
    prefix: str = "",
    *,
    bucket: str | None = None,
    older_than: _dt.timedelta | float | None = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[int]:
    """Abort the uploads in progress under `prefix` (started more than `older_than` ago, when
    given); returns how many."""
    bucket = endpoint.resolve_bucket(bucket)
    if isinstance(older_than, (int, float)):
        older_than = _dt.timedelta(seconds=older_than)
    cutoff = _dt.datetime.now(_dt.timezone.utc) - older_than if older_than else None
    uploads = yield from all_items(
        list_multipart_uploads(endpoint, prefix, bucket=bucket, headers=headers)
    )
    stale = [
        u
        for u in uploads
        if cutoff is None or (u["initiated"] is not None and u["initiated"] < cutoff)
    ]
    for upload in stale:
        yield from abort_multipart(
            endpoint, bucket, upload["key"], upload["upload_id"], headers=headers
        )
    return len(stale)


def adopt_part(part: PartResult, data: bytes | bytearray | memoryview) -> PartResult:
    """A part found on the server during a resume, with the CRC32 that completing needs
    (ListParts does not always return it)."""
    import base64

    from .checksums import crc32

    crc = base64.b64encode(crc32(data).to_bytes(4, "big")).decode()
    return part._replace(checksum=part.checksum or crc)


def expected_multipart_etag(parts: list[PartResult]) -> str | None:
    """The ETag S3 gives a multipart object: MD5 of the parts' MD5s, dash, part count."""
    digests = []
    for part in parts:
        etag = (part.etag or "").strip('"')
        if len(etag) != 32:
            return None
        try:
            digests.append(bytes.fromhex(etag))
        except ValueError:
            return None
    return hashlib.md5(b"".join(digests)).hexdigest() + f"-{len(parts)}"  # noqa: S324


def verify_multipart_etag(response: Response, parts: list[PartResult]) -> None:
    """ChecksumMismatch when a completed object's ETag is not the one its parts make."""
    expected = expected_multipart_etag(parts)
    got = response.etag
    if expected and got and "-" in got and got != expected:
        raise ChecksumMismatch(
            f"completed object's ETag {got} does not match its parts ({expected})"
        )


class CopyInParts:
    """A copy made with UploadPartCopy in parts pinned to the source's ETag, planned from
    the source's HEAD: `start()`, then `part(upload_id, n, byte_range)` for each of `ranges`,
    then `complete(upload_id, parts)` (which checks the result), or `abort(upload_id)`."""

    def __init__(
        self,
        endpoint: S3Endpoint,
        head: Response,
        limits: PartLimits,
        *,
        source_bucket: str,
        source_key: str,
        source_version_id: str | None,
        dest_bucket: str,
        dest_key: str,
        directive: str,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str],
        if_match: str | None,
        part_size: int | None,
        part_headers: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        from .parts import plan_part_size

        size = head.content_length or 0
        if part_size is None:
            part_size = max(plan_part_size(size, None, limits), 256 * 1024 * 1024)
            part_size = min(part_size, limits.multipart_max_part_size)
        part_size = plan_part_size(size, part_size, limits)
        extra = {
            k: v
            for k, v in headers.items()
            if k.lower().startswith("x-amz-")
            and not k.lower().startswith(("x-amz-copy-source", "x-amz-metadata-directive"))
            and not k.lower().startswith("x-amz-meta-")
        }
        if directive == "COPY":
            metadata, content_type = head.metadata, head.content_type
            extra.update({k: v for k, v in head.headers.items() if k.lower() in COPIED_HEADERS})
        self.endpoint = endpoint
        self.source = (source_bucket, source_key, source_version_id)
        self.dest_bucket, self.dest_key = dest_bucket, dest_key
        self.metadata, self.content_type, self.extra = metadata, content_type, extra
        self.etag = if_match or head.etag
        self.part_headers = part_headers
        self.clock = clock
        count = max(1, -(-size // part_size))
        #: (part number, inclusive byte range or None for an empty source) of every part.
        self.ranges: list[tuple[int, tuple[int, int] | None]] = [
            (n + 1, (n * part_size, min((n + 1) * part_size, size) - 1) if size else None)
            for n in range(count)
        ]

    def start(self) -> Operation[str]:
        """Start the destination's multipart upload; returns its id."""
        return start_multipart(
            self.endpoint, self.dest_bucket, self.dest_key, metadata=self.metadata,
            content_type=self.content_type, headers=self.extra, checksum=False, clock=self.clock,
        )  # fmt: skip

    def part(
        self, upload_id: str, number: int, byte_range: tuple[int, int] | None
    ) -> Operation[PartResult]:
        """Copy one range of the source into part `number`."""
        source_bucket, source_key, version_id = self.source
        return upload_part_copy(
            self.endpoint, self.dest_bucket, self.dest_key, upload_id, number, source_bucket,
            source_key, byte_range, version_id, self.etag, self.part_headers,
        )  # fmt: skip

    def complete(self, upload_id: str, parts: list[PartResult]) -> Operation[Response]:
        """Complete the copy from its parts and check the result's ETag."""
        response = yield from complete_multipart(
            self.endpoint, self.dest_bucket, self.dest_key, upload_id, parts
        )
        verify_multipart_etag(response, parts)
        return response

    def abort(self, upload_id: str) -> Operation[None]:
        """Abort the copy's upload (after a failure)."""
        return abort_multipart(self.endpoint, self.dest_bucket, self.dest_key, upload_id)

    def __repr__(self) -> str:
        return f"<CopyInParts {self.dest_bucket}/{self.dest_key} parts={len(self.ranges)}>"
