"""Timeouts of both transports, side by side: a `request_deadline` cuts each attempt's waits
and starts no retry after it, and a connect that does not finish in time is the same
`TransportTimeout`; and the async transport, cancelled while it connects or waits for a
pooled connection, raises the cancellation and leaves no connection open."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import threading
import time
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

import pytest

import s3lite
from conftest import FAST_RETRY
from faultproxy import ErrorResponse, FaultProxy, Stall
from s3lite import S3Session, s3xml
from s3lite.aio.response import AsyncResponse
from s3lite.aio.timeouts import await_within, bounded
from s3lite.aio.transport import AsyncTransport
from s3lite.credentials import Credentials, StaticCredentials
from s3lite.devserver import LocalSeaweedFS
from s3lite.retries import RetryPolicy
from s3lite.signing import UNSIGNED_PAYLOAD, SigV4Auth
from s3lite.transport import DeadlineExceeded, Request, Transport, request_deadline

pytestmark = pytest.mark.filterwarnings(
    "error::ResourceWarning", "error::pytest.PytestUnraisableExceptionWarning"
)

T = TypeVar("T")

#: The transports every side-by-side test runs on.
KINDS = ["sync", "async"]


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine on a fresh loop, then collect garbage so that anything left unclosed
    warns (an error here) inside the test that left it."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    finally:
        gc.collect()


def deadline_in(seconds: float | None) -> contextlib.AbstractContextManager[None]:
    """A `request_deadline` that many seconds from now (None: none)."""
    if seconds is None:
        return contextlib.nullcontext()
    return request_deadline(time.monotonic() + seconds)


def get(
    kind: str,
    endpoint: str,
    bucket: str,
    keys: tuple[str, str],
    *,
    deadline: float | None = None,
    **options: Any,
) -> bytes:
    """GET `bucket/k` on a fresh sync or async transport with `options`, under a deadline
    `deadline` seconds from the start (None: none); the transport is closed after."""
    scheme, _, host = endpoint.partition("://")
    request = Request(
        "GET", scheme, host, f"/{bucket}/k", payload_hash=UNSIGNED_PAYLOAD
    )  # fmt: skip
    auth = SigV4Auth(StaticCredentials(Credentials(*keys)), "us-east-1")
    options = {"retry": RetryPolicy(**FAST_RETRY), **options}
    if kind == "sync":
        transport = Transport(**options)
        try:
            with deadline_in(deadline):
                return transport.send(request, auth, error_parser=s3xml.parse_error).data
        finally:
            transport.close()

    async def main() -> bytes:
        async with AsyncTransport(**options) as transport:
            with deadline_in(deadline):  # the context flows into the transport's awaits
                response = await transport.send(request, auth, error_parser=s3xml.parse_error)
            return response.data

    return run(main())


@pytest.fixture
def keys(seaweed: LocalSeaweedFS) -> tuple[str, str]:
    return seaweed.access_key, seaweed.secret_key


@pytest.fixture
def proxy(seaweed: LocalSeaweedFS) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", seaweed.s3_port) as p:
        yield p
        assert not p.errors


@pytest.fixture
def black_hole() -> Iterator[str]:
    """An address whose connects never finish: a listener that never accepts, its one-slot
    backlog filled, so the kernel drops every further SYN."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        filler.close()
        listener.close()


class SilentServer:
    """Accepts connections, reads what comes and never answers; counts the connections
    the client has closed (EOF or reset seen)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.closed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            with self._lock:
                self.accepted += 1
            thread = threading.Thread(target=self._drain, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _drain(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        with conn:
            while not self._stop.is_set():
                try:
                    if not conn.recv(65536):
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
            else:
                return
        with self._lock:
            self.closed += 1

    def wait_closed(self, count: int, timeout: float = 10.0) -> bool:
        """Whether `count` connections were closed by the client within `timeout` s."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if self.closed >= count:
                    return True
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.listener.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.stop()


# --- the deadline, on both transports ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_deadline_cuts_a_stalled_read_long_before_the_read_timeout(
    kind: str, proxy: FaultProxy, keys: tuple[str, str], s3: S3Session
) -> None:
    s3.put_object("k", b"v")
    assert get(kind, proxy.url, s3.bucket, keys, deadline=30) == b"v"  # time enough: no cut
    proxy.add(Stall(30), method="GET", times=None)
    started = time.monotonic()
    with pytest.raises(s3lite.TransportError) as info:
        get(kind, proxy.url, s3.bucket, keys, deadline=1, read_timeout=60)
    took = time.monotonic() - started
    # The first attempt's read waits only until the deadline; the retry after it finds no
    # time left (or, if the timer fired a hair early, times out at once).
    assert isinstance(info.value, (DeadlineExceeded, s3lite.TransportTimeout)), info.value
    assert 0.9 <= took < 10, took
    assert 1 <= info.value.attempts <= 3


