"""Tests of the fault-injecting proxy (tests/faultproxy.py) against an in-process upstream."""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import json
import os
import random
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import urllib3
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from faultproxy import (
    DelayFirstByte,
    DropResponse,
    ErrorResponse,
    FaultProxy,
    ResetAfterHeaders,
    ResetBeforeResponse,
    ResetMidBody,
    StaleDate,
    Stall,
    TruncateBody,
)

MiB = 1024 * 1024
BIG = 50 * MiB
DATA = random.Random(20240611).randbytes(BIG)
_CHUNK_SIZES = (1, 10, 4096, 65536, 65537, 100_000, 3)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- the upstream


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else every small response waits for a delayed ACK
    server: _Upstream

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError):
            super().handle()

    def _query(self) -> tuple[str, int]:
        path, _, query = self.path.partition("?")
        return path, int(parse_qs(query).get("size", ["1000"])[0])

    def _record(self, **extra: Any) -> None:
        if self.command in ("GET", "HEAD"):  # tolerate (and skip) a body on GET/HEAD
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
        entry = {"method": self.command, "path": self.path, "peer": self.client_address[1]}
        entry["host"] = self.headers.get("Host")
        self.server.log.append(entry | extra)

    def _send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self._record()
        _, size = self._query()
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()

    def do_GET(self) -> None:
        self._record()
        path, size = self._query()
        view = memoryview(DATA)
        if path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            for start in range(0, size, 65536):
                self.wfile.write(view[start : min(size, start + 65536)])
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pos = 0
            for i in range(10**9):
                if pos >= size:
                    break
                piece = view[pos : min(size, pos + _CHUNK_SIZES[i % len(_CHUNK_SIZES)])]
                ext = ";ext=v" if i == 1 else ""
                self.wfile.write(f"{len(piece):X}{ext}\r\n".encode() + piece + b"\r\n")
                pos += len(piece)
            self.wfile.write(b"0\r\nX-Trailer: done\r\n\r\n")
        elif path == "/nocontent":
            self.send_response(204)
            self.end_headers()
        elif path == "/close":  # read-to-close body
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(DATA[:size])
            self.close_connection = True
        elif path == "/quietclose":  # keep-alive response, then the server drops the connection
            self._send(200, b"bye")
            self.close_connection = True
        else:
            self._send(404, b"no such path")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                assert self.rfile.readline() == b"\r\n"
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_PUT(self) -> None:
        body = self._read_body()
        self._record(length=len(body), sha256=sha(body))
        self._send(200, json.dumps({"length": len(body), "sha256": sha(body)}).encode())

    do_POST = do_PUT


class _Upstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.log: list[dict[str, Any]] = []

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.log if method is None or e["method"] == method]


@pytest.fixture(scope="module")
def upstream() -> Iterator[_Upstream]:
    server = _Upstream()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _proxy_threads(proxy: FaultProxy) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"faultproxy-{proxy.port}-")]


@pytest.fixture
def proxy(upstream: _Upstream) -> Iterator[FaultProxy]:
    upstream.log.clear()
    with FaultProxy("127.0.0.1", upstream.server_address[1]) as p:
        yield p
    assert p.errors == []
    assert _proxy_threads(p) == []
    assert p.active_connections == 0


@pytest.fixture
def pool(proxy: FaultProxy) -> Iterator[urllib3.HTTPConnectionPool]:
    with urllib3.HTTPConnectionPool(
        "127.0.0.1", proxy.port, maxsize=1, block=True, retries=False, timeout=5.0
    ) as p:
        yield p


# --------------------------------------------------------------------------- raw client


