"""Retry policy: standard (backoff with full jitter and a retry quota) and adaptive
(standard plus a client-side CUBIC rate limiter), after the AWS SDKs' retry modes; and
`Retrying`, one request's way through them, decided once for both transports."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .errors import RequestTimeTooSkewed
from .request_body import BodyNotReplayable

if TYPE_CHECKING:
    from .errors import ClientError, TransportError

__all__ = ["AdaptiveRateLimiter", "RetryMode", "RetryPolicy", "RetryQuota", "Retrying"]

log = logging.getLogger("s3lite")

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


class _Request(Protocol):
    attempts: int
    body: Any  # a Body or AsyncBody: `replayable`, `sent`


class Retrying:
    """One request's way through its retries, the same for the urllib3 and the asyncio
    transport: after a network failure or an error answer, the delay before the next
    attempt, or the error to raise (attempts used up, quota empty, a body that cannot be
    sent again). The transports only send, sleep and read."""

    __slots__ = ("attempt", "cost", "policy", "refreshed", "request")

    def __init__(self, policy: RetryPolicy, request: _Request) -> None:
        self.policy = policy
        self.request = request
        self.attempt = 0
        self.cost = 0  # retry quota taken, given back on success
        self.refreshed = False

    def next(self) -> int:
        """The number of the attempt about to start."""
        self.attempt += 1
        return self.attempt

    def succeeded(self) -> None:
        """An answer the caller accepts: the limiter eases and the quota is given back."""
        limiter = self.policy.limiter
        if limiter is not None:
            limiter.update(throttled=False)
        self.policy.quota.release(self.cost)

    def after_failure(
        self,
        exc: BaseException,
        error_class: type[TransportError],
        describe: str,
        *,
        retryable: bool,
        timeout: bool,
    ) -> float:
        """After a network failure (`exc`, described as `describe`): seconds to wait before
        the next attempt, or raises `error_class` (or `BodyNotReplayable`)."""
        policy = self.policy
        if retryable and self.attempt < policy.max_attempts:
            self._replayable_or_raise(describe, exc)
            cost = policy.quota.acquire(timeout_error=timeout)
            if cost:
                self.cost += cost
                delay = policy.delay(self.attempt)
                log.debug("retrying after %s in %.3f s", describe, delay)
                return delay
        attempt = self.attempt
        raise error_class(
            f"{describe} (after {attempt} attempt{'s' * (attempt > 1)})",
            attempts=attempt,
            retryable=retryable,
        ) from exc

    def answered(self, error: ClientError) -> None:
        """An error answer came: the adaptive limiter learns whether it was throttling."""
        limiter = self.policy.limiter
        if limiter is not None:
            limiter.update(throttled=error.throttling)

    def may_refresh(self, error: ClientError, auth: object | None) -> bool:
        """Whether to ask the signer to refresh (once per request: a 400/401/403 may mean
        expired credentials or a stale token)."""
        return not self.refreshed and auth is not None and error.status in (400, 401, 403)

    def refreshed_now(self) -> bool:
        """The signer refreshed: a fresh start, not a failed attempt. Whether to send again
        at once (a body already sent from a one-shot stream cannot be)."""
        self.refreshed = True
        self.attempt -= 1
        return bool(self.request.body.replayable)

    def after_error(self, error: ClientError) -> float:
        """After an error answer: seconds to wait before the next attempt, or raises it (or
        `BodyNotReplayable`). A clock-skew error is retried at once (the signer's clock was
        corrected); otherwise the server's Retry-After, or backoff."""
        policy = self.policy
        if error.retryable and self.attempt < policy.max_attempts:
            self._replayable_or_raise(str(error), error)
            cost = policy.quota.acquire(timeout_error=False)
            if cost:
                self.cost += cost
                delay = (
                    0.0
                    if isinstance(error, RequestTimeTooSkewed)
                    else policy.delay(self.attempt, error.retry_after)
                )
                log.debug("retrying after %s in %.3f s", error.code, delay)
                return delay
        error.attempts = self.request.attempts
        raise error

    def _replayable_or_raise(self, describe: str, cause: BaseException) -> None:
        body = self.request.body
        if not body.replayable:
            raise BodyNotReplayable(
                f"{describe}; cannot retry: the request body is a non-seekable stream "
                f"and {body.sent} bytes of it were already sent"
            ) from cause
