"""AsyncS3Session: the S3 API of `S3Session` on asyncio, the same methods, arguments, results
and errors as coroutines, running the same I/O-free operations.

The session's methods come from mixins by subject, as the sync session's do: objects
(`aio.s3_objects`), multipart uploads (`aio.s3_multipart`), bucket configuration
(`aio.s3_buckets`), and files (`aio.transfer`); `aio.s3_driver` sends.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .. import s3_requests, s3_settings
from ..retries import RetryPolicy
from ..s3 import S3Session
from .credentials import LoopCredentials
from .docs import mirrors
from .lock import AsyncLocking
from .s3_buckets import AsyncS3BucketsMixin
from .s3_multipart import AsyncS3MultipartMixin
from .s3_objects import BODY_NOTE, AsyncS3ObjectsMixin
from .transfer import AsyncTransferMixin
from .transport import AsyncTransport

if TYPE_CHECKING:
    from types import TracebackType

    from ..credentials_base import CredentialsProvider
    from ..retries import RetryMode
    from ..s3_endpoint import AddressingStyle, PayloadSigning, SignatureVersion
    from .body import AsyncBodyLike
    from .lock_s3_store import AsyncS3LockStore
    from .response import AsyncResponse

__all__ = ["AsyncS3Session"]

_INIT_NOTE = """On the async session, `transport` is an `s3lite.aio.AsyncTransport` (a urllib3
`pool_manager` has no place here); the session can be made outside the event loop, but is used
on one loop. Close it with `await session.close()` or `async with`."""


class AsyncS3Session(
    AsyncTransferMixin,
    AsyncS3ObjectsMixin,
    AsyncS3MultipartMixin,
    AsyncS3BucketsMixin,
    AsyncLocking,
):
    """A connection to one S3-compatible service on asyncio, with an optional default bucket.

    `S3Session`'s methods as coroutines (`await session.put_object(...)`): objects, files
    (upload_file, download_file: parts run as concurrent tasks), buckets, tags, policies,
    lifecycle, Object Lock, request, or any operation of `s3lite.s3_requests` (or its
    `s3_*_requests` siblings) with `await run(op)`; listings are async iterators (`async
    for item in session.list_objects()`), streamed bodies are read with `await
    resp.read()` or `async for chunk in resp.iter_chunks()`; `presign` stays synchronous.
    Use it on one event loop; close it (`async with`, or `await close()`).
    """

    multipart_min_part_size = S3Session.multipart_min_part_size
    multipart_max_part_size = S3Session.multipart_max_part_size
    multipart_max_parts = S3Session.multipart_max_parts
    #: Largest object a single CopyObject may copy; above it copy_object copies in parts.
    max_copy_size = S3Session.max_copy_size
    supports_checksum_mode = S3Session.supports_checksum_mode
    supports_if_match = S3Session.supports_if_match

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
        transport: AsyncTransport | None = None,
        payload_signing: PayloadSigning = "auto",
        backoff_base: float = 1.0,
        max_backoff: float = 20.0,
        user_agent: str | None = None,
        profile: str | None = None,
    ) -> None:
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
        self._loop_credentials = LoopCredentials(settings.credentials)
        self._auth = s3_settings.signer(settings.endpoint, self._loop_credentials)
        if transport is None:
            transport = AsyncTransport(
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
                user_agent=user_agent,
            )
        self.transport = transport

    __init__.__doc__ = f"{S3Session.__init__.__doc__}\n{_INIT_NOTE}"

    @mirrors(S3Session.request, BODY_NOTE)
    async def request(
        self,
        method: str,
        url_or_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        fields: Mapping[str, str | int | None] | Iterable[tuple[str, str]] | None = None,
        body: AsyncBodyLike = None,
        *,
        bucket: str | None = None,
        stream: bool = False,
        preload_content: bool | None = None,
    ) -> AsyncResponse:
        if preload_content is not None:
            stream = not preload_content
        method, target, key, params, hdrs = s3_requests.custom_request_target(
            self._endpoint, method, url_or_key, headers, fields, bucket=bucket
        )
        prepared, spool = await self._prepare_body(body, None, None)
        try:
            return await self._respond(
                s3_requests.custom_request(
                    self._endpoint, method, target, key, params, hdrs, prepared, stream=stream
                )
            )
        finally:
            if spool is not None:
                spool.close()

    # --- presigned URLs ------------------------------------------------------------------------
    @mirrors(S3Session.presign)
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
        return s3_requests.presign_url(
            self._endpoint, self._loop_credentials.get, self.transport.now(), method, key,
            expires_in, bucket=bucket, version_id=version_id, headers=headers, params=params,
        )  # fmt: skip

    def lock_store_async(self, bucket: str | None = None) -> AsyncS3LockStore:
        """Where `lock` keeps its objects: `bucket` (default the session's)."""
        from .lock_s3_store import AsyncS3LockStore

        return AsyncS3LockStore(self, self._bucket(bucket))

    # --- lifecycle -----------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the session's pooled connections."""
        await self.transport.aclose()

    async def aclose(self) -> None:
        """Close the session's pooled connections (as `close`)."""
        await self.transport.aclose()

    async def __aenter__(self) -> AsyncS3Session:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (
            f"AsyncS3Session(endpoint_url={self.endpoint_url!r}, bucket={self.bucket!r}, "
            f"region={self.region!r}, signature_version={self.signature_version!r})"
        )