class Raw:
    """A minimal raw HTTP client socket."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(self.buf)
            self.buf += data
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return head + b"\r\n\r\n"

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(self.buf)
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """A Content-Length-framed response (or a bodiless one)."""
        head = self.head()
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        return int(lines[0].split()[1]), headers, self.exact(int(headers.get("content-length", 0)))

    def until_eof(self) -> tuple[bytes, BaseException | None]:
        """Everything up to EOF, and the error that ended the stream instead of EOF (if any)."""
        data, self.buf = self.buf, b""
        try:
            while chunk := self.sock.recv(65536):
                data += chunk
        except OSError as exc:
            return data, exc
        return data, None


def without_date(raw: bytes) -> bytes:
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = [x for x in head.split(b"\r\n") if not x.lower().startswith(b"date:")]
    return b"\r\n".join(lines) + sep + body


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: example\r\n\r\n".encode()


# --------------------------------------------------------------------------- transparency


def test_large_streams_keepalive_one_connection(
    proxy: FaultProxy, pool: urllib3.HTTPConnectionPool, upstream: _Upstream
) -> None:
    resp = pool.request("GET", f"/big?size={BIG}", preload_content=False)
    digest = hashlib.sha256()
    for piece in resp.stream(65536):
        digest.update(piece)
    resp.release_conn()
    assert resp.status == 200
    assert digest.hexdigest() == sha(DATA)

    resp = pool.request("PUT", "/obj-cl", body=DATA)
    assert resp.json() == {"length": BIG, "sha256": sha(DATA)}

    pieces = (DATA[i : i + 1_000_003] for i in range(0, BIG, 1_000_003))
    resp = pool.request("PUT", "/obj-chunked", body=pieces, chunked=True)
    assert resp.json() == {"length": BIG, "sha256": sha(DATA)}

    resp = pool.request("GET", f"/chunked?size={3 * MiB}")
    assert resp.data == DATA[: 3 * MiB]

    assert proxy.accepted_connections == 1
    assert len({e["peer"] for e in upstream.log}) == 1  # one upstream connection too
    assert proxy.requests == [
        ("GET", f"/big?size={BIG}"),
        ("PUT", "/obj-cl"),
        ("PUT", "/obj-chunked"),
        ("GET", f"/chunked?size={3 * MiB}"),
    ]
    assert proxy.fired == []


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /big?size=300000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        b"GET /chunked?size=300000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        b"GET /close?size=100000 HTTP/1.1\r\nHost: h\r\n\r\n",
        b"HEAD /big?size=300000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        b"GET /nocontent HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        b"GET /big?size=10 HTTP/1.0\r\nHost: h\r\n\r\n",
    ],
)
def test_raw_bytes_identical_to_direct(
    proxy: FaultProxy, upstream: _Upstream, request_bytes: bytes
) -> None:
    def fetch(port: int) -> bytes:
        raw = Raw(port)
        raw.send(request_bytes)
        data, err = raw.until_eof()
        raw.close()
        assert err is None
        return data

    direct = fetch(upstream.server_address[1])
    via_proxy = fetch(proxy.port)
    assert without_date(via_proxy) == without_date(direct)
    assert len(direct) > 50
    assert proxy.wait_idle()


def test_host_header_and_head_bytes_untouched(proxy: FaultProxy, upstream: _Upstream) -> None:
    raw = Raw(proxy.port)
    request = (
        b"GET /big?size=5 HTTP/1.1\r\nHost: bucket.s3.example.com:9000\r\n"
        b"x-amz-date: 20240101T000000Z\r\nX-Odd-Case:  spaced value \r\n\r\n"
    )
    raw.send(request)
    assert raw.response()[2] == DATA[:5]
    assert upstream.log[-1]["host"] == "bucket.s3.example.com:9000"
    raw.close()


def test_chunked_request_with_extensions_and_trailers(
    proxy: FaultProxy, upstream: _Upstream
) -> None:
    raw = Raw(proxy.port)
    body = DATA[:200_000]
    head = b"PUT /chunky HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    framed = b"5;name=value\r\n" + body[:5] + b"\r\n"
    framed += b"%x\r\n" % (len(body) - 5) + body[5:] + b"\r\n"
    framed += b"0\r\nx-amz-checksum-crc32: AAAAAA==\r\n\r\n"
    for _ in range(2):  # twice on one connection: framing kept in sync
        raw.send(head + framed)
        status, _, reply = raw.response()
        assert status == 200
        assert json.loads(reply) == {"length": len(body), "sha256": sha(body)}
    raw.send(get("/big?size=7"))
    assert raw.response()[2] == DATA[:7]
    raw.close()
    assert proxy.accepted_connections == 1


def test_expect_100_continue(proxy: FaultProxy, upstream: _Upstream) -> None:
    raw = Raw(proxy.port)
    body = DATA[:100_000]
    head = (
        b"PUT /expect HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    raw.send(head)
    assert raw.head().startswith(b"HTTP/1.1 100 Continue\r\n")  # relayed from the upstream
    assert upstream.requests("PUT") == []
    raw.send(body)
    status, _, reply = raw.response()
    assert status == 200
    assert json.loads(reply)["sha256"] == sha(body)

    # A fault answered by the proxy itself sends its own 100 Continue and drains the body.
    proxy.add(ErrorResponse(503, "SlowDown"))
    raw.send(head)
    assert raw.head() == b"HTTP/1.1 100 Continue\r\n\r\n"
    raw.send(body)
    assert raw.response()[0] == 503
    raw.send(get("/big?size=3"))
    assert raw.response()[2] == DATA[:3]
    raw.close()
    assert len(upstream.requests("PUT")) == 1


def test_head_204_and_keepalive(
    proxy: FaultProxy, pool: urllib3.HTTPConnectionPool, upstream: _Upstream
) -> None:
    resp = pool.request("HEAD", "/big?size=12345")
    assert resp.status == 200
    assert resp.headers["Content-Length"] == "12345"
    assert resp.data == b""
    assert pool.request("GET", "/nocontent").status == 204
    assert pool.request("GET", "/big?size=99").data == DATA[:99]
    assert proxy.accepted_connections == 1
    assert len({e["peer"] for e in upstream.log}) == 1


def test_upstream_closing_idle_connection_is_reopened(
    proxy: FaultProxy, pool: urllib3.HTTPConnectionPool, upstream: _Upstream
) -> None:
    assert pool.request("GET", "/quietclose").data == b"bye"
    time.sleep(0.05)  # let the upstream's FIN arrive
    assert pool.request("GET", "/big?size=10").data == DATA[:10]
    assert proxy.accepted_connections == 1
    assert len({e["peer"] for e in upstream.log}) == 2


# --------------------------------------------------------------------------- faults


def test_reset_before_response(
    proxy: FaultProxy, pool: urllib3.HTTPConnectionPool, upstream: _Upstream
) -> None:
    proxy.add(ResetBeforeResponse())
    with pytest.raises(ProtocolError) as info:
        pool.request("PUT", "/x", body=DATA[:300_000])
    assert isinstance(info.value.args[1], ConnectionResetError)
    assert upstream.requests("PUT") == []
    assert proxy.fired == [("ResetBeforeResponse", "PUT", "/x")]
    assert pool.request("PUT", "/x", body=b"ok").status == 200  # next request unaffected


def test_reset_after_headers(proxy: FaultProxy, pool: urllib3.HTTPConnectionPool) -> None:
    proxy.add(ResetAfterHeaders())
    resp = pool.request("GET", "/big?size=100000", preload_content=False)
    assert resp.status == 200
    assert resp.headers["Content-Length"] == "100000"
    with pytest.raises(ProtocolError) as info:
        resp.read()
    assert isinstance(info.value.args[1], ConnectionResetError)


@pytest.mark.parametrize("path", ["/big?size=300000", "/chunked?size=300000"])
def test_reset_mid_body_exact_bytes(proxy: FaultProxy, path: str) -> None:
    proxy.add(ResetMidBody(70_001))
    raw = Raw(proxy.port)
    raw.send(get(path))
    assert raw.head().startswith(b"HTTP/1.1 200 OK\r\n")
    body, err = raw.until_eof()
    assert isinstance(err, ConnectionResetError)
    assert len(body) == 70_001
    if path.startswith("/big"):
        assert body == DATA[:70_001]
    raw.close()


def test_reset_mid_body_urllib3(proxy: FaultProxy, pool: urllib3.HTTPConnectionPool) -> None:
    proxy.add(ResetMidBody(1000))
    resp = pool.request("GET", "/big?size=100000", preload_content=False)
    received = b""
    with pytest.raises(ProtocolError) as info:
        while piece := resp.read(1):
            received += piece
    assert isinstance(info.value.args[1], ConnectionResetError)
    assert received == DATA[:1000]


def test_truncate_body(proxy: FaultProxy, pool: urllib3.HTTPConnectionPool) -> None:
    proxy.add(TruncateBody(5000), times=2)
    raw = Raw(proxy.port)
    raw.send(get("/big?size=100000"))
    assert b"Content-Length: 100000\r\n" in raw.head()
    body, err = raw.until_eof()
    assert err is None  # clean FIN
    assert body == DATA[:5000]
    raw.close()

    resp = pool.request("GET", "/big?size=100000", preload_content=False)
    with pytest.raises(ProtocolError) as info:
        resp.read()
    assert isinstance(info.value.args[1], http.client.IncompleteRead)
    assert info.value.args[1].partial == DATA[:5000]


def test_stall_read_timeout(
    proxy: FaultProxy, pool: urllib3.HTTPConnectionPool, upstream: _Upstream
) -> None:
    proxy.add(Stall(0.6))
    timeout = urllib3.Timeout(connect=2.0, read=0.2)
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        pool.request("PUT", "/stalled", body=b"abc", timeout=timeout)
    assert time.monotonic() - started < 0.5
    assert upstream.requests("PUT") == []

    proxy.add(Stall(0.2, forward=True))
    raw = Raw(proxy.port)
    raw.send(b"PUT /stalled2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz")
    started = time.monotonic()
    data, err = raw.until_eof()  # nothing, then a clean close
    assert (data, err) == (b"", None)
    assert time.monotonic() - started >= 0.19
    assert upstream.requests("PUT")[0]["path"] == "/stalled2"
    raw.close()


def test_error_response_xml(
    proxy: FaultProxy, pool: urllib3.HTTPConnectionPool, upstream: _Upstream
) -> None:
    proxy.add(ErrorResponse(503, "SlowDown", "Please <reduce> rate", retry_after=2))
    resp = pool.request("PUT", "/obj", body=DATA[:200_000])
    assert resp.status == 503
    assert resp.headers["Content-Type"] == "application/xml"
    assert resp.headers["Retry-After"] == "2"
    date = email.utils.parsedate_to_datetime(resp.headers["Date"]).timestamp()
    assert abs(date - time.time()) < 5
    assert resp.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(resp.data)  # noqa: S314 - our own proxy wrote it
    assert root.tag == "Error"
    assert root.findtext("Code") == "SlowDown"
    assert root.findtext("Message") == "Please <reduce> rate"
    assert root.findtext("RequestId") == resp.headers["x-amz-request-id"]
    assert upstream.requests("PUT") == []
    assert pool.request("PUT", "/obj", body=b"x").status == 200  # same connection, still in sync
    assert proxy.accepted_connections == 1


def test_error_response_forwarded_json_and_head(
    proxy: FaultProxy, pool: urllib3.HTTPConnectionPool, upstream: _Upstream
) -> None:
    proxy.add(ErrorResponse(500, "InternalError", forward=True))
    resp = pool.request("PUT", "/written", body=b"payload")
    assert resp.status == 500
    assert upstream.requests("PUT")[0]["sha256"] == sha(b"payload")  # the write happened

    proxy.add(ErrorResponse(503, "service_unavailable", "busy", content_type="application/json"))
    resp = pool.request("POST", "/b2api/v3/b2_upload_file")
    assert resp.status == 503
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"status": 503, "code": "service_unavailable", "message": "busy"}

    body = b'{"status": 401, "code": "expired_auth_token", "message": ""}'
    proxy.add(ErrorResponse(401, "x", body=body, content_type="application/json"))
    assert pool.request("GET", "/b2api/v3/b2_list").data == body

    proxy.add(ErrorResponse(404, "NoSuchKey"))
    resp = pool.request("HEAD", "/missing")
    assert resp.status == 404
    assert int(resp.headers["Content-Length"]) > 0
    assert resp.data == b""
    assert pool.request("GET", "/big?size=4").data == DATA[:4]
    assert proxy.accepted_connections == 1


def test_delay_first_byte(proxy: FaultProxy, pool: urllib3.HTTPConnectionPool) -> None:
    proxy.add(DelayFirstByte(0.3))
    started = time.monotonic()
    resp = pool.request("GET", "/big?size=1000")
    assert time.monotonic() - started >= 0.29
    assert resp.data == DATA[:1000]
    started = time.monotonic()
    pool.request("GET", "/big?size=1000")
    assert time.monotonic() - started < 0.25


def test_stale_date(proxy: FaultProxy, pool: urllib3.HTTPConnectionPool) -> None:
    proxy.add(StaleDate(-3600))
    resp = pool.request("GET", "/big?size=1000")
    assert len(resp.headers.getlist("Date")) == 1
    date = email.utils.parsedate_to_datetime(resp.headers["Date"]).timestamp()
    assert abs(date - (time.time() - 3600)) < 5
    assert resp.data == DATA[:1000]
    resp = pool.request("GET", "/big?size=1000")
    date = email.utils.parsedate_to_datetime(resp.headers["Date"]).timestamp()
    assert abs(date - time.time()) < 5


def test_drop_response(
    proxy: FaultProxy, pool: urllib3.HTTPConnectionPool, upstream: _Upstream
) -> None:
    proxy.add(DropResponse(), method="PUT")
    with pytest.raises(ProtocolError) as info:
        pool.request("PUT", "/dropped", body=DATA[:1_000_000])
    assert isinstance(info.value.args[1], ConnectionResetError)
    assert upstream.requests("PUT")[0]["sha256"] == sha(DATA[:1_000_000])
    assert proxy.fired == [("DropResponse", "PUT", "/dropped")]


# --------------------------------------------------------------------------- rules


def test_rule_matching_times_skip(
    proxy: FaultProxy, pool: urllib3.HTTPConnectionPool, upstream: _Upstream
) -> None:
    rule = proxy.add(
        ErrorResponse(503, "SlowDown"), method="put", path_contains="/obj", skip=1, times=2
    )
    proxy.add(ErrorResponse(500, "InternalError"), query_contains="uploadId=", times=None)
    calls = [
        ("GET", "/obj"),  # wrong method
        ("PUT", "/other"),  # wrong path
        ("PUT", "/obj/1"),  # skipped
        ("PUT", "/obj/2"),  # 503
        ("PUT", "/obj/3?partNumber=1&uploadId=abc"),  # 503 (first rule wins)
        ("PUT", "/obj/4"),  # rule exhausted
        ("PUT", "/obj/5?uploadId=abc"),  # second rule, forever
        ("POST", "/x?uploadId=abc"),
    ]
    statuses = [pool.request(m, p, body=b"b").status for m, p in calls]
    assert statuses == [404, 200, 200, 503, 503, 200, 500, 500]
    assert (rule.matched, rule.injected) == (5, 2)
    assert proxy.fired == [
        ("ErrorResponse", "PUT", "/obj/2"),
        ("ErrorResponse", "PUT", "/obj/3?partNumber=1&uploadId=abc"),
        ("ErrorResponse", "PUT", "/obj/5?uploadId=abc"),
        ("ErrorResponse", "POST", "/x?uploadId=abc"),
    ]
    assert proxy.requests == calls
    proxy.clear()
    assert pool.request("POST", "/x?uploadId=abc").status == 200


def test_random_mode_is_deterministic(upstream: _Upstream) -> None:
    def run() -> list[int]:
        with (
            FaultProxy("127.0.0.1", upstream.server_address[1]) as proxy,
            urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, retries=False) as pool,
        ):
            proxy.random_faults(0.3, [ErrorResponse(503, "SlowDown")], seed=7)
            statuses = [pool.request("GET", "/big?size=10").status for _ in range(60)]
            assert len(proxy.fired) == statuses.count(503)
            proxy.random_faults(0, [], seed=None)
            assert pool.request("GET", "/big?size=10").status == 200
        return statuses

    first = run()
    assert first == run()
    assert 5 < first.count(503) < 40


def test_random_mode_mixed_faults_no_errors(upstream: _Upstream) -> None:
    faults = [
        ResetBeforeResponse(),
        ResetAfterHeaders(),
        ResetMidBody(100),
        TruncateBody(100),
        ErrorResponse(503, "SlowDown"),
        DropResponse(),
        DelayFirstByte(0.01),
        StaleDate(100),
    ]
    with FaultProxy("127.0.0.1", upstream.server_address[1]) as proxy:
        proxy.random_faults(0.5, faults, seed=1)
        with urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, retries=False) as pool:
            for i in range(80):
                method = "PUT" if i % 2 else "GET"
                with contextlib.suppress(ProtocolError):
                    pool.request(method, "/big?size=5000", body=b"z" * (i * 100))
        assert proxy.wait_idle()
        assert proxy.errors == []
        assert 20 < len(proxy.fired) < 60


# --------------------------------------------------------------------------- cleanup


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_no_leaks_after_stop(upstream: _Upstream) -> None:
    baseline_threads = threading.active_count()
    baseline_fds = _open_fds()
    proxy = FaultProxy("127.0.0.1", upstream.server_address[1]).start()
    proxy.add(Stall(5))
    raws = [Raw(proxy.port) for _ in range(3)]
    raws[0].send(get("/big?size=10"))  # stalls for 5 s unless stop() interrupts it
    deadline = time.monotonic() + 2
    while not proxy.fired and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proxy.fired == [("Stall", "GET", "/big?size=10")]
    raws[1].send(get("/big?size=10"))
    raws[1].response()  # an idle keep-alive connection with an upstream connection
    raws[2].send(b"GET /big?size=10 HTTP/1.1\r\n")  # half a request head
    with urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, retries=False) as pool:
        assert pool.request("GET", "/big?size=10").status == 200
    deadline = time.monotonic() + 2
    while proxy.active_connections != 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.active_connections == 3
    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 2
    assert proxy.active_connections == 0
    assert _proxy_threads(proxy) == []
    for raw in raws:
        assert raw.until_eof()[0] == b""
        raw.close()
    # Upstream handler threads end once the proxy closed its upstream connections.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and (
        threading.active_count() > baseline_threads or _open_fds() > baseline_fds
    ):
        time.sleep(0.01)
    assert threading.active_count() <= baseline_threads
    assert _open_fds() <= baseline_fds
    proxy.stop()  # idempotent


def test_active_connections_drop_to_zero(proxy: FaultProxy) -> None:
    with urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, maxsize=4, retries=False) as pool:
        proxy.add(ResetMidBody(10))
        with pytest.raises(ProtocolError):
            pool.request("GET", "/big?size=1000")
        assert pool.request("GET", "/big?size=10").status == 200
        assert proxy.active_connections >= 1  # the pooled keep-alive connection
    assert proxy.wait_idle(2)
    assert proxy.active_connections == 0
