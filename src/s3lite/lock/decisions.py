"""The lock's decisions, as pure functions of what was read and when: no I/O, no clock.

Who is live, who blocks whom, which ticket to take, what a new state version holds, what a
breaker may remove and whether a contender was broken: each is decided here from a listing
(`Snapshot`, `Candidate`s), a state version (`State`) and times, so it can be tested alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .state import Candidate, State, conflict

__all__ = [
    "POLL_MAX",
    "POLL_MIN",
    "admitted",
    "blocking_entries",
    "compatible",
    "conditional_blockers",
    "doomed",
    "expired_candidates",
    "lost_objects",
    "next_ticket",
    "poll_pause",
    "renewal_delay",
    "renewed",
    "retry_delay",
    "sequential_blockers",
    "survivors",
    "was_broken",
]

#: Polling intervals of a waiting contender (seconds, before jitter).
POLL_MIN = 0.025
POLL_MAX = 0.25


# --- the conditional protocol ---------------------------------------------------------------------


def survivors(state: State | None, lock_id: str, skew: float) -> list[dict[str, Any]]:
    """The other holders of a state that the server does not yet call expired."""
    if state is None:
        return []
    return [h for h in state.holders if h.get("id") != lock_id and not state.expired(h, skew)]


def compatible(live: list[dict[str, Any]], exclusive: bool) -> bool:
    """Whether a newcomer (`exclusive` or shared) may join the `live` holders."""
    return not live or (not exclusive and not any(h.get("exclusive", True) for h in live))


def admitted(
    state: State | None, live: list[dict[str, Any]], entry: dict[str, Any]
) -> list[dict[str, Any]]:
    """The holders of the version that admits `entry`: the live ones, stamped, and it."""
    return [*state.carry(live), entry] if state is not None else [entry]


def renewed(state: State, lock_id: str, entry: dict[str, Any], skew: float) -> list[dict[str, Any]]:
    """The holders of the version that renews `lock_id` with `entry`: the others still
    live (stamped with when they were written), ours replaced, in their order."""
    return [
        entry if h.get("id") == lock_id else state.carry([h])[0]
        for h in state.holders
        if h.get("id") == lock_id or not state.expired(h, skew)
    ]


def blocking_entries(
    state: State | None, lock_id: str, exclusive: bool, skew: float
) -> list[dict[str, Any]]:
    """The state's live holders that conflict with a contender `lock_id` (mixed clients)."""
    return [
        h
        for h in survivors(state, lock_id, skew)
        if conflict(exclusive, bool(h.get("exclusive", True)))
    ]


def conditional_blockers(
    found: Iterable[Candidate], exclusive: bool, server_now: float, skew: float
) -> list[Candidate]:
    """Live sequential contenders with a ticket that conflict with a conditional holder:
    it defers to them (mixed clients)."""
    return [
        c
        for c in found
        if c.ticket is not None and c.live(server_now, skew) and conflict(exclusive, c.exclusive)
    ]


# --- the sequential protocol ----------------------------------------------------------------------


def next_ticket(found: Iterable[Candidate], lock_id: str, server_now: float, skew: float) -> int:
    """A ticket larger than every live contender's (the bakery's "take a number")."""
    tickets = [
        c.ticket
        for c in found
        if c.lock_id != lock_id and c.ticket is not None and c.live(server_now, skew)
    ]
    return 1 + max(tickets, default=0)


def sequential_blockers(
    found: Iterable[Candidate],
    lock_id: str,
    ticket: int,
    exclusive: bool,
    server_now: float,
    skew: float,
) -> tuple[list[Candidate], list[Candidate]]:
    """(still choosing, ahead in line): the live conflicting contenders a contender holding
    `ticket` must wait for. Ahead means a smaller (ticket, lock id)."""
    choosing: list[Candidate] = []
    ahead: list[Candidate] = []
    for c in found:
        if c.lock_id == lock_id or not conflict(exclusive, c.exclusive):
            continue
        if not c.live(server_now, skew):
            continue
        if c.ticket is None:
            choosing.append(c)
        elif (c.ticket, c.lock_id) < (ticket, lock_id):
            ahead.append(c)
    return choosing, ahead


def lost_objects(listed: set[str], key0: str | None, key1: str | None, have0: bool) -> bool:
    """Whether a listing no longer shows the contender's own objects (its seq-1, or a
    seq-0 it has not deleted itself): removed under it, so no decision may rest on it."""
    return key1 not in listed or (have0 and key0 not in listed)


def expired_candidates(
    found: Iterable[Candidate], lock_id: str, server_now: float, skew: float
) -> list[Candidate]:
    """The other contenders whose TTL the server says has passed (dead holders)."""
    return [c for c in found if c.lock_id != lock_id and not c.live(server_now, skew)]


def was_broken(deleted: list[tuple[bool, bool]]) -> bool:
    """Given (is seq-1, deleted) for each object of a contender a breaker tried to delete:
    whether the contender is broken -- its ticket gone or, while choosing, its seq-0."""
    tickets = [done for is_seq1, done in deleted if is_seq1]
    return bool(tickets and all(tickets)) or (not tickets and any(d for _, d in deleted))


def poll_pause(ahead: int) -> float:
    """How long a waiting contender pauses (before jitter): the one next in line polls
    fastest, those further back less often."""
    return min(POLL_MAX, POLL_MIN * max(1, ahead))


# --- breaking and renewing ------------------------------------------------------------------------


def doomed(
    last: float | None,
    live: bool,
    server_now: float,
    cutoff: float | None,
    age: float | None,
) -> bool:
    """Whether break_other_locks removes an entry last written at server time `last`:
    written at or before `cutoff`, or more than `age` seconds before `server_now`, or, by
    default, expired by the server's clock (never a `live` one)."""
    if cutoff is not None:
        return last is not None and last <= cutoff
    if age is not None:
        return last is not None and server_now - last > age
    return not live


def renewal_delay(valid_until: float, ttl: float, interval: float, now: float) -> float:
    """Seconds until the next renewal: `interval` after the last one was sent (the lease
    ending at `valid_until` counts `ttl` from then)."""
    return max(0.0, valid_until - ttl + interval - now)


def retry_delay(left: float, interval: float) -> float:
    """Seconds before trying a failed renewal again, with `left` seconds of lease left."""
    return max(0.05, min(interval, left / 4))
