"""The async transport against SeaweedFS, directly and through the fault proxy: the sync
transport's retries, timeouts, typed errors and bounded bodies, streamed bodies, request
bodies from bytes, files and async iterators, and clean closing."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

import s3lite
from conftest import FAST_RETRY
from faultproxy import (
    DropResponse,
    ErrorResponse,
    FaultProxy,
    ResetAfterHeaders,
    ResetBeforeResponse,
    Stall,
    TruncateBody,
)
from forward_proxy import ForwardProxy
from s3lite import S3Session, s3xml
from s3lite.aio.body import make_body
from s3lite.aio.driver import run_async
from s3lite.aio.response import AsyncResponse
from s3lite.aio.transport import AsyncTransport
from s3lite.credentials import Credentials, StaticCredentials
from s3lite.devserver import LocalSeaweedFS
from s3lite.operation import Call, Operation
from s3lite.response import Response
from s3lite.retries import RetryPolicy
from s3lite.signing import UNSIGNED_PAYLOAD, SigV4Auth
from s3lite.transport import Body, Request

pytestmark = pytest.mark.filterwarnings(
    "error::ResourceWarning", "error::pytest.PytestUnraisableExceptionWarning"
)

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    """Run a test coroutine on a fresh loop, then collect garbage so that anything left
    unclosed warns (an error here) inside the test that left it."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    finally:
        gc.collect()


class Client:
    """Builds signed path-style requests for one bucket and sends them on an AsyncTransport."""

    def __init__(self, endpoint: str, bucket: str, keys: tuple[str, str], **kwargs: Any) -> None:
        scheme, _, host = endpoint.partition("://")
        self.scheme, self.host, self.bucket = scheme, host, bucket
        self.auth = SigV4Auth(StaticCredentials(Credentials(*keys)), "us-east-1")
        kwargs = {"retry": RetryPolicy(**FAST_RETRY), **kwargs}
        self.transport = AsyncTransport(**kwargs)

    def request(
        self, method: str, key: str, body: Body | None = None, headers: dict[str, str] | None = None
    ) -> Request:
        payload = UNSIGNED_PAYLOAD
        if body is not None and body.is_bytes:
            payload = hashlib.sha256(body.data).hexdigest()
        return Request(
            method, self.scheme, self.host, f"/{self.bucket}/{key}", headers=headers or {},
            body=body, payload_hash=payload,
        )  # fmt: skip

    async def send(self, request: Request, **kwargs: Any) -> AsyncResponse:
        return await self.transport.send(
            request, self.auth, error_parser=s3xml.parse_error, **kwargs
        )

    async def put(self, key: str, data: Any, length: int | None = None, **kwargs: Any) -> Any:
        headers = {"Content-Length": str(length)} if length is not None else {}
        return await self.send(self.request("PUT", key, make_body(data, length), headers), **kwargs)

    async def get(self, key: str, **kwargs: Any) -> AsyncResponse:
        return await self.send(self.request("GET", key), **kwargs)


@pytest.fixture
def keys(seaweed: LocalSeaweedFS) -> tuple[str, str]:
    return seaweed.access_key, seaweed.secret_key


@pytest.fixture
def client(seaweed: LocalSeaweedFS, s3: S3Session, keys: tuple[str, str]) -> Callable[..., Client]:
    """Makes clients of the test's bucket (`endpoint`: another way in, e.g. a proxy)."""
    return lambda endpoint=None, **kw: Client(
        endpoint or seaweed.endpoint_url, s3.bucket, keys, **kw
    )


@pytest.fixture
def proxy(seaweed: LocalSeaweedFS) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", seaweed.s3_port) as p:
        yield p
        assert not p.errors


# --- plain requests -----------------------------------------------------------------------------


def test_put_get_head_with_the_sync_responses_fields(client: Callable[..., Client]) -> None:
    async def main() -> None:
        async with client().transport as transport:
            c = client()
            c.transport = transport
            put = await c.send(c.request("PUT", "k", Body(b"hello"), {"x-amz-meta-Colour": "blue"}))
            assert put.status == 200 and put.etag == hashlib.md5(b"hello").hexdigest()  # noqa: S324
            got = await c.get("k")
            assert got.data == b"hello" and got.loaded and got.closed
            assert got.metadata == {"colour": "blue"} and got.content_length == 5
            assert got.etag == put.etag and got.last_modified is not None
            head = await c.send(c.request("HEAD", "k"))
            assert head.data == b"" and head.content_length == 5 and head.closed
            with pytest.raises(s3lite.NoSuchKey) as info:
                await c.get("missing")
            assert info.value.status == 404 and info.value.attempts == 1

    run(main())


