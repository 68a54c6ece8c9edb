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
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import logging
import math
import os
import random
import re
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from .arguments import parse_http_date
from .errors import (
    ClientError,
    ConditionalRequestConflict,
    InvalidArgument,
    InvalidRequest,
    LockError,
    LockLost,
    NoSuchKey,
    NotImplementedByServer,
    PreconditionFailed,
    TransportError,
)
from .transport import request_deadline

if TYPE_CHECKING:
    from .b2 import B2Session
    from .s3 import S3Session

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "DEFAULT_TTL",
    "ConditionalSupport",
    "DistributedLock",
    "LockProtocol",
    "clear_protocol_cache",
    "probe_conditional_writes",
]

log = logging.getLogger("s3lite.lock")

LockProtocol = Literal["auto", "conditional", "sequential"]

DEFAULT_TTL = 60.0
#: Allowance for disagreement between the server's clocks (see the module docstring).
DEFAULT_CLOCK_SKEW = 5.0
#: Last-Modified and Date have one-second resolution.
TIMESTAMP_SLACK = 1.0
#: Polling intervals of a waiting contender (seconds, before jitter).
POLL_MIN = 0.025
POLL_MAX = 0.25
#: How long a non-blocking acquire may wait for contenders that are still choosing a ticket
#: (or for conditional writes that conflicted) before it gives up.
NONBLOCKING_GRACE = 1.0
#: Concurrent probe: this many keys, each raced by this many writers at once.
PROBE_KEYS = 2
PROBE_WRITERS = 4

_HOST = socket.gethostname()
_STATE = "state"
#: Largest lock object read into memory (each holds a small JSON document).
_MAX_LOCK_OBJECT = 1024 * 1024
_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_CONDITION_UNSUPPORTED = (NotImplementedByServer, InvalidArgument, InvalidRequest)


def _mono() -> float:
    return time.monotonic()


def _new_id() -> str:
    return uuid.uuid4().hex


def _transient(exc: BaseException) -> bool:
    """Whether trying again later may work (the transport already retried)."""
    if isinstance(exc, TransportError):
        return exc.retryable
    return isinstance(exc, ClientError) and exc.retryable


def _after_retry(exc: BaseException) -> bool:
    """Whether an error answered a request sent more than once: then an earlier attempt may
    have taken effect (e.g. a 412 to a retried conditional DELETE that had already deleted)."""
    attempts = getattr(exc, "attempts", 1)
    return isinstance(attempts, int) and attempts > 1


def _sent_once(response: Any) -> bool:
    attempts = getattr(response, "attempts", None)
    return isinstance(attempts, int) and attempts == 1


def _within(until: float) -> contextlib.AbstractContextManager[None]:
    """Bound the requests sent in this context to end by `until` (monotonic): an answer that
    would come later is worth nothing to a lease that ends then."""
    if math.isfinite(until):
        return request_deadline(until)
    return contextlib.nullcontext()


def _sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def _jitter(delay: float) -> float:
    return delay * (0.5 + random.random())


class _Broken(Exception):
    """Our lock objects are gone or not ours any more."""


class _Restart(Exception):
    """Our entries may have expired in the others' eyes: withdraw and start over."""


# --- what the stores hand back -------------------------------------------------------------------


class _Written:
    """A successful write: its ETag / version id, and when it was sent and answered."""

    __slots__ = ("done", "etag", "key", "retried", "sent", "version_id")

    def __init__(
        self,
        key: str,
        etag: str | None,
        version_id: str | None,
        sent: float,
        done: float,
        retried: bool = True,
    ) -> None:
        self.key = key
        self.etag = etag
        self.version_id = version_id
        self.sent = sent
        self.done = done
        #: Whether a stray version of the object may exist (the PUT may have been sent more
        #: than once, or a renewal could not delete the version it replaced): then release
        #: sweeps the holder's versions.
        self.retried = retried


class _Listed:
    """One object (or B2 file version) of a listing."""

    __slots__ = ("etag", "key", "modified", "version_id")

    def __init__(
        self, key: str, modified: float | None, etag: str | None, version_id: str | None
    ) -> None:
        self.key = key
        self.modified = modified
        self.etag = etag
        self.version_id = version_id


class _Snapshot:
    """A listing of the lock prefix and the server time it was answered at."""

    __slots__ = ("done", "objects", "server_now")

    def __init__(self, objects: list[_Listed], server_now: float, done: float) -> None:
        self.objects = objects
        self.server_now = server_now
        self.done = done


class _Fetched:
    __slots__ = ("body", "etag", "key", "modified", "server_now", "version_id")

    def __init__(
        self,
        key: str,
        body: bytes,
        etag: str | None,
        version_id: str | None,
        modified: float | None,
        server_now: float,
    ) -> None:
        self.key = key
        self.body = body
        self.etag = etag
        self.version_id = version_id
        self.modified = modified
        self.server_now = server_now


def _real_version(version_id: str | None) -> str | None:
    return version_id if version_id and version_id != "null" else None


def _nonce_of(body: bytes) -> str | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    nonce = doc.get("nonce") if isinstance(doc, dict) else None
    return nonce if isinstance(nonce, str) else None


# --- stores: the few operations the protocols need, per backend -----------------------------------


