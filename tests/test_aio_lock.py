"""The asyncio lock (`s3lite.aio.lock`): the lock package's own steps driven on async stores.

Both protocols run on an in-memory store whose server clock follows real time (shared with a
sync `DistributedLock` for mixed holders), and through `AsyncS3Session` on SeaweedFS (both
protocols) and `AsyncB2Session` on the B2 test server. Timing assertions are ordering checks
with generous margins, as in tests/test_lock.py.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from conftest import FAST_RETRY
from s3lite import AsyncB2Session, AsyncS3Session
from s3lite.aio.lock import AsyncDistributedLock, AsyncLocking
from s3lite.aio.lock_steps import bounded, drive_async
from s3lite.errors import LockLost
from s3lite.lock import DistributedLock, cached_support, clear_protocol_cache
from s3lite.lock.steps import Act, Sleep
from s3lite.lock.store import Fetched, Snapshot, Written
from s3lite.transport import DeadlineExceeded
from test_lock_decisions import MemoryStore

pytestmark = pytest.mark.filterwarnings(
    "error::ResourceWarning", "error::pytest.PytestUnraisableExceptionWarning"
)

T = TypeVar("T")
PROTOCOLS = ["conditional", "sequential"]


def run(coro: Awaitable[T]) -> T:
    """Run a test coroutine on a fresh loop, then collect garbage so that anything left
    unclosed warns (an error here) inside the test that left it."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    finally:
        gc.collect()


@pytest.fixture(autouse=True)
def _fresh_protocol_cache() -> Iterator[None]:
    clear_protocol_cache()
    yield
    clear_protocol_cache()


# --- an in-memory backend, sync and async ---------------------------------------------------------