def test_many_concurrent_requests_share_a_bounded_pool(client: Callable[..., Client]) -> None:
    async def main() -> None:
        c = client(max_pool_connections=4)
        await c.put("small", b"x" * 1024)
        bodies = await asyncio.gather(*(c.get("small") for _ in range(64)))
        assert all(r.data == b"x" * 1024 for r in bodies)
        assert 1 <= c.transport.open_connections <= 4
        await c.transport.aclose()

    run(main())


def test_streamed_body_in_chunks_and_back_to_the_pool(client: Callable[..., Client]) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)

    async def main() -> None:
        c = client(max_pool_connections=1)
        await c.put("big", data)
        resp = await c.get("big", stream=True)
        with pytest.raises(RuntimeError, match="await read"):
            resp.data  # noqa: B018
        got = [chunk async for chunk in resp.iter_chunks(256 * 1024)]
        assert b"".join(got) == data and max(map(len, got)) <= 256 * 1024
        assert resp.closed
        # The one connection went back: the next request does not wait for a free one.
        assert (await asyncio.wait_for(c.get("big"), 10)).data == data
        async with await c.get("big", stream=True) as resp:
            assert await resp.read(10) == data[:10]  # left unread: closed on exit
        left_open = await c.get("big", stream=True)
        assert left_open.status == 200 and not left_open.closed
        await c.transport.aclose()  # closes the streamed one left open too

    run(main())


def test_request_bodies_from_files_and_async_iterators(
    client: Callable[..., Client], tmp_path: Path
) -> None:
    data = os.urandom(2_500_000)
    path = tmp_path / "f"
    path.write_bytes(data)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 700_000):
            await asyncio.sleep(0)
            yield data[i : i + 700_000]

    async def main() -> None:
        c = client()
        with open(path, "rb") as f:
            await c.put("from-file", f, length=len(data))
        await c.put("from-async", chunks(), length=len(data))
        await c.put("chunked", chunks())  # no length: sent chunked
        for key in ("from-file", "from-async", "chunked"):
            assert (await c.get(key)).data == data, key
        await c.transport.aclose()

    run(main())


def test_bounded_bodies(client: Callable[..., Client]) -> None:
    async def main() -> None:
        c = client()
        await c.put("big", os.urandom(200_000))
        with pytest.raises(s3lite.MalformedResponse, match="200000 bytes declared"):
            await c.get("big", max_body=100_000)
        resp = await c.get("big", stream=True)
        with pytest.raises(s3lite.MalformedResponse):
            await resp.read_limited(1000)
        assert resp.closed
        assert len((await c.get("big", max_body=200_000)).data) == 200_000
        await c.transport.aclose()

    run(main())


# --- the driver ----------------------------------------------------------------------------------


def test_run_async_drives_an_operation_and_throws_errors_into_it(
    client: Callable[..., Client],
) -> None:
    def fetch_or_default(c: Client, key: str) -> Operation[bytes]:
        try:
            response = yield Call(c.request("GET", key), max_body=1000)
        except s3lite.NoSuchKey:
            return b"default"
        return response.data

    async def main() -> None:
        c = client()
        await c.put("k", b"value")

        async def send(call: Call) -> AsyncResponse:
            return await c.transport.send(
                call.request, c.auth, error_parser=s3xml.parse_error, stream=True
            )  # streamed: the driver reads what the call does not stream

        assert await run_async(fetch_or_default(c, "k"), send) == b"value"
        assert await run_async(fetch_or_default(c, "nope"), send) == b"default"

        def head() -> Operation[Any]:
            answer = yield Call(c.request("HEAD", "k"))
            return answer

        response = await run_async(head(), send)
        assert isinstance(response, AsyncResponse) and response.content_length == 5
        assert isinstance(response.fields, Response) and response.fields.etag == response.etag
        await c.transport.aclose()

    run(main())


# --- through the fault proxy ---------------------------------------------------------------------


def test_transient_statuses_are_retried(client: Callable[..., Client], proxy: FaultProxy) -> None:
    async def main() -> None:
        c = client(proxy.url)
        await c.put("k", b"v")
        proxy.add(
            ErrorResponse(503, "SlowDown", "Reduce your request rate."), method="GET", times=2
        )
        assert (await c.get("k")).data == b"v"
        assert [f[0] for f in proxy.fired] == ["ErrorResponse", "ErrorResponse"]
        proxy.add(ErrorResponse(503, "SlowDown", "busy"), method="GET", times=None)
        with pytest.raises(s3lite.SlowDown) as info:
            await c.get("k")
        assert info.value.message == "busy" and info.value.attempts == 3
        await c.transport.aclose()

    run(main())


