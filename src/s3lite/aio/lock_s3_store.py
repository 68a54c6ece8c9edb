"""The lock store on S3 for the asyncio API: `S3LockOps`, run on an async session.

It works through the public coroutines of an async session (see `AsyncS3LockSession`;
``AsyncS3Session.lock_store_async(bucket)`` makes it) and answers with the records of
`s3lite.lock.store`, so the lock package's protocol steps run on it unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..lock.s3_store import S3LockOps
from ..lock.store import SessionTransport
from .lock_store import AsyncSessionStore

if TYPE_CHECKING:
    from .response import AsyncResponse

__all__ = ["AsyncS3LockSession", "AsyncS3LockStore"]


class AsyncS3LockSession(Protocol):
    """The public session coroutines the async S3 lock store uses (`AsyncS3Session`)."""

    @property
    def endpoint_url(self) -> str:
        """The endpoint, for the per-endpoint protocol cache."""
        ...

    @property
    def transport(self) -> SessionTransport:
        """The session's transport."""
        ...

    async def put_object(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str | None = None,
        bucket: str | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> AsyncResponse:
        """PUT an object."""
        ...

    async def get_object(
        self,
        key: str,
        *,
        bucket: str | None = None,
        stream: bool | None = None,
        max_size: int | None = None,
    ) -> AsyncResponse:
        """GET an object."""
        ...

    async def delete_object(
        self,
        key: str,
        version_id: str | None = None,
        *,
        bucket: str | None = None,
        if_match: str | None = None,
    ) -> AsyncResponse:
        """DELETE an object (or one version)."""
        ...

    def list_object_versions(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> AsyncIterable[Mapping[str, Any]]:
        """Every version under a prefix (an async listing)."""
        ...

    async def request(
        self,
        method: str,
        url_or_key: str | None = None,
        *,
        fields: Iterable[tuple[str, str]] | None = None,
        bucket: str | None = None,
    ) -> AsyncResponse:
        """Any signed request, its body read (the listing, whose Date the lock needs)."""
        ...


class AsyncS3LockStore(AsyncSessionStore):
    """Lock objects in an S3 bucket, for the asyncio API: `S3LockOps` run on an async
    session (see `LockStore` for what each method promises)."""

    def __init__(self, session: AsyncS3LockSession, bucket: str) -> None:
        super().__init__(
            S3LockOps(bucket, session.transport.now),
            functools.partial(getattr, session),
            session.endpoint_url,
            session.transport,
        )
        self.session = session
