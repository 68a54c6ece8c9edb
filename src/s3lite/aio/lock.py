"""`AsyncDistributedLock`: `DistributedLock` for the asyncio API, usable as ``async with``.

``session.lock(key, ...)`` on `AsyncS3Session` / `AsyncB2Session` returns one. It takes the
same arguments and has the same methods as `DistributedLock`, as coroutines, and runs the
lock package's own protocol steps, decisions and settings (see `s3lite.lock` for what the
lock guarantees) on the session's async store: the heartbeat is an asyncio task, and every
request a lease depends on is cut at the lease's end.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import math
import weakref
from typing import Any, Protocol, TypeVar, cast

from ..errors import ClientError, LockLost, TransportError
from ..lock.clock import mono
from ..lock.distributed import DistributedLock, build_protocol, check_acquire
from ..lock.inventory import break_criteria, break_locks, other_locks, pickers
from ..lock.protocol import BaseProtocol, take
from ..lock.settings import DEFAULT_CLOCK_SKEW, LockProtocol, check_names, lock_settings
from ..lock.state import DEFAULT_TTL
from ..lock.steps import Step
from ..lock.store import LockStore
from .lock_steps import (
    AsyncLockStore,
    Holding,
    bounded,
    drive_async,
    heartbeat_task,
    support_for_async,
)

__all__ = ["AsyncDistributedLock", "AsyncLockStoreSource", "AsyncLocking"]

T = TypeVar("T")


class AsyncLockStoreSource(Protocol):
    """What `AsyncDistributedLock` takes: an async session that makes its own store."""

    def lock_store_async(self, bucket: str | None = None) -> AsyncLockStore:
        """The async store of lock objects in `bucket` (default the session's)."""
        ...


def _copy_doc(name: str) -> str | None:
    return getattr(DistributedLock, name).__doc__  # type: ignore[no-any-return]


class AsyncDistributedLock:
    """A lock shared through an S3 or B2 bucket, for asyncio: `DistributedLock`'s arguments
    and methods, as coroutines; ``async with lock:`` acquires and releases.

    Make it with ``session.lock(key, ...)`` on an async session. One object is one holder
    (share the key, not the object, between tasks). ``ttl``, ``prefix``, ``protocol``,
    ``exclusive``, ``bucket``, ``heartbeat``, ``clock_skew`` and ``lock_id`` mean what they
    mean for `DistributedLock`; the heartbeat is an asyncio task on the running loop. A lock
    dropped while held stops renewing and its objects expire after its TTL (release it).
    """

    def __init__(
        self,
        session: AsyncLockStoreSource,
        key: str,
        *,
        ttl: float = DEFAULT_TTL,
        prefix: str | None = None,
        protocol: LockProtocol = "auto",
        exclusive: bool = True,
        bucket: str | None = None,
        heartbeat: float | None = None,
        clock_skew: float = DEFAULT_CLOCK_SKEW,
        lock_id: str | None = None,
    ) -> None:
        settings = lock_settings(
            key, ttl=ttl, prefix=prefix, protocol=protocol, exclusive=exclusive,
            heartbeat=heartbeat, clock_skew=clock_skew, lock_id=lock_id,
        )  # fmt: skip
        make = getattr(session, "lock_store_async", None)
        if make is None:
            raise TypeError(
                "session must be an AsyncS3Session or an AsyncB2Session, "
                f"not {type(session).__name__}"
            )
        store: AsyncLockStore = make(bucket)
        check_names(settings, store.conditional)
        self.key = settings.key
        self.prefix = settings.prefix
        self.ttl = settings.ttl
        self.heartbeat = settings.heartbeat
        self.clock_skew = settings.clock_skew
        self.exclusive = settings.exclusive
        self._requested: LockProtocol = settings.protocol
        self._store = store
        self._protocol: BaseProtocol | None = None
        self._holding: Holding | None = None
        self._finalizer: Any = None
        self._busy = False
        #: The lock id of the current (or last) holding.
        self.lock_id: str | None = None
        #: A lock id given to re-attach to: checked by the first coroutine that runs, and
        #: its entries taken over by the next acquire (or removed by release).
        self._attached: str | None = lock_id
        self._unchecked = lock_id is not None

    # --- protocol ------------------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        """The protocol in use ('conditional' or 'sequential'); 'auto' until first used."""
        return self._protocol.name if self._protocol is not None else self._requested

    async def _impl(self) -> BaseProtocol:
        if self._protocol is None:
            store = self._store
            support = None
            if store.conditional and self._requested != "sequential":
                auto = self._requested == "auto"
                support = await support_for_async(store, self.prefix, concurrency=auto)
            # The protocols call a store's now() (and read endpoint/conditional) directly;
            # every request goes through an action, which `drive_async` awaits.
            self._protocol = build_protocol(
                cast("LockStore", store), self.prefix, self.ttl, self.clock_skew,
                self.heartbeat, self._requested, support,
            )  # fmt: skip
        if self._unchecked:
            self._unchecked = False
            lock_id = self._attached
            _snapshot, found, state = await self._drive(self._protocol.survey())
            if lock_id not in found and (state is None or state.find(lock_id or "") is None):
                self._attached = None
                raise ValueError(f"lock id {lock_id} does not exist under {self.prefix!r}")
            self.lock_id = lock_id
        return self._protocol

    # --- threading.Lock's methods, as coroutines -----------------------------------------------
    async def acquire(
        self, blocking: bool = True, timeout: float = -1, exclusive: bool | None = None
    ) -> bool:
        check_acquire(blocking, timeout)
        if self._busy:
            raise RuntimeError("this lock object is being acquired or released by another task")
        self._busy = True
        try:
            if self._holding is not None:
                raise RuntimeError(
                    "this lock object already holds the lock; make another lock object "
                    "(session.lock(key)) for another holder"
                )
            impl = await self._impl()
            mode = self.exclusive if exclusive is None else bool(exclusive)
            nonblocking = not blocking or timeout == 0
            deadline = math.inf if timeout == -1 else mono() + timeout
            attached = self._attached
            await self._remove_attached()  # re-attached: its old entries go, the id stays
            hold = await self._drive(take(impl, mode, deadline, nonblocking, attached))
            if hold is None:
                return False
            holding = Holding(hold)
            self._holding = holding
            self.lock_id = hold.lock_id
            holding.task = asyncio.ensure_future(
                heartbeat_task(holding, impl, self._store, self.heartbeat)
            )
            self._finalizer = weakref.finalize(self, _dropped, holding)
            return True
        finally:
            self._busy = False

    acquire.__doc__ = _copy_doc("acquire")

    async def release(self) -> None:
        # Once begun, a release runs to its end even if the task is cancelled meanwhile (the
        # cancellation is delivered after): a lock is never left half-released.
        job = asyncio.ensure_future(self._release())
        cancelled = False
        while not job.done():
            try:
                await asyncio.shield(job)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            job.exception()  # retrieved: the cancellation wins
            raise asyncio.CancelledError
        job.result()

    release.__doc__ = _copy_doc("release")

    async def _release(self) -> None:
        if self._busy:
            raise RuntimeError("this lock object is being acquired or released by another task")
        self._busy = True
        try:
            holding = self._holding
            if holding is None:
                await self._remove_attached()
                return
            self._holding = None
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
            hold = holding.hold
            holding.stop.set()
            impl = await self._impl()
            try:
                async with holding.mutex:
                    lost = hold.lost
                    if lost is None and mono() >= hold.valid_until:
                        lost = "the lock's TTL passed without a renewal"
                    intact = await self._drive(impl.release(hold))
            finally:
                if holding.task is not None:
                    await asyncio.gather(holding.task, return_exceptions=True)
            if lost is None and not intact:
                lost = "the lock's objects had been removed by someone else"
            if lost is not None:
                raise LockLost(f"lock {self.key!r} was lost before release: {lost}")
        finally:
            self._busy = False

    async def locked(self) -> bool:
        if self._holding is not None:
            return True
        impl = await self._impl()
        snapshot, found, state = await self._drive(impl.survey())
        if any(c.live(snapshot.server_now, self.clock_skew) for c in found.values()):
            return True
        return state is not None and any(
            not state.expired(h, self.clock_skew) for h in state.holders
        )

    locked.__doc__ = _copy_doc("locked")

    @property
    def held(self) -> bool:
        """Whether this object holds the lock (as far as it knows; see `verify`)."""
        return self._holding is not None

    async def verify(self) -> bool:
        holding = self._holding
        if holding is None or holding.hold.lost is not None:
            return False
        hold = holding.hold
        left = hold.valid_until - mono()
        if left <= 0:
            return self._expired(holding)
        # A renewal may be in flight: wait for it, but not past the lease (a cancelled
        # Lock.acquire never holds the lock; one granted as we were cancelled is given back).
        acquiring = asyncio.ensure_future(holding.mutex.acquire())
        try:
            if not (await bounded(acquiring, left))[0]:
                return self._expired(holding)
        except BaseException:
            if acquiring.done() and not acquiring.cancelled() and not acquiring.exception():
                holding.mutex.release()
            raise
        try:
            if hold.lost is not None:
                return False
            if mono() >= hold.valid_until:
                return self._expired(holding)
            try:
                impl = await self._impl()
                present = await self._drive(impl.verify(hold, hold.valid_until))
            except (ClientError, TransportError):
                if mono() >= hold.valid_until:
                    return self._expired(holding)
                raise
            if not present:
                hold.lost = "the lock's objects were removed by someone else"
                return False
            return mono() < hold.valid_until or self._expired(holding)
        finally:
            holding.mutex.release()

    verify.__doc__ = _copy_doc("verify")

    @staticmethod
    def _expired(holding: Holding) -> bool:
        """No answer within the lease: False, and lost for good once it has run out."""
        hold = holding.hold
        if hold.lost is None and mono() >= hold.valid_until:
            hold.lost = "the lock's lease ran out without a renewal"
        return False

    def time_left(self) -> float:
        """Seconds this holder's lease has left on the monotonic clock, as of its last
        confirmed renewal (0 when not held, lost or run out). No request; never waits."""
        holding = self._holding
        return 0.0 if holding is None else holding.hold.left()

    async def other_locks(self) -> dict[str, dict[str, Any]]:
        impl = await self._impl()
        return await self._drive(other_locks(impl, self._own_id(), self.clock_skew))

    other_locks.__doc__ = _copy_doc("other_locks")

    async def break_other_locks(
        self,
        timestamp: str | _dt.datetime | None = None,
        *,
        older_than: float | _dt.timedelta | None = None,
    ) -> list[dict[str, Any]]:
        cutoff, age = break_criteria(timestamp, older_than)
        impl = await self._impl()
        pick = pickers(cutoff, age, self._own_id(), self.clock_skew)
        return await self._drive(break_locks(impl, *pick))

    break_other_locks.__doc__ = _copy_doc("break_other_locks")

    async def _drive(self, step: Step[T]) -> T:
        """Run one protocol step on this lock's store."""
        return await drive_async(step, self._store)

    def _own_id(self) -> str | None:
        return self._holding.hold.lock_id if self._holding is not None else self._attached

    async def _remove_attached(self) -> None:
        """Remove every entry of the lock id this object was re-attached to."""
        lock_id = self._attached
        if lock_id is not None:
            impl = await self._impl()
            await self._drive(
                break_locks(
                    impl,
                    lambda c, _snapshot: c.lock_id == lock_id,
                    lambda _state, h: h.get("id") == lock_id,
                )
            )
            self._attached = None

    async def __aenter__(self) -> AsyncDistributedLock:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()

    def __repr__(self) -> str:
        state = "held" if self._holding is not None else "not held"
        return (
            f"<AsyncDistributedLock {self.key!r} prefix={self.prefix!r} "
            f"protocol={self.protocol!r} ttl={self.ttl:g} {state}>"
        )


class AsyncLocking:
    """`lock()` on the async sessions (each makes its own store with `lock_store_async`)."""

    def lock(
        self,
        key: str,
        lock_id: str | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        prefix: str | None = None,
        protocol: LockProtocol = "auto",
        exclusive: bool = True,
        bucket: str | None = None,
        heartbeat: float | None = None,
        clock_skew: float = DEFAULT_CLOCK_SKEW,
    ) -> AsyncDistributedLock:
        """A distributed lock named `key`, kept in objects under `prefix` (default
        ``"<key>.lock/"``): the sync session's lock with its methods as coroutines, usable as
        ``async with``; see `s3lite.lock` (the same protocols: sync and async holders exclude
        each other).

        `protocol`: 'auto' (conditional writes where the server proves to honour them under
        concurrency, else the two-object sequential protocol; B2 has only the latter),
        'conditional' or 'sequential'.

        `ttl`: seconds a holder keeps the lock without renewing it; `exclusive`: False for a
        shared (reader) lock; `bucket`: where the lock objects live (default the session's);
        `heartbeat`: seconds between renewals, by an asyncio task (default `ttl` / 3);
        `clock_skew`: seconds of clock difference between hosts to tolerate. `lock_id`:
        re-attach to the entries of an existing lock id (`ValueError` from the first
        coroutine called if there is none).
        """
        return AsyncDistributedLock(
            cast("AsyncLockStoreSource", self), key, ttl=ttl, prefix=prefix, protocol=protocol,
            exclusive=exclusive, bucket=bucket, heartbeat=heartbeat, clock_skew=clock_skew,
            lock_id=lock_id,
        )  # fmt: skip


def _dropped(holding: Holding) -> None:
    """A held lock dropped without release(): stop its heartbeat (from the loop's thread);
    its objects expire after their TTL."""
    task = holding.task
    if task is None or task.done():
        return
    loop = task.get_loop()
    if not loop.is_closed():
        loop.call_soon_threadsafe(holding.stop.set)
