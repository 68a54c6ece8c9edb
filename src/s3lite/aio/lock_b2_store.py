"""The lock store on B2 for the asyncio API: `B2LockOps`, run on an async session.

It works through the public coroutines of an async session (see `AsyncB2LockSession`) and
two coroutines the session hands it: one native API call that answers with its response
(listings need the server's Date) and the bucket-id lookup.
``AsyncB2Session.lock_store_async(bucket)`` makes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from ..lock.b2_store import B2LockOps, B2LockSessionOf, b2_lookup
from .lock_store import AsyncSessionStore
from .response import AsyncResponse

__all__ = ["AsyncApiCall", "AsyncB2LockSession", "AsyncB2LockStore"]

#: One native API call: (operation, JSON parameters) -> (response, its JSON object).
AsyncApiCall = Callable[[str, Mapping[str, Any]], Awaitable[tuple[AsyncResponse, dict[str, Any]]]]


class AsyncB2LockSession(B2LockSessionOf[Awaitable[AsyncResponse]], Protocol):
    """The public session coroutines `AsyncB2LockStore` uses (`AsyncB2Session` has them)."""


class AsyncB2LockStore(AsyncSessionStore):
    """Lock files in a B2 bucket, for the asyncio API: `B2LockOps` run on an async session
    (see `LockStore` for what each method promises)."""

    def __init__(
        self,
        session: AsyncB2LockSession,
        bucket: str,
        call: AsyncApiCall,
        bucket_id: Callable[[str], Awaitable[str]],
    ) -> None:
        super().__init__(
            B2LockOps(bucket, session.transport.now),
            b2_lookup(session, call, bucket_id),
            f"{session.api_url}#{session.access_key_id}",
            session.transport,
        )
        self.session = session
        self.call = call
        self.bucket_id = bucket_id
