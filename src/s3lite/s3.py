"""S3Session: the S3 API (objects, listings, buckets, presigned URLs) on the shared transport.

Each method validates its arguments, builds a `Request`, and hands it to the transport with
the session's signer; responses come back as `Response` objects or plain dicts.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

from . import checksums, s3xml
from .arguments import (
    check_endpoint,
    check_session_args,
    http_date,
    netloc_key,
    presign_seconds,
    query_fields,
    quoted_etag,
    range_header,
)
from .arguments import page_size as listing_page_size
from .credentials import Credentials, CredentialsProvider, StaticCredentials
from .deletes import DeleteObjectsError, DeleteResult, delete_entries
from .errors import (
    ChecksumMismatch,
    ClientError,
    EntityTooLarge,
    InvalidRequest,
    MalformedResponse,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectChanged,
    PreconditionFailed,
    TransportError,
)
from .listing import Listing, ObjectInfo, UploadInfo, VersionInfo
from .response import S3_DIALECT, Response, encode_rfc2047
from .retries import RetryMode, RetryPolicy
from .signing import (
    EMPTY_SHA256,
    STREAMING_PAYLOAD,
    UNSIGNED_PAYLOAD,
    SigV2Auth,
    SigV4Auth,
    amz_date,
    canonical_query,
    presign_v2,
    presign_v4,
)
from .transfer import TransferMixin
from .transport import Body, BodyLike, Request, Transport

if TYPE_CHECKING:
    import urllib3

    from .lock import DistributedLock, LockProtocol, S3LockStore
    from .multipart import PartData, PartResult

__all__ = ["DeleteObjectsError", "DeleteResult", "S3Session"]

AddressingStyle = Literal["auto", "path", "virtual"]
SignatureVersion = Literal["s3v4", "s3"]
PayloadSigning = Literal["auto", "signed", "unsigned", "streaming"]

MAX_KEY_BYTES = 1024
#: Bodies of unknown length are spooled to find their length; this much stays in memory.
SPOOL_MEMORY = 8 * 1024 * 1024
# Patterns, compiled on first use by `re`'s own cache (compiling them here would cost import
# time that a session may never need).
_BUCKET_RE = r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9]$"
_DNS_BUCKET_RE = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_IP_RE = r"^\d+\.\d+\.\d+\.\d+$"
_TOKEN_RE = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"  # noqa: S105 - an HTTP token pattern


def _ok_get(status: int) -> bool:
    return status in (200, 206)


def validate_key(key: object) -> str:
    """A non-empty str of at most 1024 UTF-8 bytes, or ValueError/TypeError naming the problem."""
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("key must not be empty")
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise ValueError(f"key is {size} bytes in UTF-8; S3 allows at most {MAX_KEY_BYTES}")
    return key


def validate_bucket(bucket: object) -> str:
    """A bucket name S3 can address (3-63 characters: letters, digits, '.', '-', '_')."""
    if not isinstance(bucket, str):
        raise TypeError(f"bucket must be a str, not {type(bucket).__name__}")
    if not re.match(_BUCKET_RE, bucket) or ".." in bucket or re.match(_IP_RE, bucket):
        raise ValueError(
            f"invalid bucket name {bucket!r}: use 3-63 characters, letters, digits, '.', '-' "
            "(and '_' on some servers), starting and ending with a letter or digit"
        )
    return bucket


def _metadata_headers(metadata: Mapping[str, str] | None, headers: dict[str, str]) -> None:
    for name, value in (metadata or {}).items():
        if not isinstance(name, str) or not re.match(_TOKEN_RE, name):
            raise ValueError(f"metadata name {name!r} is not a valid HTTP header token")
        if not isinstance(value, str):
            raise TypeError(
                f"metadata value for {name!r} must be a str, not {type(value).__name__}"
            )
        if "\r" in value or "\n" in value:
            raise ValueError(f"metadata value for {name!r} contains a line break")
        headers["x-amz-meta-" + name.lower()] = encode_rfc2047(value)


_SSE_C = "x-amz-server-side-encryption-customer-"
_COPY_SSE_C = "x-amz-copy-source-server-side-encryption-customer-"


def sse_customer_headers(key: bytes | str | None, *, copy_source: bool = False) -> dict[str, str]:
    """The SSE-C headers (algorithm AES256, the key and its MD5, base64) for a 32-byte
    customer key; with `copy_source`, the `x-amz-copy-source-` ones. {} for None.

    A str key is its UTF-8 bytes (as boto3 takes it). Errors never show the key."""
    if key is None:
        return {}
    name = "copy_source_sse_customer_key" if copy_source else "sse_customer_key"
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be 32 bytes (bytes or str), not {type(key).__name__}")
    raw = bytes(key)
    if len(raw) != 32:
        raise ValueError(f"{name} must be 32 bytes (an AES-256 key), got {len(raw)} bytes")
    import base64

    prefix = _COPY_SSE_C if copy_source else _SSE_C
    return {
        prefix + "algorithm": "AES256",
        prefix + "key": base64.b64encode(raw).decode("ascii"),
        prefix + "key-MD5": base64.b64encode(hashlib.md5(raw).digest()).decode("ascii"),  # noqa: S324
    }


def _guess_type(key: str) -> str:
    import mimetypes

    return mimetypes.guess_type(key, strict=False)[0] or "application/octet-stream"


#: Headers of the source that a multipart copy carries over (a single CopyObject copies them).
_COPIED_HEADERS = frozenset(
    {"cache-control", "content-disposition", "content-encoding", "content-language", "expires"}
)


class S3Session(TransferMixin):
    """A connection to one S3-compatible service, with an optional default bucket.

    Thread-safe: share one session between threads. Credentials come from the arguments or,
    when those are omitted, the environment.

    Objects: put_object, get_object, head_object, delete_object(s), copy_object; files:
    upload_file, download_file; listings: list_objects, list_object_versions; buckets,
    tags, policies, lifecycle, Object Lock, presign, lock; anything else: request.
    """

    multipart_min_part_size = 5 * 1024 * 1024
    multipart_max_part_size = 5 * 1024 * 1024 * 1024
    multipart_max_parts = 10_000
    #: Largest object a single CopyObject may copy; above it copy_object copies in parts.
    max_copy_size = 5 * 1024 * 1024 * 1024
    #: download_file may ask HEAD for stored checksums and pin GETs with If-Match.
    supports_checksum_mode = True
    supports_if_match = True

    def __init__(
        self,
        access_key_id: str | None = None,
        access_key: str | None = None,
        bucket: str | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        max_pool_connections: int = 10,
        max_attempts: int | None = None,
        retry_mode: RetryMode | None = None,
        read_timeout: float = 60.0,
        stream: bool = True,
        connect_timeout: float = 10.0,
        *,
        session_token: str | None = None,
        addressing_style: AddressingStyle = "auto",
        signature_version: SignatureVersion = "s3v4",
        verify: bool | str = True,
        credentials: CredentialsProvider | None = None,
        anonymous: bool = False,
        pool_manager: urllib3.PoolManager | None = None,
        transport: Transport | None = None,
        payload_signing: PayloadSigning = "auto",
        backoff_base: float = 1.0,
        max_backoff: float = 20.0,
        user_agent: str | None = None,
        profile: str | None = None,
    ) -> None:
        """Open a session (nothing is sent until the first call).

        Positional arguments follow s3func's order: `(access_key_id, access_key, bucket,
        endpoint_url, region, max_pool_connections, max_attempts, retry_mode, read_timeout,
        stream, connect_timeout)`; the rest are keyword-only. Every argument is checked here,
        so a value in the wrong position (a URL given as the region, a region as the
        endpoint, a string as a count) fails now instead of addressing a wrong host.

        `access_key_id`, `access_key`, `session_token`: the credentials (both keys or neither;
        without them: `credentials`, else the AWS chain, see the README). `credentials`: a
        provider with `get()` returning `Credentials` (see `s3lite.credentials`); `anonymous`: send
        unsigned requests (public buckets). `profile`: the ~/.aws profile to read (default
        `AWS_PROFILE`, then 'default').

        `bucket`: the default bucket of every call. `region`: default `AWS_REGION`, the profile's,
        then 'us-east-1'. `endpoint_url`: http(s)://host[:port][/path] of an S3-compatible service
        (default `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, the profile's, else AWS).
        `addressing_style`: 'auto' (virtual-host on AWS, path elsewhere), 'path' or 'virtual'.
        `signature_version`: 's3v4' or 's3' (SigV2, for old servers). `payload_signing`: how
        bodies are signed: 'auto' (hash bytes; stream files unsigned over HTTPS, aws-chunked over
        HTTP), 'signed', 'unsigned' or 'streaming'.

        `max_pool_connections`: connections kept per host; `connect_timeout`, `read_timeout`:
        seconds; `verify`: False, True or a CA bundle path (default `AWS_CA_BUNDLE`).
        `max_attempts` (counting the first), `retry_mode` ('standard' or 'adaptive'; default
        from `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE`, then the profile, then 3 and 'standard'),
        `backoff_base`, `max_backoff`: retries (full-jitter exponential backoff, in seconds).
        `stream`: whether
        `get_object` streams by default. `pool_manager`: a urllib3 PoolManager to share;
        `transport`: a whole `Transport` to share (then the connection and retry arguments are
        unused). `user_agent`: the User-Agent header (default `s3lite/<version>`).
        """
        check_session_args(
            region=region, max_pool_connections=max_pool_connections, max_attempts=max_attempts,
            retry_mode=retry_mode, read_timeout=read_timeout, stream=stream,
            connect_timeout=connect_timeout,
        )  # fmt: skip
        if endpoint_url is not None:
            check_endpoint(endpoint_url, "endpoint_url")
        if addressing_style not in ("auto", "path", "virtual"):
            raise ValueError(
                f"addressing_style must be 'auto', 'path' or 'virtual', got {addressing_style!r}"
            )
        if signature_version not in ("s3v4", "s3"):
            raise ValueError(f"signature_version must be 's3v4' or 's3', got {signature_version!r}")
        if payload_signing not in ("auto", "signed", "unsigned", "streaming"):
            raise ValueError(f"unknown payload_signing {payload_signing!r}")
        if bucket is not None:
            validate_bucket(bucket)
        if (access_key_id is None) != (access_key is None):
            raise ValueError("pass both access_key_id and access_key, or neither")

        from . import config

        # Arguments, then the environment, then the profile (`profile`, AWS_PROFILE, default).
        self.region = region or config.region(profile) or "us-east-1"
        endpoint_url = endpoint_url or config.endpoint_url("s3", profile)
        if verify is True:
            verify = config.ca_bundle(profile) or True
        max_attempts, retry_mode = config.retry_settings(max_attempts, retry_mode, profile)
        if endpoint_url is None:
            endpoint_url = f"https://s3.{self.region}.amazonaws.com"
        parts = urlsplit(endpoint_url if "://" in endpoint_url else "https://" + endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"endpoint_url must be http(s)://host[:port], got {endpoint_url!r}")
        if parts.query or parts.fragment:
            raise ValueError("endpoint_url must not have a query or fragment")
        self.endpoint_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._scheme = parts.scheme
        self._netloc = parts.netloc.lower()
        self._base_path = quote(parts.path.rstrip("/"), safe="/")
        self._aws = (parts.hostname or "").endswith(".amazonaws.com")
        self.addressing_style: AddressingStyle = addressing_style
        self.signature_version: SignatureVersion = signature_version
        self.bucket = bucket
        self.stream = stream
        self.payload_signing: PayloadSigning = payload_signing

        if credentials is not None:
            provider: CredentialsProvider = credentials
        elif anonymous:
            provider = StaticCredentials(None)
        elif access_key_id is not None and access_key is not None:
            provider = StaticCredentials(Credentials(access_key_id, access_key, session_token))
        else:
            from .credentials import default_provider

            provider = default_provider(profile)
        self.credentials = provider
        if signature_version == "s3":
            self._auth: SigV4Auth | SigV2Auth = SigV2Auth(provider)
        else:
            self._auth = SigV4Auth(provider, self.region, "s3")

        if transport is None:
            transport = Transport(
                max_pool_connections=max_pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                verify=verify,
                retry=RetryPolicy(
                    max_attempts, retry_mode, backoff_base=backoff_base, max_backoff=max_backoff
                ),
                pool_manager=pool_manager,
                user_agent=user_agent,
            )
        self.transport = transport

    # --- request building --------------------------------------------------------------------
    def _bucket(self, bucket: str | None) -> str:
        if bucket is None:
            if self.bucket is None:
                raise ValueError("no bucket given and the session has no default bucket")
            return self.bucket
        return validate_bucket(bucket)

    def _virtual(self, bucket: str) -> bool:
        if self.addressing_style == "path":
            return False
        dns_ok = bool(re.match(_DNS_BUCKET_RE, bucket)) and not (
            self._scheme == "https" and "." in bucket
        )
        if self.addressing_style == "virtual":
            if not dns_ok:
                raise ValueError(
                    f"bucket {bucket!r} cannot be addressed virtual-host style; "
                    "use addressing_style='path'"
                )
            return True
        return self._aws and dns_ok

    def _locate(self, bucket: str | None, key: str | None) -> tuple[str, str, str]:
        """(host, encoded path, SigV2 resource path) of a bucket/key."""
        if bucket is None:
            return self._netloc, self._base_path + "/", "/"
        encoded_key = quote(key, safe="/~") if key is not None else ""
        resource = f"/{bucket}/{encoded_key}"
        if self._virtual(bucket):
            return f"{bucket}.{self._netloc}", f"{self._base_path}/{encoded_key}", resource
        path = f"{self._base_path}/{bucket}" + (f"/{encoded_key}" if key is not None else "")
        # SigV2 signs the path as sent: a path-style bucket request has no trailing slash.
        return self._netloc, path, resource if key is not None else f"/{bucket}"

    def _build(
        self,
        method: str,
        bucket: str | None,
        key: str | None = None,
        params: Iterable[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
        body: BodyLike | Body = None,
        *,
        payload_hash: str | None = None,
        length: int | None = None,
    ) -> Request:
        host, path, resource = self._locate(bucket, key)
        params = list(params)
        hdrs = {"Host": host}
        if headers:
            hdrs.update(headers)
        request_body = body if isinstance(body, Body) else Body(body, length)
        if method in ("PUT", "POST"):
            if request_body.length is None:
                raise ValueError("request body length unknown")
            hdrs["Content-Length"] = str(request_body.length)
        if payload_hash is None:
            if request_body.is_bytes:
                data = request_body.data
                payload_hash = hashlib.sha256(data).hexdigest() if data else EMPTY_SHA256
                if self.payload_signing == "unsigned" and data:
                    payload_hash = UNSIGNED_PAYLOAD
            else:
                payload_hash = self._stream_payload_mode()
        return Request(
            method,
            self._scheme,
            host,
            path,
            canonical_query(params) if params else "",
            hdrs,
            request_body,
            payload_hash,
            resource,
            params,
        )

    def _stream_payload_mode(self) -> str:
        """How to sign a streamed body: aws-chunked signatures, or unsigned over TLS."""
        mode = self.payload_signing
        if mode == "unsigned" or (mode == "auto" and self._scheme == "https"):
            return UNSIGNED_PAYLOAD
        if self.signature_version == "s3":
            return UNSIGNED_PAYLOAD  # SigV2 does not cover the payload
        return STREAMING_PAYLOAD

    def _send(
        self,
        request: Request,
        *,
        stream: bool = False,
        ok: Any = None,
        resume: Any = None,
        max_body: int | None = s3xml.MAX_XML_BYTES,
    ) -> Response:
        response = self.transport.send(
            request,
            self._auth,
            stream=stream,
            dialect=S3_DIALECT,
            error_parser=s3xml.parse_error,
            ok=ok,
            resume=resume,
            max_body=max_body,
        )
        response.url = request.url
        return response

    # --- objects -----------------------------------------------------------------------------
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
        validate_key(key)
        bucket = self._bucket(bucket)
        hdrs: dict[str, str] = {
            "Content-Type": content_type or _guess_type(key),
        }
        _metadata_headers(metadata, hdrs)
        optional = {
            "Cache-Control": cache_control,
            "Content-Disposition": content_disposition,
            "Content-Encoding": content_encoding,
            "Content-Language": content_language,
            "x-amz-acl": acl,
            "x-amz-storage-class": storage_class,
        }
        hdrs.update({k: v for k, v in optional.items() if v is not None})
        if expires is not None:
            hdrs["Expires"] = http_date(expires)
        if if_none_match is not None:
            hdrs["If-None-Match"] = (
                if_none_match if if_none_match == "*" else quoted_etag(if_none_match)
            )
        if if_match is not None:
            hdrs["If-Match"] = quoted_etag(if_match)
        hdrs.update(sse_customer_headers(sse_customer_key))
        if headers:
            hdrs.update(headers)
        if content_length is not None and (
            not isinstance(content_length, int) or content_length < 0
        ):
            raise ValueError(f"content_length must be a non-negative int, got {content_length!r}")

        prepared, payload_hash, sums = self._prepare_body(body, content_length, checksum)
        if sums is not None:
            hdrs[checksums.header_name(sums.name)] = checksums.b64(sums.digest())
            if sums.name != "md5" and not any(
                k.lower() == "x-amz-sdk-checksum-algorithm" for k in hdrs
            ):  # as AWS SDKs send it: some servers store the checksum only when named here
                hdrs["x-amz-sdk-checksum-algorithm"] = sums.name.upper()
        request = self._build("PUT", bucket, key, (), hdrs, prepared, payload_hash=payload_hash)
        response = self._send(request)
        if sums is not None and not (sums.name == "md5" and _SSE_C + "algorithm" in hdrs):
            self._verify_checksum(response, sums)  # (an SSE-C object's ETag is no MD5)
        return response

    def _prepare_body(
        self, body: BodyLike, length: int | None, checksum: str | None
    ) -> tuple[Body, str | None, checksums.Checksum | None]:
        """Turn any body into a sendable Body, with its payload hash and checksum if asked."""
        sums = checksums.new_checksum(checksum) if checksum else None
        prepared = body if isinstance(body, Body) else Body(body, length)
        if prepared.is_bytes:
            if sums is not None:
                sums.update(prepared.data)
            return prepared, None, sums
        need_hash = self.payload_signing == "signed"
        if prepared.length is None or (prepared.replayable is False and (sums or need_hash)):
            return self._spool(prepared, sums)
        if sums is not None or need_hash:
            # A seekable file: one pass to hash now, one to send.
            sha = hashlib.sha256() if need_hash else None
            for chunk in prepared.chunks():
                if sums is not None:
                    sums.update(chunk)
                if sha is not None:
                    sha.update(chunk)
            return prepared, sha.hexdigest() if sha else None, sums
        return prepared, None, sums

    def _spool(
        self, prepared: Body, sums: checksums.Checksum | None
    ) -> tuple[Body, str | None, checksums.Checksum | None]:
        import tempfile

        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
        sha = hashlib.sha256()
        for chunk in prepared.chunks():
            spool.write(chunk)
            sha.update(chunk)
            if sums is not None:
                sums.update(chunk)
        size = spool.tell()
        spool.seek(0)
        payload = UNSIGNED_PAYLOAD if self.payload_signing == "unsigned" else sha.hexdigest()
        return Body(spool, size), payload, sums

    @staticmethod
    def _verify_checksum(response: Response, sums: checksums.Checksum) -> None:
        sent = checksums.b64(sums.digest())
        if sums.name == "md5":
            etag = response.etag
            if etag and "-" not in etag and len(etag) == 32 and etag != sums.digest().hex():
                raise ChecksumMismatch(f"ETag {etag} does not match the MD5 of the body sent")
            return
        echoed = response.headers.get(checksums.header_name(sums.name))
        if echoed is not None and echoed != sent:
            raise ChecksumMismatch(f"server stored {sums.name} {echoed}, sent {sent}")

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
        validate_key(key)
        bucket = self._bucket(bucket)
        hdrs: dict[str, str] = {}
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
        hdrs.update(sse_customer_headers(sse_customer_key))
        if headers:
            hdrs.update(headers)
        params = [("versionId", version_id)] if version_id else []
        request = self._build("GET", bucket, key, params, hdrs, payload_hash=EMPTY_SHA256)
        stream = self.stream if stream is None else stream
        if not stream or not resume:
            return self._send(request, stream=stream, ok=_ok_get, max_body=max_size)
        raw = self.transport.send_raw(
            request, self._auth, error_parser=s3xml.parse_error, ok=_ok_get
        )
        resumer = self._resumer(request, raw, range_start or 0, range_end)
        response = Response(
            raw, S3_DIALECT, resume=resumer, max_resumes=self.transport.retry.max_attempts
        )
        response.url = request.url
        return response

    def _resumer(self, request: Request, first: Any, start: int, end: int | None) -> Any:
        """A function that re-requests the rest of a broken GET, pinned to the same ETag."""
        etag = first.headers.get("etag")
        if not etag:
            return None

        def resume(delivered: int) -> Any:
            hdrs = dict(request.headers)
            hdrs["Range"] = f"bytes={start + delivered}-{'' if end is None else end}"
            hdrs["If-Match"] = etag
            hdrs.pop("If-None-Match", None)
            hdrs.pop("If-Modified-Since", None)
            retry = Request(
                request.method, request.scheme, request.host, request.path, request.query,
                hdrs, Body(None), request.payload_hash, request.resource, request.params,
            )  # fmt: skip
            try:
                raw = self.transport.send_raw(
                    retry, self._auth, error_parser=s3xml.parse_error, ok=_ok_get
                )
            except PreconditionFailed as exc:
                raise ObjectChanged(
                    f"object changed while it was being read (ETag no longer {etag}); "
                    f"stopped after {delivered} bytes instead of splicing two versions"
                ) from exc
            content_range = raw.headers.get("content-range", "")
            if raw.status != 206 or not content_range.startswith(f"bytes {start + delivered}-"):
                raw.close()
                raw.release_conn()
                raise ObjectChanged(
                    f"resumed GET did not continue at byte {start + delivered} "
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
        validate_key(key)
        bucket = self._bucket(bucket)
        hdrs: dict[str, str] = {"x-amz-checksum-mode": "ENABLED"} if checksum_mode else {}
        if if_match is not None:
            hdrs["If-Match"] = quoted_etag(if_match)
        if if_none_match is not None:
            hdrs["If-None-Match"] = quoted_etag(if_none_match)
        hdrs.update(sse_customer_headers(sse_customer_key))
        if headers:
            hdrs.update(headers)
        params = [("versionId", version_id)] if version_id else []
        request = self._build("HEAD", bucket, key, params, hdrs, payload_hash=EMPTY_SHA256)
        return self._send(request)

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
        validate_key(key)
        bucket = self._bucket(bucket)
        params = [("partNumber", str(part_number))]
        if version_id:
            params.append(("versionId", version_id))
        hdrs = {"If-Match": quoted_etag(if_match)} if if_match else {}
        hdrs.update(sse_customer_headers(sse_customer_key))
        hdrs.update(headers or {})
        response = self._send(self._build("HEAD", bucket, key, params, hdrs))
        if "x-amz-mp-parts-count" not in response.headers:
            return None
        return response.content_length

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
        validate_key(key)
        bucket = self._bucket(bucket)
        params = [("versionId", version_id)] if version_id else []
        hdrs = {"If-Match": quoted_etag(if_match)} if if_match is not None else {}
        hdrs.update(headers or {})
        return self._send(
            self._build("DELETE", bucket, key, params, hdrs, payload_hash=EMPTY_SHA256)
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
        if (keys is None) == (prefix is None):
            raise ValueError("pass either keys or prefix")
        bucket = self._bucket(bucket)
        source: Iterable[tuple[str, str | None]]
        if prefix is not None:
            if not isinstance(prefix, str):
                raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
            source = (
                self._all_versions(prefix, bucket, exact=False)
                if purge
                else ((item["key"], None) for item in self.list_objects(prefix, bucket=bucket))
            )
        else:
            source = delete_entries(keys, validate_key)
            if purge:
                source = self._purge_entries(source, bucket)
        result = DeleteResult()
        batch: list[tuple[str, str | None]] = []
        for entry in source:
            batch.append(entry)
            if len(batch) == 1000:
                self._delete_batch(bucket, batch, result, headers)
                batch = []
        if batch:
            self._delete_batch(bucket, batch, result, headers)
        return result.raise_errors() if raise_errors else result

    def _all_versions(
        self, prefix: str, bucket: str, *, exact: bool
    ) -> Iterator[tuple[str, str | None]]:
        """(key, version id) of every version and delete marker under `prefix` (or of
        exactly that key); plain keys on a server without versioning."""
        try:
            for item in self.list_object_versions(prefix, bucket=bucket):
                if not exact or item["key"] == prefix:
                    yield item["key"], item.get("version_id")
        except ClientError as exc:
            if exc.status not in (400, 404, 405, 501) or isinstance(exc, NoSuchBucket):
                raise
            for plain in self.list_objects(prefix, bucket=bucket):
                if not exact or plain["key"] == prefix:
                    yield plain["key"], None

    def _purge_entries(
        self, entries: Iterable[tuple[str, str | None]], bucket: str
    ) -> Iterator[tuple[str, str | None]]:
        for key, version in entries:
            if version is not None:
                yield key, version
                continue
            found = False
            for entry in self._all_versions(key, bucket, exact=True):
                found = True
                yield entry
            if not found:
                yield key, None

    def _delete_batch(
        self,
        bucket: str,
        batch: list[tuple[str, str | None]],
        result: DeleteResult,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        import base64

        body = s3xml.delete_objects_body(batch, quiet=False)
        hdrs = {
            "Content-Type": "application/xml",
            "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),  # noqa: S324
            **(headers or {}),
        }
        try:
            response = self._send(self._build("POST", bucket, None, [("delete", "")], hdrs, body))
            deleted, errors = s3xml.parse_delete_result(response.data)
        except (ClientError, TransportError, MalformedResponse) as exc:
            # The whole batch failed: go on with the next, report it (its error is the cause of
            # the DeleteObjectsError). A missing bucket has nothing to go on with.
            if isinstance(exc, NoSuchBucket):
                raise
            result.fail_batch(batch, exc)
            return
        result.deleted.extend(deleted)
        result.errors.extend(errors)

    # --- listings ----------------------------------------------------------------------------
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
        bucket = self._bucket(bucket)
        page_size = listing_page_size(max_keys, page_size, 1000)
        base = [("list-type", "2"), ("encoding-type", "url")]
        if prefix:
            base.append(("prefix", prefix))
        if delimiter:
            base.append(("delimiter", delimiter))
        if start_after:
            base.append(("start-after", start_after))
        size = min(page_size, limit) if limit else page_size

        def fetch(token: str | None, _unused: str | None) -> s3xml.ListPage[ObjectInfo]:
            params = [*base, ("max-keys", str(size))]
            if token:
                params.append(("continuation-token", token))
            response = self._send(self._build("GET", bucket, None, params, dict(headers or {})))
            return s3xml.parse_list_objects(response.data)

        return Listing(fetch, limit)

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
        bucket = self._bucket(bucket)
        page_size = listing_page_size(max_keys, page_size, 1000)
        base = [("versions", ""), ("encoding-type", "url")]
        if prefix:
            base.append(("prefix", prefix))
        if delimiter:
            base.append(("delimiter", delimiter))
        size = min(page_size, limit) if limit else page_size

        def fetch(marker: str | None, version_marker: str | None) -> s3xml.ListPage[VersionInfo]:
            params = [*base, ("max-keys", str(size))]
            if marker is None and version_marker is None:
                marker, version_marker = key_marker, version_id_marker
            if marker:
                params.append(("key-marker", marker))
            if version_marker:
                params.append(("version-id-marker", version_marker))
            response = self._send(self._build("GET", bucket, None, params, dict(headers or {})))
            return s3xml.parse_list_versions(response.data)

        return Listing(fetch, limit)

    # --- copy ----------------------------------------------------------------------------------
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
        validate_key(source_key)
        validate_key(dest_key)
        src_bucket = self._bucket(source_bucket)
        dst_bucket = self._bucket(dest_bucket)
        source = f"/{src_bucket}/{quote(source_key, safe='/~')}"
        if source_version_id:
            source += f"?versionId={quote(source_version_id, safe='')}"
        hdrs: dict[str, str] = {"x-amz-copy-source": source}
        if metadata_directive is None:
            metadata_directive = (
                "REPLACE" if metadata is not None or content_type is not None else "COPY"
            )
        if metadata_directive not in ("COPY", "REPLACE"):
            raise ValueError("metadata_directive must be 'COPY' or 'REPLACE'")
        hdrs["x-amz-metadata-directive"] = metadata_directive
        if metadata_directive == "REPLACE":
            hdrs["Content-Type"] = content_type or _guess_type(dest_key)
            _metadata_headers(metadata, hdrs)
        optional = {
            "Cache-Control": cache_control,
            "x-amz-acl": acl,
            "x-amz-storage-class": storage_class,
        }
        hdrs.update({k: v for k, v in optional.items() if v is not None})
        if if_match is not None:
            hdrs["x-amz-copy-source-if-match"] = quoted_etag(if_match)
        sse = sse_customer_headers(sse_customer_key)
        sse.update(sse_customer_headers(copy_source_sse_customer_key, copy_source=True))
        hdrs.update(sse)
        if headers:
            hdrs.update(headers)
        large = dict(
            source_bucket=src_bucket, source_key=source_key, source_version_id=source_version_id,
            dest_bucket=dst_bucket, dest_key=dest_key, directive=metadata_directive,
            metadata=metadata, content_type=content_type, headers=hdrs, if_match=if_match,
            part_size=part_size, concurrency=concurrency, part_headers=sse,
        )  # fmt: skip
        if multipart_threshold is not None:
            head = self.head_object(
                source_key, bucket=src_bucket, version_id=source_version_id, if_match=if_match,
                sse_customer_key=copy_source_sse_customer_key,
            )  # fmt: skip
            if (head.content_length or 0) > multipart_threshold:
                return self._copy_in_parts(head, **large)  # type: ignore[arg-type]
        try:
            response = self._send(self._build("PUT", dst_bucket, dest_key, (), hdrs, b""))
        except (EntityTooLarge, InvalidRequest) as exc:
            if "larger than the maximum" not in exc.message and not isinstance(exc, EntityTooLarge):
                raise
            head = self.head_object(
                source_key, bucket=src_bucket, version_id=source_version_id, if_match=if_match,
                sse_customer_key=copy_source_sse_customer_key,
            )  # fmt: skip
            return self._copy_in_parts(head, **large)  # type: ignore[arg-type]
        etag, last_modified = s3xml.parse_copy_result(response.data)
        response._override("etag", etag)
        response._override("last_modified", last_modified)
        return response

    def _copy_in_parts(
        self,
        head: Response,
        *,
        source_bucket: str,
        source_key: str,
        source_version_id: str | None,
        dest_bucket: str,
        dest_key: str,
        directive: str,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: dict[str, str],
        if_match: str | None,
        part_size: int | None,
        concurrency: int,
        part_headers: dict[str, str],
    ) -> Response:
        """Copy with UploadPartCopy, in parallel parts pinned to the source's ETag."""
        from concurrent.futures import ThreadPoolExecutor

        from .multipart import plan_part_size

        size = head.content_length or 0
        if part_size is None:
            part_size = max(plan_part_size(size, None, self), 256 * 1024 * 1024)
            part_size = min(part_size, self.multipart_max_part_size)
        part_size = plan_part_size(size, part_size, self)
        extra = {
            k: v
            for k, v in headers.items()
            if k.lower().startswith("x-amz-")
            and not k.lower().startswith(("x-amz-copy-source", "x-amz-metadata-directive"))
            and not k.lower().startswith("x-amz-meta-")
        }
        if directive == "COPY":
            metadata, content_type = head.metadata, head.content_type
            extra.update({k: v for k, v in head.headers.items() if k.lower() in _COPIED_HEADERS})
        etag = if_match or head.etag
        count = max(1, -(-size // part_size))
        ranges = [
            (n + 1, (n * part_size, min((n + 1) * part_size, size) - 1) if size else None)
            for n in range(count)
        ]
        upload_id = self._mp_start(
            dest_bucket, dest_key, metadata=metadata, content_type=content_type, headers=extra,
            checksum=False,
        )  # fmt: skip

        def copy_part(r: tuple[int, tuple[int, int] | None]) -> PartResult:
            return self._mp_upload_part_copy(
                dest_bucket, dest_key, upload_id, r[0], source_bucket, source_key, r[1],
                source_version_id, etag, part_headers,
            )  # fmt: skip

        try:
            with ThreadPoolExecutor(concurrency, thread_name_prefix="s3lite-copy") as pool:
                parts = list(pool.map(copy_part, ranges))
            response = self._mp_complete(dest_bucket, dest_key, upload_id, parts)
        except BaseException:
            self._mp_abort(dest_bucket, dest_key, upload_id)
            raise
        self._mp_verify(response, parts)
        return response

    def _mp_upload_part_copy(
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
        from .multipart import PartResult

        source = f"/{source_bucket}/{quote(source_key, safe='/~')}"
        if source_version_id:
            source += f"?versionId={quote(source_version_id, safe='')}"
        hdrs = {"x-amz-copy-source": source}
        if byte_range is not None:
            hdrs["x-amz-copy-source-range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        if if_match:
            hdrs["x-amz-copy-source-if-match"] = quoted_etag(if_match)
        hdrs.update(headers or {})  # SSE-C keys of the destination and of the source
        params = [("partNumber", str(number)), ("uploadId", upload_id)]
        response = self._send(self._build("PUT", bucket, key, params, hdrs, b""))
        etag, _ = s3xml.parse_copy_result(response.data)
        size = 0 if byte_range is None else byte_range[1] - byte_range[0] + 1
        return PartResult(number, size, etag=etag)

    # --- multipart primitives (see multipart.MultipartBackend) ----------------------------------
    def _mp_start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        checksum: bool | str = True,
    ) -> str:
        validate_key(key)
        hdrs: dict[str, str] = {"Content-Type": content_type or _guess_type(key)}
        _metadata_headers(metadata, hdrs)
        if headers:
            hdrs.update(headers)
        algorithm = _part_checksum(checksum)
        if algorithm and algorithm != "md5":  # every part then carries it; the server verifies
            hdrs["x-amz-checksum-algorithm"] = algorithm.upper()
        from .multipart import abort_strays, start_was_ambiguous

        request = self._build("POST", bucket, key, [("uploads", "")], hdrs, b"")
        started, clock = self.transport.now(), time.monotonic()
        try:
            upload_id = s3xml.parse_initiate_multipart(self._send(request).data)
        except BaseException as exc:
            if request.attempts and start_was_ambiguous(exc):
                abort_strays(self, bucket, key, None, started, time.monotonic() - clock)
            raise
        if request.attempts > 1:  # an earlier attempt may have created an upload too
            abort_strays(self, bucket, key, upload_id, started, time.monotonic() - clock)
        return upload_id

    def _mp_upload_part(
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
        from .multipart import FileSection, PartResult

        sums = checksums.new_checksum(_part_checksum(checksum) or "crc32")
        if isinstance(data, FileSection):
            for chunk in data.chunks():  # a first pass for the checksum; the bytes stay on disk
                sums.update(chunk)
            data.seek(0)
        else:
            sums.update(data)  # type: ignore[arg-type]
        size = len(data)
        crc = checksums.b64(sums.digest())
        # The signed checksum header protects the body; hashing it again for SigV4 is not needed.
        header = checksums.header_name(sums.name)
        hdrs = {header: crc, **(headers or {})}
        params = [("partNumber", str(number)), ("uploadId", upload_id)]
        body = Body(data, size)  # type: ignore[arg-type]
        request = self._build("PUT", bucket, key, params, hdrs, body, payload_hash=UNSIGNED_PAYLOAD)
        response = self._send(request)
        if sums.name == "md5":  # Content-MD5: the server checked it; nothing goes in the list
            return PartResult(number, size, etag=response.etag)
        echoed = response.headers.get(header)
        if echoed is not None and echoed != crc:
            raise ChecksumMismatch(f"part {number}: server stored {sums.name} {echoed}, sent {crc}")
        return PartResult(number, size, etag=response.etag, checksum=crc)

    def _mp_complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[PartResult],
        *,
        headers: Mapping[str, str] | None = None,
        checksum: str = "crc32",
    ) -> Response:
        algorithm = _part_checksum(checksum) or "crc32"
        listed = algorithm != "md5"  # Content-MD5 parts list no checksum
        body = s3xml.complete_multipart_body(
            ((p.number, p.etag or "", p.checksum if listed else None) for p in parts), algorithm
        )
        hdrs = {"Content-Type": "application/xml", **(headers or {})}
        response = self._send(
            self._build("POST", bucket, key, [("uploadId", upload_id)], hdrs, body)
        )
        result = s3xml.parse_complete_multipart(response.data)
        response._override("etag", result["etag"])
        return response

    def _mp_abort(
        self, bucket: str, key: str, upload_id: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        request = self._build(
            "DELETE", bucket, key, [("uploadId", upload_id)], dict(headers or {}),
            payload_hash=EMPTY_SHA256,
        )  # fmt: skip
        with contextlib.suppress(NoSuchUpload):  # already aborted or completed
            self._send(request)

    def _mp_list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]:
        from .multipart import PartResult

        parts: list[PartResult] = []
        marker: int | None = None
        while True:
            params = [("uploadId", upload_id), ("max-parts", "1000")]
            if marker:
                params.append(("part-number-marker", str(marker)))
            response = self._send(self._build("GET", bucket, key, params))
            page, truncated, marker = s3xml.parse_list_parts(response.data)
            parts.extend(
                PartResult(
                    p["part_number"], p["size"], etag=p["etag"], checksum=p.get("checksumcrc32")
                )
                for p in page
            )
            if not truncated or not marker:
                return parts

    @staticmethod
    def _mp_adopt_part(part: PartResult, data: bytes | bytearray | memoryview) -> PartResult:
        """A part found on the server during a resume, with the CRC32 that completing needs
        (ListParts does not always return it)."""
        import base64
        import zlib

        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        return part._replace(checksum=part.checksum or crc)

    @staticmethod
    def _mp_expected_etag(parts: list[PartResult]) -> str | None:
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

    def _mp_verify(self, response: Response, parts: list[PartResult]) -> None:
        expected = self._mp_expected_etag(parts)
        got = response.etag
        if expected and got and "-" in got and got != expected:
            raise ChecksumMismatch(
                f"completed object's ETag {got} does not match its parts ({expected})"
            )

    def list_multipart_uploads(
        self,
        prefix: str = "",
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Listing[UploadInfo]:
        """Multipart uploads in progress (dicts with key, upload_id, initiated).

        `prefix`: only keys starting with it. `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        bucket = self._bucket(bucket)
        base = [("uploads", ""), ("encoding-type", "url"), ("max-uploads", "1000")]
        if prefix:
            base.append(("prefix", prefix))

        def fetch(marker: str | None, upload_marker: str | None) -> s3xml.ListPage[UploadInfo]:
            params = list(base)
            if marker:
                params.append(("key-marker", marker))
            if upload_marker:
                params.append(("upload-id-marker", upload_marker))
            response = self._send(self._build("GET", bucket, None, params, dict(headers or {})))
            return s3xml.parse_list_multipart_uploads(response.data)

        return Listing(fetch)

    def abort_multipart_uploads(
        self,
        prefix: str = "",
        *,
        bucket: str | None = None,
        older_than: _dt.timedelta | float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        """Abort the uploads in progress under `prefix` (only those started more than
        `older_than` ago, a timedelta or seconds, when given); returns how many.

        `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        bucket = self._bucket(bucket)
        if isinstance(older_than, (int, float)):
            older_than = _dt.timedelta(seconds=older_than)
        cutoff = _dt.datetime.now(_dt.timezone.utc) - older_than if older_than else None
        stale = [
            u
            for u in self.list_multipart_uploads(prefix, bucket=bucket, headers=headers)
            if cutoff is None or (u["initiated"] is not None and u["initiated"] < cutoff)
        ]
        for upload in stale:
            self._mp_abort(bucket, upload["key"], upload["upload_id"], headers=headers)
        return len(stale)

    # --- buckets -------------------------------------------------------------------------------
    def create_bucket(
        self,
        bucket: str | None = None,
        *,
        region: str | None = None,
        acl: str | None = None,
        object_lock: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Create a bucket (in `region`, default the session's).

        `bucket`: its name (default the session's bucket); `acl`: a canned ACL such as 'private' or
        'public-read'; `object_lock`: enable Object Lock on it (S3 then keeps versions).
        `headers`: extra request headers.
        """
        bucket = self._bucket(bucket)
        hdrs: dict[str, str] = dict(headers or {})
        if acl:
            hdrs["x-amz-acl"] = acl
        if object_lock:
            hdrs["x-amz-bucket-object-lock-enabled"] = "true"
        region = region or self.region
        body = b"" if region == "us-east-1" or not self._aws else s3xml.create_bucket_body(region)
        if body:
            hdrs["Content-Type"] = "application/xml"
        return self._send(self._build("PUT", bucket, None, (), hdrs, body))

    def delete_bucket(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Delete an (empty) bucket.

        `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        bucket = self._bucket(bucket)
        hdrs = dict(headers or {})
        return self._send(self._build("DELETE", bucket, None, (), hdrs, payload_hash=EMPTY_SHA256))

    def head_bucket(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Check that a bucket exists and is accessible (`NoSuchBucket` otherwise).

        `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        bucket = self._bucket(bucket)
        hdrs = dict(headers or {})
        try:
            return self._send(
                self._build("HEAD", bucket, None, (), hdrs, payload_hash=EMPTY_SHA256)
            )
        except NoSuchKey as exc:
            raise NoSuchBucket(
                exc.status, "NoSuchBucket", "The specified bucket does not exist",
                request_id=exc.request_id, resource=bucket,
            ) from None  # fmt: skip

    def set_bucket_versioning(
        self,
        enabled: bool,
        bucket: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Turn versioning on (or suspend it) for a bucket.

        `enabled`: True to turn versioning on, False to suspend it. `bucket`: the bucket (default
        the session's).
        `headers`: extra request headers.
        """
        bucket = self._bucket(bucket)
        state = "Enabled" if enabled else "Suspended"
        body = s3xml.versioning_body(state)
        hdrs = {"Content-Type": "application/xml", **(headers or {})}
        return self._send(self._build("PUT", bucket, None, [("versioning", "")], hdrs, body))

    def list_buckets(self, *, headers: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every bucket the credentials own, as dicts with name and creation_date.

        `headers`: extra request headers.
        """
        hdrs = dict(headers or {})
        response = self._send(self._build("GET", None, None, (), hdrs, payload_hash=EMPTY_SHA256))
        return s3xml.parse_list_buckets(response.data)

    # --- presigned URLs ------------------------------------------------------------------------
    def presign(
        self,
        method: str,
        key: str,
        expires_in: int | _dt.timedelta = 3600,
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> str:
        """A URL that lets anyone holding it do `method` (GET, PUT, HEAD, DELETE) on the key
        for `expires_in` (seconds or a `datetime.timedelta`, 1 s .. 7 days), without
        credentials.

        `method`: the HTTP method; `key`: the object's key. `bucket`: the bucket (default the
        session's). `version_id`: one version. `headers`: headers the URL's user must send (signed);
        `params`: extra query parameters (e.g. `response-content-type`), signed too.
        """
        method = method.upper()
        if method not in ("GET", "PUT", "HEAD", "DELETE"):
            raise ValueError(f"presign supports GET, PUT, HEAD and DELETE, not {method!r}")
        validate_key(key)
        expires_in = presign_seconds(expires_in)
        bucket = self._bucket(bucket)
        creds = self.credentials.get()
        if creds is None:
            raise ValueError("presigning needs credentials; this session is anonymous")
        host, path, resource = self._locate(bucket, key)
        query = list((params or {}).items())
        if version_id:
            query.append(("versionId", version_id))
        now = self.transport.now()
        if self.signature_version == "s3":
            return presign_v2(
                creds.access_key, creds.secret_key, method, self._scheme, host, path, resource,
                query, int(now) + expires_in, session_token=creds.token,
            )  # fmt: skip
        from .signing import SigV4Context

        ctx = SigV4Context(
            creds.access_key, creds.secret_key, self.region, "s3", amz_date(now), creds.token
        )
        url, _ = presign_v4(
            ctx, method, self._scheme, host, path, query, expires_in, headers=headers
        )
        return url

    # --- locks ---------------------------------------------------------------------------------
    def lock(
        self,
        key: str,
        lock_id: str | None = None,
        *,
        ttl: float = 60.0,
        prefix: str | None = None,
        protocol: LockProtocol = "auto",
        exclusive: bool = True,
        bucket: str | None = None,
        heartbeat: float | None = None,
        clock_skew: float = 5.0,
    ) -> DistributedLock:
        """A distributed lock named `key`, kept in objects under `prefix` (default
        ``"<key>.lock/"``), with `threading.Lock`'s methods; see `s3lite.lock`.

        `protocol`: 'auto' (conditional writes where the server proves to honour them under
        concurrency, else the two-object sequential protocol), 'conditional' or 'sequential'.

        `ttl`: seconds a holder keeps the lock without renewing it; `exclusive`: False for a shared
        (reader) lock; `bucket`: where the lock objects live (default the session's); `heartbeat`:
        seconds between renewals (default `ttl` / 3); `clock_skew`: seconds of clock
        difference between hosts to tolerate. `lock_id`: re-attach to the entries of an existing
        lock id (`ValueError` if none).
        """
        from .lock import DistributedLock

        return DistributedLock(
            self, key, ttl=ttl, prefix=prefix, protocol=protocol, exclusive=exclusive,
            bucket=bucket, heartbeat=heartbeat, clock_skew=clock_skew, lock_id=lock_id,
        )  # fmt: skip

    def lock_store(self, bucket: str | None = None) -> S3LockStore:
        """Where `lock` keeps its objects: `bucket` (default the session's)."""
        from .lock import S3LockStore

        return S3LockStore(self, self._bucket(bucket))

    # --- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the session's pooled connections."""
        self.transport.close()

    def __enter__(self) -> S3Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"S3Session(endpoint_url={self.endpoint_url!r}, bucket={self.bucket!r}, "
            f"region={self.region!r}, signature_version={self.signature_version!r})"
        )

    # --- any request, and the common sub-resources -------------------------------------------
    def request(
        self,
        method: str,
        url_or_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        fields: Mapping[str, str | int | None] | Iterable[tuple[str, str]] | None = None,
        body: BodyLike = None,
        *,
        bucket: str | None = None,
        stream: bool = False,
        preload_content: bool | None = None,
    ) -> Response:
        """Send any signed request, for operations s3lite does not wrap; errors are typed as
        for every other call (a `ClientError` subclass for a non-2xx status).

        `method`: the HTTP method. `url_or_key`: a full URL on this session's endpoint (path
        or virtual-host style; a URL on any other host is refused, so credentials never go
        elsewhere), or an object key in `bucket` (default the session's), or None for a
        bucket-level request. `headers`: extra request headers (not Host). `fields`: query
        parameters, a mapping or (name, value) pairs; None or "" for a bare sub-resource such
        as ``{"tagging": ""}``. `body`: bytes, str, a binary file or an iterable of bytes
        (sent as given: add Content-MD5 where the operation wants one). `stream`: leave the
        body unread for `read()`/`iter_chunks()` (then close the response);
        `preload_content=False` means the same, as in s3func.
        """
        if not isinstance(method, str) or not re.match(_TOKEN_RE, method):
            raise ValueError(f"method must be an HTTP method name, got {method!r}")
        method = method.upper()
        params: list[tuple[str, str]] = []
        target: str | None
        if isinstance(url_or_key, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url_or_key):
            if bucket is not None:
                raise ValueError("pass a full URL or bucket=, not both")
            target, key, params = self._own_url(url_or_key)
        else:
            key = validate_key(url_or_key) if url_or_key is not None else None
            target = self._bucket(bucket)
        params.extend(query_fields(fields))
        hdrs = dict(headers or {})
        if any(name.lower() == "host" for name in hdrs):
            raise ValueError("the Host header comes from the endpoint; do not pass one")
        if preload_content is not None:
            stream = not preload_content
        prepared, payload_hash, _ = self._prepare_body(body, None, None)
        if method not in ("PUT", "POST") and prepared.length:
            hdrs["Content-Length"] = str(prepared.length)
        request = self._build(
            method, target, key, params, hdrs, prepared, payload_hash=payload_hash
        )
        return self._send(request, stream=stream)

    def _own_url(self, url: str) -> tuple[str | None, str | None, list[tuple[str, str]]]:
        """(bucket, key, query) of a URL on this session's endpoint; ValueError for any
        other host, scheme or port, so that signed requests never leave the endpoint."""
        from urllib.parse import parse_qsl, unquote

        parts = urlsplit(url)
        if parts.fragment or parts.username is not None or parts.password is not None:
            raise ValueError("the URL must not carry a fragment or user info")
        host = netloc_key(parts.scheme.lower(), parts.netloc.lower())
        own = netloc_key(self._scheme, self._netloc)
        base = self._base_path
        path = parts.path or "/"
        bucket: str | None
        if parts.scheme.lower() == self._scheme and host == own:
            if path != base and not path.startswith(base + "/"):
                raise ValueError(f"URL path {path!r} is outside the endpoint {self.endpoint_url}")
            name, _, rest = path[len(base) :].lstrip("/").partition("/")
            bucket = validate_bucket(unquote(name)) if name else None
        elif parts.scheme.lower() == self._scheme and host.endswith("." + own):
            bucket = validate_bucket(host[: -len(own) - 1])
            if not path.startswith(base + "/"):
                raise ValueError(f"URL path {path!r} is outside the endpoint {self.endpoint_url}")
            rest = path[len(base) + 1 :]
        else:
            raise ValueError(
                f"refusing to sign a request for {parts.scheme}://{parts.hostname}: it is not "
                f"this session's endpoint ({self.endpoint_url}), and credentials go nowhere else"
            )
        key = validate_key(unquote(rest)) if rest and bucket is not None else None
        return bucket, key, parse_qsl(parts.query, keep_blank_values=True)

    def _subresource(
        self,
        method: str,
        name: str,
        bucket: str | None,
        key: str | None = None,
        body: bytes | None = None,
        version_id: str | None = None,
        content_type: str = "application/xml",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One request on a sub-resource (`?tagging`, `?policy`, ...), with Content-MD5 on
        bodies (S3 requires it for several of them)."""
        import base64

        if key is not None:
            validate_key(key)
        params = [(name, "")]
        if version_id:
            params.append(("versionId", version_id))
        hdrs: dict[str, str] = dict(headers or {})
        if body is not None:
            hdrs["Content-Type"] = content_type
            hdrs["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324
        request = self._build(
            method, self._bucket(bucket), key, params, hdrs, body,
            payload_hash=None if body else EMPTY_SHA256,
        )  # fmt: skip
        return self._send(request)

    def put_object_tagging(
        self,
        key: str,
        tags: Mapping[str, str],
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Replace the tags of object `key` (or of one version, `version_id`) in `bucket`
        with `tags`, a dict of str to str (S3 allows up to 10).

        `headers`: extra request headers.
        """
        if not isinstance(tags, Mapping):
            raise TypeError(f"tags must be a dict of str to str, not {type(tags).__name__}")
        body = s3xml.tagging_body(dict(tags))
        return self._subresource("PUT", "tagging", bucket, key, body, version_id, headers=headers)

    def get_object_tagging(
        self,
        key: str,
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The tags of object `key` (or of one version, `version_id`) in `bucket`, as a
        dict ({} when it has none).

        `headers`: extra request headers.
        """
        response = self._subresource(
            "GET", "tagging", bucket, key, version_id=version_id, headers=headers
        )
        return s3xml.parse_tagging(response.data)

    def delete_object_tagging(
        self,
        key: str,
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Remove every tag from object `key` (or from one version, `version_id`).

        `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        return self._subresource(
            "DELETE", "tagging", bucket, key, version_id=version_id, headers=headers
        )

    def put_bucket_policy(
        self,
        policy: str | Mapping[str, Any],
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Set the bucket policy of `bucket`: `policy` is the JSON text or a dict.

        `headers`: extra request headers.
        """
        import json

        text = policy if isinstance(policy, str) else json.dumps(policy)
        return self._subresource(
            "PUT",
            "policy",
            bucket,
            body=text.encode("utf-8"),
            content_type="application/json",
            headers=headers,
        )

    def get_bucket_policy(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> str | None:
        """The bucket policy of `bucket` as JSON text (`json.loads` it), or None when the
        bucket has none.

        `headers`: extra request headers.
        """
        try:
            response = self._subresource("GET", "policy", bucket, headers=headers)
        except ClientError as exc:
            if exc.code == "NoSuchBucketPolicy":
                return None
            raise
        return response.data.decode("utf-8")

    def delete_bucket_policy(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Remove the bucket policy of `bucket` (succeeds when there is none).

        `headers`: extra request headers.
        """
        return self._subresource("DELETE", "policy", bucket, headers=headers)

    def put_bucket_lifecycle_configuration(
        self,
        rules: Iterable[Mapping[str, Any]] | Mapping[str, Any],
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Replace the lifecycle rules of `bucket`. `rules` is a list of rule dicts in
        boto3's shape, e.g. ``{"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix":
        "tmp/"}, "Expiration": {"Days": 7}}``, or boto3's ``{"Rules": [...]}``.

        `headers`: extra request headers.
        """
        given: Any = rules
        if isinstance(given, Mapping):
            if set(given) != {"Rules"}:
                raise ValueError("pass a list of rules, or a dict with the single key 'Rules'")
            given = given["Rules"]
        if isinstance(given, (str, bytes)):
            raise TypeError("rules must be a list of dicts")
        given = list(given)
        if not all(isinstance(rule, Mapping) for rule in given):
            raise TypeError("rules must be a list of dicts")
        listed = [dict(rule) for rule in given]
        if not listed:
            raise ValueError("pass at least one rule (delete_bucket_lifecycle removes them all)")
        body = s3xml.config_body("LifecycleConfiguration", {"Rules": listed})
        return self._subresource("PUT", "lifecycle", bucket, body=body, headers=headers)

    def get_bucket_lifecycle_configuration(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The lifecycle rules of `bucket`, as dicts in boto3's shape ([] when none):
        element names as keys, repeated elements as lists (Rules, Transitions, Tags), days
        and sizes as ints, dates as S3's text.

        `headers`: extra request headers.
        """
        try:
            response = self._subresource("GET", "lifecycle", bucket, headers=headers)
        except ClientError as exc:
            if exc.code == "NoSuchLifecycleConfiguration":
                return []
            raise
        config = s3xml.parse_config(response.data, "LifecycleConfiguration")
        rules: list[dict[str, Any]] = config.get("Rules", [])
        return rules

    def delete_bucket_lifecycle(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Remove every lifecycle rule of `bucket`.

        `headers`: extra request headers.
        """
        return self._subresource("DELETE", "lifecycle", bucket, headers=headers)

    def get_object_lock_config(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The Object Lock configuration of `bucket` in boto3's shape, e.g.
        ``{"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode":
        "GOVERNANCE", "Days": 1}}}``; {} when Object Lock is not enabled on it.

        `headers`: extra request headers.
        """
        try:
            response = self._subresource("GET", "object-lock", bucket, headers=headers)
        except ClientError as exc:
            if exc.code == "ObjectLockConfigurationNotFoundError":
                return {}
            raise
        return s3xml.parse_config(response.data, "ObjectLockConfiguration")

    def put_object_lock_config(
        self,
        lock: bool = False,
        *,
        mode: Literal["GOVERNANCE", "COMPLIANCE"] | None = None,
        days: int | None = None,
        years: int | None = None,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Enable Object Lock on `bucket` (`lock=True`; S3 cannot turn it off again, so
        False is refused) and set or clear its default retention: `mode` ('GOVERNANCE' or
        'COMPLIANCE') with `days` or `years`, or none of them for no default retention.
        S3 requires versioning on the bucket (`set_bucket_versioning(True)`).

        `headers`: extra request headers.
        """
        if not lock:
            raise ValueError(
                "S3 cannot disable Object Lock once enabled; pass lock=True to enable it"
            )
        config: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
        if mode is not None or days is not None or years is not None:
            if mode not in ("GOVERNANCE", "COMPLIANCE"):
                raise ValueError(f"mode must be 'GOVERNANCE' or 'COMPLIANCE', got {mode!r}")
            if (days is None) == (years is None):
                raise ValueError("give a default retention as days or years (one of them)")
            period = days if days is not None else years
            if not isinstance(period, int) or isinstance(period, bool) or period < 1:
                raise ValueError(f"the retention period must be a positive int, got {period!r}")
            unit = "Days" if days is not None else "Years"
            config["Rule"] = {"DefaultRetention": {"Mode": mode, unit: period}}
        body = s3xml.config_body("ObjectLockConfiguration", config)
        return self._subresource("PUT", "object-lock", bucket, body=body, headers=headers)


#: Checksums a multipart upload's parts may carry (md5: Content-MD5 per part).
PART_CHECKSUMS = ("crc32", "crc32c", "sha1", "sha256", "md5")


def _part_checksum(checksum: bool | str | None) -> str | None:
    """The per-part checksum of a multipart upload: True means CRC32, False/None none."""
    if checksum is True:
        return "crc32"
    if not checksum:
        return None
    name = checksum.lower()
    if name not in PART_CHECKSUMS:
        raise ValueError(
            f"checksum {checksum!r} cannot be sent per part of a multipart upload; "
            f"use one of {', '.join(PART_CHECKSUMS)}"
        )
    return name


def object_url(session: S3Session, key: str, bucket: str | None = None) -> str:
    """The plain (unsigned) URL of an object, e.g. for public-read objects."""
    host, path, _ = session._locate(session._bucket(bucket), validate_key(key))
    return f"{session._scheme}://{host}{path}"
