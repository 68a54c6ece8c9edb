"""Who else is under a lock's prefix, and removing them: `other_locks`, `break_other_locks`.

The reports and the breaking are protocol steps (generators of store actions, see `steps`);
which entries go is decided by `decisions.doomed`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Callable
from typing import Any

from ..errors import ClientError, TransportError
from .conditional import Conditional
from .decisions import doomed
from .probe import ConditionalSupport, cached_support
from .protocol import BaseProtocol
from .sequential import Sequential
from .state import Candidate, State
from .steps import Act, Step
from .store import Fetched, Snapshot

__all__ = [
    "CandidatePick",
    "EntryPick",
    "break_criteria",
    "break_locks",
    "describe",
    "number",
    "other_locks",
    "pickers",
]

#: Which sequential contenders, and which conditional entries, to remove.
CandidatePick = Callable[[Candidate, Snapshot], bool]
EntryPick = Callable[[State, dict[str, Any]], bool]


def other_locks(
    impl: BaseProtocol, mine: str | None, skew: float
) -> Step[dict[str, dict[str, Any]]]:
    """Every holder and contender under the prefix but `mine`, described (see
    `DistributedLock.other_locks`)."""
    snapshot, found, state = yield from impl.survey()
    report: dict[str, dict[str, Any]] = {}
    for candidate in found.values():
        if candidate.lock_id == mine:
            continue
        doc: dict[str, Any] = {}
        newest = max(candidate.objects, key=lambda pair: pair[1].modified or 0)[1]
        try:
            fetched: Fetched | None = yield Act("get", newest.key)
            if fetched is not None:
                loaded = json.loads(fetched.body)
                doc = loaded if isinstance(loaded, dict) else {}
        except (ClientError, TransportError, ValueError):
            pass
        freshest = candidate.freshest()
        report[candidate.lock_id] = describe(
            candidate.lock_id, candidate.exclusive, "sequential",
            candidate.live(snapshot.server_now, skew),
            candidate.created(),
            None if freshest is None else freshest + candidate.ttl,
            newest.modified, doc, candidate.ticket,
        )  # fmt: skip
    if state is not None:
        for h in state.holders:
            if h.get("id") == mine:
                continue
            report[str(h.get("id"))] = describe(
                str(h.get("id")), bool(h.get("exclusive", True)), "conditional",
                not state.expired(h, skew),
                number(h.get("created")), number(h.get("expires")),
                state.written(h), h, None,
            )  # fmt: skip
    return report


def pickers(
    cutoff: float | None, age: float | None, mine: str | None, skew: float
) -> tuple[CandidatePick, EntryPick]:
    """What `break_other_locks` removes, given its criteria (see `decisions.doomed`)."""

    def pick_candidate(c: Candidate, snapshot: Snapshot) -> bool:
        live = c.live(snapshot.server_now, skew)
        return c.lock_id != mine and doomed(c.freshest(), live, snapshot.server_now, cutoff, age)

    def pick_entry(state: State, h: dict[str, Any]) -> bool:
        live = not state.expired(h, skew)  # by the entry's own server time
        return h.get("id") != mine and doomed(state.written(h), live, state.server_now, cutoff, age)

    return pick_candidate, pick_entry


def break_locks(
    impl: BaseProtocol, pick_candidate: CandidatePick, pick_entry: EntryPick
) -> Step[list[dict[str, Any]]]:
    """Remove the sequential contenders and the conditional entries picked; what went."""
    snapshot, found, state = yield from impl.survey()
    victims = [
        c for c in sorted(found.values(), key=lambda c: c.lock_id) if pick_candidate(c, snapshot)
    ]
    store = impl.store
    sequential = impl if isinstance(impl, Sequential) else None
    if sequential is None:
        sequential = Sequential(store, impl.prefix, impl.ttl, impl.skew)
    removed: list[dict[str, Any]] = []
    broken = yield from sequential.break_candidates(victims)
    for lock_id, objects in broken.items():
        removed.extend(
            {"key": obj.key, "version_id": obj.version_id, "lock_id": lock_id} for obj in objects
        )
    if state is not None and store.conditional and any(pick_entry(state, h) for h in state.holders):
        conditional = impl if isinstance(impl, Conditional) else None
        if conditional is None:
            support = cached_support(store.endpoint) or ConditionalSupport()
            conditional = Conditional(store, impl.prefix, impl.ttl, impl.skew, support)
        gone = yield from conditional.break_entries(pick_entry)
        removed.extend(
            {"key": conditional.key, "version_id": None, "lock_id": lock_id}
            for lock_id in sorted(gone)
        )
    return removed


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def break_criteria(
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


def describe(
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
