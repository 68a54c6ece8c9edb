"""Retry policy: standard (backoff with full jitter and a retry quota) and adaptive
(standard plus a client-side CUBIC rate limiter), after the AWS SDKs' retry modes."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["AdaptiveRateLimiter", "RetryMode", "RetryPolicy", "RetryQuota"]

RetryMode = Literal["standard", "adaptive"]


class RetryQuota:
    """A shared budget of retries that drains while the service keeps failing.

    Each retry costs tokens (more after a timeout); a success gives them back. When the
    budget is empty, failures are returned at once instead of multiplying the load on a
    service that is down.
    """

    RETRY_COST = 5
    TIMEOUT_COST = 10
    NO_RETRY_REWARD = 1

    def __init__(self, capacity: int = 500) -> None:
        self._capacity = capacity
        self._available = capacity
        self._lock = threading.Lock()

    @property
    def available(self) -> int:
        return self._available

    def acquire(self, *, timeout_error: bool) -> int:
        """Take the cost of one retry; 0 means the budget is spent (do not retry)."""
        cost = self.TIMEOUT_COST if timeout_error else self.RETRY_COST
        with self._lock:
            if self._available < cost:
                return 0
            self._available -= cost
            return cost

    def release(self, cost: int) -> None:
        """A request succeeded: refund what its retries cost (or a small reward)."""
        if not cost and self._available >= self._capacity:
            return  # full: the reward would change nothing (and needs no lock to know it)
        with self._lock:
            self._available = min(self._capacity, self._available + (cost or self.NO_RETRY_REWARD))


class AdaptiveRateLimiter:
    """Client-side token bucket whose rate follows CUBIC: cut on throttling, regrow after.

    Off until the first throttling response; then every attempt takes a token first.
    """

    BETA = 0.7  # multiplicative decrease on throttling
    SCALE = 0.4  # CUBIC scale constant
    SMOOTHING = 0.8
    BUCKET_SECONDS = 0.5
    MIN_RATE = 0.5

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.enabled = False
        self.fill_rate = self.MIN_RATE
        self._capacity = 1.0
        self._tokens = 0.0
        self._last_refill: float | None = None
        # measured send rate
        self._measured = 0.0
        self._bucket_start = self._now()
        self._bucket_count = 0
        # CUBIC state
        self._last_max_rate = 0.0
        self._last_throttle = self._now()
        self._k = 0.0

    def _now(self) -> float:
        return self._clock()

    def _refill(self, now: float) -> None:
        if self._last_refill is None:
            self._last_refill = now
            return
        self._tokens = min(
            self._capacity, self._tokens + (now - self._last_refill) * self.fill_rate
        )
        self._last_refill = now

    def acquire(self) -> None:
        """Wait for a send token (no wait while the limiter is off)."""
        while True:
            with self._lock:
                if not self.enabled:
                    return
                now = self._now()
                self._refill(now)
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.fill_rate
            time.sleep(wait)

    def update(self, *, throttled: bool) -> None:
        """Feed one response into the measured rate and the CUBIC rate."""
        with self._lock:
            now = self._now()
            self._bucket_count += 1
            if now - self._bucket_start >= self.BUCKET_SECONDS:
                rate = self._bucket_count / (now - self._bucket_start)
                self._measured = self.SMOOTHING * rate + (1 - self.SMOOTHING) * self._measured
                self._bucket_start = now
                self._bucket_count = 0
            if throttled:
                base = min(self._measured, self.fill_rate) if self.enabled else self._measured
                base = max(base, self.MIN_RATE)
                self._last_max_rate = base
                self._k = (base * (1 - self.BETA) / self.SCALE) ** (1 / 3)
                self._last_throttle = now
                calculated = base * self.BETA
                self.enabled = True
            else:
                if not self.enabled:
                    return
                t = now - self._last_throttle
                calculated = self.SCALE * (t - self._k) ** 3 + self._last_max_rate
            new_rate = max(self.MIN_RATE, min(calculated, 2 * max(self._measured, self.MIN_RATE)))
            self._refill(now)
            self.fill_rate = new_rate
            self._capacity = max(new_rate, 1.0)
            self._tokens = min(self._tokens, self._capacity)


class RetryPolicy:
    """How many attempts, how long to wait between them, and the shared quota and limiter."""

    def __init__(
        self,
        max_attempts: int = 3,
        mode: RetryMode = "standard",
        *,
        backoff_base: float = 1.0,
        max_backoff: float = 20.0,
        max_retry_after: float = 60.0,
    ) -> None:
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be an int >= 1, got {max_attempts!r}")
        if mode not in ("standard", "adaptive"):
            raise ValueError(f"retry_mode must be 'standard' or 'adaptive', got {mode!r}")
        if backoff_base < 0 or max_backoff < 0:
            raise ValueError("backoff times must not be negative")
        self.max_attempts = max_attempts
        self.mode = mode
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.quota = RetryQuota()
        self.limiter = AdaptiveRateLimiter() if mode == "adaptive" else None

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1` (full jitter, or the server's ask)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        cap = min(self.max_backoff, self.backoff_base * 2.0 ** (attempt - 1))
        return random.random() * cap

    def __repr__(self) -> str:
        return f"RetryPolicy(max_attempts={self.max_attempts}, mode={self.mode!r})"
