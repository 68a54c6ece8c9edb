"""The lock package's protocol steps on an asyncio store: the driver, the heartbeat task and
the conditional-write probe.

The steps, decisions and settings are `s3lite.lock`'s own; only the driving differs: each
`Act` is awaited on a store whose methods are coroutines (`lock_s3_store`, `lock_b2_store`),
cut at its lease's end (`bounded`), and a `Sleep` is `asyncio.sleep`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..errors import ClientError, ConditionalRequestConflict, PreconditionFailed, TransportError
from ..lock.clock import mono, new_id, within
from ..lock.decisions import renewal_delay, retry_delay
from ..lock.probe import (
    PROBE_KEYS,
    PROBE_WRITERS,
    ConditionalSupport,
    cached_support,
    probe_sequential,
    race_verdict,
    remember_support,
    reusable_support,
)
from ..lock.steps import Act, Sleep, Step
from ..lock.store import Broken, Fetched, Listed, Snapshot, Written
from ..transport import DeadlineExceeded
from .timeouts import bounded

if TYPE_CHECKING:
    from ..lock.lease import Hold
    from ..lock.protocol import BaseProtocol

__all__ = [
    "AsyncLockStore",
    "Holding",
    "bounded",
    "drive_async",
    "heartbeat_task",
    "support_for_async",
]

log = logging.getLogger("s3lite.lock")

T = TypeVar("T")


class AsyncLockStore(Protocol):
    """`LockStore` with its request methods as coroutines (the async sessions' stores)."""

    kind: str
    endpoint: str
    bucket: str
    conditional: bool

    @property
    def max_connections(self) -> int:
        """Connections the session pools per host (bounds concurrent probes)."""
        ...

    def now(self) -> float:
        """The server's clock, as the transport last saw it (no request: not an action)."""
        ...

    async def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> Written:
        """Write an object (conditionally, where the backend can)."""
        ...

    async def get(self, key: str) -> Fetched | None:
        """The object and when the server served it; None if there is none."""
        ...

    async def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete an object by name (with If-Match, where the backend can)."""
        ...

    async def listing(self, prefix: str) -> Snapshot:
        """Every object under `prefix`, and the server's time of the listing."""
        ...

    async def delete_listed(self, obj: Listed) -> bool:
        """Delete exactly the object (version) a listing showed; False if it had changed."""
        ...


async def drive_async(step: Step[T], store: AsyncLockStore) -> T:
    """Run `step` to its result on `store`, awaiting each action. Any exception of an
    action -- a cancellation included -- is thrown into the step, which may withdraw (its
    further actions are awaited as usual) and re-raise."""
    try:
        action = next(step)
        while True:
            try:
                if isinstance(action, Sleep):
                    if action.seconds > 0:
                        await asyncio.sleep(action.seconds)
                    result = None
                else:
                    result = await _act(store, action)
            except BaseException as exc:  # the step decides
                action = step.throw(exc)
            else:
                action = step.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value


async def _act(store: AsyncLockStore, action: Act) -> Any:
    """One store method, cut at `action.until` (`DeadlineExceeded`, as the sync transport's
    request deadline says it): an answer that would come later is worth nothing."""
    method = getattr(store, action.method)
    if not math.isfinite(action.until):
        return await method(*action.args, **action.kwargs)
    left = action.until - mono()
    if left <= 0:
        raise DeadlineExceeded(f"lock {action.method}: no time left before the lease ends")
    with within(action.until):  # the transport cuts its own timeouts to it too
        finished, result = await bounded(method(*action.args, **action.kwargs), left)
    if not finished:
        raise DeadlineExceeded(f"lock {action.method}: not answered before the lease ends")
    return result


class Holding:
    """One held lease's asyncio side: the heartbeat's stop signal and the mutex that keeps
    a renewal, `verify()` and `release()` apart (the lock package's `Hold` is the rest)."""

    __slots__ = ("hold", "mutex", "stop", "task")

    def __init__(self, hold: Hold) -> None:
        self.hold = hold
        self.stop = asyncio.Event()
        self.mutex = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None


async def heartbeat_task(
    holding: Holding, protocol: BaseProtocol, store: AsyncLockStore, interval: float
) -> None:
    """Renew `interval` after each renewal was *sent* (the lease counts from then); each
    attempt is cut after `interval`, and at the lease's end (one answered later would extend
    nothing anyway), so a stalled attempt leaves time for another. As the sync heartbeat."""
    hold = holding.hold
    delay = renewal_delay(hold.valid_until, hold.ttl, interval, mono())
    while True:
        await bounded(holding.stop.wait(), delay)
        if holding.stop.is_set():
            return
        async with holding.mutex:
            if holding.stop.is_set():
                return
            try:
                if mono() >= hold.valid_until:
                    raise Broken("the lease ran out before it could be renewed")
                until = min(hold.valid_until, mono() + interval)
                await drive_async(protocol.renew(hold, until), store)
                delay = renewal_delay(hold.valid_until, hold.ttl, interval, mono())
            except Broken as exc:
                hold.lost = str(exc)
                log.warning("lock %s lost: %s", protocol.prefix, exc)
                return
            except Exception as exc:
                left = hold.valid_until - mono()
                if left <= 0:
                    hold.lost = f"could not renew the lock within its TTL ({exc})"
                    log.warning("lock %s lost: %s", protocol.prefix, hold.lost)
                    return
                delay = retry_delay(left, interval)
                log.debug(
                    "lock %s: renewal failed, retrying in %.2f s: %r", protocol.prefix, delay, exc
                )


# --- the conditional-write probe ------------------------------------------------------------------


async def support_for_async(
    store: AsyncLockStore, prefix: str, *, concurrency: bool
) -> ConditionalSupport:
    """What `store`'s endpoint does with conditional writes: probed once per process, in
    the same cache as the sync locks' (`s3lite.lock.support_for`)."""
    cached = reusable_support(cached_support(store.endpoint), concurrency=concurrency)
    if cached is not None:
        return cached
    support = ConditionalSupport()
    base = f"{prefix}probe.{new_id()}"
    await drive_async(probe_sequential(base, support), store)
    if concurrency and support.if_none_match and support.if_match:
        for _ in range(3):  # an inconclusive race (errors, retries) is run again
            support.atomic, support.detail = await _race(store, base)
            if support.atomic is not None:
                break
    remember_support(store.endpoint, support, concurrency=concurrency)
    return support


async def _race(store: AsyncLockStore, base: str) -> tuple[bool | None, str]:
    """Race If-None-Match: * writers on fresh keys, as tasks started together."""
    pool = store.max_connections
    writers = min(PROBE_WRITERS, pool // PROBE_KEYS)
    if writers < 2:
        return None, f"too few pooled connections ({pool}) to race writers"
    keys = [f"{base}.c{n}" for n in range(PROBE_KEYS)]
    go = asyncio.Event()

    async def race(key: str, n: int) -> str:
        await go.wait()
        try:
            await store.put(key, f"{n}".encode(), if_none_match=True)
            return "won"
        except (PreconditionFailed, ConditionalRequestConflict):
            return "lost"
        except Exception as exc:
            return f"error: {exc}"

    tasks = {(k, n): asyncio.ensure_future(race(k, n)) for k in keys for n in range(writers)}
    try:
        await asyncio.sleep(0)  # every writer waits at the start line
        go.set()
        await asyncio.wait(tasks.values(), timeout=120)
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        for key in keys:
            with contextlib.suppress(ClientError, TransportError):
                await store.delete(key)
    outcome: dict[str, list[str]] = {k: [] for k in keys}
    unfinished = False
    for (key, _n), task in tasks.items():
        if task.cancelled():
            unfinished = True
        else:
            outcome[key].append(task.result())
    return race_verdict(outcome, writers, unfinished)