class _Store:
    kind = ""
    endpoint = ""
    session: S3Session | B2Session

    def __init__(self, session: S3Session | B2Session, bucket: str | None) -> None:
        self.session = session
        self.bucket = session._bucket(bucket)

    def now(self) -> float:
        """The server's clock, as the transport last saw it."""
        return self.session.transport.now()

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> _Written:
        raise NotImplementedError

    def get(self, key: str) -> _Fetched | None:
        """The object and when the server served it; None if there is none."""
        try:
            response = self.session.get_object(
                key, bucket=self.bucket, stream=False, max_size=_MAX_LOCK_OBJECT
            )
        except NoSuchKey:
            return None
        modified = response.last_modified
        return _Fetched(
            key,
            response.data,
            response.etag,
            _real_version(response.version_id),
            modified.timestamp() if modified else None,
            parse_http_date(response.headers.get("date")) or self.now(),
        )

    def listing(self, prefix: str) -> _Snapshot:
        raise NotImplementedError

    def replace(
        self, key: str, old: _Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> _Written:
        """Rewrite our own object, failing with `_Broken` if it is gone or not ours.
        `earlier`: nonce -> send time of our earlier attempts, which may have landed."""
        raise NotImplementedError

    def delete_own(self, key: str, written: _Written | None) -> bool:
        """Delete our own object; False if it was already gone (None: by name, say True)."""
        raise NotImplementedError

    def delete_listed(self, obj: _Listed) -> bool:
        """Delete exactly the object (version) a listing showed; False if it had changed."""
        raise NotImplementedError

    def sweep(self, prefix: str, lock_id: str) -> None:
        """Delete leftover versions of objects named with `lock_id` (B2, versioned S3)."""
        raise NotImplementedError

    def is_current(self, key: str, written: _Written) -> bool:
        raise NotImplementedError


class _S3Store(_Store):
    kind = "s3"
    session: S3Session

    def __init__(self, session: S3Session, bucket: str | None) -> None:
        super().__init__(session, bucket)
        self.endpoint = session.endpoint_url
        self.if_match_ok = True  # flips off if the server rejects If-Match on PUT
        self.delete_if_match_ok = True  # ... or on DELETE
        self.versioned = False  # set once a PUT returns a real version id

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> _Written:
        sent = _mono()
        response = self.session.put_object(
            key,
            body,
            bucket=self.bucket,
            content_type="application/json",
            if_none_match="*" if if_none_match else None,
            if_match=if_match,
        )
        version = _real_version(response.version_id)
        if version:
            self.versioned = True
        retried = not _sent_once(response)
        return _Written(key, response.etag, version, sent, _mono(), retried)

    def listing(self, prefix: str) -> _Snapshot:
        from . import s3xml

        session = self.session
        objects: list[_Listed] = []
        token: str | None = None
        server_now: float | None = None
        while True:
            params = [("list-type", "2"), ("max-keys", "1000"), ("prefix", prefix)]
            params.append(("encoding-type", "url"))
            if token:
                params.append(("continuation-token", token))
            response = session._send(session._build("GET", self.bucket, None, params))
            date = parse_http_date(response.headers.get("date")) or self.now()
            server_now = date if server_now is None else min(server_now, date)
            page = s3xml.parse_list_objects(response.data)
            for item in page.items:
                stamp = item.get("upload_timestamp")
                objects.append(
                    _Listed(item["key"], stamp.timestamp() if stamp else None, item["etag"], None)
                )
            token = page.next_marker
            if not page.truncated or not token:
                return _Snapshot(objects, server_now, _mono())

    def replace(
        self, key: str, old: _Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> _Written:
        if self.if_match_ok and old.etag:
            sent = _mono()
            try:
                written = self.put(key, body, if_match=old.etag)
            except (PreconditionFailed, NoSuchKey):
                # Someone else changed or deleted it -- or our own earlier attempt landed and
                # this one was refused: the body tells (and when that attempt was sent).
                current = self.get(key)
                found = None if current is None else _nonce_of(current.body)
                if current is None or found is None or (found != nonce and found not in earlier):
                    raise _Broken(f"lock object {key} was removed or replaced") from None
                sent = sent if found == nonce else earlier[found]
                written = _Written(key, current.etag, current.version_id, sent, _mono())
            except _CONDITION_UNSUPPORTED:
                self.if_match_ok = False
                return self.replace(key, old, body, nonce, earlier)
        else:
            current = self.get(key)
            found = None if current is None else _nonce_of(current.body)
            if current is None or (
                current.etag != old.etag and found != nonce and found not in earlier
            ):
                raise _Broken(f"lock object {key} was removed or replaced")
            written = self.put(key, body)
        if old.version_id and old.version_id != written.version_id:
            try:
                self.session.delete_object(key, bucket=self.bucket, version_id=old.version_id)
            except (ClientError, TransportError):
                written.retried = True  # the old version is left: swept at release
        return written

    def delete_own(self, key: str, written: _Written | None) -> bool:
        if written is not None and written.version_id:
            self.session.delete_object(key, bucket=self.bucket, version_id=written.version_id)
            return True
        if written is not None and written.etag and self.delete_if_match_ok:
            try:
                self.session.delete_object(key, bucket=self.bucket, if_match=written.etag)
                return True
            except (PreconditionFailed, NoSuchKey) as exc:
                return _after_retry(exc)  # gone -- unless our own first attempt deleted it
            except _CONDITION_UNSUPPORTED:
                self.delete_if_match_ok = False
        self.session.delete_object(key, bucket=self.bucket)
        return True

    def delete_listed(self, obj: _Listed) -> bool:
        if obj.version_id:
            self.session.delete_object(obj.key, bucket=self.bucket, version_id=obj.version_id)
            return True
        if obj.etag and self.delete_if_match_ok:
            try:
                self.session.delete_object(obj.key, bucket=self.bucket, if_match=obj.etag)
                return True
            except (PreconditionFailed, NoSuchKey) as exc:
                return _after_retry(exc)
            except _CONDITION_UNSUPPORTED:
                self.delete_if_match_ok = False
        self.session.delete_object(obj.key, bucket=self.bucket)
        return True

    def sweep(self, prefix: str, lock_id: str) -> None:
        if not self.versioned:
            return  # one object per key: deleting the key removed everything
        for item in self.session.list_object_versions(prefix, bucket=self.bucket):
            parsed = _parse_seq(prefix, item["key"])
            version = _real_version(item.get("version_id"))
            if parsed is not None and parsed.lock_id == lock_id and version:
                self.session.delete_object(item["key"], bucket=self.bucket, version_id=version)

    def is_current(self, key: str, written: _Written) -> bool:
        current = self.get(key)
        if current is None:
            return False
        if written.version_id:
            return current.version_id == written.version_id
        return current.etag == written.etag


class _B2Store(_Store):
    kind = "b2"
    session: B2Session

    def __init__(self, session: B2Session, bucket: str | None) -> None:
        super().__init__(session, bucket)
        self.endpoint = f"{session.api_url}#{session.access_key_id}"

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> _Written:
        if if_none_match or if_match:
            raise LockError("B2 has no conditional writes")
        sent = _mono()
        response = self.session.put_object(
            key, body, bucket=self.bucket, content_type="application/json"
        )
        retried = not _sent_once(response)
        return _Written(key, response.etag, response.version_id, sent, _mono(), retried)

    def _pages(self, op: str, prefix: str) -> Iterator[tuple[list[dict[str, Any]], float]]:
        """Each page of b2_list_file_names / b2_list_file_versions, with its Date."""
        session = self.session
        start_name: str | None = None
        start_id: str | None = None
        while True:
            params: dict[str, Any] = {
                "bucketId": session._bucket_id(self.bucket),
                "prefix": prefix,
                "maxFileCount": 1000,
            }
            if start_name:
                params["startFileName"] = start_name
            if start_id:
                params["startFileId"] = start_id
            response, obj = session._call(op, params)
            files = [
                entry
                for entry in obj.get("files") or []
                if isinstance(entry, dict) and isinstance(entry.get("fileName"), str)
            ]
            yield files, parse_http_date(response.headers.get("date")) or self.now()
            next_name, next_id = obj.get("nextFileName"), obj.get("nextFileId")
            if not isinstance(next_name, str) or not next_name:
                return
            next_id = next_id if isinstance(next_id, str) else None
            if (next_name, next_id) == (start_name, start_id):
                return
            start_name, start_id = next_name, next_id

    def _entries(self, op: str, prefix: str) -> list[dict[str, Any]]:
        return [entry for files, _ in self._pages(op, prefix) for entry in files]

    @staticmethod
    def _listed(entry: dict[str, Any]) -> _Listed:
        stamp = entry.get("uploadTimestamp")
        modified = stamp / 1000 if isinstance(stamp, (int, float)) and stamp > 0 else None
        file_id = entry.get("fileId")
        return _Listed(
            entry["fileName"],
            modified,
            entry.get("contentSha1"),
            file_id if isinstance(file_id, str) else None,
        )

    def listing(self, prefix: str) -> _Snapshot:
        objects: list[_Listed] = []
        server_now = math.inf
        for files, date in self._pages("b2_list_file_names", prefix):
            server_now = min(server_now, date)
            objects.extend(self._listed(e) for e in files if e.get("action") == "upload")
        return _Snapshot(objects, server_now, _mono())

    def replace(
        self, key: str, old: _Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> _Written:
        written = self.put(key, body)
        if earlier:
            written.retried = True  # an earlier attempt may have left a version: swept
        if not old.version_id:
            return written
        try:
            present = self._delete_version(key, old.version_id)
        except (ClientError, TransportError) as exc:
            if not _transient(exc):
                raise
            written.retried = True  # the old version is left: swept at release
            return written
        if not present:
            with contextlib.suppress(ClientError, TransportError):
                self._delete_version(key, written.version_id or "")
            raise _Broken(f"lock object {key} (file {old.version_id}) was deleted by someone else")
        return written

    def _delete_version(self, key: str, file_id: str) -> bool:
        """Delete one version by file id; False if it was not there -- unless the call was
        sent more than once (then our own first attempt may have deleted it)."""
        try:
            self.session._call("b2_delete_file_version", {"fileId": file_id, "fileName": key})
        except NoSuchKey as exc:
            return _after_retry(exc)
        return True

    def delete_own(self, key: str, written: _Written | None) -> bool:
        if written is None or not written.version_id:
            return True  # found by the sweep
        return self._delete_version(key, written.version_id)

    def delete_listed(self, obj: _Listed) -> bool:
        if not obj.version_id:
            return False
        return self._delete_version(obj.key, obj.version_id)

    def sweep(self, prefix: str, lock_id: str) -> None:
        for entry in self._entries("b2_list_file_versions", prefix):
            parsed = _parse_seq(prefix, entry["fileName"])
            file_id = entry.get("fileId")
            if parsed is not None and parsed.lock_id == lock_id and isinstance(file_id, str):
                self._delete_version(entry["fileName"], file_id)

    def versions_of(self, prefix: str, names: set[str]) -> list[_Listed]:
        return [
            self._listed(entry)
            for entry in self._entries("b2_list_file_versions", prefix)
            if entry["fileName"] in names and entry.get("action") in ("upload", "hide")
        ]

    def is_current(self, key: str, written: _Written) -> bool:
        try:
            response = self.session.head_object(key, bucket=self.bucket)
        except NoSuchKey:
            return False
        return response.version_id == written.version_id


def _make_store(session: Any, bucket: str | None) -> _Store:
    from .b2 import B2Session
    from .s3 import S3Session

    if isinstance(session, S3Session):
        return _S3Store(session, bucket)
    if isinstance(session, B2Session):
        return _B2Store(session, bucket)
    raise TypeError(f"session must be an S3Session or a B2Session, not {type(session).__name__}")


# --- names of the sequential protocol's objects ---------------------------------------------------


class _SeqName:
    __slots__ = ("exclusive", "lock_id", "stage", "ticket", "ttl")

    def __init__(
        self, stage: int, exclusive: bool, ttl: float, lock_id: str, ticket: int | None
    ) -> None:
        self.stage = stage
        self.exclusive = exclusive
        self.ttl = ttl
        self.lock_id = lock_id
        self.ticket = ticket


def _seq_key(
    prefix: str, stage: int, exclusive: bool, ttl: float, lock_id: str, ticket: int | None = None
) -> str:
    mode = "x" if exclusive else "s"
    name = f"{prefix}seq-{stage}.{mode}.{round(ttl * 1000)}.{lock_id}"
    return name if stage == 0 else f"{name}.{ticket}"


def _parse_seq(prefix: str, key: str) -> _SeqName | None:
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix) :].split(".")
    if len(parts) not in (4, 5) or parts[0] not in ("seq-0", "seq-1") or parts[1] not in "xs":
        return None
    stage = 0 if parts[0] == "seq-0" else 1
    if len(parts) != 4 + stage or not parts[1] or not parts[2].isdigit():
        return None
    if not _ID_RE.match(parts[3]) or (stage and not parts[4].isdigit()):
        return None
    ticket = int(parts[4]) if stage else None
    return _SeqName(stage, parts[1] == "x", int(parts[2]) / 1000, parts[3], ticket)


class _Candidate:
    """Every object of one sequential contender found in a listing."""

    __slots__ = ("exclusive", "lock_id", "objects", "tickets", "ttl")

    def __init__(self, name: _SeqName) -> None:
        self.lock_id = name.lock_id
        self.exclusive = name.exclusive
        self.ttl = name.ttl
        self.objects: list[tuple[_SeqName, _Listed]] = []
        self.tickets: list[int] = []

    @property
    def ticket(self) -> int | None:
        """None while choosing (no seq-1 yet); the smallest if leftovers left several."""
        return min(self.tickets) if self.tickets else None

    def freshest(self) -> float | None:
        stamps = [obj.modified for _, obj in self.objects]
        return None if any(s is None for s in stamps) else max(s for s in stamps if s is not None)

    def created(self) -> float | None:
        stamps = [obj.modified for _, obj in self.objects if obj.modified is not None]
        return min(stamps) if stamps else None

    def live(self, server_now: float, skew: float) -> bool:
        freshest = self.freshest()
        return freshest is None or server_now <= freshest + self.ttl + TIMESTAMP_SLACK + skew


def _candidates(prefix: str, snapshot: _Snapshot) -> dict[str, _Candidate]:
    found: dict[str, _Candidate] = {}
    for obj in snapshot.objects:
        name = _parse_seq(prefix, obj.key)
        if name is None:
            continue
        candidate = found.get(name.lock_id)
        if candidate is None:
            candidate = found[name.lock_id] = _Candidate(name)
        candidate.objects.append((name, obj))
        candidate.exclusive = candidate.exclusive or name.exclusive
        candidate.ttl = max(candidate.ttl, name.ttl)
        if name.ticket is not None:
            candidate.tickets.append(name.ticket)
    return found


def _conflict(a_exclusive: bool, b_exclusive: bool) -> bool:
    return a_exclusive or b_exclusive


# --- the conditional protocol's state object ------------------------------------------------------


class _State:
    __slots__ = ("etag", "holders", "modified", "rev", "server_now")

    def __init__(
        self,
        holders: list[dict[str, Any]],
        etag: str | None,
        modified: float | None,
        server_now: float,
        rev: str | None,
    ) -> None:
        self.holders = holders
        self.etag = etag
        self.modified = modified
        self.server_now = server_now
        self.rev = rev

    def find(self, lock_id: str) -> dict[str, Any] | None:
        return next((h for h in self.holders if h.get("id") == lock_id), None)

    def written(self, entry: dict[str, Any]) -> float | None:
        """The server's time of the entry's last renewal: its ``at``, stamped by whoever
        rewrote the state after it (the Last-Modified of the version it read, in which the
        entry was written) -- or, without one, this version's Last-Modified (no earlier than
        the renewal, so never an expiry too early)."""
        at = entry.get("at")
        if self.modified is None:
            return None
        if isinstance(at, (int, float)) and not isinstance(at, bool) and math.isfinite(at):
            return min(float(at), self.modified)
        return self.modified

    def carry(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Others' entries for a new version of the state, each stamped with when it was
        written (see `written`), so that a dead holder expires even while others renew."""
        carried = []
        for entry in entries:
            when = self.written(entry)
            carried.append(entry if when is None else {**entry, "at": when})
        return carried

    def expired(self, entry: dict[str, Any], skew: float) -> bool:
        """Whether the server says the entry's TTL has passed since its last renewal."""
        when = self.written(entry)
        if when is None:
            return False
        ttl = entry.get("ttl")
        if not isinstance(ttl, (int, float)) or isinstance(ttl, bool) or ttl <= 0:
            ttl = DEFAULT_TTL
        return self.server_now > when + float(ttl) + TIMESTAMP_SLACK + skew


def _parse_state(fetched: _Fetched) -> _State:
    try:
        doc = json.loads(fetched.body)
        holders = doc["holders"]
        if not isinstance(holders, list) or not all(isinstance(h, dict) for h in holders):
            raise TypeError("holders is not a list of objects")
    except (ValueError, KeyError, TypeError) as exc:
        raise LockError(f"lock state {fetched.key} is not a lock state object: {exc}") from None
    rev = doc.get("rev")
    return _State(
        holders,
        fetched.etag,
        fetched.modified,
        fetched.server_now,
        rev if isinstance(rev, str) else None,
    )


def _state_body(holders: list[dict[str, Any]], rev: str) -> bytes:
    doc = {"protocol": "conditional", "rev": rev, "holders": holders}
    return json.dumps(doc, separators=(",", ":")).encode()


def _compatible(live: list[dict[str, Any]], exclusive: bool) -> bool:
    return not live or (not exclusive and not any(h.get("exclusive", True) for h in live))


# --- conditional-write support: probed once per endpoint ------------------------------------------


class ConditionalSupport:
    """What a server does with conditional writes (see `probe_conditional_writes`)."""

    __slots__ = ("atomic", "delete_if_match", "detail", "if_match", "if_none_match")

    def __init__(self) -> None:
        #: A second sequential ``If-None-Match: *`` PUT gets 412.
        self.if_none_match = False
        #: A PUT with a wrong ``If-Match`` ETag gets 412.
        self.if_match = False
        #: A DELETE with a wrong ``If-Match`` ETag gets 412 (and deletes nothing).
        self.delete_if_match = False
        #: Concurrent ``If-None-Match: *`` PUTs to one key let exactly one through
        #: (None: not probed).
        self.atomic: bool | None = None
        #: What the probe saw, for logs and reports.
        self.detail = ""

    @property
    def usable(self) -> bool:
        """Whether the conditional protocol may be chosen automatically."""
        return self.if_none_match and self.if_match and self.atomic is True

    def __repr__(self) -> str:
        return (
            f"ConditionalSupport(if_none_match={self.if_none_match}, if_match={self.if_match}, "
            f"delete_if_match={self.delete_if_match}, atomic={self.atomic}, "
            f"detail={self.detail!r})"
        )


_SUPPORT: dict[str, ConditionalSupport] = {}
_SUPPORT_LOCK = threading.Lock()


def clear_protocol_cache() -> None:
    """Forget what was probed about each endpoint's conditional writes."""
    with _SUPPORT_LOCK:
        _SUPPORT.clear()


def _retrying(call: Callable[[], Any], attempts: int = 4) -> Any:
    """Call again after transient errors (on top of the transport's own retries)."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            return call()
        except (ClientError, TransportError) as exc:
            if attempt and not _transient(exc):
                # an earlier call may have landed: say so to `_after_retry`
                setattr(exc, "attempts", max(getattr(exc, "attempts", 1), 2))  # noqa: B010
            if not _transient(exc) or attempt == attempts - 1:
                raise
            _sleep(_jitter(delay))
            delay *= 2
    raise AssertionError("unreachable")


def _probe_sequential(store: _S3Store, base: str, support: ConditionalSupport) -> None:
    key = base + ".a"
    try:
        try:
            _retrying(lambda: store.put(key, b"1", if_none_match=True))
        except PreconditionFailed:
            pass  # a transport retry of our own create: the key exists, which is what we want
        except _CONDITION_UNSUPPORTED as exc:
            support.detail = f"If-None-Match refused: {exc.code}"
            return
        try:
            _retrying(lambda: store.put(key, b"2", if_none_match=True))
            support.detail = "a second If-None-Match: * PUT succeeded"
            return
        except PreconditionFailed:
            support.if_none_match = True
        except _CONDITION_UNSUPPORTED as exc:
            support.detail = f"If-None-Match refused: {exc.code}"
            return
        wrong = "0" * 32
        try:
            _retrying(lambda: store.put(key, b"3", if_match=wrong))
            support.detail = "a PUT with a wrong If-Match succeeded"
            return
        except PreconditionFailed:
            support.if_match = True
        except _CONDITION_UNSUPPORTED as exc:
            support.detail = f"If-Match refused: {exc.code}"
            return
        try:
            _retrying(lambda: store.session.delete_object(key, bucket=store.bucket, if_match=wrong))
            support.delete_if_match = False
        except PreconditionFailed:
            support.delete_if_match = True
        except _CONDITION_UNSUPPORTED:
            support.delete_if_match = False
    finally:
        with contextlib.suppress(ClientError, TransportError):
            store.session.delete_object(key, bucket=store.bucket)


def _probe_concurrent(store: _S3Store, base: str) -> tuple[bool | None, str]:
    """Race If-None-Match: * writers on fresh keys; (exactly one winner per key?, detail)."""
    pool = store.session.transport.max_pool_connections
    writers = min(PROBE_WRITERS, pool // PROBE_KEYS)
    if writers < 2:
        return None, f"too few pooled connections ({pool}) to race writers"
    keys = [f"{base}.c{n}" for n in range(PROBE_KEYS)]
    barrier = threading.Barrier(len(keys) * writers)
    outcome: dict[str, list[str]] = {k: [] for k in keys}
    guard = threading.Lock()

    def race(key: str, n: int) -> None:
        result = "error"
        try:
            barrier.wait(timeout=30)
            store.put(key, f"{n}".encode(), if_none_match=True)
            result = "won"
        except (PreconditionFailed, ConditionalRequestConflict):
            result = "lost"
        except Exception as exc:
            result = f"error: {exc}"
        with guard:
            outcome[key].append(result)

    threads = [
        threading.Thread(target=race, args=(k, n), name="s3lite-lock-probe", daemon=True)
        for k in keys
        for n in range(writers)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for key in keys:
            with contextlib.suppress(ClientError, TransportError):
                store.session.delete_object(key, bucket=store.bucket)
    winners = [sum(r == "won" for r in outcome[k]) for k in keys]
    errors = [r for k in keys for r in outcome[k] if r.startswith("error")]
    detail = f"{len(keys)} keys x {writers} concurrent If-None-Match writers: winners {winners}"
    if any(w > 1 for w in winners):
        return False, detail + " (more than one write succeeded: not atomic)"
    if errors or any(w == 0 for w in winners) or any(t.is_alive() for t in threads):
        return None, detail + f" (inconclusive: {errors[:1] or 'no winner'})"
    return True, detail


def probe_conditional_writes(
    session: S3Session,
    prefix: str,
    *,
    bucket: str | None = None,
    concurrency: bool = True,
) -> ConditionalSupport:
    """Find out what the server does with conditional writes, with throwaway objects under
    `prefix`: whether a second ``If-None-Match: *`` PUT and a wrong ``If-Match`` get 412, on
    PUT and on DELETE, and (with `concurrency`) whether concurrent ``If-None-Match: *`` PUTs to
    one key let exactly one through. Not cached; `DistributedLock` caches per endpoint."""
    store = _S3Store(session, bucket)
    support = ConditionalSupport()
    base = f"{prefix}probe.{_new_id()}"
    _probe_sequential(store, base, support)
    if not (concurrency and support.if_none_match and support.if_match):
        return support
    for _ in range(3):  # an inconclusive race (errors, retries) is run again
        support.atomic, detail = _probe_concurrent(store, base)
        support.detail = detail
        if support.atomic is not None:
            break
    return support


def _support_for(store: _S3Store, prefix: str, *, concurrency: bool) -> ConditionalSupport:
    with _SUPPORT_LOCK:
        cached = _SUPPORT.get(store.endpoint)
        if cached is not None and (
            not concurrency
            or cached.atomic is not None
            or not (cached.if_none_match and cached.if_match)
        ):
            return cached
        support = probe_conditional_writes(
            store.session, prefix, bucket=store.bucket, concurrency=concurrency
        )
        if support.atomic is None and concurrency:
            support.atomic = False  # never proven: the automatic choice stays sequential
        _SUPPORT[store.endpoint] = support
        log.info("conditional writes on %s: %r", store.endpoint, support)
        return support


# --- one holding: shared between the lock, its heartbeat thread and its finalizer -----------------


class _Hold:
    """The state of one acquisition. Held by the lock, its heartbeat and its finalizer (never
    the lock object itself, so that dropping the lock runs the finalizer)."""

    def __init__(self, exclusive: bool, ttl: float) -> None:
        self.lock_id = _new_id()
        self.exclusive = exclusive
        self.ttl = ttl
        self.pid = os.getpid()
        self.created = time.time()
        self.valid_until = -math.inf
        self.lost: str | None = None
        self.stop = threading.Event()
        self.mutex = threading.Lock()
        # conditional
        self.etag: str | None = None
        self.entry: dict[str, Any] | None = None
        self.sole = False
        # sequential
        self.ticket: int | None = None
        self.objects: dict[str, _Written] = {}
        #: object -> {nonce: send time} of renewals that failed but may have landed
        self.pending: dict[str, dict[str, float]] = {}
        self.attempted: set[str] = set()
        self.key0: str | None = None
        self.key1: str | None = None

    def extend(self, written: _Written, *, first: bool = False) -> None:
        """Count a successful write: valid for the TTL from when it was sent -- provided its
        answer came while we were still valid (else others may have seen us expire)."""
        limit = written.sent + self.ttl if first else self.valid_until
        if written.done >= limit:
            raise _Restart("a lock write was answered only after the lock's TTL had passed")
        self.valid_until = max(self.valid_until, written.sent + self.ttl)

    def check(self, answered: float) -> None:
        """A decision taken on a response answered after our validity is worth nothing."""
        if answered >= self.valid_until:
            raise _Restart("an answer came only after the lease had run out")

    def left(self) -> float:
        """Seconds of lease left (monotonic clock); 0 once lost or run out."""
        if self.lost is not None:
            return 0.0
        return max(0.0, self.valid_until - _mono())

    def reset_sequential(self) -> None:
        self.lock_id = _new_id()
        self.ticket = None
        self.objects = {}
        self.pending = {}
        self.attempted = set()
        self.key0 = self.key1 = None
        self.valid_until = -math.inf


# --- the protocols ------------------------------------------------------------------------------


class _Protocol:
    name = ""

    def __init__(
        self, store: _Store, prefix: str, ttl: float, skew: float, renew_every: float | None = None
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.ttl = ttl
        self.skew = skew
        self.renew_every = renew_every if renew_every is not None else ttl / 3

    def acquire(self, hold: _Hold, deadline: float, nonblocking: bool) -> bool:
        raise NotImplementedError

    def renew(self, hold: _Hold) -> None:
        raise NotImplementedError

    def release(self, hold: _Hold) -> bool:
        """Remove our entries; False if they had been removed by someone else."""
        raise NotImplementedError

    def verify(self, hold: _Hold) -> bool:
        raise NotImplementedError

    # shared by both: what is under the prefix, for other_locks / break_other_locks / locked
    def _read_state(self) -> _State | None:
        fetched = self.store.get(self.prefix + _STATE)
        return None if fetched is None else _parse_state(fetched)

    def survey(self) -> tuple[_Snapshot, dict[str, _Candidate], _State | None]:
        snapshot = self.store.listing(self.prefix)
        state = None
        if any(obj.key == self.prefix + _STATE for obj in snapshot.objects):
            state = self._read_state()
        return snapshot, _candidates(self.prefix, snapshot), state

    def state_blockers(self, state: _State | None, hold: _Hold) -> list[dict[str, Any]]:
        if state is None:
            return []
        return [
            h
            for h in state.holders
            if h.get("id") != hold.lock_id
            and not state.expired(h, self.skew)
            and _conflict(hold.exclusive, bool(h.get("exclusive", True)))
        ]


class _Conditional(_Protocol):
    name = "conditional"

    def __init__(
        self,
        store: _S3Store,
        prefix: str,
        ttl: float,
        skew: float,
        support: ConditionalSupport,
        renew_every: float | None = None,
    ) -> None:
        super().__init__(store, prefix, ttl, skew, renew_every)
        self.s3 = store
        self.support = support
        self.key = prefix + _STATE

    def _entry(self, hold: _Hold) -> dict[str, Any]:
        return {
            "id": hold.lock_id,
            "exclusive": hold.exclusive,
            "ttl": self.ttl,
            "host": _HOST,
            "pid": os.getpid(),
            "created": round(hold.created, 3),
            "expires": round(self.store.now() + self.ttl, 3),
            "nonce": _new_id(),
        }

    def acquire(self, hold: _Hold, deadline: float, nonblocking: bool) -> bool:
        sent_at: dict[str, float] = {}  # nonce -> send time of each write not known to fail
        try:
            return self._acquire(hold, deadline, nonblocking, sent_at)
        except BaseException:
            if sent_at:
                self._withdraw(hold)
            raise

    def _acquire(
        self, hold: _Hold, deadline: float, nonblocking: bool, sent_at: dict[str, float]
    ) -> bool:
        delay = POLL_MIN
        until = _mono() + NONBLOCKING_GRACE if nonblocking else deadline
        while True:
            try:
                state = self._read_state()
            except (ClientError, TransportError) as exc:
                if not _transient(exc):
                    raise
                if not self._pause(delay, until):
                    return self._give_up(hold, sent_at)
                delay = min(delay * 2, POLL_MAX)
                continue
            mine = None if state is None else state.find(hold.lock_id)
            if state is not None and mine is not None:
                # A write of ours landed though we saw no success (its answer was lost, or
                # its retry got 412 because the first attempt had won).
                if self._adopt(hold, state, mine, sent_at) and self._settle(hold):
                    return True
                self._start_over(hold, sent_at)
                if not self._pause(delay, until):
                    return False
                continue
            live = [] if state is None else [
                h for h in state.holders
                if h.get("id") != hold.lock_id and not state.expired(h, self.skew)
            ]  # fmt: skip
            if not _compatible(live, hold.exclusive):
                if nonblocking or _mono() >= deadline:
                    return self._give_up(hold, sent_at)
                _sleep(min(_jitter(delay), max(0.0, deadline - _mono())))
                delay = min(delay * 1.5, POLL_MAX)
                continue
            entry = self._entry(hold)
            body = _state_body([*state.carry(live), entry] if state else [entry], _new_id())
            written: _Written | None = None
            sent_at[entry["nonce"]] = sent = _mono()
            try:
                with _within(sent + self.ttl):  # a later answer could not admit us
                    if state is None:
                        written = self.store.put(self.key, body, if_none_match=True)
                    else:
                        written = self.store.put(self.key, body, if_match=state.etag)
            except (PreconditionFailed, NoSuchKey):
                pass  # changed under us, or our own first attempt won: the next read tells
            except ConditionalRequestConflict:
                _sleep(_jitter(POLL_MIN))
            except (ClientError, TransportError) as exc:
                if not _transient(exc):
                    raise
                _sleep(_jitter(delay))
            if written is not None:
                hold.entry, hold.etag, hold.sole = entry, written.etag, not live
                try:
                    hold.extend(written, first=True)
                except _Restart:
                    self._withdraw(hold)
                    self._start_over(hold, sent_at)
                    continue
                if self._settle(hold):
                    return True
                self._start_over(hold, sent_at)
                if not self._pause(delay, until):
                    return False
                continue
            if _mono() >= until:
                return self._give_up(hold, sent_at)

    @staticmethod
    def _start_over(hold: _Hold, sent_at: dict[str, float]) -> None:
        hold.lock_id = _new_id()
        hold.entry = hold.etag = None
        hold.sole = False
        sent_at.clear()

    @staticmethod
    def _pause(delay: float, until: float) -> bool:
        """Sleep a jittered `delay`; False (without sleeping) once `until` has passed."""
        left = until - _mono()
        if left <= 0:
            return False
        _sleep(min(_jitter(delay), left))
        return True

    def _adopt(
        self, hold: _Hold, state: _State, mine: dict[str, Any], sent_at: dict[str, float]
    ) -> bool:
        """Our entry is in the state though we saw no success: a write whose answer was lost
        (or whose retry got 412) landed. Adopt it if it is still within its TTL."""
        sent = sent_at.get(str(mine.get("nonce")))
        if sent is None:
            sent = min(sent_at.values(), default=-math.inf)
        hold.entry, hold.etag = mine, state.etag
        hold.sole = len(state.holders) == 1
        hold.valid_until = sent + self.ttl
        if _mono() >= hold.valid_until:
            self._withdraw(hold)
            return False
        return True

    def _settle(self, hold: _Hold) -> bool:
        """Admitted: keep the lock unless a sequential-protocol contender conflicts -- or the
        lease ran out meanwhile (then others may have dropped our entry and taken the lock)."""
        try:
            with _within(hold.valid_until):
                clear = self._no_sequential_holders(hold)
        except (ClientError, TransportError) as exc:
            if not _transient(exc) and _mono() < hold.valid_until:
                self._withdraw(hold)
                raise
            clear = False  # unknown in time: withdraw and start over
        if clear and _mono() < hold.valid_until:
            return True
        self._withdraw(hold)
        return False

    def _give_up(self, hold: _Hold, sent_at: dict[str, float]) -> bool:
        """Before reporting failure, make sure no write of ours landed unseen."""
        if not sent_at:
            return False
        with contextlib.suppress(ClientError, TransportError):
            with _within(max(sent_at.values()) + self.ttl):
                state = self._read_state()
            mine = state.find(hold.lock_id) if state else None
            if state is not None and mine is not None and self._adopt(hold, state, mine, sent_at):
                return self._settle(hold)
        return False

    def _no_sequential_holders(self, hold: _Hold) -> bool:
        """Mixed clients: defer to live, conflicting sequential-protocol contenders."""
        snapshot = _retrying(lambda: self.store.listing(self.prefix))
        for candidate in _candidates(self.prefix, snapshot).values():
            if (
                candidate.ticket is not None
                and candidate.live(snapshot.server_now, self.skew)
                and _conflict(hold.exclusive, candidate.exclusive)
            ):
                return False
        return True

    def _withdraw(self, hold: _Hold) -> None:
        with contextlib.suppress(ClientError, TransportError, LockError):
            self.release(hold)

    def renew(self, hold: _Hold) -> None:
        assert hold.entry is not None
        entry = {k: v for k, v in hold.entry.items() if k != "at"}  # renewed: by this write
        entry["expires"] = round(self.store.now() + self.ttl, 3)
        entry["nonce"] = _new_id()
        written_revs: dict[str, float] = {}
        if hold.sole and hold.etag:
            rev = _new_id()
            written_revs[rev] = _mono()
            try:
                written = self.store.put(self.key, _state_body([entry], rev), if_match=hold.etag)
                hold.extend(written)
                hold.etag, hold.entry = written.etag, entry
                return
            except _Restart as exc:
                raise _Broken(str(exc)) from None
            except (PreconditionFailed, NoSuchKey, ConditionalRequestConflict):
                pass
        while _mono() < hold.valid_until:
            state = self._read_state()
            if state is not None and state.rev in written_revs:
                sent = written_revs[state.rev]
                self._renewed(hold, state, sent, entry)
                return
            if state is None or state.find(hold.lock_id) is None:
                raise _Broken("the lock's entry was removed from its state object")
            holders = [
                entry if h.get("id") == hold.lock_id else state.carry([h])[0]
                for h in state.holders
                if h.get("id") == hold.lock_id or not state.expired(h, self.skew)
            ]
            rev = _new_id()
            written_revs[rev] = sent = _mono()
            try:
                written = self.store.put(self.key, _state_body(holders, rev), if_match=state.etag)
            except (PreconditionFailed, NoSuchKey, ConditionalRequestConflict):
                continue
            hold.sole = len(holders) == 1
            try:
                hold.extend(written)
            except _Restart as exc:
                raise _Broken(str(exc)) from None
            hold.etag, hold.entry = written.etag, entry
            return
        raise _Broken("the lock could not be renewed within its TTL")

    def _renewed(self, hold: _Hold, state: _State, sent: float, entry: dict[str, Any]) -> None:
        if _mono() >= hold.valid_until:
            raise _Broken("a renewal was confirmed only after the lock's TTL had passed")
        hold.valid_until = sent + self.ttl
        hold.etag, hold.entry, hold.sole = state.etag, entry, len(state.holders) == 1

    def release(self, hold: _Hold) -> bool:
        written_revs: set[str] = set()
        ambiguous = False  # a refused DELETE whose earlier attempt may have deleted the state
        if hold.sole and hold.etag:
            try:
                self._remove_all(hold.etag, written_revs)
                return True
            except (PreconditionFailed, NoSuchKey, ConditionalRequestConflict) as exc:
                ambiguous = _after_retry(exc)
        for _ in range(50):
            state = _retrying(self._read_state)
            if state is None:
                return True  # deleted: by our own retried DELETE (breakers never delete)
            if state.rev in written_revs:
                return True
            if state.find(hold.lock_id) is None:
                # Removed by someone else -- or our DELETE landed and a new holder came in.
                return ambiguous
            others = [
                h
                for h in state.holders
                if h.get("id") != hold.lock_id and not state.expired(h, self.skew)
            ]
            try:
                if others:
                    rev = _new_id()
                    written_revs.add(rev)
                    body = _state_body(state.carry(others), rev)
                    _retrying(
                        functools.partial(self.store.put, self.key, body, if_match=state.etag)
                    )
                else:
                    self._remove_all(state.etag or "", written_revs)
                return True
            except (PreconditionFailed, NoSuchKey, ConditionalRequestConflict) as exc:
                ambiguous = ambiguous or (not others and _after_retry(exc))
                continue
        raise LockError(f"could not release {self.key}: its state kept changing")

    def _remove_all(self, etag: str, written_revs: set[str]) -> None:
        """The last holder leaves: delete the state if the ETag still matches (or, where the
        server ignores conditions on DELETE, leave an empty state)."""
        if self.support.delete_if_match:
            _retrying(
                lambda: self.s3.session.delete_object(
                    self.key, bucket=self.s3.bucket, if_match=etag
                )
            )
        else:
            rev = _new_id()
            written_revs.add(rev)
            _retrying(lambda: self.store.put(self.key, _state_body([], rev), if_match=etag))

    def verify(self, hold: _Hold) -> bool:
        state = self._read_state()
        return state is not None and state.find(hold.lock_id) is not None

    def break_entries(self, doomed: Callable[[_State, dict[str, Any]], bool]) -> set[str]:
        """Remove the holders `doomed` picks (judged afresh on each state read) from the
        state, never deleting it; returns who was removed."""
        attempted: dict[str, set[str]] = {}  # rev -> holders that write removed
        for _ in range(50):
            state = _retrying(self._read_state)
            if state is not None and state.rev in attempted:
                return attempted[state.rev]  # our write landed; its answer did not
            if state is None:
                return set()
            gone = {str(h.get("id")) for h in state.holders if doomed(state, h)}
            if not gone:
                return set()
            keep = state.carry([h for h in state.holders if str(h.get("id")) not in gone])
            rev = _new_id()
            attempted[rev] = gone
            body = _state_body(keep, rev)
            try:
                _retrying(functools.partial(self.store.put, self.key, body, if_match=state.etag))
                return gone
            except (PreconditionFailed, NoSuchKey, ConditionalRequestConflict):
                continue
        raise LockError(f"could not break locks in {self.key}: its state kept changing")


class _Sequential(_Protocol):
    name = "sequential"

    def _body(self, hold: _Hold, stage: int, nonce: str) -> bytes:
        doc = {
            "lock_id": hold.lock_id,
            "protocol": "sequential",
            "object": f"seq-{stage}",
            "exclusive": hold.exclusive,
            "ticket": hold.ticket if stage else None,
            "ttl": self.ttl,
            "host": _HOST,
            "pid": os.getpid(),
            "created": round(hold.created, 3),
            "expires": round(self.store.now() + self.ttl, 3),
            "nonce": nonce,
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    def _lease_end(self, hold: _Hold) -> float:
        """Until when an answer can still count: our lease, or for our first write (no lease
        yet) the TTL from now; `_Restart` once a lease we had has run out."""
        if math.isfinite(hold.valid_until):
            if _mono() >= hold.valid_until:
                raise _Restart("the contender's lease ran out before it could decide")
            return hold.valid_until
        return _mono() + self.ttl

    def _put(self, hold: _Hold, key: str, stage: int, deadline: float) -> _Written | None:
        """Write one of our own objects (an idempotent PUT): retried until it is answered."""
        hold.attempted.add(key)
        delay = 0.05
        while True:
            try:
                with _within(self._lease_end(hold)):
                    return self.store.put(key, self._body(hold, stage, _new_id()))
            except (ClientError, TransportError) as exc:
                if not _transient(exc):
                    raise
                if _mono() + delay >= deadline:
                    return None
                _sleep(_jitter(delay))
                delay = min(delay * 2, 1.0)

    def _list(self, hold: _Hold, deadline: float) -> _Snapshot | None:
        delay = 0.05
        while True:
            try:
                with _within(self._lease_end(hold)):
                    return self.store.listing(self.prefix)
            except (ClientError, TransportError) as exc:
                if not _transient(exc):
                    raise
                if _mono() + delay >= deadline:
                    return None
                _sleep(_jitter(delay))
                delay = min(delay * 2, 1.0)

    def acquire(self, hold: _Hold, deadline: float, nonblocking: bool) -> bool:
        while True:
            try:
                if self._attempt(hold, deadline, nonblocking):
                    return True
            except _Restart as exc:
                log.debug("lock %s: starting over: %s", self.prefix, exc)
                self._withdraw(hold)
                hold.reset_sequential()
                if _mono() < deadline and not nonblocking:
                    continue
                return False
            except BaseException:
                self._withdraw(hold)
                raise
            self._withdraw(hold)
            return False

    def _attempt(self, hold: _Hold, deadline: float, nonblocking: bool) -> bool:
        limit = _mono() + NONBLOCKING_GRACE if nonblocking else deadline
        # 1. "I am choosing"
        hold.key0 = _seq_key(self.prefix, 0, hold.exclusive, self.ttl, hold.lock_id)
        written = self._put(hold, hold.key0, 0, limit)
        if written is None:
            return False
        hold.objects[hold.key0] = written
        hold.extend(written, first=True)
        # 2. take a ticket larger than every live one
        snapshot = self._list(hold, limit)
        if snapshot is None:
            return False
        hold.check(snapshot.done)
        others = _candidates(self.prefix, snapshot)
        tickets = [
            c.ticket
            for c in others.values()
            if c.lock_id != hold.lock_id
            and c.ticket is not None
            and c.live(snapshot.server_now, self.skew)
        ]
        hold.ticket = 1 + max(tickets, default=0)
        # 3. "my ticket"
        hold.key1 = _seq_key(self.prefix, 1, hold.exclusive, self.ttl, hold.lock_id, hold.ticket)
        written = self._put(hold, hold.key1, 1, limit)
        if written is None:
            return False
        hold.extend(written)
        hold.objects[hold.key1] = written
        # 4. wait until no conflicting contender is choosing or ahead of us
        while True:
            snapshot = self._list(hold, limit)
            if snapshot is None:
                return False
            hold.check(snapshot.done)
            keys = {obj.key for obj in snapshot.objects}
            if hold.key1 not in keys or (hold.key0 in hold.objects and hold.key0 not in keys):
                # Deleted under us (break_other_locks): a decision now would rest on objects
                # others may not have seen -- seq-0 must have lasted until seq-1 existed.
                raise _Restart("this contender's lock objects were removed")
            try:
                with _within(self._lease_end(hold)):
                    choosing, ahead = self._blockers(hold, snapshot)
            except (ClientError, TransportError) as exc:
                if not _transient(exc):
                    raise
                hold.check(_mono())
                _sleep(_jitter(POLL_MIN))
                continue
            if not choosing and not ahead:
                with _within(self._lease_end(hold)):
                    self._reap(hold, snapshot)
                # Decided on time, but still holding only while the lease lasts: an answer
                # that came late (a slow state read, a slow delete) must not hand us a lock
                # others may already have seen expire.
                hold.check(_mono())
                return True
            now = _mono()
            if now >= limit or (nonblocking and ahead):
                return False
            self._done_choosing(hold)
            last_sent = max(w.sent for w in hold.objects.values())
            if now - last_sent >= self.renew_every:
                try:
                    with _within(self._lease_end(hold)):
                        self.renew(hold)
                except _Broken as exc:
                    raise _Restart(str(exc)) from None
                except (ClientError, TransportError) as exc:
                    if not _transient(exc):
                        raise
            # The contender next in line polls fastest; those further back, less often.
            pause = min(POLL_MAX, POLL_MIN * max(1, len(ahead)))
            _sleep(min(_jitter(pause), max(0.0, limit - _mono())))

    def _blockers(self, hold: _Hold, snapshot: _Snapshot) -> tuple[list[_Candidate], list[object]]:
        assert hold.ticket is not None
        choosing: list[_Candidate] = []
        ahead: list[object] = []
        for candidate in _candidates(self.prefix, snapshot).values():
            if candidate.lock_id == hold.lock_id:
                continue
            if not _conflict(hold.exclusive, candidate.exclusive):
                continue
            if not candidate.live(snapshot.server_now, self.skew):
                continue
            ticket = candidate.ticket
            if ticket is None:
                choosing.append(candidate)
            elif (ticket, candidate.lock_id) < (hold.ticket, hold.lock_id):
                ahead.append(candidate)
        if any(obj.key == self.prefix + _STATE for obj in snapshot.objects):
            # mixed clients: live holders of the conditional protocol's state go first
            state = _retrying(self._read_state)
            ahead.extend(self.state_blockers(state, hold))
        return choosing, ahead

    def _done_choosing(self, hold: _Hold) -> None:
        """Delete seq-0 while waiting (bakery: choosing := false). With seq-1 written, nobody
        reads it any more; gone, it leaves one object fewer to delete on release."""
        key = hold.key0
        if key is None or key not in hold.objects or hold.key1 not in hold.objects:
            return
        written = hold.objects[key]
        try:
            self.store.delete_own(key, written)
        except (ClientError, TransportError) as exc:
            if not _transient(exc):
                raise
            return  # deleted on release, then
        del hold.objects[key]
        if not written.retried:
            hold.attempted.discard(key)

    def _reap(self, hold: _Hold, snapshot: _Snapshot) -> None:
        """Delete what expired contenders (dead holders) left, exactly as listed: their owners
        stopped trusting them a TTL ago, and a late renewal of theirs fails its check."""
        expired = [
            c
            for c in _candidates(self.prefix, snapshot).values()
            if c.lock_id != hold.lock_id and not c.live(snapshot.server_now, self.skew)
        ]
        if expired:
            with contextlib.suppress(ClientError, TransportError):
                self.break_candidates(expired, snapshot)

    def renew(self, hold: _Hold) -> None:
        key = hold.key1 if hold.key1 in hold.objects else hold.key0
        assert key is not None
        old = hold.objects[key]
        nonce = _new_id()
        body = self._body(hold, 1 if key == hold.key1 else 0, nonce)
        earlier = hold.pending.setdefault(key, {})
        sent = _mono()
        try:
            written = self.store.replace(key, old, body, nonce, earlier)
        except (ClientError, TransportError):
            earlier[nonce] = sent  # it may have landed: a later attempt will know it
            raise
        hold.pending.pop(key, None)
        hold.objects[key] = written
        try:
            hold.extend(written)
        except _Restart as exc:
            raise _Broken(str(exc)) from None

    def release(self, hold: _Hold) -> bool:
        """Delete seq-1, then seq-0. A breaker deletes seq-0 first, so "seq-1 already gone but
        seq-0 still there" is our own retried delete, and both gone means we were broken."""
        present: list[bool] = []
        for key in (hold.key1, hold.key0):
            if key is None or key not in hold.objects:
                continue
            written = hold.objects[key]
            present.append(bool(_retrying(functools.partial(self.store.delete_own, key, written))))
        for key in hold.attempted - set(hold.objects):
            with contextlib.suppress(ClientError, TransportError):
                _retrying(functools.partial(self.store.delete_own, key, None))
        if (
            not hold.objects
            or any(w.retried for w in hold.objects.values())
            or (hold.attempted - set(hold.objects))
        ):  # a retried PUT may have left a stray version (B2, versioned buckets)
            _retrying(lambda: self.store.sweep(self.prefix, hold.lock_id))
        return any(present) or not present

    def _withdraw(self, hold: _Hold) -> None:
        with contextlib.suppress(ClientError, TransportError, LockError):
            self.release(hold)

    def verify(self, hold: _Hold) -> bool:
        key = hold.key1
        if key is None or key not in hold.objects:
            return False
        return self.store.is_current(key, hold.objects[key])

    def break_candidates(
        self, candidates: list[_Candidate], snapshot: _Snapshot
    ) -> dict[str, list[_Listed]]:
        """Delete the contenders' objects exactly as listed (seq-0 first, so that their own
        release can tell): a contender that renewed meanwhile survives. Returns the objects
        deleted, by lock id, of each contender broken."""
        broken: dict[str, list[_Listed]] = {}
        store = self.store
        seq1 = self.prefix + "seq-1"
        for candidate in candidates:
            listed = sorted(candidate.objects, key=lambda pair: pair[0].stage)
            objects = [obj for _, obj in listed]
            if isinstance(store, _B2Store):  # every version, not only the latest
                objects = store.versions_of(self.prefix, {obj.key for obj in objects})
                objects.sort(key=lambda obj: obj.key.startswith(seq1))
            deleted = [
                (
                    obj.key.startswith(seq1),
                    bool(_retrying(functools.partial(store.delete_listed, obj))),
                )
                for obj in objects
            ]
            tickets = [done for is_seq1, done in deleted if is_seq1]
            if (tickets and all(tickets)) or (not tickets and any(d for _, d in deleted)):
                # its ticket (or, choosing, its seq-0) is gone
                broken[candidate.lock_id] = [
                    obj for obj, (_, done) in zip(objects, deleted, strict=True) if done
                ]
        return broken


# --- the lock ------------------------------------------------------------------------------------


def _heartbeat(hold: _Hold, protocol: _Protocol, interval: float) -> None:
    """Renew `interval` after each renewal was *sent* (the lease counts from then); each
    attempt is cut after `interval`, and at the lease's end (one answered later would extend
    nothing anyway), so a stalled attempt leaves time for another."""
    delay = max(0.0, hold.valid_until - hold.ttl + interval - _mono())
    while not hold.stop.wait(delay):
        with hold.mutex:
            if hold.stop.is_set():
                return
            try:
                if _mono() >= hold.valid_until:
                    raise _Broken("the lease ran out before it could be renewed")
                # One attempt may take up to an interval (then another is tried), never
                # beyond the lease: a renewal answered later would extend nothing.
                with _within(min(hold.valid_until, _mono() + interval)):
                    protocol.renew(hold)
                delay = max(0.0, hold.valid_until - hold.ttl + interval - _mono())
            except _Broken as exc:
                hold.lost = str(exc)
                log.warning("lock %s lost: %s", protocol.prefix, exc)
                return
            except Exception as exc:
                left = hold.valid_until - _mono()
                if left <= 0:
                    hold.lost = f"could not renew the lock within its TTL ({exc})"
                    log.warning("lock %s lost: %s", protocol.prefix, hold.lost)
                    return
                delay = max(0.05, min(interval, left / 4))
                log.debug(
                    "lock %s: renewal failed, retrying in %.2f s: %r", protocol.prefix, delay, exc
                )


def _finalize(hold: _Hold, protocol: _Protocol) -> None:
    """Best-effort clean-up of a lock dropped (or left held at exit) without release()."""
    if os.getpid() != hold.pid:
        return  # a forked child exiting: the lock is its parent's
    hold.stop.set()
    if not hold.mutex.acquire(timeout=10):
        return
    try:
        with contextlib.suppress(Exception):
            protocol.release(hold)
    finally:
        hold.mutex.release()


class DistributedLock:
    """A lock shared through an S3 bucket or a B2 bucket, with `threading.Lock`'s manner.

    Make it with ``session.lock(key, ...)``. One object is one holder: share the key (and a
    session), not the object, between threads and processes. See the module docstring for
    the protocols and what they assume.

    ``ttl``: seconds a holder stays valid without renewing (the heartbeat renews every
    ``heartbeat`` seconds, default ``ttl / 3``); a dead holder's lock is taken over once the
    server says ``ttl + 1 s + clock_skew`` have passed since its last renewal.
    ``protocol``: 'auto' (conditional writes where the server proves to honour them under
    concurrency, else sequential), 'conditional' or 'sequential'. ``exclusive``: the default
    mode of `acquire` (and of ``with``); shared locks admit each other.
    """

    def __init__(
        self,
        session: S3Session | B2Session,
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
        if lock_id is not None and (not isinstance(lock_id, str) or not _ID_RE.match(lock_id)):
            raise ValueError(f"lock_id must be a lock id as s3lite makes them, got {lock_id!r}")
        if not isinstance(key, str):
            raise TypeError(f"key must be a str, not {type(key).__name__}")
        if not key:
            raise ValueError("key must not be empty")
        if protocol not in ("auto", "conditional", "sequential"):
            raise ValueError(
                f"protocol must be 'auto', 'conditional' or 'sequential', got {protocol!r}"
            )
        for name, value in (("ttl", ttl), ("clock_skew", clock_skew)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number of seconds")
            if not math.isfinite(value) or value < 0 or (name == "ttl" and value <= 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if heartbeat is None:
            heartbeat = ttl / 3
        if isinstance(heartbeat, bool) or not isinstance(heartbeat, (int, float)):
            raise TypeError("heartbeat must be a number of seconds")
        if not 0 < heartbeat < ttl:
            raise ValueError(f"heartbeat must be between 0 and ttl ({ttl}), got {heartbeat!r}")
        if prefix is None:
            prefix = key + ".lock/"
        if not isinstance(prefix, str) or not prefix:
            raise ValueError("prefix must be a non-empty str")
        store = _make_store(session, bucket)
        if store.kind == "b2" and protocol == "conditional":
            raise ValueError("B2 has no conditional writes: use protocol='sequential' or 'auto'")
        longest = _seq_key(prefix, 1, True, ttl, "0" * 32, 10**12)
        if len(longest.encode("utf-8", "surrogatepass")) > 1024:
            raise ValueError("key (or prefix) too long: lock object names would exceed 1024 bytes")
        self.key = key
        self.prefix = prefix
        self.ttl = float(ttl)
        self.heartbeat = float(heartbeat)
        self.clock_skew = float(clock_skew)
        self.exclusive = bool(exclusive)
        self._requested: LockProtocol = protocol
        self._store = store
        self._protocol: _Protocol | None = None
        self._hold: _Hold | None = None
        self._finalizer: Any = None
        self._busy = threading.Lock()
        #: The lock id of the current (or last) holding.
        self.lock_id: str | None = None
        #: A lock id given to re-attach to, whose entries are still to be taken over.
        self._attached: str | None = None
        if lock_id is not None:
            _snapshot, candidates, state = self._impl().survey()
            if lock_id not in candidates and (state is None or state.find(lock_id) is None):
                raise ValueError(f"lock id {lock_id} does not exist under {prefix!r}")
            self._attached = self.lock_id = lock_id

    # --- protocol ------------------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        """The protocol in use ('conditional' or 'sequential'); 'auto' until first used."""
        return self._protocol.name if self._protocol is not None else self._requested

    def _impl(self) -> _Protocol:
        if self._protocol is not None:
            return self._protocol
        store = self._store
        requested = self._requested
        impl: _Protocol
        if isinstance(store, _S3Store) and requested != "sequential":
            support = _support_for(store, self.prefix, concurrency=requested == "auto")
            if requested == "conditional" and not (support.if_none_match and support.if_match):
                raise LockError(
                    f"{store.endpoint} does not honour conditional writes ({support.detail}); "
                    "use protocol='sequential'"
                )
            if requested == "conditional" or support.usable:
                impl = _Conditional(
                    store, self.prefix, self.ttl, self.clock_skew, support, self.heartbeat
                )
            else:
                impl = _Sequential(store, self.prefix, self.ttl, self.clock_skew, self.heartbeat)
        else:
            impl = _Sequential(store, self.prefix, self.ttl, self.clock_skew, self.heartbeat)
        self._protocol = impl
        return impl

    # --- threading.Lock's methods --------------------------------------------------------------
    def acquire(
        self, blocking: bool = True, timeout: float = -1, exclusive: bool | None = None
    ) -> bool:
        """Take the lock (exclusive unless `exclusive=False`, or the lock's default); wait for
        it up to `timeout` seconds (-1: forever) unless `blocking` is False. Returns whether
        the lock was taken."""
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError("timeout must be a number")
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number (or -1)")
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
            deadline = math.inf if timeout == -1 else _mono() + timeout
            attached = self._attached
            self._remove_attached()  # re-attached: its old entries go, the id stays
            while True:
                hold = _Hold(mode, self.ttl)
                if attached is not None:
                    hold.lock_id, attached = attached, None
                if not impl.acquire(hold, deadline, nonblocking):
                    return False
                if _mono() < hold.valid_until:
                    break
                # Every path checks this itself; this is the last line: never hand out a
                # lock whose lease has already run out (others may have taken it since).
                log.debug("lock %s: won only after the lease ran out; again", self.prefix)
                with contextlib.suppress(ClientError, TransportError, LockError):
                    impl.release(hold)
                if nonblocking or _mono() >= deadline:
                    return False
            self._hold = hold
            self.lock_id = hold.lock_id
            threading.Thread(
                target=_heartbeat,
                args=(hold, impl, self.heartbeat),
                name=f"s3lite-lock-heartbeat-{hold.lock_id[:8]}",
                daemon=True,
            ).start()
            self._finalizer = weakref.finalize(self, _finalize, hold, impl)
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
                if lost is None and _mono() >= hold.valid_until:
                    lost = "the lock's TTL passed without a renewal"
                intact = impl.release(hold)
            if lost is None and not intact:
                lost = "the lock's objects had been removed by someone else"
            if lost is not None:
                raise LockLost(f"lock {self.key!r} was lost before release: {lost}")

    def locked(self) -> bool:
        """Whether anyone (this object included) holds or is taking the lock."""
        if self._hold is not None:
            return True
        impl = self._impl()
        snapshot, candidates, state = impl.survey()
        if any(c.live(snapshot.server_now, self.clock_skew) for c in candidates.values()):
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
        left = hold.valid_until - _mono()
        if left <= 0 or not hold.mutex.acquire(timeout=left):  # a renewal may be in flight
            return self._expired(hold)
        try:
            if hold.lost is not None:
                return False
            if _mono() >= hold.valid_until:
                return self._expired(hold)
            try:
                with _within(hold.valid_until):
                    present = self._impl().verify(hold)
            except (ClientError, TransportError):
                if _mono() >= hold.valid_until:
                    return self._expired(hold)
                raise
            if not present:
                hold.lost = "the lock's objects were removed by someone else"
                return False
            return _mono() < hold.valid_until or self._expired(hold)
        finally:
            hold.mutex.release()

    @staticmethod
    def _expired(hold: _Hold) -> bool:
        """No answer within the lease: False, and lost for good once the lease has run out
        (a renewal answered later extends nothing)."""
        if hold.lost is None and _mono() >= hold.valid_until:
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
        impl = self._impl()
        snapshot, candidates, state = impl.survey()
        mine = self._own_id()
        found: dict[str, dict[str, Any]] = {}
        for candidate in candidates.values():
            if candidate.lock_id == mine:
                continue
            doc: dict[str, Any] = {}
            newest = max(candidate.objects, key=lambda pair: pair[1].modified or 0)[1]
            with contextlib.suppress(ClientError, TransportError, ValueError):
                fetched = self._store.get(newest.key)
                if fetched is not None:
                    loaded = json.loads(fetched.body)
                    doc = loaded if isinstance(loaded, dict) else {}
            freshest = candidate.freshest()
            found[candidate.lock_id] = _describe(
                candidate.lock_id, candidate.exclusive, "sequential",
                candidate.live(snapshot.server_now, self.clock_skew),
                candidate.created(),
                None if freshest is None else freshest + candidate.ttl,
                newest.modified, doc, candidate.ticket,
            )  # fmt: skip
        if state is not None:
            for h in state.holders:
                if h.get("id") == mine:
                    continue
                found[str(h.get("id"))] = _describe(
                    str(h.get("id")), bool(h.get("exclusive", True)), "conditional",
                    not state.expired(h, self.clock_skew),
                    _number(h.get("created")), _number(h.get("expires")),
                    state.written(h), h, None,
                )  # fmt: skip
        return found

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
        cutoff, age = _break_criteria(timestamp, older_than)
        mine = self._own_id()

        def doomed(last: float | None, live: bool, server_now: float) -> bool:
            if cutoff is not None:
                return last is not None and last <= cutoff
            if age is not None:
                return last is not None and server_now - last > age
            return not live

        def pick_candidate(c: _Candidate, snapshot: _Snapshot) -> bool:
            live = c.live(snapshot.server_now, self.clock_skew)
            return c.lock_id != mine and doomed(c.freshest(), live, snapshot.server_now)

        def pick_entry(state: _State, h: dict[str, Any]) -> bool:
            live = not state.expired(h, self.clock_skew)  # by the entry's own server time
            return h.get("id") != mine and doomed(state.written(h), live, state.server_now)

        return self._break(pick_candidate, pick_entry)

    def _break(
        self,
        pick_candidate: Callable[[_Candidate, _Snapshot], bool],
        pick_entry: Callable[[_State, dict[str, Any]], bool],
    ) -> list[dict[str, Any]]:
        """Remove the sequential contenders and the conditional entries picked; what went."""
        impl = self._impl()
        snapshot, candidates, state = impl.survey()
        victims = [
            c
            for c in sorted(candidates.values(), key=lambda c: c.lock_id)
            if pick_candidate(c, snapshot)
        ]
        sequential = impl if isinstance(impl, _Sequential) else None
        if sequential is None:
            sequential = _Sequential(self._store, self.prefix, self.ttl, self.clock_skew)
        removed: list[dict[str, Any]] = []
        for lock_id, objects in sequential.break_candidates(victims, snapshot).items():
            removed.extend(
                {"key": obj.key, "version_id": obj.version_id, "lock_id": lock_id}
                for obj in objects
            )
        if (
            state is not None
            and isinstance(self._store, _S3Store)
            and any(pick_entry(state, h) for h in state.holders)
        ):
            conditional = impl if isinstance(impl, _Conditional) else None
            if conditional is None:
                support = _SUPPORT.get(self._store.endpoint) or ConditionalSupport()
                conditional = _Conditional(
                    self._store, self.prefix, self.ttl, self.clock_skew, support
                )
            removed.extend(
                {"key": conditional.key, "version_id": None, "lock_id": lock_id}
                for lock_id in sorted(conditional.break_entries(pick_entry))
            )
        return removed

    def _own_id(self) -> str | None:
        return self._hold.lock_id if self._hold is not None else self._attached

    def _remove_attached(self) -> None:
        """Remove every entry of the lock id this object was re-attached to."""
        lock_id = self._attached
        if lock_id is not None:
            self._break(
                lambda c, _snapshot: c.lock_id == lock_id,
                lambda _state, h: h.get("id") == lock_id,
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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _break_criteria(
    timestamp: str | _dt.datetime | None, older_than: float | _dt.timedelta | None
) -> tuple[float | None, float | None]:
    """(cutoff as a POSIX time, age in seconds) from break_other_locks' arguments."""
    if timestamp is not None and older_than is not None:
        raise ValueError("give timestamp or older_than, not both")
    cutoff = age = None
    if isinstance(timestamp, str):
        try:
            timestamp = _dt.datetime.fromisoformat(timestamp)
        except ValueError:
            raise ValueError(f"timestamp is not an ISO 8601 date and time: {timestamp!r}") from None
    if isinstance(timestamp, _dt.datetime):
        cutoff = timestamp.astimezone(_dt.timezone.utc).timestamp()
    elif timestamp is not None:
        raise TypeError("timestamp must be a datetime, an ISO 8601 string or None")
    if isinstance(older_than, _dt.timedelta):
        older_than = older_than.total_seconds()
    if older_than is not None:
        if isinstance(older_than, bool) or not isinstance(older_than, (int, float)):
            raise TypeError("older_than must be seconds, a timedelta or None")
        if not math.isfinite(older_than) or older_than < 0:
            raise ValueError(f"older_than must be a non-negative number, got {older_than!r}")
        age = float(older_than)
    return cutoff, age


def _describe(
    lock_id: str,
    exclusive: bool,
    protocol: str,
    live: bool,
    created: float | None,
    expires: float | None,
    written: float | None,
    doc: dict[str, Any],
    ticket: int | None,
) -> dict[str, Any]:
    def when(value: float | None) -> _dt.datetime | None:
        if value is None:
            return None
        return _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc)

    return {
        "upload_timestamp": when(written),
        "lock_type": "exclusive" if exclusive else "shared",
        "owner": None,
        "lock_id": lock_id,
        "exclusive": exclusive,
        "protocol": protocol,
        "live": live,
        "created": when(created),
        "expires": when(expires),
        "host": doc.get("host"),
        "pid": doc.get("pid"),
        "ticket": ticket,
    }
