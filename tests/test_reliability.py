"""Reliability: s3lite keeps working under faults, load and server restarts, and loses nothing.

The promises, each proved below through the fault proxy (tests/faultproxy.py) in front of
SeaweedFS:

- **Fault matrix** (`test_fault_matrix`): every fault the proxy injects, on every kind of
  transfer (GET, PUT, the parts / the start / the completion of a multipart upload,
  download_file). A *transient* fault (it fires, then stops) is retried and the transfer
  succeeds; a *persistent* one (it fires on every matching request) ends in the typed error
  the table names, or in success where the fault cannot hurt. Either way: never wrong bytes
  returned, never a partial object under the key, never a multipart upload left behind, never
  a temporary file left next to a download target, and the clock offset is never moved by a
  stale `Date`.
- **Lost start on B2** (`test_b2_large_file_start_with_a_lost_answer_leaves_nothing`): the
  matrix's multipart-start row on b2_start_large_file.
- **Clock skew** (`test_clock_skew_*`): a wrong local clock is corrected from the server's
  `RequestTimeTooSkewed`; stale `Date` headers on successes never move the offset; a stale
  `Date` on the skew error itself costs one more attempt, not a failure.
- **Closing** (`test_close_closes_every_pooled_connection`): `close()` closes every pooled
  connection at once, not when the garbage collector gets to them.
- **Load** (`test_load_64_threads_on_one_session`): 64 threads × 200 mixed operations on one
  shared S3Session with default settings through the proxy injecting 5% transient faults:
  every operation succeeds with the right bytes or raises a typed `S3LiteError`; no
  "Connection pool is full" warnings; no file descriptor or thread leaked.
- **Restart** (`test_server_restart_mid_transfer`): SeaweedFS killed and restarted in the
  middle of downloads and multipart uploads: each completes once the server is back, or fails
  with a typed error and is then resumed to a byte-exact result.

What `test_transport_faults.py` already proves (single retries of each status, Retry-After
honoured, adaptive throttling, non-replayable bodies, resumed GETs, ObjectChanged) is not
repeated here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import s3lite
from conftest import FAST_RETRY, both_flavours, new_bucket_name
from faultproxy import (
    DelayFirstByte,
    DropResponse,
    ErrorResponse,
    Fault,
    FaultProxy,
    ResetAfterHeaders,
    ResetBeforeResponse,
    ResetMidBody,
    StaleDate,
    Stall,
    TruncateBody,
)
from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS
from s3lite.errors import (
    ChecksumMismatch,
    InternalError,
    S3LiteError,
    SlowDown,
    TooManyRequests,
    TransportError,
)
from s3lite.multipart import MultipartUpload

#: Every test here runs on the sync session and on the async one (conftest.both_flavours).
flavour = both_flavours()

MiB = 1024 * 1024


def payload(size: int, seed: int | str) -> bytes:
    return random.Random(str(seed)).randbytes(size)


@pytest.fixture(scope="module")
def bucket(seaweed: LocalSeaweedFS) -> Iterator[str]:
    """One bucket for the module (keys are unique per case): cheaper than one per case."""
    name = new_bucket_name("rel")
    with S3Session(seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url) as s:
        s.create_bucket(name)
        yield name
        s.abort_multipart_uploads(bucket=name)
        s.delete_bucket(name)


@pytest.fixture(scope="module")
def direct(seaweed: LocalSeaweedFS, bucket: str) -> Iterator[S3Session]:
    """A session straight to SeaweedFS (no proxy): sets up and checks what is stored."""
    session = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url, bucket=bucket
    )
    yield session
    session.close()


@pytest.fixture
def proxy(seaweed: LocalSeaweedFS) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", seaweed.s3_port) as p:
        yield p
        assert not p.errors


def stored(direct: S3Session, key: str) -> bytes | None:
    """What the server holds under `key` (None: nothing)."""
    try:
        return direct.get_object(key).data
    except s3lite.NoSuchKey:
        return None


# --- the fault matrix ----------------------------------------------------------------------------

OK = None  # "the transfer succeeds" in an outcome set

#: Requests of each operation that the fault is aimed at (FaultProxy.add keyword arguments).
TARGETS: dict[str, dict[str, str]] = {
    "get": {"method": "GET"},
    "put": {"method": "PUT"},
    "multipart-parts": {"method": "PUT", "query_contains": "partNumber="},
    "multipart-start": {"method": "POST", "query_contains": "uploads"},
    "multipart-complete": {"method": "POST", "query_contains": "uploadId="},
    "download_file": {"method": "GET"},
}
READS = ("get", "download_file")
ANY_OP = tuple(TARGETS)


@dataclass(frozen=True)
class FaultRow:
    """One fault: how often it fires when transient, and what a persistent one ends in."""

    fault: Fault
    #: op -> outcomes allowed when the fault never stops (OK or an error class)
    persistent: dict[str, tuple[type[BaseException] | None, ...]]
    #: how many times a transient fault fires (slow faults once, to keep the run short)
    times: int = 2
    retry_after: float | None = None
    #: the client's read timeout: short only where the fault is a stall, generous elsewhere so
    #: that a slow answer from a loaded machine is not mistaken for one
    read_timeout: float = 10.0


def everywhere(*outcomes: type[BaseException] | None) -> dict[str, tuple[Any, ...]]:
    return dict.fromkeys(ANY_OP, outcomes)


def but(base: dict[str, tuple[Any, ...]], **ops: tuple[Any, ...]) -> dict[str, tuple[Any, ...]]:
    """`base` with some operations changed (multipart_parts stands for multipart-parts)."""
    changed = {op if op in base else op.replace("_", "-"): v for op, v in ops.items()}
    assert set(changed) <= set(base)
    return {**base, **changed}


#: A cut in a response body (after 100 bytes): a read resumes from where it broke, but resumes
#: that deliver less than 64 KiB each use up the budget, so a persistent cut fails with
#: TransportError (ChecksumMismatch if the body ended short without a connection error). A
#: PUT's response has no body to cut; the start and completion of a multipart upload have
#: short XML bodies, which are cut.
CUT = (TransportError, ChecksumMismatch)

MATRIX: dict[str, FaultRow] = {
    "reset-before-response": FaultRow(ResetBeforeResponse(), everywhere(TransportError)),
    # The head arrives, then RST: bodiless answers (PUT, part PUT) are complete already.
    "reset-after-headers": FaultRow(
        ResetAfterHeaders(),
        but(everywhere(TransportError), put=(OK,), multipart_parts=(OK,)),
    ),
    "reset-mid-body": FaultRow(
        ResetMidBody(100),
        but(
            everywhere(OK), get=CUT, download_file=CUT, multipart_start=CUT, multipart_complete=CUT
        ),
    ),
    "truncate-body": FaultRow(
        TruncateBody(100),
        but(
            everywhere(OK), get=CUT, download_file=CUT, multipart_start=CUT, multipart_complete=CUT
        ),
    ),
    "stall (read timeout)": FaultRow(
        Stall(1.5), everywhere(TransportError), times=1, read_timeout=1.0
    ),
    "500": FaultRow(ErrorResponse(500, "InternalError"), everywhere(InternalError)),
    "503 SlowDown": FaultRow(ErrorResponse(503, "SlowDown", "slow down"), everywhere(SlowDown)),
    "503 SlowDown + Retry-After": FaultRow(
        ErrorResponse(503, "SlowDown", retry_after=1),
        everywhere(SlowDown),
        times=1,
        retry_after=1,
    ),
    "429": FaultRow(ErrorResponse(429, "TooManyRequests"), everywhere(TooManyRequests)),
    "429 + Retry-After": FaultRow(
        ErrorResponse(429, "TooManyRequests", retry_after=1),
        everywhere(TooManyRequests),
        times=1,
        retry_after=1,
    ),
    "delay-first-byte": FaultRow(DelayFirstByte(0.2), everywhere(OK)),
    "stale-date": FaultRow(StaleDate(-7200), everywhere(OK)),
    # The request takes effect upstream, the answer is lost: a PUT or a completion may have
    # stored the whole object although the caller got an error (never a partial one).
    "drop-response": FaultRow(DropResponse(), everywhere(TransportError)),
}

SIZES = {
    "get": 300_000,
    "put": 300_000,
    "multipart-parts": 5 * MiB + 300_000,
    "multipart-start": 5 * MiB + 300_000,
    "multipart-complete": 5 * MiB + 300_000,
    "download_file": 2 * MiB + 500_000,
}


def run_op(op: str, client: S3Session, key: str, data: bytes, dest: Path) -> bytes | None:
    """Do `op` through `client`; return the bytes it delivered (reads) or None."""
    if op == "get":
        return client.get_object(key).data
    if op == "put":
        client.put_object(key, data)
        return None
    if op.startswith("multipart"):
        MultipartUpload(client, data, key, part_size=5 * MiB, concurrency=2).upload()
        return None
    assert op == "download_file"
    client.download_file(key, dest, part_size=MiB, threshold=MiB, concurrency=2)
    return dest.read_bytes()


@pytest.mark.parametrize("persistent", [False, True], ids=["transient", "persistent"])
@pytest.mark.parametrize("op", ANY_OP)
@pytest.mark.parametrize("fault_name", list(MATRIX))
def test_fault_matrix(
    seaweed: LocalSeaweedFS,
    bucket: str,
    direct: S3Session,
    proxy: FaultProxy,
    tmp_path: Path,
    fault_name: str,
    op: str,
    persistent: bool,
) -> None:
    row = MATRIX[fault_name]
    key = f"matrix/{op}/{fault_name.replace(' ', '_')}/{'p' if persistent else 't'}"
    data = payload(SIZES[op], key)
    if op in READS:
        direct.put_object(key, data)
    dest = tmp_path / "target"
    # Transient: one attempt to spare over the faults, in case a loaded machine makes a real
    # answer time out too. Persistent: two attempts (one retry) to keep the run short, and
    # Retry-After capped for the same reason (its honouring is timed in the transient rows).
    client = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=bucket,
        read_timeout=row.read_timeout, max_attempts=2 if persistent else row.times + 2,
        **FAST_RETRY,
    )  # fmt: skip
    if persistent:
        client.transport.retry.max_retry_after = 0.1
    proxy.add(row.fault, times=None if persistent else row.times, **TARGETS[op])

    started = time.monotonic()
    error: BaseException | None = None
    delivered = None
    try:
        delivered = run_op(op, client, key, data, dest)
    except Exception as exc:
        error = exc
    finally:
        client.close()
    elapsed = time.monotonic() - started

    assert proxy.fired, "the fault never fired: the row tests nothing"
    # Retries and resumes are bounded, even when each one makes a little progress.
    assert len(proxy.requests) < 60, f"{len(proxy.requests)} requests"
    if persistent:
        allowed = row.persistent[op]
        outcome = None if error is None else type(error)
        assert any(
            (a is None and error is None) or (a is not None and isinstance(error, a))
            for a in allowed
        ), f"{fault_name} on {op}: got {outcome.__name__ if outcome else 'success'}: {error!r}"
        if error is not None:
            assert isinstance(error, S3LiteError)  # typed, always
            if row.retry_after is not None:
                assert getattr(error, "retry_after", None) == row.retry_after
    else:
        assert error is None, f"a transient {fault_name} on {op} was not overcome: {error!r}"
        if row.retry_after is not None:  # waited as the server asked (a lower bound only)
            assert elapsed >= 0.9 * row.retry_after * row.times

    # Nothing is ever lost or mangled, whatever happened:
    if op in READS and error is None:
        assert delivered == data  # never wrong bytes
    if op not in READS:
        held = stored(direct, key)
        assert held in (None, data), "a partial or wrong object was left under the key"
        if error is None:
            assert held == data
    assert list(direct.list_multipart_uploads(key)) == []  # no upload left behind
    if op == "download_file":
        # A failed download leaves nothing (no target, no temporary file); a good one, the file.
        assert sorted(os.listdir(tmp_path)) == ([] if error else ["target"])
    assert client.transport.clock_offset == 0.0  # a stale Date on a success moves nothing


@pytest.mark.parametrize("persistent", [False, True], ids=["transient", "persistent"])
@pytest.mark.parametrize("fault", [DropResponse(), ResetAfterHeaders()], ids=lambda f: f.name)
def test_b2_large_file_start_with_a_lost_answer_leaves_nothing(fault: Fault, persistent: bool):
    """The multipart-start row of the matrix, on B2 (b2_start_large_file through the proxy):
    a start that took effect but whose answer was lost leaves no unfinished large file,
    whether the upload then succeeds or fails. (A lost answer is retried; a body broken after
    the head is not: B2Session resends only idempotent calls whose body broke, so a transient
    ResetAfterHeaders may end in TransportError, and still leaves nothing.)"""
    from b2server import B2TestServer
    from s3lite.b2 import B2Session, clear_auth_cache

    with B2TestServer(absolute_minimum_part_size=5_000) as server:
        port = int(server.api_url.rsplit(":", 1)[1])
        with FaultProxy("127.0.0.1", port) as proxy:
            server._api_url = proxy.url  # API, upload and download URLs all cross the proxy
            clear_auth_cache()
            b2 = B2Session(*server.create_account(), api_url=proxy.url, **FAST_RETRY)
            b2.create_bucket("lost-answers")
            b2.bucket = "lost-answers"
            data = payload(12_000, "b2-start")
            proxy.add(fault, path_contains="b2_start_large_file", times=None if persistent else 1)
            try:
                MultipartUpload(b2, data, "big", part_size=5_000).upload()
            except S3LiteError as exc:
                assert persistent or isinstance(fault, ResetAfterHeaders), exc
                with pytest.raises(s3lite.NoSuchKey):
                    b2.head_object("big")
            else:
                assert not persistent
                assert b2.get_object("big").data == data
            assert proxy.fired
            assert list(b2.list_multipart_uploads()) == []
            b2.close()
            clear_auth_cache()
            assert not proxy.errors


# --- clock skew ---------------------------------------------------------------------------------


def skewed_client(seaweed: LocalSeaweedFS, proxy: FaultProxy, bucket: str) -> S3Session:
    client = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=bucket, **FAST_RETRY
    )
    client.transport.clock_offset = -3600.0  # the local clock is an hour slow
    return client


def test_clock_skew_is_corrected_and_stale_dates_on_successes_move_nothing(
    seaweed: LocalSeaweedFS, bucket: str, direct: S3Session, proxy: FaultProxy
) -> None:
    client = skewed_client(seaweed, proxy, bucket)
    # Every response after the first (the server's RequestTimeTooSkewed, with its true Date)
    # carries a Date two hours old.
    proxy.add(StaleDate(-7200), skip=1, times=None)
    client.put_object("skew/a", b"on time")
    assert abs(client.transport.clock_offset) < 60  # corrected from the server's Date
    for i in range(5):
        client.put_object(f"skew/{i}", b"x")
        assert client.get_object(f"skew/{i}").data == b"x"
    assert abs(client.transport.clock_offset) < 60  # and the stale Dates did not undo it
    assert len(proxy.fired) >= 10
    assert direct.get_object("skew/a").data == b"on time"


def test_clock_skew_with_a_stale_date_on_the_skew_error_costs_one_attempt(
    seaweed: LocalSeaweedFS, bucket: str, proxy: FaultProxy
) -> None:
    client = skewed_client(seaweed, proxy, bucket)
    # The server's RequestTimeTooSkewed arrives with a Date 30 minutes in the future: the
    # client believes it, is refused again (now with the true Date), and corrects.
    proxy.add(StaleDate(+1800), times=1)
    client.put_object("skew/b", b"late")
    assert abs(client.transport.clock_offset) < 60
    assert len([m for m, _ in proxy.requests if m == "PUT"]) == 3


def test_a_fake_skew_error_that_never_stops_is_a_typed_error(
    seaweed: LocalSeaweedFS, bucket: str, proxy: FaultProxy
) -> None:
    client = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=bucket, **FAST_RETRY
    )
    proxy.add(ErrorResponse(403, "RequestTimeTooSkewed"), method="GET", times=None)
    with pytest.raises(s3lite.RequestTimeTooSkewed):
        client.get_object("skew/none")
    assert len(proxy.fired) == 3  # retried (after correcting), but not for ever
    assert abs(client.transport.clock_offset) < 60  # the proxy's own Date is current


# --- closing --------------------------------------------------------------------------------------


def test_close_closes_every_pooled_connection(
    seaweed: LocalSeaweedFS, bucket: str, proxy: FaultProxy
) -> None:
    """After `close()` no connection stays open, even while the caller still holds responses
    (each references its pool) and without waiting for garbage collection: urllib3 2's
    PoolManager.clear() only forgets its pools, so the transport closes them itself."""
    import gc

    session = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=bucket
    )
    session.put_object("close/k", b"v")
    barrier = threading.Barrier(6)
    kept = []

    def get() -> None:
        barrier.wait(timeout=30)
        with session.get_object("close/k") as resp:  # six at once: six connections
            barrier.wait(timeout=30)
            assert resp.data == b"v"
        kept.append(resp)

    workers = [threading.Thread(target=get) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert proxy.accepted_connections >= 6 and proxy.active_connections >= 6
    gc.disable()
    try:
        session.close()
        assert proxy.wait_idle(timeout=30), f"{proxy.active_connections} still open"
    finally:
        gc.enable()


# --- load ---------------------------------------------------------------------------------------

THREADS = 64
OPS_PER_THREAD = 200
FAULT_RATE = 0.05
#: Transient faults only (a stall would only measure the 60 s default read timeout).
LOAD_FAULTS: list[Fault] = [
    ResetBeforeResponse(),
    ResetAfterHeaders(),
    ResetMidBody(2000),
    TruncateBody(2000),
    ErrorResponse(500, "InternalError"),
    ErrorResponse(503, "SlowDown", "Please reduce your request rate."),
    ErrorResponse(429, "TooManyRequests"),
    DelayFirstByte(0.1),
    StaleDate(-3600),
    DropResponse(),
]
RETRY_MESSAGES = ("retrying after", "resuming body", "response body broke")


class _PerThreadRetries(logging.Handler):
    """Counts s3lite's retry and resume log records per thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts: Counter[int] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(RETRY_MESSAGES):
            self.counts[record.thread or 0] += 1


