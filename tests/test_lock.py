"""Distributed locks (s3lite.lock) on SeaweedFS -- both protocols forced -- and on the B2 test
server, across threads and processes, through injected faults, and against the known traps of
conditional writes.

Timing assertions here are ordering checks with generous margins (the machine is shared and
loaded), never performance figures; see benchmarks/lock_latency.py for those.
"""

from __future__ import annotations

import datetime
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import FAST_RETRY, new_bucket_name
from faultproxy import (
    DropResponse,
    ErrorResponse,
    FaultProxy,
)
from s3lite import S3Session
from s3lite.errors import LockError, LockLost, NoSuchKey, PreconditionFailed
from s3lite.lock import (
    DistributedLock,
    cached_support,
    clear_protocol_cache,
    probe_conditional_writes,
)

LOCK_KINDS = ["s3-conditional", "s3-sequential", "b2-sequential"]


def everything() -> datetime.datetime:
    """A break_other_locks timestamp that breaks every entry, live or not."""
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)


def broken_ids(removed: list[dict[str, Any]]) -> list[str]:
    return sorted({entry["lock_id"] for entry in removed})


class Env:
    """One backend and one forced protocol, with what child processes need to connect."""

    def __init__(self, kind: str, session: Any, protocol: str, config: dict[str, Any]) -> None:
        self.kind = kind
        self.session = session
        self.protocol = protocol
        self.config = {**config, "protocol": protocol, "bucket": session.bucket}

    def lock(self, key: str = "res", **kwargs: Any) -> DistributedLock:
        return self.session.lock(key, protocol=self.protocol, **kwargs)  # type: ignore[no-any-return]

    def keys(self, prefix: str) -> list[str]:
        return sorted(item["key"] for item in self.session.list_objects(prefix))


@pytest.fixture(autouse=True)
def _fresh_protocol_cache() -> Iterator[None]:
    clear_protocol_cache()
    yield
    clear_protocol_cache()


@pytest.fixture(params=LOCK_KINDS)
def env(request: pytest.FixtureRequest) -> Env:
    backend, protocol = request.param.split("-")
    if backend == "s3":
        seaweed = request.getfixturevalue("seaweed")
        session = request.getfixturevalue("s3")
        config = {
            "kind": "s3",
            "endpoint": seaweed.endpoint_url,
            "access_key": seaweed.access_key,
            "secret_key": seaweed.secret_key,
        }
    else:
        server = request.getfixturevalue("b2server")
        key_id, key = request.getfixturevalue("b2_account")
        session = request.getfixturevalue("b2")
        config = {"kind": "b2", "api_url": server.api_url, "key_id": key_id, "key": key}
    return Env(request.param, session, protocol, config)


@pytest.fixture(params=["s3-conditional", "s3-sequential"])
def s3env(request: pytest.FixtureRequest) -> Env:
    seaweed = request.getfixturevalue("seaweed")
    session = request.getfixturevalue("s3")
    protocol = request.param.split("-")[1]
    config = {"kind": "s3", "endpoint": seaweed.endpoint_url}
    return Env(request.param, session, protocol, config)


# --- child processes ------------------------------------------------------------------------------

CHILD_PRELUDE = r"""
import json, os, sys, time
cfg = json.loads(sys.argv[1])
retry = {"backoff_base": 0.02, "max_backoff": 0.2}
if cfg["kind"] == "s3":
    from s3lite import S3Session
    session = S3Session(cfg["access_key"], cfg["secret_key"], endpoint_url=cfg["endpoint"],
                        bucket=cfg["bucket"], **retry)
else:
    from s3lite.b2 import B2Session
    session = B2Session(cfg["key_id"], cfg["key"], bucket=cfg["bucket"], api_url=cfg["api_url"],
                        **retry)
def say(word):
    print(word, flush=True)
"""

INCREMENTER = r"""
lock = session.lock("counter", protocol=cfg["protocol"], ttl=30)
say("READY")
while not os.path.exists(cfg["go"]):
    time.sleep(0.01)
for _ in range(cfg["rounds"]):
    with lock:
        try:
            value = int(session.get_object("counter", stream=False).data)
        except Exception as exc:  # the first increment finds no counter
            if type(exc).__name__ != "NoSuchKey":
                raise
            value = 0
        session.put_object("counter", str(value + 1).encode())
say("DONE")
"""

