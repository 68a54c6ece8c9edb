"""Distributed locks on object storage that never let two holders in.

``session.lock(key)`` (S3Session or B2Session) returns a `DistributedLock` that behaves like
`threading.Lock` -- ``acquire(blocking=True, timeout=-1, exclusive=None)``, ``release()``,
``locked()``, ``with`` -- across threads, processes and machines that share a bucket. Locks
are exclusive (writers) or shared (readers: they admit each other and exclude writers). A held
lock is kept alive by a daemon heartbeat thread; a holder that dies is taken over once its TTL
has passed; a holder that lost its lock finds out (`verify()` is False, `release()` raises
`LockLost`).

Lock objects
============
Everything lives under ``prefix`` (default ``"<key>.lock/"``), a namespace reserved for the
lock: the user's ``key`` itself is never read or written. Every lock object is a small JSON
body (lock id, exclusive/shared, TTL, host and pid for diagnostics, created/expires in the
writer's clock, a per-write nonce); every decision is taken from object *names* and server
*timestamps*, never from a client's clock.

Time and expiry (both protocols)
================================
An entry expires when the **server** says its TTL has passed: a listing (or GET) answered at
server time ``Date`` shows an object last written at server time ``Last-Modified``, and::

    expired  <=>  Date > Last-Modified + ttl + 1 s + clock_skew

The 1 s covers the one-second resolution of both headers; ``clock_skew`` (default 5 s) covers
disagreement between the server's own clocks (a cluster's nodes stamp Last-Modified and Date),
the time the server spends building the response after reading the objects, and clock-rate
differences. A holder, on its side, counts its lock valid only until ``send + ttl`` on its
*monotonic* clock, where ``send`` is when it sent its last successful write; a write (renewal)
whose response arrives after that point does not extend anything -- the lock is lost. Since the
server stamps a write after it was sent, ``Last-Modified >= send``, so every other client sees
the entry live for at least ``ttl + 1 s + clock_skew`` after the holder stopped trusting it.
Assumptions: the server's clocks agree to within ``clock_skew`` and run at the rate of the
clients' monotonic clocks; client wall clocks do not matter. (If a server sends no ``Date``,
the client's clock, corrected by any RequestTimeTooSkewed adjustment, stands in: then clients
must be within ``clock_skew`` of the server.)

Every decision "I hold it" follows that rule: `acquire` returns True only while
``monotonic() < send + ttl`` (checked again after the last answer it decided on), a renewal
answered later extends nothing, and the lock's requests carry the lease's end as a transport
deadline (`request_deadline`), so that none -- a renewal on a silent server above all --
outlives the lease. `verify` answers False at once after it, and never waits longer than the
lease has left. What no lease can do: a holder *paused* (GC, SIGSTOP, swap) between a check and
its next action can act after its lease ended; only fencing by the protected resource stops it.

The heartbeat renews ``ttl / 3`` (``heartbeat=``) after the last renewal was sent, leaving two
attempts' worth of slack before a TTL runs out; the transport's own retries run inside each
attempt, cut at the lease's end.

Protocol "conditional" (S3 servers that honour conditional writes)
==================================================================
One object, ``<prefix>state``, holds the list of holders. Every change is a compare-and-swap:
create with ``If-None-Match: *``, update with ``If-Match: <etag read>``, and the last holder
deletes it with ``If-Match`` (or, where the server ignores conditions on DELETE, empties it with
``If-Match``). To acquire: GET the state; if every *live* holder is compatible (no exclusive
one, and we are shared, or none at all), write ``live holders + us`` conditionally on the ETag
read; else poll. Renewal rewrites our entry by CAS; release removes it by CAS. Whoever writes
a new version stamps each entry it carries over with ``at``, the Last-Modified of the version
it read (the server's time of that entry's last renewal); an entry without one was written by
the current version. So each entry expires by its own server time, and a dead shared holder
does not live on while the others renew.

*Why it is safe:* conditional writes serialise all changes of the state into one sequence in
which each new state was computed from its predecessor, so no write can admit an exclusive
holder next to another live holder. Entries are dropped only when the server says they
expired (see above), after which their holder no longer trusts them. *Assumes* the server's
conditional writes are atomic (linearizable) for concurrent writers -- which `auto` checks
with a concurrent probe before choosing this protocol (a probe can refute atomicity, not prove
it; on a server you do not trust, use ``protocol='sequential'``).

*Ambiguous outcomes:* a write whose response was lost (or that the transport retried and then
got 412, because its first attempt had already won) is resolved by reading the state back:
each write carries a fresh ``rev`` and our entry carries our lock id, so we know whether it
landed. 409 ConditionalRequestConflict is retried. A holder whose entry is missing from the
state (broken by `break_other_locks`, or dropped after it expired) is told so by the next
renewal, `verify()` or `release()`.

*Mixed clients:* after winning the CAS, the holder also lists the prefix and withdraws if a
live, conflicting "sequential" contender is there, and sequential contenders treat live state
holders as ahead of them; so a lock stays exclusive even if clients disagree on the protocol.

Protocol "sequential" (any S3 server, and B2, which has no conditional writes)
==============================================================================
The two-object protocol, made safe as Lamport's bakery algorithm. A contender

1. writes ``seq-0.<m>.<ttl>.<id>`` ("I am choosing");
2. lists the prefix and takes ``ticket = 1 + the largest ticket of any live seq-1``;
3. writes ``seq-1.<m>.<ttl>.<id>.<ticket>``;
4. lists again until no live *conflicting* contender is choosing (a seq-0 without a seq-1) or
   holds a smaller ``(ticket, lock id)``: then it holds the lock. Waiters keep their ticket
   (first come, first served); they withdraw (delete their objects) only on timeout. While
   waiting, a contender deletes its seq-0 (the bakery's ``choosing := false``; only once a
   listing has shown its seq-1) and renews its seq-1 every heartbeat. A listing that no
   longer shows its own objects (removed by `break_other_locks`) makes it start over under a
   new id: a decision must rest on objects everyone could see. The winner deletes what
   expired contenders (dead holders) left, each object exactly as listed.

"Earliest seq-1 wins, lock id breaks ties" -- with "earliest" a logical ticket rather than a
timestamp, because timestamps tie at one-second resolution and two contenders that tie can
each fail to see the other's seq-1 and both win.

*Why it is safe:* suppose A and B conflict and both hold. Take A's deciding listing L_A. If
L_A did not see B's seq-0, B wrote it after L_A began, so B's step-2 listing came after A's
seq-1 was written and gave B a larger ticket, and B's deciding listing (later still) shows A
ahead: B waits -- contradiction. If L_A saw B's seq-0 but no seq-1, A waited -- contradiction.
If L_A saw B's seq-1 with a larger (ticket, id), then B's deciding listing either does not
see A's seq-0 (so A listed for its ticket after B's seq-1 existed and must have a larger
ticket -- contradiction), or sees A choosing (B waits), or sees A's seq-1 ahead (B waits).
(A deletes its seq-0 only after a listing showed its seq-1, and listings read the ``seq-0``
names before the ``seq-1`` names, so no listing sees neither.) Expiry only removes contenders
that, by the argument of "Time and expiry", no longer trust their lock; a contender checks
that each listing it decides on was answered within its TTL and still shows its own objects.
*Assumes* read-after-write and list-after-write consistency: a listing shows every object
whose PUT completed before the listing began (AWS S3 since December 2020, SeaweedFS, B2) --
stale deletions in a listing only delay, never endanger.

Renewal rewrites the seq-1 object: on S3 with ``If-Match: <etag>`` (412 then means it was
deleted by someone else -- unless the body read back carries our nonce, i.e. our own retried
write had landed), on B2 as a new file version followed by deleting the previous version *by
file id* (if that version is already gone, the lock was broken: the new version is deleted and
the lock reported lost). Release deletes only the holder's own objects -- its seq-1, then
its seq-0 if still there; on S3 with ``If-Match``, on B2 by file id (sweeping stray versions
of its own names after a retried upload) -- and reports `LockLost` when they had been removed.
A 412/404 to a *retried* delete counts as our own first attempt having landed.

Costs and fairness
==================
Uncontended, "conditional" acquires with a GET, a PUT and a LIST (the mixed-client check) and
releases with one DELETE; "sequential" acquires with two PUTs and two LISTs and releases with
one or two DELETEs. Under contention "sequential" is first come, first served (the next in
line polls every ~25 ms, those behind it less often); "conditional" is not: waiters poll with
backoff (up to 0.25 s) and a releasing client may take the lock straight back. `auto` probes a
new S3 endpoint once per process (a few requests, and concurrent PUTs that SeaweedFS
serialises with up to ~1 s of server-side waiting) and caches the answer per endpoint.

Clean-up: a `weakref.finalize` (which also runs at interpreter exit, via atexit) removes a
held lock's objects when the lock object is garbage-collected or the process exits -- never
in a forked child, whose exit must not release its parent's lock; a crash leaves objects that
expire on their own (their TTL is in their name and body) and that the next winner deletes. Probing
conditional-write support leaves nothing behind but, in the rare case of a crash mid-probe,
``<prefix>probe.*`` objects, which every lock ignores.

Layout
======
Each protocol step (acquire, renew, release, verify, break) is a generator that yields store
actions and is resumed with their results (``steps``: `Act`, `Sleep`, the sync `drive`); the
decisions it takes are pure functions of what was read and when (``decisions``, on the parsed
objects of ``state``). ``conditional`` and ``sequential`` are the two protocols (sharing
``protocol``); ``lease`` is one holding and its lease, ``clock`` the monotonic clock and
request bounds. A session makes its store with ``session.lock_store(bucket)``: ``store``
defines `LockStore`, ``s3_store`` and ``b2_store`` implement it over a session's methods
(this package imports neither session module), each method written once as a generator of
session calls (``store_calls``) that the sync store and the asyncio one drive alike.
``probe`` finds and caches conditional-write
support, ``heartbeat`` renews a held lock, ``inventory`` serves `other_locks` and
`break_other_locks`, and ``distributed`` is `DistributedLock`, which drives it all.
"""

from __future__ import annotations

from .b2_store import B2LockStore
from .decisions import POLL_MAX, POLL_MIN
from .distributed import DistributedLock
from .probe import (
    PROBE_KEYS,
    PROBE_WRITERS,
    ConditionalSupport,
    cached_support,
    clear_protocol_cache,
    probe_conditional_writes,
)
from .protocol import NONBLOCKING_GRACE
from .s3_store import S3LockStore
from .settings import DEFAULT_CLOCK_SKEW, LockProtocol
from .state import DEFAULT_TTL, TIMESTAMP_SLACK
from .store import LockStore, LockStoreSource

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "DEFAULT_TTL",
    "NONBLOCKING_GRACE",
    "POLL_MAX",
    "POLL_MIN",
    "PROBE_KEYS",
    "PROBE_WRITERS",
    "TIMESTAMP_SLACK",
    "B2LockStore",
    "ConditionalSupport",
    "DistributedLock",
    "LockProtocol",
    "LockStore",
    "LockStoreSource",
    "S3LockStore",
    "cached_support",
    "clear_protocol_cache",
    "probe_conditional_writes",
]
