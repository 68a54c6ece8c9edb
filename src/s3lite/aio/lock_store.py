"""The lock stores of the asyncio API: the lock package's store logic, its calls awaited.

`AsyncSessionStore` runs a backend's `LockOps` (`S3LockOps`, `B2LockOps`: the very generators
the sync stores run) on an async session: `run_calls_async` awaits each call and reads each
listing with `anext`, an item at a time. `AsyncS3LockStore` and `AsyncB2LockStore` are it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..lock.store import Fetched, Listed, Snapshot, Written
from ..lock.store_calls import ListingCall, Lookup, NextItem, StoreBase, StoreOp

__all__ = ["AsyncSessionStore", "run_calls_async"]

T = TypeVar("T")


async def run_calls_async(op: StoreOp[T], lookup: Lookup) -> T:
    """Drive `op` to its result on an async session, each call made through `lookup` and
    awaited (the async driver). Any exception of a call -- a cancellation included -- is
    thrown into `op`, which may handle it or let it propagate."""
    listings: list[Any] = []
    try:
        call = next(op)
        while True:
            try:
                if isinstance(call, NextItem):
                    result = await anext(call.items, None)
                elif isinstance(call, ListingCall):
                    result = aiter(lookup(call.method)(*call.args, **call.kwargs))
                    listings.append(result)
                else:
                    result = await lookup(call.method)(*call.args, **call.kwargs)
            except BaseException as exc:  # the op decides
                call = op.throw(exc)
            else:
                call = op.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value
    finally:
        for items in listings:  # a listing left early closes now, not when collected
            close = getattr(items, "aclose", None)
            if close is not None:
                await close()


class AsyncSessionStore(StoreBase):
    """The asyncio API's lock store: `ops`' methods run on an async session, whose
    coroutines (and those a store was handed) `lookup` finds by name."""

    async def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> Written:
        """Write an object (conditionally, where the backend can)."""
        op = self.ops.put(key, body, if_none_match=if_none_match, if_match=if_match)
        return await run_calls_async(op, self.lookup)

    async def get(self, key: str) -> Fetched | None:
        """The object and when the server served it; None if there is none."""
        return await run_calls_async(self.ops.get(key), self.lookup)

    async def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete an object by name (with If-Match, where the backend can)."""
        await run_calls_async(self.ops.delete(key, if_match=if_match), self.lookup)

    async def listing(self, prefix: str) -> Snapshot:
        """Every object under `prefix`, and the server's time of the listing."""
        return await run_calls_async(self.ops.listing(prefix), self.lookup)

    async def replace(
        self, key: str, old: Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> Written:
        """Rewrite our own object, failing with `Broken` if it is gone or not ours."""
        return await run_calls_async(self.ops.replace(key, old, body, nonce, earlier), self.lookup)

    async def delete_own(self, key: str, written: Written | None) -> bool:
        """Delete our own object; False if it was already gone."""
        return await run_calls_async(self.ops.delete_own(key, written), self.lookup)

    async def delete_listed(self, obj: Listed) -> bool:
        """Delete exactly the object (version) a listing showed; False if it had changed."""
        return await run_calls_async(self.ops.delete_listed(obj), self.lookup)

    async def breakable(self, prefix: str, objects: list[Listed]) -> list[Listed]:
        """What to delete to break a contender whose listed objects are `objects`."""
        return await run_calls_async(self.ops.breakable(prefix, objects), self.lookup)

    async def sweep(self, prefix: str, lock_id: str) -> None:
        """Delete leftover versions of objects named with `lock_id`."""
        await run_calls_async(self.ops.sweep(prefix, lock_id), self.lookup)

    async def is_current(self, key: str, written: Written) -> bool:
        """Whether the object is still the version we wrote."""
        return await run_calls_async(self.ops.is_current(key, written), self.lookup)