@pytest.mark.parametrize(
    "fault", [ResetBeforeResponse(), ResetAfterHeaders(), DropResponse()], ids=lambda f: f.name
)
def test_connection_faults_are_retried(
    client: Callable[..., Client], proxy: FaultProxy, fault: Any
) -> None:
    async def main() -> None:
        c = client(proxy.url)
        proxy.add(fault, method="PUT", times=1)
        await c.put("k", b"payload")
        proxy.add(fault, method="GET", times=1)
        assert (await c.get("k")).data == b"payload"
        assert len(proxy.fired) == 2
        proxy.add(ResetBeforeResponse(), method="GET", times=None)
        with pytest.raises(s3lite.ConnectionFailed) as info:
            await c.get("k")
        assert info.value.attempts == 3 and "after 3 attempts" in str(info.value)
        await c.transport.aclose()

    run(main())


def test_read_timeouts_are_retried_then_raised(
    client: Callable[..., Client], proxy: FaultProxy
) -> None:
    async def main() -> None:
        c = client(proxy.url, read_timeout=0.5)
        await c.put("k", b"v")
        proxy.add(Stall(2), method="GET", times=1)
        assert (await c.get("k")).data == b"v"
        proxy.add(Stall(2), method="GET", times=None)
        with pytest.raises(s3lite.TransportTimeout) as info:
            await c.get("k")
        assert isinstance(info.value, TimeoutError) and info.value.attempts == 3
        await c.transport.aclose()

    run(main())


def test_a_refused_connection_is_a_connection_error(client: Callable[..., Client]) -> None:
    from s3lite.devserver import free_port

    async def main() -> None:
        c = client(f"http://127.0.0.1:{free_port()}", connect_timeout=1)
        with pytest.raises(s3lite.ConnectionFailed) as info:
            await c.get("k")
        assert isinstance(info.value, ConnectionError) and info.value.attempts == 3
        await c.transport.aclose()

    run(main())


def test_truncated_bodies_are_detected(client: Callable[..., Client], proxy: FaultProxy) -> None:
    data = os.urandom(2_000_000)

    async def main() -> None:
        c = client(proxy.url)
        await c.put("big", data)
        proxy.add(TruncateBody(100_000), method="GET", times=1)
        assert (await c.get("big")).data == data  # read whole: the request is sent again
        proxy.add(TruncateBody(100_000), method="GET", times=1)
        resp = await c.get("big", stream=True)
        with pytest.raises(s3lite.ConnectionFailed, match=r"after \d+ bytes"):
            await resp.read()
        assert resp.closed
        await c.transport.aclose()

    run(main())


