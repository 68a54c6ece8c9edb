"""The asyncio driver of B2 operations: what every part of `AsyncB2Session` stands on.

The same operations as `B2Driver` drives, with each `Call` sent on an `AsyncTransport`. The
account authorization (the process-wide `AuthSlot` cache, shared with the sync sessions) is
fetched on the loop before a request is signed, once per key and loop whatever the number of
tasks that need it; a retried upload gets its fresh upload URL the same way.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..b2_auth import AuthSlot, TokenAuth, UploadAuth, UploadTarget
from ..b2_calls import B2Context, api, bucket_id
from ..b2_driver import B2Base
from ..b2_requests import B2_DIALECT, Account, parse_error, resendable, validate_bucket
from ..errors import ClientError
from .driver import run_async

if TYPE_CHECKING:
    from ..operation import Call, Operation
    from ..transport import Attempt
    from .response import AsyncResponse
    from .transport import AsyncTransport

__all__ = ["AsyncB2Driver", "AsyncTokenAuth", "AsyncUploadAuth"]

T = TypeVar("T")

#: One authorization at a time per key on each loop (tasks that need it wait for it).
_AUTH_LOCKS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[AuthSlot, asyncio.Lock]
] = weakref.WeakKeyDictionary()


def _auth_lock(slot: AuthSlot) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    locks = _AUTH_LOCKS.get(loop)
    if locks is None:
        locks = _AUTH_LOCKS[loop] = weakref.WeakKeyDictionary()
    lock = locks.get(slot)
    if lock is None:
        lock = locks[slot] = asyncio.Lock()
    return lock


def _not_here(realm: str, key_id: str, key: str) -> tuple[Account, float]:
    raise RuntimeError("the async driver authorizes in prepare(), never while signing")


class AsyncTokenAuth(TokenAuth):
    """`TokenAuth` whose account is got on the loop (`prepare`, before each attempt) rather
    than while signing; a refused token is dropped as the sync one drops it."""

    __slots__ = ("_account", "_get")

    def __init__(self, slot: AuthSlot, get: Callable[[], Awaitable[Account]]) -> None:
        super().__init__(slot, _not_here)
        self._get = get
        self._account: Account | None = None

    async def prepare(self) -> None:
        self._account = await self._get()

    def sign(self, attempt: Attempt) -> None:
        if self._account is None:
            raise RuntimeError("AsyncTokenAuth signs after prepare()")
        self.token = self._account.token
        attempt.headers["Authorization"] = self.token


class AsyncUploadAuth:
    """An `UploadAuth` driven on the loop: before every attempt after the first, `prepare`
    fetches a fresh upload URL through the async driver; signing then aims at it."""

    __slots__ = ("_run", "auth")

    def __init__(
        self, auth: UploadAuth, run: Callable[[Operation[UploadTarget]], Awaitable[UploadTarget]]
    ) -> None:
        self.auth = auth
        self._run = run

    async def prepare(self) -> None:
        if self.auth.attempts:
            self.auth.target = await self._run(self.auth.fetch())

    def sign(self, attempt: Attempt) -> None:
        self.auth.aim(attempt)

    def refresh(self, error: ClientError) -> bool:
        return self.auth.refresh(error)


class AsyncB2Driver(B2Base):
    """Runs B2 operations on an `AsyncTransport` for a key's `AuthSlot`."""

    transport: AsyncTransport
    #: The account this session last used (its id and bucket never change for a key).
    _seen: Account | None = None

    async def run(self, operation: Operation[T]) -> T:
        """Drive an I/O-free operation from s3lite.operation through this session's
        transport and return its result.

        `operation`: a generator yielding `Call`s (e.g. from the `s3lite.b2_*` modules).
        """
        return await run_async(operation, self._send)

    async def _send(self, call: Call) -> AsyncResponse:
        auth: Any = call.auth
        if auth is None:
            auth = self._token_auth()
        elif isinstance(auth, UploadAuth):
            auth = AsyncUploadAuth(auth, self.run)
        # A body that breaks off is asked for again by the transport only when asking again
        # is harmless; otherwise it is read by the driver and the error goes to the operation.
        read_here = not call.stream and not resendable(call)
        return await self.transport.send(
            call.request, auth, stream=call.stream or read_here, dialect=B2_DIALECT,
            error_parser=parse_error, ok=call.ok, max_body=call.max_body,
        )  # fmt: skip

    # --- authorization -----------------------------------------------------------------------
    def _token_auth(self) -> AsyncTokenAuth:
        """A signer with the account token (renewed once if the service refuses it)."""
        return AsyncTokenAuth(self._slot, self._account)

    async def _authorize(self, slot: AuthSlot) -> tuple[Account, float]:
        return await self.run(slot.authorization())

    async def _account(self) -> Account:
        """The key's cached account, authorizing first (once per loop) if there is none."""
        slot = self._slot
        account = slot.cached()
        if account is None:
            async with _auth_lock(slot):
                account = slot.cached()
                if account is None:
                    account, lifetime = await self._authorize(slot)
                    # The slot's lock may be held by a sync session authorizing this key.
                    await asyncio.to_thread(slot.store, account, lifetime)
        self._seen = account
        return account

    async def _context(self) -> B2Context:
        return B2Context(await self._account(), self._slot, self._download)

    # --- buckets -----------------------------------------------------------------------------
    def _bucket(self, bucket: str | None) -> str:
        """The bucket a call is about: `bucket`, else the session's, else the one bucket a
        restricted key's authorization names (once the session has authorized)."""
        if bucket is None:
            if self.bucket is None:
                account = self._slot.cached() or self._seen
                if account is None:
                    raise ValueError("no bucket given and the session has no default bucket")
                return self._default_bucket(account)
            return self.bucket
        return validate_bucket(bucket)

    async def _resolve_bucket(self, bucket: str | None) -> str:
        """`_bucket`, authorizing first when only the authorization can name the bucket."""
        if bucket is None and self.bucket is None:
            return self._default_bucket(await self._account())
        return self._bucket(bucket)

    def _bucket_if_known(self, bucket: str | None) -> str | None:
        """`bucket` (checked) or the session's; None when only the authorization can say."""
        if bucket is None and self.bucket is None:
            return None
        return self._bucket(bucket)

    async def _bucket_id(self, bucket: str) -> str:
        return await self.run(bucket_id(await self._context(), bucket))

    async def _call(
        self, name: str, params: Mapping[str, Any]
    ) -> tuple[AsyncResponse, dict[str, Any]]:
        """One JSON API call (`b2_calls.api`): its response and JSON object."""
        response, obj = await self.run(api(await self._context(), name, params))
        return cast("AsyncResponse", response), obj
