"""Locks under slow and silent servers: a lease counts from when its write was *sent* and ends
``ttl`` later on the monotonic clock, whatever the answers do.

One client (A) reaches the server through `lagproxy.LagProxy`, which delays or stalls chosen
requests; the other (B) talks to the server directly. On both protocols (conditional and
sequential) and both backends (S3 on SeaweedFS, B2 on the B2 test server):

- `acquire()` never returns True after its lease has run out (B took the lock meanwhile);
- `verify()` answers without waiting behind a stalled renewal; `s3lite lock URL -- CMD` stops
  CMD by the lease's end while the server does not answer;
- `break_other_locks()` never removes a live holder by default, and judges age by the server.

Timings are generous and only ever ordering checks (the machine is shared and loaded).
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FAST_RETRY
from lagproxy import LagProxy
from s3lite import S3Session
from s3lite.lock import DistributedLock, clear_protocol_cache

TTL = 2.0
SKEW = 0.0  # one server, one clock: take over as soon as the server says the TTL has passed
KINDS = ["s3-conditional", "s3-sequential", "b2-sequential"]


class Pair:
    """Client A (through the lag proxy) and client B (direct) on one bucket and protocol."""

    def __init__(self, kind: str, direct: Any, lagged: Any, proxy: LagProxy, cli: dict[str, Any]):
        self.kind = kind
        self.protocol = kind.split("-")[1]
        self.direct = direct
        self.lagged = lagged
        self.proxy = proxy
        self.cli = cli  # how the command line reaches the server through the proxy

    def a(self, key: str = "res", **kwargs: Any) -> DistributedLock:
        options = {"protocol": self.protocol, "ttl": TTL, "clock_skew": SKEW, **kwargs}
        return self.lagged.lock(key, **options)  # type: ignore[no-any-return]

    def b(self, key: str = "res", **kwargs: Any) -> DistributedLock:
        options = {"protocol": self.protocol, "ttl": TTL, "clock_skew": SKEW, **kwargs}
        return self.direct.lock(key, **options)  # type: ignore[no-any-return]

    def keys(self, prefix: str) -> list[str]:
        return sorted(item["key"] for item in self.direct.list_objects(prefix))


@pytest.fixture(autouse=True)
def _fresh_protocol_cache() -> Iterator[None]:
    clear_protocol_cache()
    yield
    clear_protocol_cache()


@pytest.fixture(params=KINDS)
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    backend = request.param.split("-")[0]
    if backend == "s3":
        seaweed = request.getfixturevalue("seaweed")
        direct = request.getfixturevalue("s3")
        with LagProxy(seaweed.endpoint_url) as proxy:
            lagged = S3Session(
                seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url,
                bucket=direct.bucket, **FAST_RETRY,
            )  # fmt: skip
            cli = {
                "opts": ["--endpoint-url", proxy.url],
                "env": {
                    "AWS_ACCESS_KEY_ID": seaweed.access_key,
                    "AWS_SECRET_ACCESS_KEY": seaweed.secret_key,
                },
                "url": f"s3://{direct.bucket}",
            }
            yield Pair(request.param, direct, lagged, proxy, cli)
            lagged.close()
    else:
        from s3lite.b2 import B2Session

        server = request.getfixturevalue("b2server")
        key_id, key = request.getfixturevalue("b2_account")
        direct = request.getfixturevalue("b2")
        with LagProxy(server.api_url, rewrite=True) as proxy:
            lagged = B2Session(key_id, key, api_url=proxy.url, bucket=direct.bucket, **FAST_RETRY)
            cli = {
                "opts": ["--b2-api-url", proxy.url],
                "env": {"B2_APPLICATION_KEY_ID": key_id, "B2_APPLICATION_KEY": key},
                "url": f"b2://{direct.bucket}",
            }
            yield Pair(request.param, direct, lagged, proxy, cli)
            lagged.close()


def test_the_lag_proxy_carries_one_client_only(pair: Pair) -> None:
    lock = pair.a("probe")
    assert lock.acquire(timeout=30)
    lock.release()
    assert pair.proxy.requests  # A went through the proxy (uploads included, on B2)
    if pair.kind.startswith("b2"):
        assert any("upload" in target for _, target in pair.proxy.requests)
    seen = len(pair.proxy.requests)
    assert pair.b("probe").acquire(timeout=30)
    assert len(pair.proxy.requests) == seen  # B did not


# --- 1. acquire() never returns True after its lease ran out ---------------------------------


def test_acquire_never_returns_true_after_its_lease_ran_out(pair: Pair) -> None:
    """A's last request before deciding is answered 8 s late (ttl 2 s). Meanwhile the server
    sees A's entries expire and B takes the lock. A must not come back holding it too: it
    withdraws and waits (here until its timeout) instead."""
    if pair.protocol == "conditional":
        # after the winning compare-and-swap: the mixed-client check's listing
        rule = pair.proxy.delay(8, method="GET", query_contains="list-type")
    else:
        # after the deciding listing: deleting what an expired contender left
        dead = "f" * 32
        pair.direct.put_object(f"res.lock/seq-0.x.{int(TTL * 1000)}.{dead}", b"{}")
        leftover = pair.b()
        deadline = time.monotonic() + 30
        while leftover.other_locks()[dead]["live"]:  # expired by the server's clock
            assert time.monotonic() < deadline
            time.sleep(0.2)
        if pair.kind.startswith("b2"):
            rule = pair.proxy.delay(8, path_contains="b2_delete_file_version")
        else:
            rule = pair.proxy.delay(8, method="DELETE", path_contains=dead)
    guard = threading.Lock()
    holders: set[str] = set()
    overlaps: list[str] = []
    a_done = threading.Event()
    outcome: list[bool] = []

    def enter(name: str) -> None:
        with guard:
            if holders:
                overlaps.append(f"{name} got the lock while {holders} held it")
            holders.add(name)

    def leave(name: str) -> None:
        with guard:
            holders.discard(name)

    a = pair.a()

    def contender_a() -> None:
        try:
            got = a.acquire(timeout=4)  # the late answer comes at 8 s: no timeout stops it
            outcome.append(got)
            if got:
                enter("A")
                time.sleep(0.5)
                leave("A")
                a.release()
        finally:
            a_done.set()

    thread = threading.Thread(target=contender_a)
    thread.start()
    deadline = time.monotonic() + 30
    while not rule.matched:  # A waits for the late answer
        assert time.monotonic() < deadline
        time.sleep(0.01)
    b = pair.b()
    assert b.acquire(timeout=60)
    enter("B")
    a_done.wait(60)  # B holds on (its heartbeat renews) until A has given up or had its turn
    leave("B")
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert overlaps == []
    assert b.verify()
    b.release()
    assert outcome in ([False], [True])


# --- 2. verify() and the command line never wait behind a stalled renewal ---------------------


def test_verify_never_waits_behind_a_stalled_renewal(pair: Pair) -> None:
    """The server stops answering A (its renewal hangs on a 60 s read timeout). verify()
    answers False once the lease is over -- without waiting for the renewal -- and B then
    takes the lock; A's release reports the loss."""
    a = pair.a()
    assert a.acquire(timeout=30)
    pair.proxy.stall()
    answers: list[bool] = []
    asked = threading.Thread(target=lambda: answers.append(a.verify()))
    time.sleep(TTL / 2)  # a renewal is in flight (the heartbeat runs every ttl / 3)
    asked.start()
    asked.join(timeout=30)  # at most the lease (2 s) in truth; before, a minute and more
    assert not asked.is_alive(), "verify() waited behind the stalled renewal"
    assert answers == [False] or a.time_left() == 0.0
    assert a.verify() is False  # the lease is over: False at once, no request
    assert a.time_left() == 0.0
    b = pair.b()
    assert b.acquire(timeout=60)
    pair.proxy.clear()
    with pytest.raises(Exception, match="lost"):
        a.release()
    b.release()


