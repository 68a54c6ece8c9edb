"""Retries, resumes and typed errors of the transport, through the fault proxy in front of
SeaweedFS."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

import s3lite
from conftest import FAST_RETRY, both_flavours
from faultproxy import (
    DropResponse,
    ErrorResponse,
    FaultProxy,
    ResetAfterHeaders,
    ResetBeforeResponse,
    ResetMidBody,
    Stall,
    TruncateBody,
)
from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS
from s3lite.retries import AdaptiveRateLimiter, RetryPolicy, RetryQuota

#: Every test here runs on the sync session and on the async one (conftest.both_flavours).
flavour = both_flavours()


@pytest.fixture
def proxy(seaweed: LocalSeaweedFS) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", seaweed.s3_port) as p:
        yield p
        assert not p.errors


@pytest.fixture
def via_proxy(seaweed: LocalSeaweedFS, proxy: FaultProxy, s3: S3Session) -> Iterator[S3Session]:
    """A session whose every request crosses the fault proxy (same bucket as `s3`)."""
    session = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
        read_timeout=2, **FAST_RETRY,
    )  # fmt: skip
    yield session
    session.close()


def test_slowdown_is_retried(via_proxy: S3Session, proxy: FaultProxy) -> None:
    proxy.add(ErrorResponse(503, "SlowDown", "Reduce your request rate."), method="PUT", times=2)
    via_proxy.put_object("k", b"v")
    assert [f[0] for f in proxy.fired] == ["ErrorResponse", "ErrorResponse"]
    assert via_proxy.get_object("k").data == b"v"


TRANSIENT = [
    (500, "InternalError"),
    (502, "BadGateway"),
    (503, "ServiceUnavailable"),
    (504, "GatewayTimeout"),
    (429, "TooManyRequests"),
    (400, "RequestTimeout"),
]


@pytest.mark.parametrize("status,code", TRANSIENT)
def test_transient_statuses_are_retried(via_proxy: S3Session, proxy: FaultProxy, status, code):
    via_proxy.put_object("k", b"v")
    proxy.add(ErrorResponse(status, code), method="GET", times=2)
    assert via_proxy.get_object("k").data == b"v"
    assert len(proxy.fired) == 2


def test_retries_stop_at_max_attempts_with_a_typed_error(via_proxy: S3Session, proxy: FaultProxy):
    proxy.add(ErrorResponse(503, "SlowDown", "busy"), method="GET", times=None)
    with pytest.raises(s3lite.SlowDown) as info:
        via_proxy.get_object("k")
    assert info.value.status == 503 and info.value.message == "busy"
    assert len(proxy.fired) == via_proxy.transport.retry.max_attempts == 3


def test_client_errors_are_not_retried(via_proxy: S3Session, proxy: FaultProxy) -> None:
    with pytest.raises(s3lite.NoSuchKey):
        via_proxy.get_object("missing")
    assert len(proxy.requests) == 1


def test_retry_after_is_honoured(via_proxy: S3Session, proxy: FaultProxy) -> None:
    via_proxy.put_object("k", b"v")
    proxy.add(ErrorResponse(503, "SlowDown", retry_after=1), method="GET", times=1)
    started = time.monotonic()
    assert via_proxy.get_object("k").data == b"v"
    assert time.monotonic() - started >= 0.9  # waited as asked, not the 20 ms backoff


@pytest.mark.parametrize("fault", [ResetBeforeResponse(), ResetAfterHeaders(), DropResponse()],
                         ids=lambda f: f.name)  # fmt: skip
def test_connection_faults_are_retried(via_proxy: S3Session, proxy: FaultProxy, fault) -> None:
    proxy.add(fault, method="PUT", times=1)
    via_proxy.put_object("k", b"payload")  # bytes are replayable
    proxy.add(fault, method="GET", times=1)
    assert via_proxy.get_object("k", stream=False).data == b"payload"
    assert len(proxy.fired) == 2


def test_read_timeout_is_retried(via_proxy: S3Session, proxy: FaultProxy) -> None:
    via_proxy.put_object("k", b"v")
    proxy.add(Stall(3), method="GET", times=1)
    assert via_proxy.get_object("k").data == b"v"


def test_faults_past_max_attempts_raise_transport_error(via_proxy: S3Session, proxy: FaultProxy):
    proxy.add(ResetBeforeResponse(), method="GET", times=None)
    with pytest.raises(s3lite.TransportError) as info:
        via_proxy.get_object("k")
    assert info.value.attempts == 3 and "after 3 attempts" in str(info.value)


def test_partly_sent_stream_is_not_retried(via_proxy: S3Session, proxy: FaultProxy) -> None:
    proxy.add(ResetBeforeResponse(), method="PUT", times=1)
    chunks = iter([os.urandom(100_000) for _ in range(3)])
    with pytest.raises(s3lite.TransportError, match="non-seekable stream"):
        via_proxy.put_object("once", chunks, content_length=300_000)
    with pytest.raises(s3lite.NoSuchKey):  # and no partial object is left under the key
        via_proxy.head_object("once")


def test_seekable_file_is_rewound_for_a_retry(via_proxy: S3Session, proxy, tmp_path) -> None:
    data = os.urandom(2_000_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    proxy.add(ResetBeforeResponse(), method="PUT", times=1)
    with open(path, "rb") as f:
        via_proxy.put_object("file", f)
    assert via_proxy.get_object("file").data == data


def test_broken_download_resumes_byte_exact(via_proxy: S3Session, proxy: FaultProxy) -> None:
    data = os.urandom(5 * 1024 * 1024)
    via_proxy.put_object("big", data)
    proxy.add(ResetMidBody(1_000_000), method="GET", times=1)
    proxy.add(TruncateBody(300_000), method="GET", times=1)
    with via_proxy.get_object("big") as resp:
        got = b"".join(resp.iter_chunks(256 * 1024))
    assert got == data
    gets = [target for method, target in proxy.requests if method == "GET"]
    assert len(gets) == 3


def test_resume_of_a_ranged_download(via_proxy: S3Session, proxy: FaultProxy) -> None:
    data = os.urandom(3 * 1024 * 1024)
    via_proxy.put_object("big", data)
    proxy.add(ResetMidBody(500_000), method="GET", times=1)
    got = via_proxy.get_object("big", range_start=1000, range_end=2_000_999).data
    assert got == data[1000:2_001_000]


def test_changed_object_is_not_spliced(via_proxy: S3Session, proxy: FaultProxy, s3) -> None:
    via_proxy.put_object("big", b"A" * 4_000_000)
    proxy.add(ResetMidBody(2_000_000), method="GET", times=1)
    resp = via_proxy.get_object("big")
    first = resp.read(100_000)
    s3.put_object("big", b"B" * 4_000_000)  # replaced while the first GET is in flight
    with pytest.raises(s3lite.ObjectChanged):
        while resp.read(100_000):
            pass
    assert first == b"A" * 100_000
    resp.close()


def test_without_resume_a_broken_body_is_a_transport_error(via_proxy: S3Session, proxy) -> None:
    via_proxy.put_object("big", os.urandom(2_000_000))
    proxy.add(TruncateBody(100_000), method="GET", times=1)
    resp = via_proxy.get_object("big", resume=False)
    with pytest.raises(s3lite.TransportError, match=r"after \d+ bytes"):
        resp.data  # noqa: B018
    assert resp.closed


def test_adaptive_mode_slows_down_when_throttled(seaweed: LocalSeaweedFS, proxy, s3) -> None:
    session = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
        retry_mode="adaptive", max_attempts=5, **FAST_RETRY,
    )  # fmt: skip
    limiter = session.transport.retry.limiter
    assert limiter is not None and not limiter.enabled
    session.put_object("k", b"v")
    proxy.add(ErrorResponse(503, "SlowDown"), method="GET", times=2)
    assert session.get_object("k").data == b"v"
    assert limiter.enabled  # the client-side token bucket is now in front of every request
    for _ in range(5):
        session.head_object("k")


# --- policy units (deterministic, no network) ----------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cubic_limiter_cuts_on_throttle_and_regrows() -> None:
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(clock)
    for _ in range(200):  # about 100 requests per second measured
        clock.now += 0.01
        limiter.update(throttled=False)
    assert not limiter.enabled
    limiter.update(throttled=True)
    assert limiter.enabled
    after_throttle = limiter.fill_rate
    assert after_throttle < 100
    rates = []
    for _ in range(600):  # six more seconds at the same pace, no throttling
        clock.now += 0.01
        limiter.update(throttled=False)
        rates.append(limiter.fill_rate)
    assert rates[300] > after_throttle  # recovers after the cut (CUBIC: fast, then flat)
    assert rates[-1] > 100  # past the old maximum once the plateau is passed
    limiter.update(throttled=True)
    assert limiter.fill_rate < rates[-1]


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(5, backoff_base=1.0, max_backoff=4.0)
    delays = [policy.delay(attempt) for attempt in range(1, 8) for _ in range(50)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert max(delays) > 2.0  # grows with the attempt number
    assert policy.delay(1, retry_after=7.5) == 7.5
    assert policy.delay(1, retry_after=1e6) == policy.max_retry_after


def test_retry_quota_drains_and_refills() -> None:
    quota = RetryQuota(capacity=20)
    costs = [quota.acquire(timeout_error=False) for _ in range(5)]
    assert costs == [5, 5, 5, 5, 0]
    quota.release(5)
    assert quota.acquire(timeout_error=True) == 0  # a timeout costs 10
    assert quota.acquire(timeout_error=False) == 5
