"""What both lock protocols share: their steps' signatures and reading the lock prefix.

Each step is a generator of store actions (see `steps`); `DistributedLock` drives them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket

from ..errors import ClientError, LockError, TransportError
from .clock import mono
from .decisions import blocking_entries
from .lease import Hold
from .state import STATE, Candidate, State, candidates, parse_state
from .steps import Act, Step, retried
from .store import LockStore, Snapshot

__all__ = ["HOST", "NONBLOCKING_GRACE", "BaseProtocol", "take"]

log = logging.getLogger("s3lite.lock")

#: Written into each lock object, for diagnostics.
HOST = socket.gethostname()
#: How long a non-blocking acquire may wait for contenders that are still choosing a ticket
#: (or for conditional writes that conflicted) before it gives up.
NONBLOCKING_GRACE = 1.0


class BaseProtocol:
    """One protocol's steps on one lock prefix."""

    name = ""

    def __init__(
        self,
        store: LockStore,
        prefix: str,
        ttl: float,
        skew: float,
        renew_every: float | None = None,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.ttl = ttl
        self.skew = skew
        self.renew_every = renew_every if renew_every is not None else ttl / 3

    def acquire(self, hold: Hold, deadline: float, nonblocking: bool) -> Step[bool]:
        """Take the lock for `hold` by `deadline` (monotonic); whether it was taken."""
        raise NotImplementedError

    def renew(self, hold: Hold, until: float = math.inf) -> Step[None]:
        """Renew the lease (requests end by `until`); `Broken` if the lock was lost."""
        raise NotImplementedError

    def release(self, hold: Hold) -> Step[bool]:
        """Remove our entries; False if they had been removed by someone else."""
        raise NotImplementedError

    def verify(self, hold: Hold, until: float = math.inf) -> Step[bool]:
        """Whether our entries are still there (requests end by `until`)."""
        raise NotImplementedError

    def withdraw(self, hold: Hold) -> Step[None]:
        """Release what we may have written, whatever comes of it."""
        with contextlib.suppress(ClientError, TransportError, LockError):
            yield from self.release(hold)

    def read_state(self, until: float = math.inf, *, retry: bool = False) -> Step[State | None]:
        """The conditional protocol's state object (None: there is none); `retry`: again
        after transient errors."""
        act = Act("get", self.prefix + STATE, until=until)
        fetched = (yield from retried(act)) if retry else (yield act)
        return None if fetched is None else parse_state(fetched)

    def survey(self) -> Step[tuple[Snapshot, dict[str, Candidate], State | None]]:
        """Everything under the prefix: the listing, its sequential contenders, the state."""
        snapshot: Snapshot = yield Act("listing", self.prefix)
        state = None
        if any(obj.key == self.prefix + STATE for obj in snapshot.objects):
            state = yield from self.read_state()
        return snapshot, candidates(self.prefix, snapshot), state

    def state_blockers(self, state: State | None, hold: Hold) -> list[dict[str, object]]:
        """The state's live holders that conflict with `hold` (mixed clients)."""
        return blocking_entries(state, hold.lock_id, hold.exclusive, self.skew)


def take(
    impl: BaseProtocol,
    exclusive: bool,
    deadline: float,
    nonblocking: bool,
    lock_id: str | None = None,
) -> Step[Hold | None]:
    """Acquire a holding (under `lock_id`, if given, at the first attempt) whose lease is
    still valid when handed out; None if the lock was not taken by `deadline`."""
    while True:
        hold = Hold(exclusive, impl.ttl)
        if lock_id is not None:
            hold.lock_id, lock_id = lock_id, None
        if not (yield from impl.acquire(hold, deadline, nonblocking)):
            return None
        if mono() < hold.valid_until:
            return hold
        # Every path checks this itself; this is the last line: never hand out a lock whose
        # lease has already run out (others may have taken it since).
        log.debug("lock %s: won only after the lease ran out; again", impl.prefix)
        with contextlib.suppress(ClientError, TransportError, LockError):
            yield from impl.release(hold)
        if nonblocking or mono() >= deadline:
            return None
