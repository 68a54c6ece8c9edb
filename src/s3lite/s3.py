"""S3Session: the S3 API (objects, listings, buckets, presigned URLs) on the shared transport.

Every call is an I/O-free operation (`s3lite.s3_requests` and its sibling modules) that the
session runs through its transport and signer (`S3Session.run`); the session's methods come
from mixins by subject: objects (`s3_objects`), multipart uploads (`s3_multipart`), bucket
configuration (`s3_buckets`), and files (`transfer`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from . import s3_requests, s3_settings
from .arguments import presign_seconds
from .credentials_base import CredentialsProvider
from .retries import RetryMode, RetryPolicy
from .s3_buckets import S3BucketsMixin
from .s3_endpoint import (
    AddressingStyle,
    PayloadSigning,
    SignatureVersion,
    sse_customer_headers,
    validate_bucket,
    validate_key,
)
from .s3_multipart import S3MultipartMixin
from .s3_objects import S3ObjectsMixin
from .signing import SigV2Auth, SigV4Auth
from .transfer import TransferMixin
from .transport import BodyLike, Transport

if TYPE_CHECKING:
    import urllib3

    from .deletes import DeleteObjectsError, DeleteResult
    from .lock import DistributedLock, LockProtocol, S3LockStore
    from .response import Response

__all__ = [
    "DeleteObjectsError",
    "DeleteResult",
    "S3Session",
    "object_url",
    "presign_seconds",
    "sse_customer_headers",
    "validate_bucket",
    "validate_key",
]


def __getattr__(name: str) -> object:
    """`DeleteResult` and `DeleteObjectsError`, importable from here too, load on first use
    (a session loads `deletes` only when it first deletes many keys)."""
    if name in ("DeleteObjectsError", "DeleteResult"):
        from . import deletes

        return getattr(deletes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class S3Session(TransferMixin, S3ObjectsMixin, S3MultipartMixin, S3BucketsMixin):
    """A connection to one S3-compatible service, with an optional default bucket.

    Thread-safe: share one session between threads. Credentials come from the arguments or,
    when those are omitted, the environment.

    Objects: put_object, get_object, head_object, delete_object(s), copy_object; files:
    upload_file, download_file; listings: list_objects, list_object_versions; buckets,
    tags, policies, lifecycle, Object Lock, presign, lock; anything else: request, or any
    operation of `s3lite.s3_requests` (or its `s3_*_requests` siblings) with run.
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
        settings = s3_settings.resolve(
            access_key_id, access_key, bucket, endpoint_url, region, max_pool_connections,
            max_attempts, retry_mode, read_timeout, stream, connect_timeout,
            session_token=session_token, addressing_style=addressing_style,
            signature_version=signature_version, verify=verify, credentials=credentials,
            anonymous=anonymous, payload_signing=payload_signing, profile=profile,
        )  # fmt: skip
        self._endpoint = settings.endpoint
        self.stream = stream
        self.credentials = settings.credentials
        self._auth: SigV4Auth | SigV2Auth = s3_settings.signer(settings.endpoint, self.credentials)

        if transport is None:
            transport = Transport(
                max_pool_connections=max_pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                verify=settings.verify,
                retry=RetryPolicy(
                    settings.max_attempts,
                    settings.retry_mode,
                    backoff_base=backoff_base,
                    max_backoff=max_backoff,
                ),
                pool_manager=pool_manager,
                user_agent=user_agent,
            )
        self.transport = transport

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
        if preload_content is not None:
            stream = not preload_content
        method, target, key, params, hdrs = s3_requests.custom_request_target(
            self._endpoint, method, url_or_key, headers, fields, bucket=bucket
        )
        prepared = self._prepare_body(body, None, None)
        try:
            return self.run(
                s3_requests.custom_request(
                    self._endpoint, method, target, key, params, hdrs, prepared, stream=stream
                )
            )
        finally:
            prepared.body.close()

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
        return s3_requests.presign_url(
            self._endpoint, self.credentials.get, self.transport.now(), method, key,
            expires_in, bucket=bucket, version_id=version_id, headers=headers, params=params,
        )  # fmt: skip

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


def object_url(session: S3Session, key: str, bucket: str | None = None) -> str:
    """The plain (unsigned) URL of an object, e.g. for public-read objects."""
    return session._endpoint.object_url(bucket, key)