def test_a_stalled_renewal_attempt_leaves_time_for_another(pair: Pair) -> None:
    """One renewal request never gets an answer: it is cut after the heartbeat interval (not
    at the lease's end), and the next attempt keeps the lock."""
    a = pair.a(ttl=3.0)
    assert a.acquire(timeout=30)
    if pair.kind.startswith("b2"):
        rule = pair.proxy.delay(600, when="before", path_contains="b2_upload_file")
    else:
        rule = pair.proxy.delay(600, when="before", method="PUT")
    deadline = time.monotonic() + 30
    while not rule.matched:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stalled_at = time.monotonic()
    while time.monotonic() < stalled_at + 3.0:  # a whole TTL after the stalled renewal
        assert a.time_left() > 0, "the lock was lost to one stalled renewal attempt"
        time.sleep(0.1)
    assert a.verify()
    assert not pair.b().acquire(blocking=False)
    a.release()


COMMAND = r"""
import sys, time
with open(sys.argv[1], "a") as out:
    while True:
        out.write(f"{time.time()}\n")
        out.flush()
        time.sleep(0.05)
"""


def test_lock_command_stops_the_command_by_the_lease_end(pair: Pair, tmp_path: Path) -> None:
    """`s3lite lock --ttl 2 URL -- CMD` through a server that stops answering: CMD is stopped
    (SIGTERM, then SIGKILL) before the lease ends, so it never runs while B holds the lock."""
    beats = tmp_path / "beats"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "B2_"))
    }  # fmt: skip
    env.update(pair.cli["env"])
    args = [*pair.cli["opts"], "lock", "--ttl", str(TTL), pair.cli["url"] + "/res", "--"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3lite", *args, sys.executable, "-c", COMMAND, str(beats)],
        env=env,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not beats.exists() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert beats.exists(), "the command never started"
        pair.proxy.stall()
        b = pair.b()
        assert b.acquire(timeout=60)
        b_from = time.time()
        proc.wait(timeout=60)  # before: only after minutes of renewal timeouts
        assert proc.returncode == 1
        assert proc.stderr is not None
        stderr = proc.stderr.read().decode()
        assert "was lost while the command ran" in stderr and "stopped" in stderr
        last_beat = float(beats.read_text().split()[-1])
        assert last_beat < b_from  # CMD was gone before B held the lock
        b.release()
    finally:
        pair.proxy.clear()
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


# --- 3. break_other_locks() never removes a live holder, and asks the server's clock ----------


def test_break_other_locks_spares_live_holders_and_breaks_expired_ones(pair: Pair) -> None:
    live = pair.b("brk")
    assert live.acquire(timeout=30)
    breaker = pair.b("brk")
    assert breaker.break_other_locks() == []
    assert breaker.break_other_locks(older_than=3600) == []
    assert live.verify()
    # a holder that died: its heartbeat stops, its lease runs out on the server's clock
    dead = pair.b("brk2")
    assert dead.acquire(timeout=30)
    assert dead._hold is not None
    dead._hold.stop.set()
    deadline = time.monotonic() + 30
    other = pair.b("brk2")
    while other.other_locks()[dead.lock_id]["live"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    removed = other.break_other_locks()
    assert {entry["lock_id"] for entry in removed} == {dead.lock_id}
    assert all(entry["key"].startswith("brk2.lock/") for entry in removed)
    assert other.acquire(blocking=False)
    other.release()
    assert live.verify()
    live.release()


def test_break_other_locks_judges_age_by_the_servers_clock(s3: S3Session) -> None:
    """A conditional-protocol holder whose own clock is two hours slow wrote its entry just
    now (by the server's clock): `older_than=3600` must not take it for two hours old."""
    import json

    holder = s3.lock("skew", protocol="conditional", ttl=30)
    assert holder.acquire()
    state = json.loads(s3.get_object("skew.lock/state", stream=False).data)
    slow = time.time() - 7200
    state["holders"][0].update(created=slow, expires=slow + 30)
    state["rev"] = "0" * 32
    s3.put_object("skew.lock/state", json.dumps(state).encode())
    breaker = s3.lock("skew", protocol="conditional", ttl=30)
    assert breaker.break_other_locks(older_than=3600) == []
    assert breaker.break_other_locks() == []
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
    assert [e["lock_id"] for e in breaker.break_other_locks(future)] == [holder.lock_id]
    holder._hold.stop.set()  # type: ignore[union-attr]
    with pytest.raises(Exception, match="lost"):
        holder.release()


# --- s3func's lock API ------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["conditional", "sequential"])
def test_s3func_lock_api(s3: S3Session, protocol: str) -> None:
    first = s3.lock("api", protocol=protocol)
    assert first.acquire()
    lock_id = first.lock_id
    assert lock_id is not None
    others = s3.lock("api", protocol=protocol).other_locks()
    assert list(others) == [lock_id]  # by lock id, as s3func's
    entry = others[lock_id]
    assert entry["lock_type"] == "exclusive"
    assert isinstance(entry["upload_timestamp"], datetime.datetime)
    assert entry["upload_timestamp"].tzinfo is not None
    assert "owner" in entry
    # the holding process goes away without a word: its heartbeat stops, nothing is released
    assert first._hold is not None and first._finalizer is not None
    first._finalizer.detach()
    first._hold.stop.set()
    with pytest.raises(ValueError, match="does not exist"):
        s3.lock("api", "0" * 32, protocol=protocol)
    with pytest.raises(ValueError, match="lock_id"):
        s3.lock("api", "not an id", protocol=protocol)
    again = s3.lock("api", lock_id, protocol=protocol)  # re-attach, positionally as in s3func
    assert again.lock_id == lock_id
    assert again.acquire(blocking=False)  # its own old entries do not stand in the way
    assert again.lock_id == lock_id
    assert again.verify()
    assert s3.lock("api", protocol=protocol).other_locks()[lock_id]["live"]
    again.release()
    again.release()  # not held: nothing to do, as in s3func
    # re-attached and released without acquiring: the id's entries are removed
    third = s3.lock("api", protocol=protocol)
    assert third.acquire()
    assert third._finalizer is not None and third._hold is not None
    third._finalizer.detach()
    third._hold.stop.set()
    s3.lock("api", third.lock_id, protocol=protocol).release()
    assert s3.lock("api", protocol=protocol).acquire(blocking=False)
    # break_other_locks(timestamp) as s3func's: a datetime or an ISO string; dicts with key
    holder = s3.lock("api2", protocol=protocol)
    assert holder.acquire()
    breaker = s3.lock("api2", protocol=protocol)
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    assert breaker.break_other_locks(past.isoformat()) == []
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
    removed = breaker.break_other_locks(future.isoformat())
    assert removed and all({"key", "version_id", "lock_id"} <= set(e) for e in removed)
    assert {e["lock_id"] for e in removed} == {holder.lock_id}
    with pytest.raises(TypeError):
        breaker.break_other_locks(12345)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ISO"):
        breaker.break_other_locks("yesterday")
    with pytest.raises(ValueError, match="not both"):
        breaker.break_other_locks(future, older_than=5)


# --- random faults, slow answers and silences: never two holders ------------------------------


@pytest.mark.parametrize("protocol", ["conditional", "sequential"])
def test_random_faults_and_delays_never_let_two_holders_in(
    seaweed: Any, s3: S3Session, protocol: str
) -> None:
    """Threads take a short-TTL lock over and over through the fault proxy, which loses
    answers, refuses, resets, answers after the lease has run out and stays silent past the
    read timeout. Every acquire() must return while its lease lasts, and the holdings (each
    up to its lease's end) must never overlap."""
    from faultproxy import (
        DelayFirstByte,
        DropResponse,
        ErrorResponse,
        FaultProxy,
        ResetAfterHeaders,
        ResetBeforeResponse,
        Stall,
    )

    ttl = 2.0
    threads, rounds = (5, 30) if protocol == "conditional" else (4, 20)  # 230 acquisitions
    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        session = S3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
            max_pool_connections=30, read_timeout=1.0, **FAST_RETRY,
        )  # fmt: skip
        warm = session.lock("faulty", protocol=protocol, ttl=ttl, clock_skew=SKEW)
        assert warm.acquire()
        warm.release()  # the conditional-write probe runs before the faults start
        faults = [
            DropResponse(),
            ErrorResponse(503, "ServiceUnavailable", "injected"),
            ErrorResponse(503, "SlowDown", "applied, then refused", forward=True),
            ResetBeforeResponse(),
            ResetAfterHeaders(),
            DelayFirstByte(ttl + 0.5),  # the answer comes after the lease has run out
            Stall(1.5, forward=True),  # applied, then silence past the read timeout
        ]
        proxy.random_faults(0.08, faults, seed=20261202)
        guard = threading.Lock()
        spans: list[tuple[float, float]] = []
        late: list[float] = []
        errors: list[BaseException] = []
        release_failures = 0

        def worker() -> None:
            nonlocal release_failures
            lock = session.lock("faulty", protocol=protocol, ttl=ttl, clock_skew=SKEW)
            for _ in range(rounds):
                try:
                    got = lock.acquire(timeout=120)
                except BaseException as exc:
                    errors.append(exc)
                    return
                now = time.monotonic()
                if not got:
                    errors.append(AssertionError("acquire timed out"))
                    return
                hold = lock._hold
                assert hold is not None
                if now >= hold.valid_until:
                    late.append(now - hold.valid_until)
                time.sleep(0.005)
                with guard:
                    spans.append((now, min(time.monotonic(), hold.valid_until)))
                try:
                    lock.release()
                except Exception:
                    with guard:
                        release_failures += 1  # lost meanwhile, or the server unreachable

        workers = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join(timeout=600)
        proxy.clear()
        assert not errors, errors
        assert late == []  # acquire() never returned after its lease ran out
        assert len(spans) == threads * rounds
        spans.sort()
        end = -1.0
        for start, stop in spans:
            assert start >= end, "two holders at once"
            end = max(end, stop)
        fired = {name for name, _, _ in proxy.fired}
        assert {"DelayFirstByte", "Stall", "DropResponse"} <= fired  # the faults did happen
        assert release_failures < len(spans) // 4
        after = s3.lock("faulty", protocol=protocol, ttl=ttl, clock_skew=SKEW)
        assert after.acquire(timeout=60)  # whatever was left behind expires
        after.release()
        session.close()


def test_a_dead_shared_holder_expires_while_the_others_renew(s3: S3Session) -> None:
    """Conditional protocol: the state object is rewritten by every renewal, yet each entry
    ages by the server's time of its own last renewal -- a reader that died is dropped while
    another reader keeps renewing, and a writer gets the lock as soon as the live one leaves."""
    options: dict[str, Any] = {"protocol": "conditional", "ttl": TTL, "clock_skew": SKEW}
    dead = s3.lock("rw", exclusive=False, **options)
    alive = s3.lock("rw", exclusive=False, **options)
    assert dead.acquire() and alive.acquire()
    assert dead._hold is not None and dead._finalizer is not None
    dead._finalizer.detach()
    dead._hold.stop.set()  # the process is gone: nothing renews or releases its entry
    writer = s3.lock("rw", **options)
    deadline = time.monotonic() + 30
    # Expired, it is shown as not live until the live reader's next renewal drops it.
    while writer.other_locks().get(dead.lock_id, {"live": False})["live"]:
        assert time.monotonic() < deadline, "a dead reader stays live while another renews"
        time.sleep(0.2)
    assert writer.other_locks()[alive.lock_id]["live"]
    assert not writer.acquire(blocking=False)  # the live reader still excludes a writer
    alive.release()
    assert writer.acquire(blocking=False)  # at once: nothing left to wait out
    writer.release()