@pytest.mark.parametrize("kind", KINDS)
def test_no_retry_starts_after_the_deadline(
    kind: str, proxy: FaultProxy, keys: tuple[str, str], s3: S3Session
) -> None:
    proxy.add(ErrorResponse(503, "SlowDown", retry_after=20), method="GET", times=None)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="no time left before the deadline") as info:
        get(kind, proxy.url, s3.bucket, keys, deadline=1)
    took = time.monotonic() - started
    assert info.value.attempts == 1 and "after 1 attempt)" in str(info.value)
    assert len(proxy.requests) == 1  # the retry asked for in 20 s would start too late
    assert 0.9 <= took < 10, took  # the delay was cut to the deadline, not slept in full


@pytest.mark.parametrize("kind", KINDS)
def test_no_attempt_starts_when_the_deadline_has_passed(
    kind: str, proxy: FaultProxy, keys: tuple[str, str], s3: S3Session
) -> None:
    with pytest.raises(DeadlineExceeded) as info:
        get(kind, proxy.url, s3.bucket, keys, deadline=-1)
    assert info.value.attempts == 1 and proxy.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_connect_timeout_is_a_transport_timeout(
    kind: str, black_hole: str, keys: tuple[str, str]
) -> None:
    started = time.monotonic()
    with pytest.raises(s3lite.TransportTimeout) as info:
        get(kind, black_hole, "b", keys, connect_timeout=0.5, retry=RetryPolicy(1))
    assert time.monotonic() - started < 10
    error = info.value
    assert isinstance(error, TimeoutError) and not isinstance(error, ConnectionError)
    assert error.retryable and error.attempts == 1 and str(error).endswith("(after 1 attempt)")
    if kind == "async":
        assert "TimeoutError: timed out connecting to 127.0.0.1:" in str(error)


@pytest.mark.parametrize("kind", KINDS)
def test_a_deadline_cuts_a_connect(kind: str, black_hole: str, keys: tuple[str, str]) -> None:
    started = time.monotonic()
    with pytest.raises((DeadlineExceeded, s3lite.TransportTimeout)):
        get(kind, black_hole, "b", keys, deadline=1, connect_timeout=60)
    assert time.monotonic() - started < 10


# --- cancellation of the async transport ----------------------------------------------------------


class Client:
    """An AsyncTransport (made on the running loop) and a `get()` of `bucket/k` on it."""

    def __init__(
        self, endpoint: str, keys: tuple[str, str], bucket: str = "b", **options: Any
    ) -> None:
        self.scheme, _, self.host = endpoint.partition("://")
        self.path = f"/{bucket}/k"
        self.auth = SigV4Auth(StaticCredentials(Credentials(*keys)), "us-east-1")
        self.transport = AsyncTransport(**{"retry": RetryPolicy(**FAST_RETRY), **options})

    async def get(self, **kwargs: Any) -> AsyncResponse:
        request = Request("GET", self.scheme, self.host, self.path, payload_hash=UNSIGNED_PAYLOAD)
        return await self.transport.send(
            request, self.auth, error_parser=s3xml.parse_error, **kwargs
        )


def test_cancelled_while_the_tcp_connect_hangs(black_hole: str, keys: tuple[str, str]) -> None:
    async def main() -> None:
        c = Client(black_hole, keys, connect_timeout=60)
        task = asyncio.ensure_future(c.get())
        await asyncio.sleep(0.3)
        assert c.transport.open_connections == 1  # one being made
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert c.transport.open_connections == 0
        await c.transport.aclose()

    run(main())


