"""`DistributedLock`: the public lock, with `threading.Lock`'s manner, over either protocol.

It validates its arguments, picks the protocol (probing conditional writes once per
endpoint), drives the protocol's steps on the session's store, and runs the heartbeat.
"""

from __future__ import annotations

import datetime as _dt
import math
import threading
import weakref
from typing import Any, TypeVar

from ..errors import ClientError, LockError, LockLost, TransportError
from .clock import mono
from .conditional import Conditional
from .heartbeat import finalize, heartbeat
from .inventory import break_criteria, break_locks, other_locks, pickers
from .lease import Hold
from .probe import ConditionalSupport, support_for
from .protocol import BaseProtocol, take
from .sequential import Sequential
from .settings import DEFAULT_CLOCK_SKEW, LockProtocol, check_names, lock_settings
from .state import DEFAULT_TTL
from .steps import Step, drive
from .store import LockStore, LockStoreSource

__all__ = ["DistributedLock", "build_protocol", "check_acquire", "make_store"]

T = TypeVar("T")


def make_store(session: LockStoreSource, bucket: str | None) -> LockStore:
    """The session's store of lock objects in `bucket`: it picks its own adapter."""
    make = getattr(session, "lock_store", None)
    if make is None:
        raise TypeError(
            f"session must be an S3Session or a B2Session, not {type(session).__name__}"
        )
    store: LockStore = make(bucket)
    return store


def build_protocol(
    store: LockStore,
    prefix: str,
    ttl: float,
    skew: float,
    heartbeat: float,
    requested: LockProtocol,
    support: ConditionalSupport | None,
) -> BaseProtocol:
    """The protocol a lock runs: `requested`, or for 'auto' the conditional one where the
    endpoint's probed `support` allows it (None: not probed -- the store has no conditional
    writes, or 'sequential' was asked for)."""
    if support is None:
        return Sequential(store, prefix, ttl, skew, heartbeat)
    if requested == "conditional" and not (support.if_none_match and support.if_match):
        raise LockError(
            f"{store.endpoint} does not honour conditional writes ({support.detail}); "
            "use protocol='sequential'"
        )
    if requested == "conditional" or support.usable:
        return Conditional(store, prefix, ttl, skew, support, heartbeat)
    return Sequential(store, prefix, ttl, skew, heartbeat)