class _Collect(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class _Obj:
    """What a thread knows of one of its keys: the server holds it, may hold it (an
    operation on it failed), or does not hold it."""

    state: str  # "present" | "maybe" | "absent"
    size: int
    md5: str
    sha: str


@dataclass
class LoadStats:
    ops: Counter[str] = field(default_factory=Counter)
    typed_failures: Counter[str] = field(default_factory=Counter)
    recovered: int = 0  # operations that needed a retry or resume and succeeded
    expected_missing: int = 0  # NoSuchKey for a key that was deleted (a right answer)
    wrong: list[str] = field(default_factory=list)  # lost or mangled data: must stay empty
    untyped: list[str] = field(default_factory=list)  # errors that are not S3LiteError
    lock: threading.Lock = field(default_factory=threading.Lock)


def _load_worker(session: S3Session, tid: int, seed: int, stats: LoadStats, retries) -> None:
    rng = random.Random(seed * 1000 + tid)
    prefix = f"load/t{tid:02d}/"
    mine: dict[str, _Obj] = {}

    def new_key(kind: str, i: int, data: bytes) -> tuple[str, _Obj]:
        sha = hashlib.sha256(data).hexdigest()
        obj = _Obj("maybe", len(data), hashlib.md5(data).hexdigest(), sha)  # noqa: S324
        return f"{prefix}{kind}{i:03d}-{len(data)}-{sha[:16]}", obj

    def check(key: str, data: bytes) -> None:
        obj = mine[key]
        if len(data) != obj.size or hashlib.sha256(data).hexdigest() != obj.sha:
            stats.wrong.append(f"{key}: got {len(data)} bytes that do not match")

    def pick(states: tuple[str, ...] = ("present", "maybe", "absent")) -> str | None:
        keys = [k for k, o in mine.items() if o.state in states]
        return rng.choice(keys) if keys else None

    for i in range(OPS_PER_THREAD):
        roll = rng.random()
        op = (
            "put" if roll < 0.30 or not mine
            else "get" if roll < 0.55
            else "head" if roll < 0.70
            else "list" if roll < 0.78
            else "delete" if roll < 0.90
            else "copy"
        )  # fmt: skip
        if tid % 4 == 0 and i == 100:
            op = "put-large"
        key: str | None = None
        before = retries.counts[threading.get_ident()]
        try:
            if op in ("put", "put-large"):
                size = rng.randint(2 * MiB, 3 * MiB) if op == "put-large" else rng.randint(1, 4096)
                data = rng.randbytes(size)
                key, obj = new_key("o", i, data)
                mine[key] = obj
                session.put_object(key, data)
                obj.state = "present"
            elif op == "get":
                key = pick()
                assert key is not None
                try:
                    check(key, session.get_object(key).data)
                    if mine[key].state == "absent":
                        stats.wrong.append(f"{key}: deleted, but GET returned it")
                except s3lite.NoSuchKey:
                    if mine[key].state == "present":
                        stats.wrong.append(f"{key}: stored, but GET says NoSuchKey")
                    stats.expected_missing += 1
            elif op == "head":
                key = pick(("present",))
                if key is not None:
                    head = session.head_object(key)
                    obj = mine[key]
                    if head.content_length != obj.size or head.etag != obj.md5:
                        stats.wrong.append(f"{key}: HEAD says {head.content_length} {head.etag}")
            elif op == "list":
                listed = {o["key"]: o["content_length"] for o in session.list_objects(prefix)}
                for k, obj in mine.items():
                    if obj.state == "present" and k not in listed:
                        stats.wrong.append(f"{k}: stored, but not listed")
                    if obj.state == "absent" and k in listed:
                        stats.wrong.append(f"{k}: deleted, but listed")
                    if k in listed and listed[k] != obj.size:
                        stats.wrong.append(f"{k}: listed with size {listed[k]}")
                if set(listed) - set(mine):
                    stats.wrong.append(f"unknown keys listed: {sorted(set(listed) - set(mine))}")
            elif op == "delete":
                key = pick(("present", "maybe"))
                if key is not None:
                    mine[key].state = "maybe"
                    session.delete_object(key)
                    mine[key].state = "absent"
            else:  # copy
                source = pick(("present",))
                if source is not None:
                    src = mine[source]
                    key = f"{prefix}c{i:03d}-{src.size}-{src.sha[:16]}"
                    mine[key] = _Obj("maybe", src.size, src.md5, src.sha)
                    session.copy_object(source, key)
                    mine[key].state = "present"
            outcome_ok = True
        except S3LiteError as exc:
            outcome_ok = False
            with stats.lock:
                stats.typed_failures[type(exc).__name__] += 1
        except Exception as exc:
            outcome_ok = False
            with stats.lock:
                stats.untyped.append(f"{op} {key}: {exc!r}")
        with stats.lock:
            stats.ops[op] += 1
            if outcome_ok and retries.counts[threading.get_ident()] > before:
                stats.recovered += 1


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.sync_only(
    "64 threads sharing one session: the async API shares a session between tasks"
)
def test_load_64_threads_on_one_session(
    seaweed: LocalSeaweedFS, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """64 threads × 200 mixed operations on ONE S3Session with default settings (10 pooled
    connections, 3 attempts, standard retry mode) through the proxy, 5% of requests faulted."""
    s3log, u3log = logging.getLogger("s3lite"), logging.getLogger("urllib3")
    retries, u3warnings = _PerThreadRetries(), _Collect(logging.WARNING)
    old_level = s3log.level
    s3log.setLevel(logging.DEBUG)
    s3log.addHandler(retries)
    u3log.addHandler(u3warnings)
    seed = 20261121
    stats = LoadStats()
    try:
        with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
            fds_before, threads_before = _open_fds(), set(threading.enumerate())
            session = S3Session(
                seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=bucket
            )
            proxy.random_faults(FAULT_RATE, LOAD_FAULTS, seed)
            started = time.monotonic()
            workers = [
                threading.Thread(
                    target=_load_worker,
                    args=(session, tid, seed, stats, retries),
                    name=f"load-{tid}",
                )
                for tid in range(THREADS)
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join(timeout=600)
            elapsed = time.monotonic() - started
            assert not any(w.is_alive() for w in workers), "a worker hung"
            proxy.random_faults(0, [], None)
            session.close()
            # Everything s3lite opened is closed once the session is: the proxy sees every
            # connection go, no socket stays open and no thread stays behind.
            assert proxy.wait_idle(timeout=60)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                _open_fds() > fds_before or set(threading.enumerate()) - threads_before
            ):
                time.sleep(0.1)
            fds_after, leaked_threads = _open_fds(), set(threading.enumerate()) - threads_before
            faults = Counter(name for name, _, _ in proxy.fired)
            requests = len(proxy.requests)
            assert not proxy.errors
    finally:
        s3log.removeHandler(retries)
        s3log.setLevel(old_level)
        u3log.removeHandler(u3warnings)

    total = sum(stats.ops.values())
    failures = sum(stats.typed_failures.values())
    report = (
        f"load: {THREADS} threads x {OPS_PER_THREAD} ops = {total} operations "
        f"({dict(sorted(stats.ops.items()))}) in {elapsed:.1f} s = {total / elapsed:.0f} ops/s; "
        f"{requests} HTTP requests, {sum(faults.values())} faults injected "
        f"({dict(sorted(faults.items()))}); {stats.recovered} operations retried or resumed "
        f"and succeeded; {failures} typed failures ({dict(stats.typed_failures)}); "
        f"{stats.expected_missing} NoSuchKey for deleted keys (right answers); "
        f"urllib3 warnings: {len(u3warnings.records)}; fds {fds_before} -> {fds_after}, "
        f"threads leaked: {len(leaked_threads)}"
    )
    with capsys.disabled():
        print("\n" + report)

    assert total == THREADS * OPS_PER_THREAD
    assert stats.wrong == [], stats.wrong[:20]
    assert stats.untyped == [], stats.untyped[:20]
    pool_full = [r for r in u3warnings.records if "pool is full" in r.getMessage()]
    assert pool_full == [], [r.getMessage() for r in pool_full[:5]]
    assert sum(faults.values()) > 0.02 * requests  # the faults did fire
    assert stats.recovered > 0
    # A typed failure takes three faults in a row on one request (about 1 in 8000 at 5%):
    # a handful at most, never a systematic failure.
    assert failures <= 0.01 * total, report
    assert fds_after <= fds_before, f"{fds_after - fds_before} file descriptors leaked"
    assert not leaked_threads, leaked_threads


# --- restart ------------------------------------------------------------------------------------


class _KillGate:
    """Holds each transfer at its first progress report until the server has been killed, so
    that every transfer is caught in the middle."""

    def __init__(self, names: list[str]) -> None:
        self.reached = {name: threading.Event() for name in names}
        self.killed = threading.Event()

    def progress(self, name: str) -> Callable[[int, int | None], None]:
        def report(done: int, total: int | None) -> None:
            if done and not self.reached[name].is_set():
                self.reached[name].set()
                self.killed.wait(timeout=300)

        return report


@pytest.mark.sync_only(
    "its progress callbacks block until the server is killed, which would block the event "
    "loop that runs them"
)
def test_server_restart_mid_transfer(tmp_path: Path) -> None:
    """SeaweedFS (its own instance: the shared one must not go down) is killed while two
    downloads and two multipart uploads are under way, and restarted (same data, same ports;
    it takes ~15 s for its leader election). A *patient* session (many attempts, backoff up to
    2 s) carries on once the server is back; an *impatient* one (2 attempts) fails with a
    typed error while the server is down, and its transfers are then finished: download_file
    again, MultipartUpload.resume with the parts already uploaded. Every result is byte-exact,
    no temporary file and no multipart upload is left."""
    with LocalSeaweedFS(startup_timeout=180) as server:
        keys = (server.access_key, server.secret_key)
        setup = S3Session(*keys, endpoint_url=server.endpoint_url, bucket="restart")
        setup.create_bucket()
        data = {name: payload(40 * MiB, name) for name in ("down-patient", "down-impatient")}
        for name in ("up-patient", "up-impatient"):
            data[name] = payload(30 * MiB, name)
            (tmp_path / f"{name}.src").write_bytes(data[name])
        for name in ("down-patient", "down-impatient"):
            setup.put_object(name, data[name])
        setup.close()

        patient = S3Session(
            *keys, endpoint_url=server.endpoint_url, bucket="restart", max_attempts=100,
            backoff_base=0.5, max_backoff=2.0, connect_timeout=2, read_timeout=30,
        )  # fmt: skip
        impatient = S3Session(
            *keys, endpoint_url=server.endpoint_url, bucket="restart", max_attempts=2,
            connect_timeout=2, read_timeout=30, **FAST_RETRY,
        )  # fmt: skip
        gate = _KillGate(list(data))
        outcome: dict[str, BaseException | None] = {}
        uploads: dict[str, MultipartUpload] = {}

        def run(name: str) -> None:
            session = patient if name.endswith("-patient") else impatient
            try:
                if name.startswith("down"):
                    session.download_file(
                        name, tmp_path / f"{name}.dst", threshold=64 * MiB,
                        progress=gate.progress(name),
                    )  # fmt: skip
                else:
                    upload = uploads[name] = MultipartUpload(
                        session, str(tmp_path / f"{name}.src"), name, part_size=5 * MiB,
                        concurrency=1, progress=gate.progress(name),
                    )  # fmt: skip
                    upload.upload()
                outcome[name] = None
            except BaseException as exc:
                outcome[name] = exc

        threads = {name: threading.Thread(target=run, args=(name,), name=name) for name in data}
        s3log, seen = logging.getLogger("s3lite"), _Collect(logging.DEBUG)
        old_level = s3log.level
        s3log.setLevel(logging.DEBUG)
        s3log.addHandler(seen)
        try:
            for t in threads.values():
                t.start()
            for name, reached in gate.reached.items():
                assert reached.wait(timeout=120), f"{name} never started"
            server.kill()
            gate.killed.set()
            for name in ("down-impatient", "up-impatient"):  # they give up while it is down
                threads[name].join(timeout=120)
                assert isinstance(outcome.get(name), TransportError), outcome.get(name)
            server.restart()
            for name in ("down-patient", "up-patient"):
                threads[name].join(timeout=300)
                assert not threads[name].is_alive(), f"{name} hung"
        finally:
            gate.killed.set()
            s3log.removeHandler(seen)
            s3log.setLevel(old_level)
        print({name: repr(exc)[:120] for name, exc in outcome.items()})
        # The patient download was really cut in the middle and resumed where it stopped.
        assert any(
            r.threadName == "down-patient" and r.getMessage().startswith("resuming body at byte")
            for r in seen.records
        )

        # Finish what failed (the patient ones normally did not fail: then nothing to do).
        for name in ("down-patient", "down-impatient"):
            target = tmp_path / f"{name}.dst"
            if outcome[name] is not None:
                assert isinstance(outcome[name], S3LiteError), outcome[name]
                assert not target.exists()  # a failed download leaves no partial target
                patient.download_file(name, target, threshold=64 * MiB)
            assert target.read_bytes() == data[name]
        for name in ("up-patient", "up-impatient"):
            if outcome[name] is not None:
                assert isinstance(outcome[name], S3LiteError), outcome[name]
                upload_id = uploads[name].upload_id
                assert upload_id is not None
                listed = [u["upload_id"] for u in patient.list_multipart_uploads(name)]
                if name == "up-impatient":
                    # Its abort failed too (the server was down), so the upload can be resumed:
                    # the part sent before the kill is on the server and is not sent again.
                    assert listed == [upload_id]
                    assert patient.multipart_backend.list_parts("restart", name, upload_id)
                if upload_id in listed:
                    MultipartUpload.resume(patient, name, upload_id, str(tmp_path / f"{name}.src"))
                else:  # aborted after the server came back: start again
                    patient.upload_file(str(tmp_path / f"{name}.src"), name)
            assert patient.get_object(name).data == data[name]
        assert list(patient.list_multipart_uploads()) == []
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
        patient.close()
        impatient.close()
    # Stopped, the server leaves nothing behind: no data directory, no unix sockets of its own
    # (one per service and per gRPC port, which is the service's port + 10000).
    assert not server.data_dir.exists()
    ports = {server.master_port, server.volume_port, server.filer_port, server.s3_port}
    numbers = {str(n) for port in ports for n in (port, port + 10000)}
    left = [
        sock.name
        for sock in Path(tempfile.gettempdir()).glob("seaweedfs-*.sock")
        if sock.stem.rsplit("-", 1)[-1] in numbers
    ]
    assert left == []