def test_cancelled_in_the_proxy_tunnel_closes_the_connection(
    silent: SilentServer, keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS through a proxy that never answers the CONNECT: the TCP connection is made,
    the tunnel waits; a cancellation closes that connection."""
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{silent.port}")

    async def main() -> None:
        c = Client("https://s3.example.test", keys, connect_timeout=60)
        task = asyncio.ensure_future(c.get())
        for _ in range(200):
            await asyncio.sleep(0.01)
            if silent.accepted:
                break
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert c.transport.open_connections == 0
        await c.transport.aclose()

    run(main())
    assert silent.accepted == 1 and silent.wait_closed(1)


def test_a_silent_proxy_tunnel_is_a_connect_timeout(
    silent: SilentServer, keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{silent.port}")

    async def main() -> None:
        c = Client(
            "https://s3.example.test", keys, connect_timeout=0.3, retry=RetryPolicy(2, **FAST_RETRY)
        )
        with pytest.raises(s3lite.TransportTimeout, match="after 2 attempts"):
            await c.get()
        assert c.transport.open_connections == 0
        await c.transport.aclose()

    run(main())
    assert silent.accepted == 2 and silent.wait_closed(2)


def test_a_cancellation_at_any_point_of_a_request_is_raised_and_leaves_nothing_open(
    seaweed: LocalSeaweedFS, keys: tuple[str, str], s3: S3Session
) -> None:
    """Cancelled after 0, 1, 2... loop passes: while connecting, as the connect ends, while
    waiting for the answer. A task still running when cancelled must end cancelled (no
    lost cancellation) with no connection left open."""
    s3.put_object("k", b"v")

    async def main() -> int:
        cancelled = 0
        for passes in range(40):
            c = Client(seaweed.endpoint_url, keys, s3.bucket)
            task = asyncio.ensure_future(c.get())
            for _ in range(passes):
                await asyncio.sleep(0)
            if task.cancel():
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert c.transport.open_connections == 0, passes
                cancelled += 1
            else:
                assert task.result().data == b"v"
            await c.transport.aclose()
        return cancelled

    assert run(main()) >= 1


def test_a_slot_woken_for_a_cancelled_waiter_goes_to_the_next(
    seaweed: LocalSeaweedFS, keys: tuple[str, str], s3: S3Session
) -> None:
    s3.put_object("k", b"x" * 500_000)

    async def main() -> None:
        c = Client(seaweed.endpoint_url, keys, s3.bucket, max_pool_connections=1, pool_timeout=5)
        held = await c.get(stream=True)  # holds the only connection
        first = asyncio.ensure_future(c.get())
        second = asyncio.ensure_future(c.get())
        await asyncio.sleep(0.1)  # both wait for it, first in line
        held.close()  # the slot is freed and the first waiter woken...
        first.cancel()  # ...and cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await first
        assert len((await second).data) == 500_000  # not a PoolTimeout
        await c.transport.aclose()

    run(main())


# --- the bounds themselves ------------------------------------------------------------------------


def test_a_result_made_as_the_caller_is_cancelled_is_discarded() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        gate: asyncio.Future[None] = loop.create_future()
        discarded: list[str] = []

        async def make() -> str:
            await gate
            return "connection"

        task = asyncio.ensure_future(await_within(make(), 10, "making", discarded.append))
        await asyncio.sleep(0)  # waiting for the maker
        gate.set_result(None)
        await asyncio.sleep(0)  # the maker finishes in this pass...
        task.cancel()  # ...and the caller is cancelled before it resumes
        with pytest.raises(asyncio.CancelledError):
            await task
        assert discarded == ["connection"]

    run(main())


def test_bounds_cut_off_raise_errors_and_keep_a_cancellation_during_cleanup() -> None:
    async def main() -> None:
        async def slow() -> str:
            await asyncio.sleep(10)
            return "late"

        async def fails() -> None:
            raise OSError("refused")

        assert await bounded(slow(), 0.01) == (False, None)
        assert await bounded(asyncio.sleep(0, "now"), None) == (True, "now")
        with pytest.raises(TimeoutError, match="timed out connecting"):
            await await_within(slow(), 0.01, "connecting")
        with pytest.raises(OSError, match="refused"):
            await bounded(fails(), 1)

        async def stubborn(started: asyncio.Event) -> None:
            started.set()
            try:
                await asyncio.sleep(10)
            finally:
                await asyncio.sleep(0.2)  # cleans up for a while after being cut off

        started = asyncio.Event()
        task = asyncio.ensure_future(bounded(stubborn(started), 0.05))
        await started.wait()
        await asyncio.sleep(0.1)  # cut off by now, cleaning up
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())


def test_one_deadline_call_for_both_transports_when_none_is_set() -> None:
    from s3lite.transport import deadline_left, delay_before_deadline

    request = Request("GET", "http", "h", "/")
    assert deadline_left(request, 1) is None and delay_before_deadline(2.5) == 2.5
    with request_deadline(time.monotonic() + 100):
        left = deadline_left(request, 1)
        assert left is not None and 99 < left <= 100
        assert delay_before_deadline(2.5) == 2.5 and 99 < delay_before_deadline(1000) <= 100
    with request_deadline(time.monotonic() - 1):
        assert delay_before_deadline(2.5) == 0
        with pytest.raises(DeadlineExceeded, match=r"GET h: .*after 2 attempts\)"):
            deadline_left(request, 3)
