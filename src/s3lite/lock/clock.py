"""The lock's clocks and waits: monotonic time, jittered pauses, fresh ids, request bounds.

Every lease is counted on the monotonic clock (see the package docstring); `within` bounds
the requests a lease depends on so that none outlives it.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
import uuid

from ..transport import request_deadline

__all__ = ["jitter", "mono", "new_id", "sleep", "within"]


def mono() -> float:
    """The monotonic clock every lease is counted on."""
    return time.monotonic()


def new_id() -> str:
    """A fresh lock id or nonce (32 hex digits)."""
    return uuid.uuid4().hex


def within(until: float) -> contextlib.AbstractContextManager[None]:
    """Bound the requests sent in this context to end by `until` (monotonic): an answer that
    would come later is worth nothing to a lease that ends then."""
    if math.isfinite(until):
        return request_deadline(until)
    return contextlib.nullcontext()


def sleep(seconds: float) -> None:
    """Sleep, if there is anything to sleep."""
    if seconds > 0:
        time.sleep(seconds)


def jitter(delay: float) -> float:
    """`delay` scaled by a random factor in [0.5, 1.5), so that contenders spread out."""
    return delay * (0.5 + random.random())
