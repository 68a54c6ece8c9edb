"""The sequential protocol: Lamport's bakery on plain writes, listings and deletes.

Works on any S3 server and on B2. Every step is a generator of store actions (see `steps`);
the decisions it takes are in `decisions`. See the package docstring for the algorithm, why
it is safe and what it assumes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Iterable

from ..errors import ClientError, TransportError
from .clock import jitter, mono, new_id
from .decisions import (
    POLL_MIN,
    expired_candidates,
    lost_objects,
    next_ticket,
    poll_pause,
    sequential_blockers,
    was_broken,
)
from .lease import Hold, Restart
from .protocol import HOST, NONBLOCKING_GRACE, BaseProtocol
from .state import SEQ1, STATE, Candidate, candidates, seq_key
from .steps import Act, Sleep, Step, retried
from .store import Broken, Listed, Snapshot, Written, transient

__all__ = ["Sequential"]

log = logging.getLogger("s3lite.lock")


class Sequential(BaseProtocol):
    """Contenders write "choosing" and ticket objects; the earliest live ticket holds."""

    name = "sequential"

    def _body(self, hold: Hold, stage: int, nonce: str) -> bytes:
        doc = {
            "lock_id": hold.lock_id,
            "protocol": "sequential",
            "object": f"seq-{stage}",
            "exclusive": hold.exclusive,
            "ticket": hold.ticket if stage else None,
            "ttl": self.ttl,
            "host": HOST,
            "pid": os.getpid(),
            "created": round(hold.created, 3),
            "expires": round(self.store.now() + self.ttl, 3),
            "nonce": nonce,
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    def _lease_end(self, hold: Hold) -> float:
        """Until when an answer can still count: our lease, or for our first write (no lease
        yet) the TTL from now; `Restart` once a lease we had has run out."""
        if math.isfinite(hold.valid_until):
            if mono() >= hold.valid_until:
                raise Restart("the contender's lease ran out before it could decide")
            return hold.valid_until
        return mono() + self.ttl

    def _put(self, hold: Hold, key: str, stage: int, deadline: float) -> Step[Written | None]:
        """Write one of our own objects (an idempotent PUT): retried until it is answered."""
        hold.attempted.add(key)
        delay = 0.05
        while True:
            try:
                until = self._lease_end(hold)
                body = self._body(hold, stage, new_id())
                written: Written = yield Act("put", key, body, until=until)
                return written
            except (ClientError, TransportError) as exc:
                if not transient(exc):
                    raise
                if mono() + delay >= deadline:
                    return None
                yield Sleep(jitter(delay))
                delay = min(delay * 2, 1.0)

    def _list(self, hold: Hold, deadline: float) -> Step[Snapshot | None]:
        delay = 0.05
        while True:
            try:
                snapshot: Snapshot = yield Act("listing", self.prefix, until=self._lease_end(hold))
                return snapshot
            except (ClientError, TransportError) as exc:
                if not transient(exc):
                    raise
                if mono() + delay >= deadline:
                    return None
                yield Sleep(jitter(delay))
                delay = min(delay * 2, 1.0)

    # --- acquire ---------------------------------------------------------------------------------
    def acquire(self, hold: Hold, deadline: float, nonblocking: bool) -> Step[bool]:
        """Take a ticket and wait for the contenders ahead; start over if our objects went."""
        while True:
            try:
                if (yield from self._attempt(hold, deadline, nonblocking)):
                    return True
            except Restart as exc:
                log.debug("lock %s: starting over: %s", self.prefix, exc)
                yield from self.withdraw(hold)
                hold.reset_sequential()
                if mono() < deadline and not nonblocking:
                    continue
                return False
            except GeneratorExit:
                raise
            except BaseException:
                yield from self.withdraw(hold)
                raise
            yield from self.withdraw(hold)
            return False

    def _attempt(self, hold: Hold, deadline: float, nonblocking: bool) -> Step[bool]:
        limit = mono() + NONBLOCKING_GRACE if nonblocking else deadline
        # 1. "I am choosing"
        hold.key0 = seq_key(self.prefix, 0, hold.exclusive, self.ttl, hold.lock_id)
        written = yield from self._put(hold, hold.key0, 0, limit)
        if written is None:
            return False
        hold.objects[hold.key0] = written
        hold.extend(written, first=True)
        # 2. take a ticket larger than every live one
        snapshot = yield from self._list(hold, limit)
        if snapshot is None:
            return False
        hold.check(snapshot.done)
        found = candidates(self.prefix, snapshot).values()
        hold.ticket = next_ticket(found, hold.lock_id, snapshot.server_now, self.skew)
        # 3. "my ticket"
        hold.key1 = seq_key(self.prefix, 1, hold.exclusive, self.ttl, hold.lock_id, hold.ticket)
        written = yield from self._put(hold, hold.key1, 1, limit)
        if written is None:
            return False
        hold.extend(written)
        hold.objects[hold.key1] = written
        # 4. wait until no conflicting contender is choosing or ahead of us
        while True:
            snapshot = yield from self._list(hold, limit)
            if snapshot is None:
                return False
            hold.check(snapshot.done)
            keys = {obj.key for obj in snapshot.objects}
            if lost_objects(keys, hold.key0, hold.key1, hold.key0 in hold.objects):
                # Deleted under us (break_other_locks): a decision now would rest on objects
                # others may not have seen -- seq-0 must have lasted until seq-1 existed.
                raise Restart("this contender's lock objects were removed")
            try:
                end = self._lease_end(hold)
                choosing, ahead = yield from self._blockers(hold, snapshot, end)
            except (ClientError, TransportError) as exc:
                if not transient(exc):
                    raise
                hold.check(mono())
                yield Sleep(jitter(POLL_MIN))
                continue
            if not choosing and not ahead:
                yield from self._reap(hold, snapshot, self._lease_end(hold))
                # Decided on time, but still holding only while the lease lasts: an answer
                # that came late (a slow state read, a slow delete) must not hand us a lock
                # others may already have seen expire.
                hold.check(mono())
                return True
            now = mono()
            if now >= limit or (nonblocking and ahead):
                return False
            yield from self._done_choosing(hold)
            last_sent = max(w.sent for w in hold.objects.values())
            if now - last_sent >= self.renew_every:
                try:
                    yield from self.renew(hold, self._lease_end(hold))
                except Broken as exc:
                    raise Restart(str(exc)) from None
                except (ClientError, TransportError) as exc:
                    if not transient(exc):
                        raise
            # The contender next in line polls fastest; those further back, less often.
            pause = poll_pause(len(ahead))
            yield Sleep(min(jitter(pause), max(0.0, limit - mono())))

    def _blockers(
        self, hold: Hold, snapshot: Snapshot, until: float
    ) -> Step[tuple[list[Candidate], list[object]]]:
        assert hold.ticket is not None
        choosing, ahead_of_us = sequential_blockers(
            candidates(self.prefix, snapshot).values(),
            hold.lock_id,
            hold.ticket,
            hold.exclusive,
            snapshot.server_now,
            self.skew,
        )
        ahead: list[object] = list(ahead_of_us)
        if any(obj.key == self.prefix + STATE for obj in snapshot.objects):
            # mixed clients: live holders of the conditional protocol's state go first
            state = yield from self.read_state(until, retry=True)
            ahead.extend(self.state_blockers(state, hold))
        return choosing, ahead

    def _done_choosing(self, hold: Hold) -> Step[None]:
        """Delete seq-0 while waiting (bakery: choosing := false). With seq-1 written, nobody
        reads it any more; gone, it leaves one object fewer to delete on release."""
        key = hold.key0
        if key is None or key not in hold.objects or hold.key1 not in hold.objects:
            return
        written = hold.objects[key]
        try:
            yield Act("delete_own", key, written)
        except (ClientError, TransportError) as exc:
            if not transient(exc):
                raise
            return  # deleted on release, then
        del hold.objects[key]
        if not written.retried:
            hold.attempted.discard(key)

    def _reap(self, hold: Hold, snapshot: Snapshot, until: float) -> Step[None]:
        """Delete what expired contenders (dead holders) left, exactly as listed: their owners
        stopped trusting them a TTL ago, and a late renewal of theirs fails its check."""
        found = candidates(self.prefix, snapshot).values()
        expired = expired_candidates(found, hold.lock_id, snapshot.server_now, self.skew)
        if expired:
            with contextlib.suppress(ClientError, TransportError):
                yield from self.break_candidates(expired, until)

    # --- renew, release, verify, break ----------------------------------------------------------
    def renew(self, hold: Hold, until: float = math.inf) -> Step[None]:
        """Rewrite our latest object (our ticket, or while choosing our seq-0)."""
        key = hold.key1 if hold.key1 in hold.objects else hold.key0
        assert key is not None
        old = hold.objects[key]
        nonce = new_id()
        body = self._body(hold, 1 if key == hold.key1 else 0, nonce)
        earlier = hold.pending.setdefault(key, {})
        sent = mono()
        try:
            written: Written = yield Act("replace", key, old, body, nonce, earlier, until=until)
        except (ClientError, TransportError):
            earlier[nonce] = sent  # it may have landed: a later attempt will know it
            raise
        hold.pending.pop(key, None)
        hold.objects[key] = written
        try:
            hold.extend(written)
        except Restart as exc:
            raise Broken(str(exc)) from None

    def release(self, hold: Hold) -> Step[bool]:
        """Delete seq-1, then seq-0. A breaker deletes seq-0 first, so "seq-1 already gone but
        seq-0 still there" is our own retried delete, and both gone means we were broken."""
        present: list[bool] = []
        for key in (hold.key1, hold.key0):
            if key is None or key not in hold.objects:
                continue
            written = hold.objects[key]
            present.append(bool((yield from retried(Act("delete_own", key, written)))))
        for key in hold.attempted - set(hold.objects):
            with contextlib.suppress(ClientError, TransportError):
                yield from retried(Act("delete_own", key, None))
        if (
            not hold.objects
            or any(w.retried for w in hold.objects.values())
            or (hold.attempted - set(hold.objects))
        ):  # a retried PUT may have left a stray version (B2, versioned buckets)
            yield from retried(Act("sweep", self.prefix, hold.lock_id))
        return any(present) or not present

    def verify(self, hold: Hold, until: float = math.inf) -> Step[bool]:
        """Whether our ticket object is still the version we wrote."""
        key = hold.key1
        if key is None or key not in hold.objects:
            return False
        current: bool = yield Act("is_current", key, hold.objects[key], until=until)
        return current

    def break_candidates(
        self, victims: Iterable[Candidate], until: float = math.inf
    ) -> Step[dict[str, list[Listed]]]:
        """Delete the contenders' objects exactly as listed (seq-0 first, so that their own
        release can tell): a contender that renewed meanwhile survives. Returns the objects
        deleted, by lock id, of each contender broken."""
        broken: dict[str, list[Listed]] = {}
        seq1 = self.prefix + SEQ1
        for candidate in victims:
            listed = sorted(candidate.objects, key=lambda pair: pair[0].stage)
            objects: list[Listed] = yield Act(
                "breakable", self.prefix, [obj for _, obj in listed], until=until
            )
            deleted: list[tuple[bool, bool]] = []
            for obj in objects:
                done = yield from retried(Act("delete_listed", obj, until=until))
                deleted.append((obj.key.startswith(seq1), bool(done)))
            if was_broken(deleted):
                # its ticket (or, choosing, its seq-0) is gone
                broken[candidate.lock_id] = [
                    obj for obj, (_, done) in zip(objects, deleted, strict=True) if done
                ]
        return broken
