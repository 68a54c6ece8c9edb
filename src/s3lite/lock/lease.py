"""One holding and its lease: shared by the lock, its heartbeat thread and its finalizer.

A holder has the lock only while its monotonic clock is below ``sent + ttl``, where
``sent`` is when the write that took or renewed it went out (see the package docstring).
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any

from .clock import mono, new_id
from .store import Written

__all__ = ["Hold", "Restart", "lease_after"]


class Restart(Exception):
    """Our entries may have expired in the others' eyes: withdraw and start over."""


def lease_after(written: Written, valid_until: float, ttl: float, *, first: bool) -> float:
    """The lease's end after a successful write: `ttl` from when it was sent -- provided
    its answer came while the lease lasted (for a first write, within its own TTL); else
    `Restart` (others may have seen us expire)."""
    limit = written.sent + ttl if first else valid_until
    if written.done >= limit:
        raise Restart("a lock write was answered only after the lock's TTL had passed")
    return max(valid_until, written.sent + ttl)


class Hold:
    """The state of one acquisition. Held by the lock, its heartbeat and its finalizer (never
    the lock object itself, so that dropping the lock runs the finalizer)."""

    def __init__(self, exclusive: bool, ttl: float) -> None:
        self.lock_id = new_id()
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
        self.objects: dict[str, Written] = {}
        #: object -> {nonce: send time} of renewals that failed but may have landed
        self.pending: dict[str, dict[str, float]] = {}
        self.attempted: set[str] = set()
        self.key0: str | None = None
        self.key1: str | None = None

    def extend(self, written: Written, *, first: bool = False) -> None:
        """Count a successful write: valid for the TTL from when it was sent -- provided its
        answer came while we were still valid (else others may have seen us expire)."""
        self.valid_until = lease_after(written, self.valid_until, self.ttl, first=first)

    def check(self, answered: float) -> None:
        """A decision taken on a response answered after our validity is worth nothing."""
        if answered >= self.valid_until:
            raise Restart("an answer came only after the lease had run out")

    def left(self) -> float:
        """Seconds of lease left (monotonic clock); 0 once lost or run out."""
        if self.lost is not None:
            return 0.0
        return max(0.0, self.valid_until - mono())

    def reset_sequential(self) -> None:
        """Forget a sequential attempt: start over under a new lock id."""
        self.lock_id = new_id()
        self.ticket = None
        self.objects = {}
        self.pending = {}
        self.attempted = set()
        self.key0 = self.key1 = None
        self.valid_until = -math.inf
