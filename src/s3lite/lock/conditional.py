"""The conditional protocol: one state object changed only by compare-and-swap.

Every step is a generator of store actions (see `steps`); the decisions it takes are in
`decisions`. See the package docstring for why it is safe and what it assumes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

from ..errors import (
    ClientError,
    ConditionalRequestConflict,
    LockError,
    NoSuchKey,
    PreconditionFailed,
    TransportError,
)
from .clock import jitter, mono, new_id
from .decisions import (
    POLL_MAX,
    POLL_MIN,
    admitted,
    compatible,
    conditional_blockers,
    renewed,
    survivors,
)
from .lease import Hold, Restart
from .probe import ConditionalSupport
from .protocol import HOST, NONBLOCKING_GRACE, BaseProtocol
from .state import STATE, State, candidates, state_body
from .steps import Act, Sleep, Step, retried
from .store import Broken, LockStore, Written, after_retry, transient

__all__ = ["Conditional"]

_CHANGED = (PreconditionFailed, NoSuchKey, ConditionalRequestConflict)


class Conditional(BaseProtocol):
    """The holders of a lock in one state object, every change a compare-and-swap."""

    name = "conditional"

    def __init__(
        self,
        store: LockStore,
        prefix: str,
        ttl: float,
        skew: float,
        support: ConditionalSupport,
        renew_every: float | None = None,
    ) -> None:
        super().__init__(store, prefix, ttl, skew, renew_every)
        self.support = support
        self.key = prefix + STATE

    def _entry(self, hold: Hold) -> dict[str, Any]:
        return {
            "id": hold.lock_id,
            "exclusive": hold.exclusive,
            "ttl": self.ttl,
            "host": HOST,
            "pid": os.getpid(),
            "created": round(hold.created, 3),
            "expires": round(self.store.now() + self.ttl, 3),
            "nonce": new_id(),
        }

    # --- acquire ---------------------------------------------------------------------------------
    def acquire(self, hold: Hold, deadline: float, nonblocking: bool) -> Step[bool]:
        """Read the state; join it by CAS when every live holder is compatible; else poll."""
        sent_at: dict[str, float] = {}  # nonce -> send time of each write not known to fail
        try:
            return (yield from self._acquire(hold, deadline, nonblocking, sent_at))
        except GeneratorExit:
            raise
        except BaseException:
            if sent_at:
                yield from self.withdraw(hold)
            raise

    def _acquire(
        self, hold: Hold, deadline: float, nonblocking: bool, sent_at: dict[str, float]
    ) -> Step[bool]:
        delay = POLL_MIN
        until = mono() + NONBLOCKING_GRACE if nonblocking else deadline
        while True:
            try:
                state = yield from self.read_state()
            except (ClientError, TransportError) as exc:
                if not transient(exc):
                    raise
                if not (yield from self._pause(delay, until)):
                    return (yield from self._give_up(hold, sent_at))
                delay = min(delay * 2, POLL_MAX)
                continue
            mine = None if state is None else state.find(hold.lock_id)
            if state is not None and mine is not None:
                # A write of ours landed though we saw no success (its answer was lost, or
                # its retry got 412 because the first attempt had won).
                if (yield from self._adopt(hold, state, mine, sent_at)) and (
                    yield from self._settle(hold)
                ):
                    return True
                self._start_over(hold, sent_at)
                if not (yield from self._pause(delay, until)):
                    return False
                continue
            live = survivors(state, hold.lock_id, self.skew)
            if not compatible(live, hold.exclusive):
                if nonblocking or mono() >= deadline:
                    return (yield from self._give_up(hold, sent_at))
                yield Sleep(min(jitter(delay), max(0.0, deadline - mono())))
                delay = min(delay * 1.5, POLL_MAX)
                continue
            entry = self._entry(hold)
            body = state_body(admitted(state, live, entry), new_id())
            written: Written | None = None
            sent_at[entry["nonce"]] = sent = mono()
            # a later answer could not admit us
            condition: dict[str, Any] = (
                {"if_none_match": True} if state is None else {"if_match": state.etag}
            )
            try:
                written = yield Act("put", self.key, body, until=sent + self.ttl, **condition)
            except (PreconditionFailed, NoSuchKey):
                pass  # changed under us, or our own first attempt won: the next read tells
            except ConditionalRequestConflict:
                yield Sleep(jitter(POLL_MIN))
            except (ClientError, TransportError) as exc:
                if not transient(exc):
                    raise
                yield Sleep(jitter(delay))
            if written is not None:
                hold.entry, hold.etag, hold.sole = entry, written.etag, not live
                try:
                    hold.extend(written, first=True)
                except Restart:
                    yield from self.withdraw(hold)
                    self._start_over(hold, sent_at)
                    continue
                if (yield from self._settle(hold)):
                    return True
                self._start_over(hold, sent_at)
                if not (yield from self._pause(delay, until)):
                    return False
                continue
            if mono() >= until:
                return (yield from self._give_up(hold, sent_at))

    @staticmethod
    def _start_over(hold: Hold, sent_at: dict[str, float]) -> None:
        hold.lock_id = new_id()
        hold.entry = hold.etag = None
        hold.sole = False
        sent_at.clear()

    @staticmethod
    def _pause(delay: float, until: float) -> Step[bool]:
        """Sleep a jittered `delay`; False (without sleeping) once `until` has passed."""
        left = until - mono()
        if left <= 0:
            return False
        yield Sleep(min(jitter(delay), left))
        return True

    def _adopt(
        self, hold: Hold, state: State, mine: dict[str, Any], sent_at: dict[str, float]
    ) -> Step[bool]:
        """Our entry is in the state though we saw no success: a write whose answer was lost
        (or whose retry got 412) landed. Adopt it if it is still within its TTL."""
        sent = sent_at.get(str(mine.get("nonce")))
        if sent is None:
            sent = min(sent_at.values(), default=-math.inf)
        hold.entry, hold.etag = mine, state.etag
        hold.sole = len(state.holders) == 1
        hold.valid_until = sent + self.ttl
        if mono() >= hold.valid_until:
            yield from self.withdraw(hold)
            return False
        return True

    def _settle(self, hold: Hold) -> Step[bool]:
        """Admitted: keep the lock unless a sequential-protocol contender conflicts -- or the
        lease ran out meanwhile (then others may have dropped our entry and taken the lock)."""
        try:
            clear = yield from self._no_sequential_holders(hold, hold.valid_until)
        except (ClientError, TransportError) as exc:
            if not transient(exc) and mono() < hold.valid_until:
                yield from self.withdraw(hold)
                raise
            clear = False  # unknown in time: withdraw and start over
        if clear and mono() < hold.valid_until:
            return True
        yield from self.withdraw(hold)
        return False

    def _give_up(self, hold: Hold, sent_at: dict[str, float]) -> Step[bool]:
        """Before reporting failure, make sure no write of ours landed unseen."""
        if not sent_at:
            return False
        try:
            state = yield from self.read_state(max(sent_at.values()) + self.ttl)
            mine = state.find(hold.lock_id) if state else None
            if (
                state is not None
                and mine is not None
                and (yield from self._adopt(hold, state, mine, sent_at))
            ):
                return (yield from self._settle(hold))
        except (ClientError, TransportError):
            pass
        return False

    def _no_sequential_holders(self, hold: Hold, until: float) -> Step[bool]:
        """Mixed clients: defer to live, conflicting sequential-protocol contenders."""
        snapshot = yield from retried(Act("listing", self.prefix, until=until))
        found = candidates(self.prefix, snapshot).values()
        return not conditional_blockers(found, hold.exclusive, snapshot.server_now, self.skew)

    # --- renew, release, verify -----------------------------------------------------------------
    def renew(self, hold: Hold, until: float = math.inf) -> Step[None]:
        """Rewrite our entry by CAS (the whole state at once when we hold it alone)."""
        assert hold.entry is not None
        entry = {k: v for k, v in hold.entry.items() if k != "at"}  # renewed: by this write
        entry["expires"] = round(self.store.now() + self.ttl, 3)
        entry["nonce"] = new_id()
        written_revs: dict[str, float] = {}
        if hold.sole and hold.etag:
            rev = new_id()
            written_revs[rev] = mono()
            body = state_body([entry], rev)
            try:
                written = yield Act("put", self.key, body, if_match=hold.etag, until=until)
                hold.extend(written)
                hold.etag, hold.entry = written.etag, entry
                return
            except Restart as exc:
                raise Broken(str(exc)) from None
            except _CHANGED:
                pass
        while mono() < hold.valid_until:
            state = yield from self.read_state(until)
            if state is not None and state.rev in written_revs:
                self._renewed(hold, state, written_revs[state.rev], entry)
                return
            if state is None or state.find(hold.lock_id) is None:
                raise Broken("the lock's entry was removed from its state object")
            holders = renewed(state, hold.lock_id, entry, self.skew)
            rev = new_id()
            written_revs[rev] = mono()
            body = state_body(holders, rev)
            try:
                written = yield Act("put", self.key, body, if_match=state.etag, until=until)
            except _CHANGED:
                continue
            hold.sole = len(holders) == 1
            try:
                hold.extend(written)
            except Restart as exc:
                raise Broken(str(exc)) from None
            hold.etag, hold.entry = written.etag, entry
            return
        raise Broken("the lock could not be renewed within its TTL")

    def _renewed(self, hold: Hold, state: State, sent: float, entry: dict[str, Any]) -> None:
        if mono() >= hold.valid_until:
            raise Broken("a renewal was confirmed only after the lock's TTL had passed")
        hold.valid_until = sent + self.ttl
        hold.etag, hold.entry, hold.sole = state.etag, entry, len(state.holders) == 1

    def release(self, hold: Hold) -> Step[bool]:
        """Remove our entry by CAS (the last holder deletes or empties the state)."""
        written_revs: set[str] = set()
        ambiguous = False  # a refused DELETE whose earlier attempt may have deleted the state
        if hold.sole and hold.etag:
            try:
                yield from self._remove_all(hold.etag, written_revs)
                return True
            except _CHANGED as exc:
                ambiguous = after_retry(exc)
        for _ in range(50):
            state = yield from self.read_state(retry=True)
            if state is None:
                return True  # deleted: by our own retried DELETE (breakers never delete)
            if state.rev in written_revs:
                return True
            if state.find(hold.lock_id) is None:
                # Removed by someone else -- or our DELETE landed and a new holder came in.
                return ambiguous
            others = survivors(state, hold.lock_id, self.skew)
            try:
                if others:
                    rev = new_id()
                    written_revs.add(rev)
                    body = state_body(state.carry(others), rev)
                    yield from retried(Act("put", self.key, body, if_match=state.etag))
                else:
                    yield from self._remove_all(state.etag or "", written_revs)
                return True
            except _CHANGED as exc:
                ambiguous = ambiguous or (not others and after_retry(exc))
                continue
        raise LockError(f"could not release {self.key}: its state kept changing")

    def _remove_all(self, etag: str, written_revs: set[str]) -> Step[None]:
        """The last holder leaves: delete the state if the ETag still matches (or, where the
        server ignores conditions on DELETE, leave an empty state)."""
        if self.support.delete_if_match:
            yield from retried(Act("delete", self.key, if_match=etag))
        else:
            rev = new_id()
            written_revs.add(rev)
            yield from retried(Act("put", self.key, state_body([], rev), if_match=etag))

    def verify(self, hold: Hold, until: float = math.inf) -> Step[bool]:
        """Whether our entry is still in the state."""
        state = yield from self.read_state(until)
        return state is not None and state.find(hold.lock_id) is not None

    def break_entries(self, doomed: Callable[[State, dict[str, Any]], bool]) -> Step[set[str]]:
        """Remove the holders `doomed` picks (judged afresh on each state read) from the
        state, never deleting it; returns who was removed."""
        attempted: dict[str, set[str]] = {}  # rev -> holders that write removed
        for _ in range(50):
            state = yield from self.read_state(retry=True)
            if state is not None and state.rev in attempted:
                return attempted[state.rev]  # our write landed; its answer did not
            if state is None:
                return set()
            gone = {str(h.get("id")) for h in state.holders if doomed(state, h)}
            if not gone:
                return set()
            keep = state.carry([h for h in state.holders if str(h.get("id")) not in gone])
            rev = new_id()
            attempted[rev] = gone
            body = state_body(keep, rev)
            try:
                yield from retried(Act("put", self.key, body, if_match=state.etag))
                return gone
            except _CHANGED:
                continue
        raise LockError(f"could not break locks in {self.key}: its state kept changing")