HOLDER = r"""
lock = session.lock("res", protocol=cfg["protocol"], ttl=cfg["ttl"], clock_skew=cfg["skew"])
assert lock.acquire(timeout=60)
say("ACQUIRED")
if cfg.get("exit"):
    sys.exit(0)  # without release(): the atexit finalizer cleans up
time.sleep(600)
"""


FORKER = r"""
lock = session.lock("fork", protocol=cfg["protocol"])
assert lock.acquire(timeout=60)
pid = os.fork()
if pid == 0:
    sys.exit(0)  # a normal exit runs atexit hooks: they must leave the parent's lock alone
os.waitpid(pid, 0)
say("HELD" if lock.verify() else "LOST")
lock.release()
say("RELEASED")
"""


def spawn(code: str, config: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_PRELUDE + code, json.dumps(config)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def expect_line(child: subprocess.Popen[str], word: str, timeout: float = 60) -> None:
    assert child.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(child.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    assert result and result[0].strip() == word, f"child said {result!r}, expected {word!r}"


# --- mutual exclusion -----------------------------------------------------------------------------


def test_processes_increment_a_counter_under_the_lock(env: Env, tmp_path) -> None:
    """8 processes x 25 read-modify-write increments: exactly 200, on every backend/protocol."""
    processes, rounds = 8, 25
    go = tmp_path / "go"
    config = {**env.config, "go": str(go), "rounds": rounds}
    children = [spawn(INCREMENTER, config) for _ in range(processes)]
    try:
        for child in children:
            expect_line(child, "READY")
        go.touch()  # all start together: maximum contention
        for child in children:
            assert child.wait(timeout=240) == 0
            expect_line(child, "DONE", timeout=5)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
            if child.stdout is not None:
                child.stdout.close()
    assert int(env.session.get_object("counter", stream=False).data) == processes * rounds
    assert env.keys("counter.lock/") == []  # every holder cleaned up


def contend(make_lock: Any, threads: int = 4, rounds: int = 4) -> dict[str, int]:
    """Threads take turns under their own lock objects; count overlaps seen by a checker."""
    guard = threading.Lock()
    state = {"inside": 0, "overlaps": 0, "entries": 0}
    errors: list[BaseException] = []

    def worker() -> None:
        lock = make_lock()
        try:
            for _ in range(rounds):
                with lock:
                    with guard:
                        state["inside"] += 1
                        state["entries"] += 1
                        state["overlaps"] += state["inside"] > 1
                    time.sleep(0.01)
                    with guard:
                        state["inside"] -= 1
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert not errors, errors
    return state


def test_threads_never_overlap(env: Env) -> None:
    assert contend(lambda: env.lock("threads")) == {"inside": 0, "overlaps": 0, "entries": 16}
    assert env.keys("threads.lock/") == []


def test_conditional_protocol_where_deletes_ignore_conditions(s3: S3Session) -> None:
    """Where DELETE ignores If-Match, the last holder empties the state instead of deleting
    it, so every acquisition is an If-Match compare-and-swap."""
    first = s3.lock("nd", protocol="conditional")
    assert first.acquire()
    first.release()
    support = cached_support(s3.endpoint_url)
    assert support is not None
    support.delete_if_match = False
    make = lambda: s3.lock("nd", protocol="conditional")  # noqa: E731
    assert contend(make) == {"inside": 0, "overlaps": 0, "entries": 16}
    state = json.loads(s3.get_object("nd.lock/state", stream=False).data)
    assert state["holders"] == []  # left empty, never deleted unconditionally


def test_shared_locks_overlap_and_exclude_a_writer(env: Env) -> None:
    readers = [env.lock("rw", exclusive=False) for _ in range(3)]
    for reader in readers:  # all three hold at once
        assert reader.acquire(timeout=30)
    writer = env.lock("rw")
    assert not writer.acquire(blocking=False)
    got: list[float] = []
    thread = threading.Thread(
        target=lambda: got.append(writer.acquire(timeout=60) and time.monotonic())
    )
    thread.start()
    time.sleep(0.5)
    released_at = 0.0
    for reader in readers:
        assert not got  # the writer waits for every reader
        reader.release()
        released_at = time.monotonic()
        time.sleep(0.3)
    thread.join(timeout=90)
    assert got and got[0] >= released_at  # only after the last reader left
    late_reader = env.lock("rw", exclusive=False)
    assert not late_reader.acquire(blocking=False)  # the writer excludes readers too
    writer.release()
    assert late_reader.acquire(timeout=30)
    late_reader.release()
    assert env.keys("rw.lock/") == []


def test_timeout_gives_up_and_leaves_nothing_behind(env: Env) -> None:
    holder = env.lock("t")
    assert holder.acquire()
    waiter = env.lock("t")
    started = time.monotonic()
    assert waiter.acquire(timeout=1.0) is False
    assert time.monotonic() - started >= 1.0
    assert not waiter.held
    assert list(waiter.other_locks()) == [holder.lock_id]
    holder.release()
    assert env.keys("t.lock/") == []
    assert waiter.acquire(blocking=False)
    waiter.release()


# --- liveness: TTL, heartbeat, dead holders -------------------------------------------------------


def test_heartbeat_keeps_the_lock_beyond_its_ttl(env: Env) -> None:
    lock = env.lock("hb", ttl=1.5, clock_skew=0.5)
    assert lock.acquire()
    other = env.lock("hb", ttl=1.5, clock_skew=0.5)
    time.sleep(4.0)  # well past ttl + 1 s + skew: only the heartbeat keeps it
    assert not other.acquire(blocking=False)
    assert lock.verify()
    lock.release()
    assert other.acquire(timeout=30)
    other.release()


def test_killed_holder_is_taken_over_after_its_ttl_not_before(env: Env) -> None:
    ttl, skew = 3.0, 0.5
    child = spawn(HOLDER, {**env.config, "ttl": ttl, "skew": skew})
    try:
        expect_line(child, "ACQUIRED")
        os.killpg(child.pid, signal.SIGKILL)
        killed = time.monotonic()
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        if child.stdout is not None:
            child.stdout.close()
    lock = env.lock("res", ttl=ttl, clock_skew=skew)
    assert not lock.acquire(blocking=False)  # the dead holder's lock is still valid
    assert lock.locked()
    assert lock.acquire(timeout=60)
    taken = time.monotonic() - killed
    # Not before the TTL (server-judged: ttl + 1 s resolution + skew after the last write)...
    assert taken >= ttl
    # ...and not long after it (generous: a loaded machine, the heartbeat interval).
    assert taken < ttl + skew + 1 + ttl / 3 + 30
    lock.release()
    assert env.keys("res.lock/") == []


def test_break_other_locks_is_noticed_by_the_holder(env: Env) -> None:
    victim = env.lock("brk")
    assert victim.acquire()
    breaker = env.lock("brk")
    assert breaker.break_other_locks(older_than=3600) == []  # too young to break
    assert breaker.break_other_locks() == []  # live: never broken by default
    assert broken_ids(breaker.break_other_locks(everything())) == [victim.lock_id]
    assert breaker.acquire(timeout=30)
    assert not victim.verify()
    with pytest.raises(LockLost):
        victim.release()
    # the victim's release removed nothing of the breaker's: it still holds the lock
    assert breaker.verify()
    third = env.lock("brk")
    assert not third.acquire(blocking=False)
    breaker.release()
    assert env.keys("brk.lock/") == []


def test_a_broken_waiter_starts_over_instead_of_holding_unseen(env: Env) -> None:
    """A contender whose objects are broken while it waits must not later decide it holds
    the lock on the strength of a queue it is no longer in (nobody else could see it)."""
    holder = env.lock("bw")
    assert holder.acquire()
    guard = threading.Lock()
    state = {"inside": 0, "overlaps": 0, "entries": 0}

    def critical_section(lock: DistributedLock) -> None:
        assert lock.acquire(timeout=90)
        with guard:
            state["inside"] += 1
            state["entries"] += 1
            state["overlaps"] += state["inside"] > 1
        time.sleep(1.0)
        with guard:
            state["inside"] -= 1
        lock.release()

    waiter = env.lock("bw")
    thread = threading.Thread(target=critical_section, args=(waiter,))
    thread.start()
    deadline = time.monotonic() + 30
    while env.protocol == "sequential" and not any(
        o["ticket"] for o in holder.other_locks().values()
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    broken = broken_ids(holder.break_other_locks(everything()))
    assert len(broken) == (env.protocol == "sequential")  # conditional waiters leave no entry
    holder.release()
    time.sleep(0.3)  # the broken waiter polls and decides (visibly, having started over)
    critical_section(env.lock("bw"))  # a third contender must see it and wait
    thread.join(timeout=120)
    assert state == {"inside": 0, "overlaps": 0, "entries": 2}
    assert env.keys("bw.lock/") == []


def test_heartbeat_notices_a_broken_lock(env: Env) -> None:
    victim = env.lock("brk2", ttl=3.0)
    assert victim.acquire()
    env.lock("brk2").break_other_locks(everything())
    deadline = time.monotonic() + 30
    while victim._hold is not None and victim._hold.lost is None:  # the next renewal finds out
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert not victim.verify()
    with pytest.raises(LockLost):
        victim.release()
    victim.release()  # released (and lost) is not held: nothing to do, as in s3func


def test_lost_ttl_is_reported(env: Env) -> None:
    lock = env.lock("exp", ttl=1.0, heartbeat=0.9)
    assert lock.acquire()
    assert lock._hold is not None
    lock._hold.stop.set()  # the heartbeat dies: nothing renews the lock
    time.sleep(1.2)
    assert not lock.verify()
    with pytest.raises(LockLost):
        lock.release()


# --- clean-up -------------------------------------------------------------------------------------


def test_dropped_lock_is_cleaned_up_by_its_finalizer(env: Env) -> None:
    lock = env.lock("gc")
    assert lock.acquire()
    assert env.keys("gc.lock/")
    del lock
    gc.collect()
    assert env.keys("gc.lock/") == []


def test_exit_without_release_cleans_up(env: Env) -> None:
    child = spawn(HOLDER, {**env.config, "ttl": 30, "skew": 1, "exit": True})
    try:
        expect_line(child, "ACQUIRED")
        assert child.wait(timeout=60) == 0
    finally:
        if child.stdout is not None:
            child.stdout.close()
    assert env.keys("res.lock/") == []
    lock = env.lock("res")
    assert lock.acquire(blocking=False)  # at once: no TTL to wait for
    lock.release()


def test_a_forked_child_exiting_leaves_the_parents_lock_alone(env: Env) -> None:
    child = spawn(FORKER, env.config)
    try:
        expect_line(child, "HELD")
        expect_line(child, "RELEASED")
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
        if child.stdout is not None:
            child.stdout.close()
    assert env.keys("fork.lock/") == []


# --- introspection --------------------------------------------------------------------------------


def test_other_locks_and_locked(env: Env) -> None:
    a, b = env.lock("info", exclusive=False), env.lock("info", exclusive=False)
    assert not a.locked()
    assert a.acquire() and b.acquire()
    (seen,) = a.other_locks().values()
    assert seen["lock_id"] == b.lock_id and seen["exclusive"] is False and seen["live"]
    assert seen["pid"] == os.getpid() and seen["host"]
    assert seen["created"] is not None and seen["expires"] > seen["created"]
    assert env.lock("info").locked()
    a.release()
    b.release()
    assert not a.locked()
    assert a.protocol == env.protocol
    assert "not held" in repr(a)


# --- through injected faults ----------------------------------------------------------------------


@pytest.fixture
def proxy(seaweed) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", seaweed.s3_port) as p:
        yield p
        assert not p.errors


def proxied(seaweed, proxy: FaultProxy, bucket: str, **kwargs: Any) -> S3Session:
    return S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=bucket,
        **{**FAST_RETRY, **kwargs},
    )  # fmt: skip


def test_lost_response_of_a_winning_conditional_put_is_resolved_by_reading_back(
    seaweed, proxy: FaultProxy, s3: S3Session
) -> None:
    """The first PUT (If-None-Match: *) creates the state but its answer is lost; the retry
    gets 412. The lock reads the state back, finds its own lock id, and holds the lock."""
    session = proxied(seaweed, proxy, s3.bucket)
    proxy.add(DropResponse(), method="PUT", path_contains="/amb.lock/state", times=1)
    lock = session.lock("amb", protocol="conditional")
    assert lock.acquire(blocking=False)
    assert [f[0] for f in proxy.fired] == ["DropResponse"]
    puts = [r for r in proxy.requests if r[0] == "PUT" and "/amb.lock/state" in r[1]]
    assert len(puts) == 2  # the lost winner and its refused retry
    state = json.loads(s3.get_object("amb.lock/state", stream=False).data)
    assert [h["id"] for h in state["holders"]] == [lock.lock_id]
    assert lock.verify()
    assert not s3.lock("amb", protocol="conditional").acquire(blocking=False)
    lock.release()
    with pytest.raises(NoSuchKey):
        s3.head_object("amb.lock/state")
    session.close()


@pytest.mark.parametrize("protocol", ["conditional", "sequential"])
def test_lost_response_of_a_renewal_is_resolved_by_reading_back(
    seaweed, proxy: FaultProxy, s3: S3Session, protocol: str
) -> None:
    """A renewal (If-Match) lands but its answer is lost; the retry gets 412: the lock reads
    the object back, finds its own nonce, and stays held."""
    session = proxied(seaweed, proxy, s3.bucket)
    lock = session.lock("ren", protocol=protocol, ttl=1.5)
    assert lock.acquire()
    proxy.add(DropResponse(), method="PUT", path_contains="/ren.lock/", times=2)
    deadline = time.monotonic() + 20
    while len(proxy.fired) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)  # a few more renewals
    assert lock.verify()
    lock.release()
    assert sorted(o["key"] for o in s3.list_objects("ren.lock/")) == []
    session.close()


def test_conditional_request_conflict_is_retried(seaweed, proxy: FaultProxy, s3: S3Session) -> None:
    session = proxied(seaweed, proxy, s3.bucket, max_attempts=1)  # no transport retries
    conflict = ErrorResponse(409, "ConditionalRequestConflict", "A conflicting operation")
    proxy.add(conflict, method="PUT", path_contains="/cf.lock/state", times=3)
    lock = session.lock("cf", protocol="conditional")
    assert lock.acquire(timeout=30)
    assert [f[0] for f in proxy.fired] == ["ErrorResponse"] * 3
    proxy.add(conflict, method="DELETE", path_contains="/cf.lock/state", times=1)
    lock.release()
    with pytest.raises(NoSuchKey):
        s3.head_object("cf.lock/state")
    session.close()


# --- conditional writes: what the server really does ----------------------------------------------


def test_seaweedfs_concurrent_if_none_match_is_atomic(s3: S3Session) -> None:
    """SeaweedFS 4.48 lets exactly one of several concurrent If-None-Match: * PUTs through
    (the race reported against 4.16 is fixed), so `auto` may use conditional writes there."""
    support = probe_conditional_writes(s3, "probe.lock/")
    assert support.if_none_match and support.if_match and support.delete_if_match
    assert support.atomic is True, support.detail
    assert [o["key"] for o in s3.list_objects("probe.lock/")] == []
    winners: list[int] = []
    barrier = threading.Barrier(6)

    def race(n: int) -> None:
        barrier.wait()
        try:
            s3.put_object("race", f"{n}".encode(), if_none_match="*")
            winners.append(n)
        except PreconditionFailed:
            pass

    threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(winners) == 1
    assert s3.get_object("race", stream=False).data == f"{winners[0]}".encode()


def test_auto_uses_conditional_writes_on_seaweedfs_and_caches_the_probe(s3: S3Session) -> None:
    lock = s3.lock("auto")
    assert lock.protocol == "auto"
    assert lock.acquire()
    assert lock.protocol == "conditional"
    lock.release()
    support = cached_support(s3.endpoint_url)
    assert support is not None and support.usable
    second = s3.lock("auto2")  # same endpoint: no new probe
    started = time.monotonic()
    assert second.acquire()
    assert second.protocol == "conditional"
    second.release()
    assert time.monotonic() - started < 30


class NonAtomicS3(S3Session):
    """A server that honours If-None-Match: * one write at a time, but checks before it writes
    and lets concurrent writers all through (as reported against SeaweedFS 4.16)."""

    def put_object(self, key: str, body: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("if_none_match") == "*":
            kwargs.pop("if_none_match")
            try:
                self.head_object(key, bucket=kwargs.get("bucket"))
            except NoSuchKey:
                time.sleep(0.3)  # the window between check and write
                return super().put_object(key, body, **kwargs)
            raise PreconditionFailed(412, "PreconditionFailed", "At least one precondition failed")
        return super().put_object(key, body, **kwargs)


class IgnoresConditions(S3Session):
    """A server that ignores conditional headers altogether."""

    def put_object(self, key: str, body: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.pop("if_none_match", None)
        kwargs.pop("if_match", None)
        return super().put_object(key, body, **kwargs)


def test_auto_falls_back_to_sequential_where_concurrent_writes_are_not_atomic(
    seaweed, s3: S3Session
) -> None:
    session = NonAtomicS3(
        seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url,
        bucket=s3.bucket, **FAST_RETRY,
    )  # fmt: skip
    support = probe_conditional_writes(session, "na.lock/")
    assert support.if_none_match  # a second write one at a time does get 412...
    assert support.atomic is False, support.detail  # ...but concurrent ones all succeed
    lock = session.lock("na")
    assert lock.acquire()
    assert lock.protocol == "sequential"
    lock.release()
    # forcing the conditional protocol is the user's call; ignoring conditions is refused
    clear_protocol_cache()  # the same endpoint: forget what the non-atomic double showed
    ignorant = IgnoresConditions(
        seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url + "/",
        bucket=s3.bucket, **FAST_RETRY,
    )  # fmt: skip
    with pytest.raises(LockError, match="does not honour conditional writes"):
        ignorant.lock("ig", protocol="conditional").acquire()
    auto = ignorant.lock("ig2")
    assert auto.acquire() and auto.protocol == "sequential"
    auto.release()
    session.close()
    ignorant.close()


def test_clients_on_different_protocols_still_exclude_each_other(s3: S3Session) -> None:
    conditional = s3.lock("mix", protocol="conditional")
    sequential = s3.lock("mix", protocol="sequential")
    assert conditional.acquire()
    assert not sequential.acquire(blocking=False)
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(sequential.acquire(timeout=60)))
    thread.start()
    time.sleep(0.5)
    assert not got
    conditional.release()
    thread.join(timeout=90)
    assert got == [True]
    other = s3.lock("mix", protocol="conditional")
    assert not other.acquire(blocking=False)
    sequential.release()
    assert other.acquire(timeout=30)
    other.release()
    assert [o["key"] for o in s3.list_objects("mix.lock/")] == []


# --- bad input ------------------------------------------------------------------------------------


def test_bad_input_is_refused_clearly(env: Env) -> None:
    session = env.session
    with pytest.raises(ValueError, match="empty"):
        session.lock("")
    with pytest.raises(TypeError):
        session.lock(None)
    with pytest.raises(ValueError, match="protocol"):
        session.lock("k", protocol="optimistic")
    with pytest.raises(ValueError, match="ttl"):
        session.lock("k", ttl=0)
    with pytest.raises(ValueError, match="heartbeat"):
        session.lock("k", ttl=10, heartbeat=10)
    with pytest.raises(ValueError, match="too long"):
        session.lock("k" * 1000)
    lock = env.lock("bad")
    with pytest.raises(ValueError, match="non-negative"):
        lock.acquire(timeout=-2)
    with pytest.raises(ValueError, match="non-blocking"):
        lock.acquire(blocking=False, timeout=1)
    with pytest.raises(TypeError):
        lock.acquire(timeout="1")
    lock.release()  # not held: nothing to do, as in s3func
    assert lock.acquire()
    with pytest.raises(RuntimeError, match="already holds"):
        lock.acquire()
    with pytest.raises(RuntimeError, match="already holds"):
        lock.acquire(blocking=False)
    lock.release()
    lock.release()


def test_no_bucket_and_b2_conditional_are_refused(b2, s3: S3Session) -> None:
    with pytest.raises(ValueError, match="conditional"):
        b2.lock("k", protocol="conditional")
    bucketless = S3Session("AK", "SK", endpoint_url=s3.endpoint_url)
    with pytest.raises(ValueError, match="bucket"):
        bucketless.lock("k")
    assert s3.lock("k", bucket=new_bucket_name()).key == "k"  # another bucket: fine, lazily
