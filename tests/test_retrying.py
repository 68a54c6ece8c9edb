"""Retry decisions without a server: `Retrying` is what both transports (urllib3 and asyncio)
ask after each failure, so these rules hold for both. The transports' behaviour under real
faults is tested in test_transport_faults.py (both flavours)."""

from __future__ import annotations

import pytest

from s3lite.errors import (
    AccessDenied,
    ConnectionFailed,
    RequestTimeTooSkewed,
    ServiceUnavailable,
    SlowDown,
    TransportTimeout,
)
from s3lite.request_body import Body, BodyNotReplayable
from s3lite.retries import Retrying, RetryPolicy
from s3lite.transport import Request


def request(body: object = b"data") -> Request:
    return Request("PUT", "http", "127.0.0.1:9", "/b/k", body=Body(body))  # type: ignore[arg-type]


def network_failure(retrying: Retrying, *, retryable: bool = True, timeout: bool = False) -> float:
    exc = OSError("connection reset")
    cls = TransportTimeout if timeout else ConnectionFailed
    return retrying.after_failure(exc, cls, "PUT 127.0.0.1:9: reset", retryable=retryable,
                                  timeout=timeout)  # fmt: skip


def test_network_failures_are_retried_until_the_attempts_are_used_up() -> None:
    retrying = Retrying(RetryPolicy(max_attempts=3, backoff_base=0.5), request())
    assert retrying.next() == 1
    assert 0 <= network_failure(retrying) <= 0.5  # full jitter under the first cap
    assert retrying.next() == 2
    assert 0 <= network_failure(retrying) <= 1.0
    assert retrying.next() == 3
    with pytest.raises(ConnectionFailed, match=r"reset \(after 3 attempts\)") as caught:
        network_failure(retrying)
    assert caught.value.attempts == 3 and caught.value.retryable
    assert isinstance(caught.value.__cause__, OSError)


def test_a_failure_that_is_not_retryable_raises_at_once() -> None:
    retrying = Retrying(RetryPolicy(max_attempts=5), request())
    retrying.next()
    with pytest.raises(TransportTimeout, match=r"\(after 1 attempt\)$") as caught:
        network_failure(retrying, retryable=False, timeout=True)
    assert not caught.value.retryable


def test_the_quota_is_taken_by_retries_and_given_back_on_success() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_base=0)
    full = policy.quota.available
    retrying = Retrying(policy, request())
    retrying.next()
    network_failure(retrying, timeout=True)  # a timeout costs more than a reset
    after_timeout = policy.quota.available
    retrying.next()
    network_failure(retrying)
    assert full > after_timeout > policy.quota.available
    retrying.next()
    retrying.succeeded()
    assert policy.quota.available == full


def test_an_empty_quota_stops_retries() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_base=0)
    while policy.quota.acquire(timeout_error=True):
        pass  # another request used the quota up
    retrying = Retrying(policy, request())
    retrying.next()
    with pytest.raises(ConnectionFailed, match=r"\(after 1 attempt\)"):
        network_failure(retrying)


def test_a_stream_already_sent_cannot_be_retried() -> None:
    req = request(iter([b"once"]))
    retrying = Retrying(RetryPolicy(max_attempts=3), req)
    retrying.next()
    assert b"".join(req.body.open()) == b"once"  # type: ignore[arg-type]
    with pytest.raises(BodyNotReplayable, match="4 bytes of it were already sent"):
        network_failure(retrying)
    answer = ServiceUnavailable(503, "ServiceUnavailable", "try later")
    with pytest.raises(BodyNotReplayable, match="non-seekable stream"):
        retrying.after_error(answer)


def test_error_answers_wait_as_the_server_asks_and_skew_is_retried_at_once() -> None:
    req = request()
    retrying = Retrying(RetryPolicy(max_attempts=4, max_retry_after=30), req)
    req.attempts = retrying.next()
    assert retrying.after_error(SlowDown(503, "SlowDown", retry_after=7.5)) == 7.5
    req.attempts = retrying.next()
    assert retrying.after_error(ServiceUnavailable(503, "X", retry_after=600)) == 30
    req.attempts = retrying.next()
    assert retrying.after_error(RequestTimeTooSkewed(403, "RequestTimeTooSkewed")) == 0.0
    req.attempts = retrying.next()
    last = ServiceUnavailable(503, "ServiceUnavailable")
    with pytest.raises(ServiceUnavailable) as caught:
        retrying.after_error(last)
    assert caught.value is last and last.attempts == 4


def test_an_error_that_is_not_retryable_is_raised_as_it_is() -> None:
    req = request()
    retrying = Retrying(RetryPolicy(max_attempts=3), req)
    req.attempts = retrying.next()
    denied = AccessDenied(403, "AccessDenied")
    with pytest.raises(AccessDenied) as caught:
        retrying.after_error(denied)
    assert caught.value is denied and denied.attempts == 1


def test_the_signer_refreshes_once_and_that_is_not_an_attempt() -> None:
    req = request()
    retrying = Retrying(RetryPolicy(max_attempts=2), req)
    denied = AccessDenied(403, "ExpiredToken")
    retrying.next()
    assert not retrying.may_refresh(denied, None)  # nothing to refresh without a signer
    assert retrying.may_refresh(denied, object())
    assert retrying.refreshed_now()  # bytes: sent again at once
    assert retrying.next() == 1  # the refreshed try counts as the first again
    assert not retrying.may_refresh(denied, object())  # once per request
    assert not retrying.may_refresh(ServiceUnavailable(503, "X"), object())


def test_the_adaptive_limiter_learns_from_answers() -> None:
    policy = RetryPolicy(max_attempts=3, mode="adaptive")
    limiter = policy.limiter
    assert limiter is not None and not limiter.enabled
    retrying = Retrying(policy, request())
    retrying.next()
    retrying.answered(SlowDown(503, "SlowDown"))
    assert limiter.enabled  # throttling turns the client-side rate limit on
