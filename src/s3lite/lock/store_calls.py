"""Lock-store methods without I/O: generators of session calls, and the sync store on them.

A backend's store logic (fallbacks when a server refuses a conditional header, read-compare-
write, listings with the server's Date) is written once, in its `LockOps` (`S3LockOps`,
`B2LockOps`): each method a generator that yields a `SessionCall` -- one session method to
run -- and is resumed with its result, or has its exception thrown into it; it returns the
method's result. A listing is opened with a `ListingCall` and read with `NextItem`, an item at
a time, as a loop over it would. `SessionStore` runs them on a sync session (`run_calls`),
the asyncio API's `AsyncSessionStore` on an async one, awaiting each call.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Protocol, TypeVar

from ..errors import NoSuchKey
from .store import (
    MAX_LOCK_OBJECT,
    Fetched,
    Listed,
    SessionTransport,
    Snapshot,
    Written,
    fetched_from,
)

__all__ = [
    "ListingCall",
    "LockOps",
    "Lookup",
    "NextItem",
    "SessionCall",
    "SessionStore",
    "StoreBase",
    "StoreOp",
    "fetch",
    "run_calls",
]

T = TypeVar("T")


class SessionCall:
    """Run `<method>(*args, **kwargs)` of the session (awaited on an async session) and
    resume with its result."""

    __slots__ = ("args", "kwargs", "method")

    def __init__(self, method: str, *args: Any, **kwargs: Any) -> None:
        self.method = method
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.method!r}, {self.args!r}, {self.kwargs!r})"


class ListingCall(SessionCall):
    """Open the listing `<method>(*args, **kwargs)` returns (an iterable, or an async
    iterable on an async session) and resume with its iterator, for `NextItem`."""


class NextItem:
    """The next item of a listing a `ListingCall` opened; None once it is exhausted."""

    __slots__ = ("items",)

    def __init__(self, items: Any) -> None:
        self.items = items

    def __repr__(self) -> str:
        return "NextItem()"


#: A generator yielding session calls, resumed with their results, returning a result.
StoreOp = Generator["SessionCall | NextItem", Any, T]
#: The callable behind a call's method name (a session's method, or one a store was given).
Lookup = Callable[[str], Callable[..., Any]]


class LockOps(Protocol):
    """A backend's `LockStore` methods without I/O: each takes the arguments of the
    `LockStore` method of its name and is a generator of calls returning its result."""

    kind: str
    conditional: bool
    bucket: str

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> StoreOp[Written]: ...
    def get(self, key: str) -> StoreOp[Fetched | None]: ...
    def delete(self, key: str, *, if_match: str | None = None) -> StoreOp[None]: ...
    def listing(self, prefix: str) -> StoreOp[Snapshot]: ...
    def replace(
        self, key: str, old: Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> StoreOp[Written]: ...
    def delete_own(self, key: str, written: Written | None) -> StoreOp[bool]: ...
    def delete_listed(self, obj: Listed) -> StoreOp[bool]: ...
    def breakable(self, prefix: str, objects: list[Listed]) -> StoreOp[list[Listed]]: ...
    def sweep(self, prefix: str, lock_id: str) -> StoreOp[None]: ...
    def is_current(self, key: str, written: Written) -> StoreOp[bool]: ...


def fetch(bucket: str, key: str, now: Callable[[], float]) -> StoreOp[Fetched | None]:
    """Read a lock object whole (both backends' `get`), and when the server served it (`now`:
    the server's clock, when the answer has no Date); None if there is none."""
    try:
        response = yield SessionCall(
            "get_object", key, bucket=bucket, stream=False, max_size=MAX_LOCK_OBJECT
        )
    except NoSuchKey:
        return None
    return fetched_from(key, response, now())


def run_calls(op: StoreOp[T], lookup: Lookup) -> T:
    """Drive `op` to its result, each call made through `lookup` (the sync driver). Any
    exception of a call is thrown into `op`, which may handle it or let it propagate."""
    listings: list[Any] = []
    try:
        call = next(op)
        while True:
            try:
                if isinstance(call, NextItem):
                    result = next(call.items, None)
                else:
                    result = lookup(call.method)(*call.args, **call.kwargs)
                    if isinstance(call, ListingCall):
                        result = iter(result)
                        listings.append(result)
            except BaseException as exc:  # the op decides
                call = op.throw(exc)
            else:
                call = op.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value
    finally:
        for items in listings:  # a listing left early closes now, not when collected
            close = getattr(items, "close", None)
            if close is not None:
                close()


class StoreBase:
    """What a store on `ops` is besides its methods (see `SessionStore`): the backend's facts
    and the session's transport's."""

    def __init__(self, ops: LockOps, lookup: Lookup, endpoint: str, transport: SessionTransport):
        self.ops = ops
        self.lookup = lookup
        self.kind = ops.kind
        self.conditional = ops.conditional
        self.bucket = ops.bucket
        self.endpoint = endpoint
        self.transport = transport

    @property
    def max_connections(self) -> int:
        """Connections the session pools per host."""
        return self.transport.max_pool_connections

    def now(self) -> float:
        """The server's clock, as the transport last saw it."""
        return self.transport.now()


class SessionStore(StoreBase):
    """A `LockStore` running `ops`' methods on a sync session, whose methods (and those a
    store was handed) `lookup` finds by name; see `LockStore` for what each promises."""

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> Written:
        """Write an object (conditionally, where the backend can)."""
        op = self.ops.put(key, body, if_none_match=if_none_match, if_match=if_match)
        return run_calls(op, self.lookup)

    def get(self, key: str) -> Fetched | None:
        """The object and when the server served it; None if there is none."""
        return run_calls(self.ops.get(key), self.lookup)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete an object by name (with If-Match, where the backend can)."""
        run_calls(self.ops.delete(key, if_match=if_match), self.lookup)

    def listing(self, prefix: str) -> Snapshot:
        """Every object under `prefix`, and the server's time of the listing."""
        return run_calls(self.ops.listing(prefix), self.lookup)

    def replace(
        self, key: str, old: Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> Written:
        """Rewrite our own object, failing with `Broken` if it is gone or not ours."""
        return run_calls(self.ops.replace(key, old, body, nonce, earlier), self.lookup)

    def delete_own(self, key: str, written: Written | None) -> bool:
        """Delete our own object; False if it was already gone."""
        return run_calls(self.ops.delete_own(key, written), self.lookup)

    def delete_listed(self, obj: Listed) -> bool:
        """Delete exactly the object (version) a listing showed; False if it had changed."""
        return run_calls(self.ops.delete_listed(obj), self.lookup)

    def breakable(self, prefix: str, objects: list[Listed]) -> list[Listed]:
        """What to delete to break a contender whose listed objects are `objects`."""
        return run_calls(self.ops.breakable(prefix, objects), self.lookup)

    def sweep(self, prefix: str, lock_id: str) -> None:
        """Delete leftover versions of objects named with `lock_id`."""
        run_calls(self.ops.sweep(prefix, lock_id), self.lookup)

    def is_current(self, key: str, written: Written) -> bool:
        """Whether the object is still the version we wrote."""
        return run_calls(self.ops.is_current(key, written), self.lookup)