def test_partly_sent_async_stream_is_not_retried(
    client: Callable[..., Client], proxy: FaultProxy
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield os.urandom(100_000)

    async def main() -> None:
        c = client(proxy.url)
        proxy.add(ResetBeforeResponse(), method="PUT", times=1)
        with pytest.raises(s3lite.TransportError, match="non-seekable stream"):
            await c.put("once", chunks(), length=300_000)
        await c.transport.aclose()

    run(main())


def test_seekable_file_is_rewound_for_a_retry(
    client: Callable[..., Client], proxy: FaultProxy, tmp_path: Path
) -> None:
    data = os.urandom(2_000_000)
    (tmp_path / "f").write_bytes(data)

    async def main() -> None:
        c = client(proxy.url)
        proxy.add(ResetBeforeResponse(), method="PUT", times=1)
        with open(tmp_path / "f", "rb") as f:
            await c.put("file", f, length=len(data))
        assert (await c.get("file")).data == data
        await c.transport.aclose()

    run(main())


def test_adaptive_mode_slows_down_when_throttled(
    client: Callable[..., Client], proxy: FaultProxy
) -> None:
    async def main() -> None:
        c = client(proxy.url, retry=RetryPolicy(5, "adaptive", **FAST_RETRY))
        limiter = c.transport.retry.limiter
        assert limiter is not None and not limiter.enabled
        await c.put("k", b"v")
        proxy.add(ErrorResponse(503, "SlowDown"), method="GET", times=2)
        assert (await c.get("k")).data == b"v"
        assert limiter.enabled
        for _ in range(5):
            await c.send(c.request("HEAD", "k"))
        await c.transport.aclose()

    run(main())


# --- proxies from the environment ---------------------------------------------------------------


def test_http_proxy_from_the_environment(
    client: Callable[..., Client], seaweed: LocalSeaweedFS, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main(expect_proxy: bool, forward: ForwardProxy) -> None:
        c = client()
        before = len(forward.seen)
        await c.put("via", b"proxied")
        assert (await c.get("via")).data == b"proxied"
        assert (len(forward.seen) > before) is expect_proxy
        await c.transport.aclose()

    with ForwardProxy() as forward:
        monkeypatch.setenv("HTTP_PROXY", forward.url)
        run(main(True, forward))
        assert any(f"127.0.0.1:{seaweed.s3_port}" in line for line in forward.seen)
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        run(main(False, forward))


# --- TLS -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    from secure_servers import make_certificates

    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https(seaweed: LocalSeaweedFS, certs: tuple[Path, Path, Path]) -> Iterator[Any]:
    from secure_servers import TlsForwarder

    _, cert, key = certs
    with TlsForwarder(seaweed.s3_port, cert, key) as forwarder:
        yield forwarder


def test_tls_is_verified_by_default(
    client: Callable[..., Client], https: Any, certs: tuple[Path, Path, Path]
) -> None:
    ca = str(certs[0])

    async def main() -> None:
        c = client(https.url)
        with pytest.raises(s3lite.ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED") as info:
            await c.get("k")
        assert info.value.attempts == 1 and not info.value.retryable  # a bad cert is final
        await c.transport.aclose()
        for verify in (ca, False):  # the test CA's bundle, or no verification at all
            c = client(https.url, verify=verify)
            await c.put("tls", b"over TLS")
            assert (await c.get("tls")).data == b"over TLS"
            await c.transport.aclose()

    run(main())
    with pytest.raises(ValueError, match="does not exist"):
        AsyncTransport(verify="/nonexistent/ca.pem")


def test_https_through_a_connect_proxy(
    client: Callable[..., Client],
    https: Any,
    certs: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main() -> None:
        c = client(https.url, verify=str(certs[0]))
        await c.put("tunnelled", b"secret")
        assert (await c.get("tunnelled")).data == b"secret"
        await c.transport.aclose()

    with ForwardProxy() as forward:
        monkeypatch.setenv("HTTPS_PROXY", forward.url)
        run(main())
        assert forward.seen == [f"CONNECT 127.0.0.1:{https.port}"]  # one tunnel, kept alive


# --- cancellation --------------------------------------------------------------------------------


def test_a_cancelled_request_closes_its_connection(
    client: Callable[..., Client], proxy: FaultProxy
) -> None:
    async def main() -> None:
        c = client(proxy.url, max_pool_connections=1)
        await c.put("k", b"v")
        proxy.add(Stall(5), method="GET", times=1)
        task = asyncio.ensure_future(c.get("k"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert c.transport.open_connections == 0  # the stalled one is closed, not pooled
        assert (await c.get("k")).data == b"v"
        await c.transport.aclose()

    run(main())


def test_a_full_pool_waits_then_says_why(client: Callable[..., Client]) -> None:
    async def main() -> None:
        c = client(max_pool_connections=1, pool_timeout=0.3)
        await c.put("k", os.urandom(500_000))
        held = await c.get("k", stream=True)  # holds the only connection
        waiting = asyncio.ensure_future(c.get("k"))
        await asyncio.sleep(0.1)
        await held.aclose()  # too much left to drain: closed, and its slot freed
        assert len((await waiting).data) == 500_000
        held = await c.get("k", stream=True)
        with pytest.raises(s3lite.TransportError, match="no free connection") as info:
            await c.get("k")
        assert not info.value.retryable
        await held.aclose()
        await c.transport.aclose()

    run(main())


def test_a_broken_streamed_body_resumes_byte_exact(
    client: Callable[..., Client], proxy: FaultProxy
) -> None:
    from faultproxy import ResetMidBody

    data = os.urandom(5 * 1024 * 1024)

    async def main() -> None:
        c = client(proxy.url)
        await c.put("big", data)
        first = await c.get("big", stream=True)
        etag = first.etag
        assert etag

        async def resume(delivered: int) -> AsyncResponse:
            headers = {"Range": f"bytes={delivered}-", "If-Match": etag}
            return await c.send(
                c.request("GET", "big", headers=headers), stream=True, ok=lambda s: s == 206
            )

        await first.aclose()
        proxy.add(ResetMidBody(1_000_000), method="GET", times=1)
        proxy.add(TruncateBody(300_000), method="GET", times=1)
        resp = await c.get("big", stream=True, resume=resume)
        got = b"".join([chunk async for chunk in resp.iter_chunks(256 * 1024)])
        assert got == data
        assert len([m for m, _ in proxy.requests if m == "GET"]) == 4  # first, 1 + 2 resumes
        await c.transport.aclose()

    run(main())
