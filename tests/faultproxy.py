"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1 for s3lite tests.

Point the client at ``proxy.url`` instead of the real server; the proxy forwards every request
to ``upstream_host:upstream_port``. With no fault firing it is transparent: request and response
heads and bodies are relayed byte for byte (the ``Host`` header included, so SigV4 signatures
stay valid), bodies are streamed in 64 KiB pieces, and keep-alive is preserved (one upstream
connection per client connection, re-opened lazily if the upstream closed an idle one).

It parses message framing (Content-Length, chunked, ``Expect: 100-continue``, bodiless
HEAD/204/304/1xx responses, read-to-close) so that faults can be applied to chosen requests::

    with FaultProxy("127.0.0.1", s3_port) as proxy:
        proxy.add(ErrorResponse(503, "SlowDown", retry_after=1), method="PUT", times=2)
        proxy.add(ResetMidBody(1000), method="GET", path_contains="/big", skip=1)
        client = make_client(endpoint=proxy.url)
        ...
        assert [f[0] for f in proxy.fired] == ["ErrorResponse", "ErrorResponse", "ResetMidBody"]

Import it from tests as ``from faultproxy import ...`` (``tests/`` is on ``sys.path`` under
pytest's default import mode). Standard library only; POSIX (uses ``SO_LINGER`` and, on Linux,
``TIOCOUTQ``).
"""

from __future__ import annotations

import contextlib
import email.utils
import http
import json
import random
import select
import socket
import struct
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

try:  # Linux: lets a reset wait until the bytes already sent have left the socket.
    import fcntl
    import termios

    _TIOCOUTQ: int | None = termios.TIOCOUTQ
except (ImportError, AttributeError):  # pragma: no cover - non-Linux
    fcntl = None  # type: ignore[assignment]
    _TIOCOUTQ = None

__all__ = [
    "DelayFirstByte",
    "DropResponse",
    "ErrorResponse",
    "Fault",
    "FaultProxy",
    "ResetAfterHeaders",
    "ResetBeforeResponse",
    "ResetMidBody",
    "Rule",
    "StaleDate",
    "Stall",
    "TruncateBody",
]

CHUNK = 64 * 1024
_MAX_HEAD = 64 * 1024
_MAX_LINE = 8 * 1024
_EXPECT_WAIT = 1.0  # seconds to wait for the upstream's "100 Continue" before sending anyway
_RESET_FLUSH_WAIT = 2.0  # max seconds a reset waits for already-sent bytes to be acknowledged
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """Base class of all faults; ``name`` (the class name) is what ``FaultProxy.fired`` records."""

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class ResetBeforeResponse(Fault):
    """Read the whole request (answering ``100 Continue`` itself if the client asked), do not
    forward it, then close the client socket with RST: the client gets ECONNRESET where it
    expected the status line. The upstream never sees the request."""


@dataclass(frozen=True)
class ResetAfterHeaders(Fault):
    """Forward the request; relay the real response status line and headers unchanged, then
    RST: the client gets a complete response head and ECONNRESET on the first body read."""


@dataclass(frozen=True)
class ResetMidBody(Fault):
    """Forward the request; relay the real response head and exactly ``after_bytes`` bytes of
    the body as they are on the wire (chunk framing counts), then RST. If the body is shorter,
    all of it is relayed and then RST."""

    after_bytes: int

    def __post_init__(self) -> None:
        if self.after_bytes < 0:
            raise ValueError("after_bytes must be >= 0")


@dataclass(frozen=True)
class TruncateBody(Fault):
    """Forward the request; relay the real response head (original Content-Length) and exactly
    ``after_bytes`` wire bytes of the body, then close cleanly (FIN): the client sees EOF before
    the body is complete (IncompleteRead)."""

    after_bytes: int

    def __post_init__(self) -> None:
        if self.after_bytes < 0:
            raise ValueError("after_bytes must be >= 0")


@dataclass(frozen=True)
class Stall(Fault):
    """Read the whole request (answering ``100 Continue`` itself if asked), send nothing for
    ``seconds``, then close cleanly (FIN). By default the request is not forwarded; with
    ``forward=True`` it is forwarded first and the real response read and discarded (the
    operation took effect, the client only sees silence). The client should hit a read
    timeout; if it waits longer, it sees the connection closed without a response."""

    seconds: float
    forward: bool = False


@dataclass(frozen=True)
class ErrorResponse(Fault):
    """Answer with a complete ``status`` response on the kept-alive connection: headers
    ``Date``, ``Content-Type``, ``Content-Length``, ``x-amz-request-id``, ``Retry-After``
    (if given), and the body ``<?xml version="1.0" encoding="UTF-8"?><Error><Code>code</Code>
    <Message>message</Message><RequestId>id</RequestId></Error>``. With ``content_type``
    ``application/json`` and no ``body`` the body is B2-style JSON ``{"status", "code",
    "message"}``; an explicit ``body`` is sent verbatim. No body is sent for HEAD.
    The request body is read and discarded and the request is not forwarded; with
    ``forward=True`` it is forwarded and the real response discarded ("the write succeeded
    but the response was lost")."""

    status: int
    code: str
    message: str = ""
    retry_after: int | str | None = None
    forward: bool = False
    body: bytes | None = None
    content_type: str = "application/xml"


@dataclass(frozen=True)
class DelayFirstByte(Fault):
    """Forward the request, wait ``seconds`` after the upstream's final response head arrived
    (interim ``100 Continue`` responses are not delayed), then relay the response unchanged."""

    seconds: float


@dataclass(frozen=True)
class StaleDate(Fault):
    """Forward the request and relay the response with its ``Date`` header replaced by (or,
    if missing, given) ``Date: <now + offset_seconds>`` in IMF-fixdate form; all else unchanged."""

    offset_seconds: float


@dataclass(frozen=True)
class DropResponse(Fault):
    """Forward the request (it takes effect upstream), read and discard the whole upstream
    response, then RST the client: it gets ECONNRESET instead of a status line and never
    learns that the operation succeeded."""


def _is_local(fault: Fault | None) -> bool:
    """Whether the fault is answered without forwarding the request upstream."""
    if isinstance(fault, ResetBeforeResponse):
        return True
    if isinstance(fault, (Stall, ErrorResponse)):
        return not fault.forward
    return False


@dataclass
class Rule:
    """One ``FaultProxy.add`` rule; ``matched`` counts matching requests (skipped ones
    included) and ``injected`` counts the requests that got the fault."""

    fault: Fault
    method: str | None = None
    path_contains: str | None = None
    query_contains: str | None = None
    times: int | None = 1
    skip: int = 0
    matched: int = 0
    injected: int = 0

    def matches(self, method: str, target: str) -> bool:
        """Whether a request (method, raw request target) satisfies all given conditions."""
        path, _, query = target.partition("?")
        return (
            (self.method is None or self.method.upper() == method)
            and (self.path_contains is None or self.path_contains in path)
            and (self.query_contains is None or self.query_contains in query)
        )


# --------------------------------------------------------------------------- HTTP plumbing


class _ProtocolError(Exception):
    """Malformed or unsupported HTTP from a peer."""


class _PeerClosed(Exception):
    """A peer closed the connection where more data was required."""


class _UpstreamGone(Exception):
    """Writing the request body upstream failed (the upstream closed early)."""


class _Stopped(Exception):
    """The proxy is stopping."""


class _BudgetSpent(Exception):
    """A ``_Budget`` writer has passed on all the bytes it was allowed to."""


_NONE, _LENGTH, _CHUNKED, _TO_EOF = "none", "length", "chunked", "eof"
_KEEP, _CLOSE, _RESET, _ABORT = "keep", "close", "reset", "abort"

Writer = Callable[[bytes], None]


class _Reader:
    """Buffered reads from a socket that leave the raw bytes available for relaying."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> bool:
        data = self.sock.recv(CHUNK)
        if not data:
            return False
        self.buf += data
        return True

    def read_head(self) -> bytes | None:
        """Bytes up to and including the blank line; None on EOF before the first byte."""
        start = 0
        while True:
            end = self.buf.find(b"\r\n\r\n", start)
            if end >= 0:
                head = bytes(self.buf[: end + 4])
                del self.buf[: end + 4]
                return head
            if len(self.buf) > _MAX_HEAD:
                raise _ProtocolError("message head too large")
            start = max(0, len(self.buf) - 3)
            if not self._fill():
                if self.buf:
                    raise _PeerClosed("EOF inside a message head")
                return None

    def readline(self) -> bytes:
        """One line including its line terminator."""
        start = 0
        while True:
            end = self.buf.find(b"\n", start)
            if end >= 0:
                line = bytes(self.buf[: end + 1])
                del self.buf[: end + 1]
                return line
            if len(self.buf) > _MAX_LINE:
                raise _ProtocolError("line too long")
            start = len(self.buf)
            if not self._fill():
                raise _PeerClosed("EOF inside a line")

    def read_some(self, n: int) -> bytes:
        """Up to ``n`` bytes (buffered ones first); b'' only on EOF."""
        if self.buf:
            data = bytes(self.buf[:n])
            del self.buf[:n]
            return data
        return self.sock.recv(min(n, CHUNK))


def _parse_head(raw: bytes) -> tuple[list[str], list[tuple[str, str]]]:
    lines = raw.decode("latin-1").split("\r\n")
    start = lines[0].split(" ", 2)
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _ProtocolError(f"bad header line {line!r}")
        headers.append((name.lower(), value.strip()))
    return start, headers


def _tokens(headers: list[tuple[str, str]], name: str) -> list[str]:
    """Lower-cased comma-separated tokens of all ``name`` headers, in order."""
    return [
        token.strip().lower()
        for key, value in headers
        if key == name
        for token in value.split(",")
        if token.strip()
    ]


def _content_length(headers: list[tuple[str, str]]) -> int | None:
    values = {value for key, value in headers if key == "content-length"}
    if not values:
        return None
    if len(values) > 1 or not next(iter(values)).isdigit():
        raise _ProtocolError(f"bad Content-Length {values!r}")
    return int(next(iter(values)))


@dataclass
class _Request:
    raw: bytes
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    kind: str
    length: int

    @classmethod
    def parse(cls, raw: bytes) -> _Request:
        start, headers = _parse_head(raw)
        if len(start) != 3 or not start[2].startswith("HTTP/1."):
            raise _ProtocolError(f"bad request line {start!r}")
        te = _tokens(headers, "transfer-encoding")
        length = 0
        if te:
            if te[-1] != "chunked":
                raise _ProtocolError("request Transfer-Encoding without final chunked")
            kind = _CHUNKED
        else:
            length = _content_length(headers) or 0
            kind = _LENGTH if length else _NONE
        return cls(raw, start[0], start[1], start[2], headers, kind, length)

    @property
    def expect_continue(self) -> bool:
        return self.kind != _NONE and "100-continue" in _tokens(self.headers, "expect")

    @property
    def wants_close(self) -> bool:
        conn = _tokens(self.headers, "connection")
        return "close" in conn or (self.version == "HTTP/1.0" and "keep-alive" not in conn)


@dataclass
class _Response:
    raw: bytes
    version: str
    status: int
    headers: list[tuple[str, str]]

    @classmethod
    def parse(cls, raw: bytes) -> _Response:
        start, headers = _parse_head(raw)
        if len(start) < 2 or not start[0].startswith("HTTP/1.") or not start[1].isdigit():
            raise _ProtocolError(f"bad status line {start!r}")
        return cls(raw, start[0], int(start[1]), headers)

    @property
    def interim(self) -> bool:
        return 100 <= self.status < 200

    def framing(self, method: str) -> tuple[str, int]:
        """(kind, length) of the body that follows this head (RFC 9112 section 6.3)."""
        if method == "HEAD" or self.interim or self.status in (204, 304):
            return _NONE, 0
        te = _tokens(self.headers, "transfer-encoding")
        if te:
            return (_CHUNKED, 0) if te[-1] == "chunked" else (_TO_EOF, 0)
        length = _content_length(self.headers)
        if length is None:
            return _TO_EOF, 0
        return (_LENGTH, length) if length else (_NONE, 0)

    def closes(self, kind: str) -> bool:
        """Whether the upstream ends the connection after this response."""
        conn = _tokens(self.headers, "connection")
        return (
            kind == _TO_EOF
            or "close" in conn
            or (self.version == "HTTP/1.0" and "keep-alive" not in conn)
        )


def _copy_exact(reader: _Reader, n: int, write: Writer) -> None:
    while n > 0:
        data = reader.read_some(min(n, CHUNK))
        if not data:
            raise _PeerClosed("EOF inside a body")
        write(data)
        n -= len(data)


def _copy_body(reader: _Reader, kind: str, length: int, write: Writer) -> None:
    """Relay one message body verbatim (chunk framing and trailers included)."""
    if kind == _LENGTH:
        _copy_exact(reader, length, write)
    elif kind == _CHUNKED:
        while True:
            line = reader.readline()
            write(line)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _ProtocolError(f"bad chunk size line {line!r}") from None
            if size == 0:
                while True:  # trailer section up to the final blank line
                    line = reader.readline()
                    write(line)
                    if line in (b"\r\n", b"\n"):
                        return
            _copy_exact(reader, size + 2, write)
    elif kind == _TO_EOF:
        while data := reader.read_some(CHUNK):
            write(data)


def _discard(data: bytes) -> None:
    del data


class _Budget:
    """A writer that passes on at most ``limit`` bytes, then raises ``_BudgetSpent``."""

    def __init__(self, sock: socket.socket, limit: int) -> None:
        self.sock = sock
        self.room = limit

    def __call__(self, data: bytes) -> None:
        if len(data) >= self.room:
            self.sock.sendall(data[: self.room])
            self.room = 0
            raise _BudgetSpent
        self.sock.sendall(data)
        self.room -= len(data)


def _http_date(when: float) -> str:
    return email.utils.formatdate(when, usegmt=True)


def _replace_header(raw: bytes, name: str, value: str) -> bytes:
    """``raw`` head with every ``name`` header replaced by one ``name: value`` line."""
    lines = raw[:-4].split(b"\r\n")
    new_line = f"{name}: {value}".encode("latin-1")
    out = [lines[0]]
    replaced = False
    for line in lines[1:]:
        if line.partition(b":")[0].strip().lower() == name.lower().encode():
            if not replaced:
                out.append(new_line)
                replaced = True
        else:
            out.append(line)
    if not replaced:
        out.append(new_line)
    return b"\r\n".join(out) + b"\r\n\r\n"


def _error_bytes(fault: ErrorResponse, method: str, close: bool) -> bytes:
    request_id = uuid.uuid4().hex[:16].upper()
    body = fault.body
    if body is None:
        if fault.content_type.startswith("application/json"):
            doc = {"status": fault.status, "code": fault.code, "message": fault.message}
            body = json.dumps(doc).encode()
        else:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{escape(fault.code)}</Code>"
                f"<Message>{escape(fault.message)}</Message>"
                f"<RequestId>{request_id}</RequestId></Error>"
            ).encode()
    try:
        reason = http.HTTPStatus(fault.status).phrase
    except ValueError:
        reason = "Error"
    bodiless = fault.status in (204, 304) or 100 <= fault.status < 200
    headers = [
        ("Date", _http_date(time.time())),
        ("Content-Type", fault.content_type),
        ("x-amz-request-id", request_id),
    ]
    if not bodiless:
        headers.append(("Content-Length", str(len(body))))
    if fault.retry_after is not None:
        headers.append(("Retry-After", str(fault.retry_after)))
    if close:
        headers.append(("Connection", "close"))
    head = f"HTTP/1.1 {fault.status} {reason}\r\n"
    head += "".join(f"{key}: {value}\r\n" for key, value in headers) + "\r\n"
    send_body = not bodiless and method != "HEAD"
    return head.encode("latin-1") + (body if send_body else b"")


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _graceful_close(sock: socket.socket) -> None:
    """Send FIN; discard already-received input first so that close() does not turn into RST."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(False)
        while sock.recv(CHUNK):
            pass
    sock.close()


# --------------------------------------------------------------------------- the proxy


class FaultProxy:
    """Fault-injecting HTTP/1.1 proxy listening on ``127.0.0.1:<free port>``; see module doc.

    ``connect_timeout`` bounds connecting upstream; ``upstream_timeout`` (default: none) bounds
    each upstream read/write. Usable as a context manager (``start()`` / ``stop()``).
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        connect_timeout: float = 10.0,
        upstream_timeout: float | None = None,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.connect_timeout = connect_timeout
        self.upstream_timeout = upstream_timeout
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._threads: set[threading.Thread] = set()
        self._socks: set[socket.socket] = set()
        self._rules: list[Rule] = []
        self._random: tuple[float, tuple[Fault, ...], random.Random] | None = None
        self._requests: list[tuple[str, str]] = []
        self._fired: list[tuple[str, str, str]] = []
        self._errors: list[str] = []
        self._active = 0
        self._accepted = 0
        self._port = 0

    # ----- lifecycle

    def start(self) -> FaultProxy:
        """Bind 127.0.0.1 on a free port and start accepting; returns self."""
        if self._listener is not None or self._stopping.is_set():
            raise RuntimeError("FaultProxy can only be started once")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener.settimeout(0.5)
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"faultproxy-{self._port}-accept", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, abort every open connection and join all threads. Idempotent."""
        with self._lock:
            listener, self._listener = self._listener, None
            self._stopping.set()
        if listener is None:
            return
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=10)
        with self._lock:  # sockets are removed from the set (under the lock) before closing
            for sock in self._socks:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----- configuration

    def add(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        query_contains: str | None = None,
        times: int | None = 1,
        skip: int = 0,
    ) -> Rule:
        """Give ``fault`` to the next ``times`` matching requests (``None``: all of them) after
        letting the first ``skip`` matches through. Rules are tried in the order added; a
        skipped or exhausted rule lets the request fall through to later rules. ``path_contains``
        and ``query_contains`` are substrings of the raw (undecoded) request target."""
        rule = Rule(fault, method, path_contains, query_contains, times, skip)
        with self._lock:
            self._rules.append(rule)
        return rule

    def random_faults(self, rate: float, faults: Sequence[Fault], seed: int | None) -> None:
        """Give each request that no rule claimed a fault with probability ``rate``, chosen
        uniformly from ``faults`` by a ``random.Random(seed)``; ``rate=0`` switches this off.
        Deterministic for a given seed as long as requests arrive in a deterministic order."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be within [0, 1]")
        if rate and not faults:
            raise ValueError("faults must not be empty")
        with self._lock:
            self._random = (rate, tuple(faults), random.Random(seed)) if rate else None

    def clear(self) -> None:
        """Remove all rules and switch random mode off (the request/fired logs are kept)."""
        with self._lock:
            self._rules.clear()
            self._random = None

    # ----- observation

    @property
    def port(self) -> int:
        """The listening port (0 before ``start()``)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Copy of (method, raw request target) of every request head seen, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def fired(self) -> list[tuple[str, str, str]]:
        """Copy of (fault name, method, raw request target) for every fault given to a
        request (recorded when the request head has been read), in order."""
        with self._lock:
            return list(self._fired)

    @property
    def errors(self) -> list[str]:
        """Malformed HTTP seen and internal errors (should stay empty in a healthy test)."""
        with self._lock:
            return list(self._errors)

    @property
    def active_connections(self) -> int:
        """Client connections accepted and not yet fully closed."""
        with self._lock:
            return self._active

    @property
    def accepted_connections(self) -> int:
        """Client connections accepted so far (to check keep-alive reuse)."""
        with self._lock:
            return self._accepted

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until ``active_connections == 0``; return whether that happened in time."""
        deadline = time.monotonic() + timeout
        while self.active_connections:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    # ----- internals

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    break
                time.sleep(0.01)  # e.g. EMFILE; do not spin
                continue
            client.settimeout(None)
            with contextlib.suppress(OSError):
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._stopping.is_set():
                    client.close()
                    break
                self._socks.add(client)
                self._active += 1
                self._accepted += 1
                thread = threading.Thread(
                    target=self._serve,
                    args=(client,),
                    name=f"faultproxy-{self._port}-conn-{self._accepted}",
                    daemon=True,
                )
                self._threads.add(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        conn = _Connection(self, client)
        try:
            conn.run()
        finally:
            with self._lock:
                self._active -= 1
                self._threads.discard(threading.current_thread())

    def _register(self, sock: socket.socket) -> None:
        with self._lock:
            if self._stopping.is_set():
                sock.close()
                raise _Stopped
            self._socks.add(sock)

    def _release(self, sock: socket.socket) -> None:
        """Forget a socket before its owner closes it (so ``stop()`` never touches a closed fd)."""
        with self._lock:
            self._socks.discard(sock)

    def _error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)

    def _pick(self, method: str, target: str) -> Fault | None:
        with self._lock:
            self._requests.append((method, target))
            fault: Fault | None = None
            for rule in self._rules:
                if not rule.matches(method, target):
                    continue
                rule.matched += 1
                if rule.matched <= rule.skip:
                    continue
                if rule.times is not None and rule.injected >= rule.times:
                    continue
                rule.injected += 1
                fault = rule.fault
                break
            if fault is None and self._random is not None:
                rate, faults, rng = self._random
                if rng.random() < rate:
                    fault = rng.choice(faults)
            if fault is not None:
                self._fired.append((fault.name, method, target))
            return fault

    def _sleep(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise _Stopped


class _Connection:
    """Serves one client connection (and its one upstream connection) on one thread."""

    def __init__(self, proxy: FaultProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.creader = _Reader(client)
        self.up: socket.socket | None = None
        self.ureader = _Reader(client)  # replaced when connecting upstream

    def run(self) -> None:
        end = _ABORT
        try:
            while True:
                raw = self.creader.read_head()
                if raw is None:
                    end = _CLOSE
                    break
                req = _Request.parse(raw)
                fault = self.proxy._pick(req.method, req.target)
                end = self._handle(req, fault)
                if end != _KEEP:
                    break
        except (_PeerClosed, _Stopped, OSError):
            end = _ABORT
        except _ProtocolError as exc:
            self.proxy._error(f"protocol error: {exc}")
            end = _ABORT
        except Exception:
            self.proxy._error(traceback.format_exc())
            end = _ABORT
        finally:
            self.proxy._release(self.client)
            if end == _RESET:
                _reset(self.client)
            elif end == _CLOSE:
                _graceful_close(self.client)
            else:
                self.client.close()
            self._close_upstream()

    # ----- one request

    def _handle(self, req: _Request, fault: Fault | None) -> str:
        if _is_local(fault):
            if req.expect_continue:
                self.client.sendall(_CONTINUE)
            _copy_body(self.creader, req.kind, req.length, _discard)
            if isinstance(fault, Stall):
                self.proxy._sleep(fault.seconds)
                return _CLOSE
            if isinstance(fault, ErrorResponse):
                self.client.sendall(_error_bytes(fault, req.method, req.wants_close))
                return _CLOSE if req.wants_close else _KEEP
            self._flush_before_reset()
            return _RESET

        resp, early = self._forward(req)
        kind, length = resp.framing(req.method)
        up_closes = early or resp.closes(kind)

        if fault is None or isinstance(fault, (DelayFirstByte, StaleDate)):
            head = resp.raw
            if isinstance(fault, DelayFirstByte):
                self.proxy._sleep(fault.seconds)
            elif isinstance(fault, StaleDate):
                date = _http_date(time.time() + fault.offset_seconds)
                head = _replace_header(head, "Date", date)
            self.client.sendall(head)
            _copy_body(self.ureader, kind, length, self.client.sendall)
            return _CLOSE if up_closes or req.wants_close else _KEEP

        if isinstance(fault, (ResetAfterHeaders, ResetMidBody, TruncateBody)):
            self.client.sendall(resp.raw)
            if not isinstance(fault, ResetAfterHeaders):
                with contextlib.suppress(_BudgetSpent):
                    _copy_body(self.ureader, kind, length, _Budget(self.client, fault.after_bytes))
            if isinstance(fault, TruncateBody):
                return _CLOSE
            self._flush_before_reset()
            return _RESET

        # The response is swallowed: DropResponse, ErrorResponse(forward), Stall(forward).
        _copy_body(self.ureader, kind, length, _discard)
        if up_closes:
            self._close_upstream()
        if isinstance(fault, Stall):
            self.proxy._sleep(fault.seconds)
            return _CLOSE
        if isinstance(fault, ErrorResponse):
            close = req.wants_close or early
            self.client.sendall(_error_bytes(fault, req.method, close))
            return _CLOSE if close else _KEEP
        self._flush_before_reset()
        return _RESET

    def _forward(self, req: _Request) -> tuple[_Response, bool]:
        """Send the request upstream and return its final response head (interim 1xx heads
        are relayed to the client). ``early`` is True if the upstream answered before taking
        the whole request body, which leaves the client connection unusable afterwards."""
        up = self._upstream()
        up.sendall(req.raw)
        if req.expect_continue:
            deadline = time.monotonic() + _EXPECT_WAIT
            while True:
                if not self.ureader.buf:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not select.select([up], [], [], remaining)[0]:
                        break  # no answer: send the body anyway (RFC 9110, 10.1.1)
                resp = self._read_response()
                if not resp.interim:
                    return resp, True
                self.client.sendall(resp.raw)
                if resp.status == 100:
                    break

        def to_upstream(data: bytes) -> None:
            try:
                up.sendall(data)
            except OSError as exc:
                raise _UpstreamGone from exc

        try:
            _copy_body(self.creader, req.kind, req.length, to_upstream)
        except _UpstreamGone:
            return self._final_response(), True
        return self._final_response(), False

    def _read_response(self) -> _Response:
        raw = self.ureader.read_head()
        if raw is None:
            raise _PeerClosed("upstream closed before responding")
        resp = _Response.parse(raw)
        if resp.status == 101:
            raise _ProtocolError("101 Switching Protocols is not supported")
        return resp

    def _final_response(self) -> _Response:
        while True:
            resp = self._read_response()
            if not resp.interim:
                return resp
            self.client.sendall(resp.raw)

    def _upstream(self) -> socket.socket:
        """The upstream connection, (re)connecting if there is none or it was closed."""
        if self.up is not None:
            stale = bool(self.ureader.buf) or bool(select.select([self.up], [], [], 0)[0])
            if stale:  # idle connection closed by the upstream (or unsolicited bytes)
                self._close_upstream()
        if self.up is None:
            sock = socket.create_connection(self.proxy.upstream, timeout=self.proxy.connect_timeout)
            sock.settimeout(self.proxy.upstream_timeout)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.proxy._register(sock)
            self.up = sock
            self.ureader = _Reader(sock)
        return self.up

    def _close_upstream(self) -> None:
        if self.up is not None:
            self.proxy._release(self.up)
            self.up.close()
            self.up = None

    def _flush_before_reset(self) -> None:
        """Wait (briefly) until the bytes already sent to the client are acknowledged, because
        an RST discards whatever is still queued; the client then reads them before ECONNRESET."""
        if _TIOCOUTQ is None or fcntl is None:  # pragma: no cover - non-Linux
            time.sleep(0.05)
            return
        deadline = time.monotonic() + _RESET_FLUSH_WAIT
        buf = bytearray(struct.pack("i", 0))
        while time.monotonic() < deadline and not self.proxy._stopping.is_set():
            try:
                fcntl.ioctl(self.client.fileno(), _TIOCOUTQ, buf, True)
            except OSError:
                return
            if struct.unpack("i", buf)[0] == 0:
                return
            time.sleep(0.002)
