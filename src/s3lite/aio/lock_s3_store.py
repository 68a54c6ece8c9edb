"""The lock store on S3 for the asyncio API: `S3LockOps`, run on an async session.

It works through the public coroutines of an async session (see `AsyncS3LockSession`;
``AsyncS3Session.lock_store_async(bucket)`` makes it) and answers with the records of
`s3lite.lock.store`, so the lock package's protocol steps run on it unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Awaitable, Mapping
from typing import Any, Protocol

from ..lock.s3_store import S3LockOps, S3LockSessionOf
from .lock_store import AsyncSessionStore
from .response import AsyncResponse

__all__ = ["AsyncS3LockSession", "AsyncS3LockStore"]


class AsyncS3LockSession(
    S3LockSessionOf[Awaitable[AsyncResponse], AsyncIterable[Mapping[str, Any]]], Protocol
):
    """The public session coroutines `AsyncS3LockStore` uses (`AsyncS3Session` has them)."""


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
