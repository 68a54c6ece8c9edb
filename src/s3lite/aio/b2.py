"""AsyncB2Session: `B2Session` on asyncio, with the same methods, arguments, results and
errors, as coroutines.

Every call runs the very operations the sync session runs (the `s3lite.b2_*` modules); only
the driver differs (`AsyncB2Driver`, on an `AsyncTransport`). The account authorization is
the process-wide cache the sync sessions use, got on the loop. Listings are `AsyncListing`s
(`async for item in session.list_objects()`); `get_object` streams (`async for chunk in
resp.iter_chunks()`) and resumes a broken body from the same file id; `upload_file` and
`download_file` run their parts as concurrent tasks. `presign` awaits too:
B2 has no signed URLs, it asks for a download authorization.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..b2 import B2Session
from ..b2_driver import retry_policy
from ..b2_requests import DEFAULT_API_URL
from .b2_buckets import AsyncB2BucketsMixin
from .docs import mirrors
from .lock import AsyncLocking
from .transfer import AsyncTransferMixin
from .transport import AsyncTransport

if TYPE_CHECKING:
    import urllib3

    from ..retries import RetryMode
    from .lock_b2_store import AsyncB2LockStore

__all__ = ["AsyncB2Session"]


class AsyncB2Session(AsyncB2BucketsMixin, AsyncTransferMixin, AsyncLocking):
    """A connection to Backblaze B2 (native API) on asyncio, with an optional default bucket.

    Same methods, arguments, results and errors as `B2Session`, as coroutines; use it as
    `async with AsyncB2Session(...) as b2:` (or `await b2.close()`). One event loop at a time.
    Keys come from the arguments or from `B2_APPLICATION_KEY_ID` / `B2_APPLICATION_KEY`.
    Nothing is sent until the first call.
    """

    multipart_max_part_size: int = B2Session.multipart_max_part_size
    multipart_max_parts: int = B2Session.multipart_max_parts
    supports_if_match = B2Session.supports_if_match
    records_large_file_sha1 = B2Session.records_large_file_sha1
    max_info_entries = B2Session.max_info_entries

    @mirrors(B2Session.__init__)
    def __init__(
        self,
        access_key_id: str | None = None,
        access_key: str | None = None,
        bucket: str | None = None,
        max_pool_connections: int = 10,
        max_attempts: int | None = None,
        read_timeout: float = 60.0,
        download_url: str | None = None,
        stream: bool = True,
        *,
        api_url: str = DEFAULT_API_URL,
        max_connections: int | None = None,
        retry_mode: RetryMode | None = None,
        connect_timeout: float = 10.0,
        verify: bool | str = True,
        pool_manager: urllib3.PoolManager | None = None,
        transport: AsyncTransport | None = None,
        backoff_base: float = 1.0,
        max_backoff: float = 20.0,
        user_agent: str | None = None,
    ) -> None:
        max_pool_connections = self._configure(
            access_key_id, access_key, bucket, max_pool_connections, max_attempts, read_timeout,
            download_url, stream, api_url=api_url, max_connections=max_connections,
            retry_mode=retry_mode, connect_timeout=connect_timeout,
        )  # fmt: skip
        if pool_manager is not None:
            raise ValueError(
                "pool_manager is a urllib3 pool for B2Session; share an AsyncTransport instead"
            )
        if transport is None:
            transport = AsyncTransport(
                max_pool_connections=max_pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                verify=verify,
                retry=retry_policy(max_attempts, retry_mode, backoff_base, max_backoff),
                user_agent=user_agent,
            )
        self.transport = transport

    def lock_store_async(self, bucket: str | None = None) -> AsyncB2LockStore:
        """Where `lock` keeps its files: `bucket` (default the session's)."""
        from .lock_b2_store import AsyncB2LockStore

        return AsyncB2LockStore(self, self._bucket(bucket), self._call, self._bucket_id)

    # --- lifecycle -----------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the session's pooled connections (the process-wide authorization stays)."""
        await self.transport.aclose()

    async def aclose(self) -> None:
        """Close the session's pooled connections (`close`)."""
        await self.transport.aclose()

    async def __aenter__(self) -> AsyncB2Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (
            f"AsyncB2Session(api_url={self.api_url!r}, bucket={self.bucket!r}, "
            f"access_key_id={self.access_key_id!r})"
        )