class LiveMemoryStore(MemoryStore):
    """The decisions tests' store with a server clock that runs (plus `offset`) and a guard
    that makes each request atomic, so that a sync lock in a thread can share it."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.guard = threading.Lock()
        super().__init__()

    @property  # type: ignore[override]
    def clock(self) -> float:
        return time.time() + self.offset

    @clock.setter
    def clock(self, value: float) -> None:
        pass  # the clock runs by itself; move it with `offset`

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> Written:
        with self.guard:
            return super().put(key, body, if_none_match=if_none_match, if_match=if_match)

    def get(self, key: str) -> Fetched | None:
        with self.guard:
            return super().get(key)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        with self.guard:
            super().delete(key, if_match=if_match)

    def listing(self, prefix: str) -> Snapshot:
        with self.guard:
            return super().listing(prefix)

    def delete_own(self, key: str, written: Written | None) -> bool:
        with self.guard:
            if key not in self.objects:
                return False
            self.objects.pop(key)
            return True

    def keys(self, prefix: str) -> list[str]:
        with self.guard:
            return sorted(k for k in self.objects if k.startswith(prefix))


class AsyncMemory:
    """The memory store as an async session's store: each request a coroutine (that may be
    made to stall), the rest as on the sync store."""

    METHODS = frozenset(
        {"put", "get", "delete", "listing", "replace", "delete_own", "delete_listed"}
        | {"breakable", "sweep", "is_current"}
    )

    def __init__(self, store: LiveMemoryStore) -> None:
        self.store = store
        self.kind, self.endpoint, self.bucket = store.kind, store.endpoint, store.bucket
        self.conditional = store.conditional
        self.max_connections = store.max_connections
        self.stall = 0.0
        self.calls = 0

    def now(self) -> float:
        return self.store.now()

    def __getattr__(self, name: str) -> Any:
        if name not in self.METHODS:
            raise AttributeError(name)
        method = getattr(self.store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            await asyncio.sleep(self.stall)
            return method(*args, **kwargs)

        return call


class Sessions(AsyncLocking):
    """A sync and an async "session" over one memory store."""

    def __init__(self) -> None:
        self.memory = LiveMemoryStore()
        self.stores: list[AsyncMemory] = []

    def lock_store(self, bucket: str | None = None) -> LiveMemoryStore:
        return self.memory

    def lock_store_async(self, bucket: str | None = None) -> AsyncMemory:
        store = AsyncMemory(self.memory)
        self.stores.append(store)
        return store

    def alock(self, key: str, protocol: str, **kwargs: Any) -> AsyncDistributedLock:
        return self.lock(key, protocol=protocol, **kwargs)  # type: ignore[arg-type]

    def sync_lock(self, key: str, protocol: str, **kwargs: Any) -> DistributedLock:
        return DistributedLock(self, key, protocol=protocol, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def mem() -> Sessions:
    return Sessions()


async def contend(make: Callable[[], AsyncDistributedLock], tasks: int = 6, rounds: int = 3):
    """Tasks taking the lock in turn; how many were ever inside at once."""
    inside = 0
    most = 0
    entries = 0

    async def worker() -> None:
        nonlocal inside, most, entries
        lock = make()
        for _ in range(rounds):
            async with lock:
                inside += 1
                most = max(most, inside)
                entries += 1
                await asyncio.sleep(0.01)
                inside -= 1

    await asyncio.gather(*(worker() for _ in range(tasks)))
    return {"most inside": most, "entries": entries}


# --- the driver -----------------------------------------------------------------------------------


def test_the_driver_awaits_each_action_and_cuts_it_at_its_deadline(mem: Sessions) -> None:
    store = mem.lock_store_async()

    def step() -> Any:
        yield Sleep(0.01)
        written = yield Act("put", "a", b"1")
        assert isinstance(written, Written)
        store.stall = 1.0  # the server stalls from now on
        try:
            yield Act("get", "a", until=time.monotonic() + 0.05)
        except DeadlineExceeded:
            pass
        else:
            raise AssertionError("a stalled action outlived its deadline")
        calls = store.calls
        try:
            yield Act("get", "a", until=time.monotonic() - 1)
        except DeadlineExceeded:
            assert store.calls == calls  # never sent
            return "cut"
        raise AssertionError("an action ran after its deadline")

    assert run(drive_async(step(), store)) == "cut"  # type: ignore[arg-type]
    assert mem.memory.keys("") == ["a"]


# --- mutual exclusion -----------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_async_holders_never_overlap(mem: Sessions, protocol: str) -> None:
    got = run(contend(lambda: mem.alock("x", protocol)))
    assert got == {"most inside": 1, "entries": 18}
    assert mem.memory.keys("x.lock/") in ([], ["x.lock/state"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_async_and_a_sync_holder_exclude_each_other(mem: Sessions, protocol: str) -> None:
    inside: list[str] = []
    overlaps = 0
    guard = threading.Lock()

    def enter(who: str) -> None:
        nonlocal overlaps
        with guard:
            overlaps += bool(inside)
            inside.append(who)

    def leave(who: str) -> None:
        with guard:
            inside.remove(who)

    def sync_side() -> None:
        lock = mem.sync_lock("mix", protocol)
        for _ in range(4):
            with lock:
                enter("sync")
                time.sleep(0.02)
                leave("sync")

    async def scenario() -> None:
        async def async_side() -> None:
            lock = mem.alock("mix", protocol)
            for _ in range(4):
                async with lock:
                    enter("async")
                    await asyncio.sleep(0.02)
                    leave("async")

        await asyncio.gather(asyncio.to_thread(sync_side), async_side(), async_side())

    run(scenario())
    assert overlaps == 0
    assert mem.memory.keys("mix.lock/") in ([], ["mix.lock/state"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_shared_holders_admit_each_other_and_exclude_a_writer(mem: Sessions, protocol: str) -> None:
    async def scenario() -> None:
        readers = [mem.alock("rw", protocol, exclusive=False) for _ in range(2)]
        for reader in readers:
            assert await reader.acquire(timeout=10)
        writer = mem.alock("rw", protocol)
        assert not await writer.acquire(blocking=False)
        for reader in readers:
            await reader.release()
        assert await writer.acquire(timeout=10)
        assert await writer.locked()
        await writer.release()

    run(scenario())


# --- liveness: heartbeat, TTL, verify -------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_heartbeat_task_keeps_the_lock_beyond_its_ttl(mem: Sessions, protocol: str) -> None:
    async def scenario() -> None:
        lock = mem.alock("hb", protocol, ttl=1.5, clock_skew=0.5)
        assert await lock.acquire()
        other = mem.alock("hb", protocol, ttl=1.5, clock_skew=0.5)
        await asyncio.sleep(4.0)  # well past ttl + 1 s + skew: only the heartbeat keeps it
        assert not await other.acquire(blocking=False)
        assert await lock.verify()
        assert lock.time_left() > 0
        await lock.release()
        assert await other.acquire(timeout=30)
        await other.release()

    run(scenario())
    assert mem.memory.keys("hb.lock/") in ([], ["hb.lock/state"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_unrenewed_lock_expires_and_is_taken_over(mem: Sessions, protocol: str) -> None:
    async def scenario() -> None:
        lock = mem.alock("exp", protocol, ttl=1.0, heartbeat=0.9, clock_skew=0.5)
        assert await lock.acquire()
        holding = lock._holding
        assert holding is not None
        holding.stop.set()  # the heartbeat stops: nothing renews the lock
        await asyncio.sleep(1.2)
        assert not await lock.verify()
        assert lock.time_left() == 0.0
        other = mem.alock("exp", protocol, ttl=1.0, clock_skew=0.5)
        mem.memory.offset += 10  # the server's clock says the holder's TTL has passed
        assert await other.acquire(timeout=10)
        with pytest.raises(LockLost):
            await lock.release()
        await other.release()

    run(scenario())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_verify_notices_a_broken_lock(mem: Sessions, protocol: str) -> None:
    async def scenario() -> None:
        victim = mem.alock("brk", protocol, ttl=3.0)
        assert await victim.acquire()
        assert await victim.verify()
        breaker = mem.alock("brk", protocol)
        assert list(await breaker.other_locks()) == [victim.lock_id]
        assert await breaker.break_other_locks() == []  # a live holder is spared by default
        removed = await breaker.break_other_locks(older_than=0)
        assert {entry["lock_id"] for entry in removed} == {victim.lock_id}
        assert not await victim.verify()
        with pytest.raises(LockLost):
            await victim.release()
        await victim.release()  # released (and lost) is not held: nothing to do

    run(scenario())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_verify_never_waits_past_the_lease_on_a_stalled_store(mem: Sessions, protocol: str) -> None:
    async def scenario() -> None:
        lock = mem.alock("stall", protocol, ttl=1.5, heartbeat=0.5, clock_skew=0.5)
        assert await lock.acquire()
        mem.stores[-1].stall = 60.0  # the server stops answering this holder
        # the lease's end cuts every renewal and verify; nothing waits for the server
        assert not await asyncio.wait_for(lock.verify(), 30)
        holding = lock._holding
        assert holding is not None and holding.hold.lost is not None
        mem.stores[-1].stall = 0.0
        with pytest.raises(LockLost):
            await asyncio.wait_for(lock.release(), 30)

    run(scenario())


# --- cancellation and release ---------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cancelling_a_waiting_acquire_withdraws(mem: Sessions, protocol: str) -> None:
    async def scenario() -> None:
        holder = mem.alock("c", protocol)
        assert await holder.acquire()
        held = mem.memory.keys("c.lock/")
        waiter = mem.alock("c", protocol)
        task = asyncio.ensure_future(waiter.acquire())
        await asyncio.sleep(0.5)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not waiter.held
        assert mem.memory.keys("c.lock/") == held  # the waiter left nothing behind
        assert list(await holder.other_locks()) == []
        await holder.release()
        assert await waiter.acquire(blocking=False)  # and can try again
        await waiter.release()

    run(scenario())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_async_with_releases_on_error_and_on_cancellation(mem: Sessions, protocol: str) -> None:
    async def scenario() -> None:
        lock = mem.alock("w", protocol)
        with pytest.raises(KeyError):
            async with lock:
                assert lock.held
                raise KeyError("inside")
        assert not lock.held and not await lock.locked()

        entered = asyncio.Event()

        async def body() -> None:
            async with lock:
                entered.set()
                await asyncio.sleep(60)

        task = asyncio.ensure_future(body())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not lock.held and not await lock.locked()

    run(scenario())
    assert mem.memory.keys("w.lock/") in ([], ["w.lock/state"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_release_cancelled_midway_still_removes_the_lock(mem: Sessions, protocol: str) -> None:
    async def scenario() -> None:
        lock = mem.alock("r", protocol)
        assert await lock.acquire()
        mem.stores[-1].stall = 0.2  # each request of the release takes a while
        task = asyncio.ensure_future(lock.release())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not lock.held
        mem.stores[-1].stall = 0.0
        other = mem.alock("r", protocol)
        assert not await other.locked()
        assert await other.acquire(blocking=False)
        await other.release()

    run(scenario())
    assert mem.memory.keys("r.lock/") in ([], ["r.lock/state"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_lock_dropped_while_held_stops_its_heartbeat(mem: Sessions, protocol: str) -> None:
    async def scenario() -> None:
        lock = mem.alock("d", protocol, ttl=1.5)
        assert await lock.acquire()
        holding = lock._holding
        assert holding is not None and holding.task is not None
        task = holding.task
        del lock, holding
        gc.collect()
        await asyncio.wait_for(task, 10)  # the heartbeat ends instead of renewing forever

    run(scenario())


def test_arguments_are_checked_as_the_sync_lock_checks_them(mem: Sessions) -> None:
    with pytest.raises(ValueError):
        mem.alock("k", "sometimes")
    with pytest.raises(ValueError):
        mem.alock("k", "sequential", ttl=0)
    with pytest.raises(TypeError):
        AsyncDistributedLock(object(), "k")  # type: ignore[arg-type]

    async def scenario() -> None:
        lock = mem.alock("k", "sequential")
        with pytest.raises(ValueError):
            await lock.acquire(blocking=False, timeout=1)
        with pytest.raises(ValueError):
            await lock.acquire(timeout=-2)
        assert lock.time_left() == 0.0 and not lock.held
        assert "not held" in repr(lock)

    run(scenario())


def test_methods_say_what_their_parameters_mean() -> None:
    for name in ("acquire", "release", "verify", "locked", "other_locks", "break_other_locks"):
        doc = getattr(AsyncDistributedLock, name).__doc__
        assert doc and doc == getattr(DistributedLock, name).__doc__


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_lock_reattached_by_id_removes_its_entries(mem: Sessions, protocol: str) -> None:
    async def scenario() -> None:
        first = mem.alock("id", protocol)
        assert await first.acquire()
        again = mem.alock("id", protocol, lock_id=first.lock_id)
        assert list(await again.other_locks()) == []  # its own entries are not "others"
        await again.release()  # not acquired since: removes that id's entries
        assert not await first.verify()
        with pytest.raises(LockLost):
            await first.release()
        unknown = mem.alock("id", protocol, lock_id="0" * 32)
        with pytest.raises(ValueError):
            await unknown.locked()

    run(scenario())


# --- against real servers: SeaweedFS (both protocols) and the B2 test server ------------------

REAL_KINDS = ["s3-conditional", "s3-sequential", "b2-sequential"]


class Real:
    """One backend and one forced protocol: a sync session on a fresh bucket, and a maker of
    async sessions on the same bucket (made inside each test's event loop)."""

    def __init__(self, protocol: str, sync: Any, make: Callable[[], Any]) -> None:
        self.protocol = protocol
        self.sync = sync
        self.make = make

    def keys(self, prefix: str) -> list[str]:
        return sorted(item["key"] for item in self.sync.list_objects(prefix))

    def settled(self, prefix: str) -> bool:
        """Nothing left under a lock's prefix (the conditional protocol may leave its state
        object emptied, where DELETE ignores conditions)."""
        return self.keys(prefix) in ([], [prefix + "state"])


@pytest.fixture(params=REAL_KINDS)
def real(request: pytest.FixtureRequest) -> Real:
    backend, protocol = request.param.split("-")
    if backend == "s3":
        seaweed = request.getfixturevalue("seaweed")
        sync = request.getfixturevalue("s3")

        def make() -> Any:
            return AsyncS3Session(
                seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url,
                bucket=sync.bucket, **FAST_RETRY,
            )  # fmt: skip

    else:
        server = request.getfixturevalue("b2server")
        account = request.getfixturevalue("b2_account")
        sync = request.getfixturevalue("b2")

        def make() -> Any:
            return AsyncB2Session(
                *account, bucket=sync.bucket, api_url=server.api_url, **FAST_RETRY
            )

    return Real(protocol, sync, make)


def test_real_async_holders_and_a_sync_holder_never_overlap(real: Real) -> None:
    inside: list[str] = []
    overlaps = 0
    guard = threading.Lock()

    def enter(who: str) -> None:
        nonlocal overlaps
        with guard:
            overlaps += bool(inside)
            inside.append(who)

    def leave(who: str) -> None:
        with guard:
            inside.remove(who)

    def sync_side() -> None:
        lock = real.sync.lock("mix", protocol=real.protocol)
        for _ in range(3):
            with lock:
                enter("sync")
                time.sleep(0.05)
                leave("sync")

    async def scenario() -> None:
        async with real.make() as session:

            async def async_side() -> None:
                lock = session.lock("mix", protocol=real.protocol)
                for _ in range(3):
                    async with lock:
                        enter("async")
                        await asyncio.sleep(0.05)
                        leave("async")

            await asyncio.gather(asyncio.to_thread(sync_side), async_side(), async_side())

    run(scenario())
    assert overlaps == 0
    assert real.settled("mix.lock/")


def test_real_heartbeat_keeps_it_and_an_unrenewed_lock_expires(real: Real) -> None:
    async def scenario() -> None:
        async with real.make() as session:
            lock = session.lock("hb", protocol=real.protocol, ttl=1.5, clock_skew=0.5)
            assert await lock.acquire()
            other = session.lock("hb", protocol=real.protocol, ttl=1.5, clock_skew=0.5)
            await asyncio.sleep(4.0)  # well past ttl + 1 s + skew: only the heartbeat keeps it
            assert not await other.acquire(blocking=False)
            assert await lock.verify()
            holding = lock._holding
            assert holding is not None
            holding.stop.set()  # the heartbeat stops: nothing renews the lock
            assert await other.acquire(timeout=60)  # taken over once the server says so
            assert not await lock.verify()
            with pytest.raises(LockLost):
                await lock.release()
            await other.release()

    run(scenario())
    assert real.settled("hb.lock/")


def test_real_verify_and_break_other_locks(real: Real) -> None:
    async def scenario() -> None:
        async with real.make() as session:
            victim = session.lock("brk", protocol=real.protocol, ttl=3.0)
            assert await victim.acquire()
            assert await victim.verify() and await victim.locked()
            breaker = session.lock("brk", protocol=real.protocol)
            assert list(await breaker.other_locks()) == [victim.lock_id]
            assert await breaker.break_other_locks() == []  # live holders are spared
            later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
            removed = await breaker.break_other_locks(later)  # breaks every entry
            assert {entry["lock_id"] for entry in removed} == {victim.lock_id}
            assert not await victim.verify()
            with pytest.raises(LockLost):
                await victim.release()

    run(scenario())
    assert real.settled("brk.lock/")


def test_real_cancelled_acquire_and_async_with_leave_nothing_behind(real: Real) -> None:
    async def scenario() -> None:
        async with real.make() as session:
            holder = session.lock("c", protocol=real.protocol)
            async with holder:
                held = real.keys("c.lock/")
                waiter = session.lock("c", protocol=real.protocol)
                task = asyncio.ensure_future(waiter.acquire())
                await asyncio.sleep(1.0)
                assert not task.done()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert not waiter.held
                assert real.keys("c.lock/") == held  # the waiter withdrew
            assert not holder.held
            assert await waiter.acquire(blocking=False)
            await waiter.release()

    run(scenario())
    assert real.settled("c.lock/")


def test_bounded_never_loses_a_cancellation_that_comes_as_the_action_ends() -> None:
    """asyncio.wait_for before 3.12 returns the inner result and drops the caller's
    cancellation when both happen in one loop pass; the lock's driver must not."""

    async def quick() -> str:
        return "done"

    async def scenario() -> int:
        lost = 0
        for _ in range(50):
            task = asyncio.ensure_future(bounded(quick(), 10))
            await asyncio.sleep(0)  # the inner action is started and finishes next pass
            task.cancel()
            try:
                await task
                lost += 1
            except asyncio.CancelledError:
                pass
        return lost

    assert run(scenario()) == 0


def test_real_auto_probes_conditional_writes_once_for_sync_and_async_locks(
    seaweed: Any, s3: Any
) -> None:
    async def scenario() -> None:
        async with AsyncS3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url,
            bucket=s3.bucket, **FAST_RETRY,
        ) as session:  # fmt: skip
            lock = session.lock("auto")
            assert lock.protocol == "auto"
            async with lock:
                assert lock.protocol == "conditional"  # SeaweedFS passes the racing probe
            support = cached_support(session.endpoint_url)
            assert support is not None and support.usable and support.atomic is True

    run(scenario())
    sync_lock = s3.lock("auto")
    assert sync_lock.acquire(blocking=False)  # the sync lock takes the cached answer
    assert sync_lock.protocol == "conditional"
    sync_lock.release()
