"""What the lock objects say: sequential names and candidates, the conditional state document.

Pure parsing and the per-entry facts (who, which mode, when last written by the server's
clock, live or expired); no I/O. The decisions built on them are in `decisions`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..errors import LockError
from .store import Fetched, Listed, Snapshot

__all__ = [
    "DEFAULT_TTL",
    "ID_RE",
    "SEQ1",
    "STATE",
    "TIMESTAMP_SLACK",
    "Candidate",
    "SeqName",
    "State",
    "candidates",
    "conflict",
    "parse_seq",
    "parse_state",
    "seq_key",
    "state_body",
]

DEFAULT_TTL = 60.0
#: Last-Modified and Date have one-second resolution.
TIMESTAMP_SLACK = 1.0
#: The conditional protocol's state object, under the prefix.
STATE = "state"
#: Names of sequential tickets start with this, under the prefix.
SEQ1 = "seq-1"
ID_RE = re.compile(r"^[0-9a-f]{32}$")


# --- names of the sequential protocol's objects ---------------------------------------------------


class SeqName:
    """A sequential object's name, parsed: stage 0 ("choosing") or 1 (with a ticket)."""

    __slots__ = ("exclusive", "lock_id", "stage", "ticket", "ttl")

    def __init__(
        self, stage: int, exclusive: bool, ttl: float, lock_id: str, ticket: int | None
    ) -> None:
        self.stage = stage
        self.exclusive = exclusive
        self.ttl = ttl
        self.lock_id = lock_id
        self.ticket = ticket


def seq_key(
    prefix: str, stage: int, exclusive: bool, ttl: float, lock_id: str, ticket: int | None = None
) -> str:
    """The name of a sequential contender's object."""
    mode = "x" if exclusive else "s"
    name = f"{prefix}seq-{stage}.{mode}.{round(ttl * 1000)}.{lock_id}"
    return name if stage == 0 else f"{name}.{ticket}"


def parse_seq(prefix: str, key: str) -> SeqName | None:
    """The parsed name of a sequential object; None for any other key."""
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix) :].split(".")
    if len(parts) not in (4, 5) or parts[0] not in ("seq-0", "seq-1") or parts[1] not in "xs":
        return None
    stage = 0 if parts[0] == "seq-0" else 1
    if len(parts) != 4 + stage or not parts[1] or not parts[2].isdigit():
        return None
    if not ID_RE.match(parts[3]) or (stage and not parts[4].isdigit()):
        return None
    ticket = int(parts[4]) if stage else None
    return SeqName(stage, parts[1] == "x", int(parts[2]) / 1000, parts[3], ticket)


class Candidate:
    """Every object of one sequential contender found in a listing."""

    __slots__ = ("exclusive", "lock_id", "objects", "tickets", "ttl")

    def __init__(self, name: SeqName) -> None:
        self.lock_id = name.lock_id
        self.exclusive = name.exclusive
        self.ttl = name.ttl
        self.objects: list[tuple[SeqName, Listed]] = []
        self.tickets: list[int] = []

    @property
    def ticket(self) -> int | None:
        """None while choosing (no seq-1 yet); the smallest if leftovers left several."""
        return min(self.tickets) if self.tickets else None

    def freshest(self) -> float | None:
        """The server time of its latest write (None if a listing gave no time)."""
        stamps = [obj.modified for _, obj in self.objects]
        return None if any(s is None for s in stamps) else max(s for s in stamps if s is not None)

    def created(self) -> float | None:
        """The server time of its earliest object still there."""
        stamps = [obj.modified for _, obj in self.objects if obj.modified is not None]
        return min(stamps) if stamps else None

    def live(self, server_now: float, skew: float) -> bool:
        """Whether the server (at `server_now`) says its TTL has not passed."""
        freshest = self.freshest()
        return freshest is None or server_now <= freshest + self.ttl + TIMESTAMP_SLACK + skew


def candidates(prefix: str, snapshot: Snapshot) -> dict[str, Candidate]:
    """The sequential contenders of a listing, by lock id."""
    found: dict[str, Candidate] = {}
    for obj in snapshot.objects:
        name = parse_seq(prefix, obj.key)
        if name is None:
            continue
        candidate = found.get(name.lock_id)
        if candidate is None:
            candidate = found[name.lock_id] = Candidate(name)
        candidate.objects.append((name, obj))
        candidate.exclusive = candidate.exclusive or name.exclusive
        candidate.ttl = max(candidate.ttl, name.ttl)
        if name.ticket is not None:
            candidate.tickets.append(name.ticket)
    return found


def conflict(a_exclusive: bool, b_exclusive: bool) -> bool:
    """Whether two holders exclude each other (unless both are shared)."""
    return a_exclusive or b_exclusive


# --- the conditional protocol's state object ------------------------------------------------------


class State:
    """One version of the state object: its holders, ETag, and the server's times."""

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
        """The entry of `lock_id`, if it is among the holders."""
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


def parse_state(fetched: Fetched) -> State:
    """The state document of a fetched state object (`LockError` if it is not one)."""
    try:
        doc = json.loads(fetched.body)
        holders = doc["holders"]
        if not isinstance(holders, list) or not all(isinstance(h, dict) for h in holders):
            raise TypeError("holders is not a list of objects")
    except (ValueError, KeyError, TypeError) as exc:
        raise LockError(f"lock state {fetched.key} is not a lock state object: {exc}") from None
    rev = doc.get("rev")
    return State(
        holders,
        fetched.etag,
        fetched.modified,
        fetched.server_now,
        rev if isinstance(rev, str) else None,
    )


def state_body(holders: list[dict[str, Any]], rev: str) -> bytes:
    """The state document for `holders`, as written (`rev`: this write's own id)."""
    doc = {"protocol": "conditional", "rev": rev, "holders": holders}
    return json.dumps(doc, separators=(",", ":")).encode()