def check_acquire(blocking: bool, timeout: float) -> None:
    """Refuse `acquire` arguments as `threading.Lock.acquire` does."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError("timeout must be a number")
    if not blocking and timeout != -1:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0 and timeout != -1:
        raise ValueError("timeout value must be a non-negative number (or -1)")


class DistributedLock:
    """A lock shared through an S3 bucket or a B2 bucket, with `threading.Lock`'s manner.

    Make it with ``session.lock(key, ...)``. One object is one holder: share the key (and a
    session), not the object, between threads and processes. See `s3lite.lock` for the
    protocols and what they assume.

    ``ttl``: seconds a holder stays valid without renewing (the heartbeat renews every
    ``heartbeat`` seconds, default ``ttl / 3``); a dead holder's lock is taken over once the
    server says ``ttl + 1 s + clock_skew`` have passed since its last renewal.
    ``protocol``: 'auto' (conditional writes where the server proves to honour them under
    concurrency, else sequential), 'conditional' or 'sequential'. ``exclusive``: the default
    mode of `acquire` (and of ``with``); shared locks admit each other.
    """

    def __init__(
        self,
        session: LockStoreSource,
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
        store = make_store(session, bucket)
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
        self._hold: Hold | None = None
        self._finalizer: Any = None
        self._busy = threading.Lock()
        #: The lock id of the current (or last) holding.
        self.lock_id: str | None = None
        #: A lock id given to re-attach to, whose entries are still to be taken over.
        self._attached: str | None = None
        if lock_id is not None:
            _snapshot, found, state = self._drive(self._impl().survey())
            if lock_id not in found and (state is None or state.find(lock_id) is None):
                raise ValueError(f"lock id {lock_id} does not exist under {self.prefix!r}")
            self._attached = self.lock_id = lock_id

    # --- protocol ------------------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        """The protocol in use ('conditional' or 'sequential'); 'auto' until first used."""
        return self._protocol.name if self._protocol is not None else self._requested

    def _impl(self) -> BaseProtocol:
        if self._protocol is not None:
            return self._protocol
        store = self._store
        support = None
        if store.conditional and self._requested != "sequential":
            support = support_for(store, self.prefix, concurrency=self._requested == "auto")
        self._protocol = build_protocol(
            store, self.prefix, self.ttl, self.clock_skew, self.heartbeat, self._requested, support
        )
        return self._protocol

    # --- threading.Lock's methods --------------------------------------------------------------
    def acquire(
        self, blocking: bool = True, timeout: float = -1, exclusive: bool | None = None
    ) -> bool:
        """Take the lock (exclusive unless `exclusive=False`, or the lock's default); wait for
        it up to `timeout` seconds (-1: forever) unless `blocking` is False. Returns whether
        the lock was taken."""
        check_acquire(blocking, timeout)
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("this lock object is being acquired or released by another thread")
        try:
            if self._hold is not None:
                raise RuntimeError(
                    "this lock object already holds the lock; make another lock object "
                    "(session.lock(key)) for another holder"
                )
            impl = self._impl()
            mode = self.exclusive if exclusive is None else bool(exclusive)
            nonblocking = not blocking or timeout == 0
            deadline = math.inf if timeout == -1 else mono() + timeout
            attached = self._attached
            self._remove_attached()  # re-attached: its old entries go, the id stays
            hold = self._drive(take(impl, mode, deadline, nonblocking, attached))
            if hold is None:
                return False
            self._hold = hold
            self.lock_id = hold.lock_id
            threading.Thread(
                target=heartbeat,
                args=(hold, impl, self.heartbeat),
                name=f"s3lite-lock-heartbeat-{hold.lock_id[:8]}",
                daemon=True,
            ).start()
            self._finalizer = weakref.finalize(self, finalize, hold, impl)
            return True
        finally:
            self._busy.release()

    def release(self) -> None:
        """Give the lock back; nothing to do if this object does not hold it (as s3func's),
        but a lock re-attached to a lock id (and not acquired since) removes that id's entries.
        `LockLost` if it turns out to have been lost meanwhile (its objects are removed all
        the same)."""
        with self._busy:
            hold = self._hold
            if hold is None:
                # As s3func's: releasing a lock not held does nothing -- except that a lock
                # re-attached to an id (and not acquired since) removes that id's entries.
                self._remove_attached()
                return
            self._hold = None
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
            hold.stop.set()
            impl = self._impl()
            with hold.mutex:
                lost = hold.lost
                if lost is None and mono() >= hold.valid_until:
                    lost = "the lock's TTL passed without a renewal"
                intact = self._drive(impl.release(hold))
            if lost is None and not intact:
                lost = "the lock's objects had been removed by someone else"
            if lost is not None:
                raise LockLost(f"lock {self.key!r} was lost before release: {lost}")

    def locked(self) -> bool:
        """Whether anyone (this object included) holds or is taking the lock."""
        if self._hold is not None:
            return True
        impl = self._impl()
        snapshot, found, state = self._drive(impl.survey())
        if any(c.live(snapshot.server_now, self.clock_skew) for c in found.values()):
            return True
        return state is not None and any(
            not state.expired(h, self.clock_skew) for h in state.holders
        )

    @property
    def held(self) -> bool:
        """Whether this object holds the lock (as far as it knows; see `verify`)."""
        return self._hold is not None

    def verify(self) -> bool:
        """Whether this object still holds the lock: not lost, within its lease, and its
        objects still on the server (one request). False at once when the lease has run out;
        never waits longer than the lease has left (a renewal in flight, a slow server). False
        once lost (then `release()` raises `LockLost`); errors reaching the server while the
        lease lasts are raised, not taken for an answer."""
        hold = self._hold
        if hold is None or hold.lost is not None:
            return False
        left = hold.valid_until - mono()
        if left <= 0 or not hold.mutex.acquire(timeout=left):  # a renewal may be in flight
            return self._expired(hold)
        try:
            if hold.lost is not None:
                return False
            if mono() >= hold.valid_until:
                return self._expired(hold)
            try:
                present = self._drive(self._impl().verify(hold, hold.valid_until))
            except (ClientError, TransportError):
                if mono() >= hold.valid_until:
                    return self._expired(hold)
                raise
            if not present:
                hold.lost = "the lock's objects were removed by someone else"
                return False
            return mono() < hold.valid_until or self._expired(hold)
        finally:
            hold.mutex.release()

    @staticmethod
    def _expired(hold: Hold) -> bool:
        """No answer within the lease: False, and lost for good once the lease has run out
        (a renewal answered later extends nothing)."""
        if hold.lost is None and mono() >= hold.valid_until:
            hold.lost = "the lock's lease ran out without a renewal"
        return False

    def time_left(self) -> float:
        """Seconds this holder's lease has left on the monotonic clock, as of its last
        confirmed renewal (0 when not held, lost or run out). No request; never waits."""
        hold = self._hold
        return 0.0 if hold is None else hold.left()

    def other_locks(self) -> dict[str, dict[str, Any]]:
        """The other holders and contenders found under the prefix (expired ones included),
        by lock id, as s3func's: ``upload_timestamp`` (the server's time of their last write;
        for the conditional protocol, of the state version that last renewed it), ``lock_type``
        ('exclusive' or 'shared') and ``owner``; and besides: lock_id, exclusive, protocol,
        live (by the server's clock), created/expires (server time for sequential contenders,
        the writer's clock for conditional entries), host, pid and ticket (sequential)."""
        return self._drive(other_locks(self._impl(), self._own_id(), self.clock_skew))

    def break_other_locks(
        self,
        timestamp: str | _dt.datetime | None = None,
        *,
        older_than: float | _dt.timedelta | None = None,
    ) -> list[dict[str, Any]]:
        """Remove other holders' and contenders' lock entries; never this object's own.

        By default only entries that have **expired by the server's clock** (their holder
        stopped renewing more than ``ttl + 1 s + clock_skew`` ago, judged from the server's
        ``Last-Modified`` against its ``Date``): a live holder is never removed. Given
        `timestamp` (a datetime, naive meaning local time, or an ISO 8601 string), every entry
        last written at or before it by the server's clock -- now or later breaks them all,
        live or not, as s3func's. Given `older_than` (seconds or a timedelta), every entry not
        written for that long by the server's clock. A live holder that is broken finds out at
        its next renewal or `verify()`, but may have been working under the lock until then.

        Returns what was removed, as s3func's: one dict per object deleted, with ``key`` and
        ``version_id`` (None where the store has none), and ``lock_id``; an entry removed from
        the conditional protocol's state object is reported with that object's key."""
        cutoff, age = break_criteria(timestamp, older_than)
        pick = pickers(cutoff, age, self._own_id(), self.clock_skew)
        return self._drive(break_locks(self._impl(), *pick))

    def _drive(self, step: Step[T]) -> T:
        """Run one protocol step on this lock's store."""
        return drive(step, self._store)

    def _own_id(self) -> str | None:
        return self._hold.lock_id if self._hold is not None else self._attached

    def _remove_attached(self) -> None:
        """Remove every entry of the lock id this object was re-attached to."""
        lock_id = self._attached
        if lock_id is not None:
            self._drive(
                break_locks(
                    self._impl(),
                    lambda c, _snapshot: c.lock_id == lock_id,
                    lambda _state, h: h.get("id") == lock_id,
                )
            )
            self._attached = None

    def __enter__(self) -> DistributedLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "held" if self._hold is not None else "not held"
        return (
            f"<DistributedLock {self.key!r} prefix={self.prefix!r} protocol={self.protocol!r} "
            f"ttl={self.ttl:g} {state}>"
        )
