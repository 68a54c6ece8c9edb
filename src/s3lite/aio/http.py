"""HTTP/1.1 on asyncio: one `Connection` (an asyncio Protocol) per socket, httptools parsing
what arrives, and a bounded keep-alive `Pool` per host.

Chosen by measurement (benchmarks/async_engines.py): an asyncio Protocol feeding httptools
costs the client a fraction of aiohttp's CPU per small request, and httpcore's pool does not
scale past a few dozen connections. Only the parser is a library; this module writes
requests, frames bodies, pools connections and enforces timeouts.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from .timeouts import bounded

try:
    import httptools
except ImportError as exc:  # pragma: no cover - the extra is not installed
    raise ImportError(
        "the asyncio API needs httptools: install it with pip install 's3lite[async]'"
    ) from exc

__all__ = [
    "BODY_HIGH_WATER", "Connection", "Connector", "Head", "Pool", "PoolTimeout",
    "ProtocolViolation", "head_bytes", "ssl_context",
]  # fmt: skip

#: Response bytes buffered before the socket stops being read (a slow consumer of a
#: streamed body holds at most about this much in memory).
BODY_HIGH_WATER = 4 * 1024 * 1024
#: Request body bytes handed to the socket at once (then wait until it drains).
SEND_CHUNK = 1024 * 1024

_NO_BODY_STATUSES = frozenset({204, 304})


class ProtocolViolation(ConnectionError):
    """The server's bytes are not HTTP/1.1 (or the connection ended in mid-message)."""


class Head:
    """A response's status line and headers."""

    __slots__ = ("headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers


def head_bytes(method: str, target: str, headers: dict[str, str]) -> bytes:
    """The request line and headers, refusing a CR, LF or NUL in any of them (no header can
    smuggle another in)."""
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\0" in value or ":" in name or "\n" in name:
            raise ValueError(f"invalid character in the value of header {name!r}")
        lines.append(f"{name}: {value}")
    if "\r" in target or "\n" in target or " " in target:
        raise ValueError("invalid character in the request target")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: send a request, await its head, read its body in chunks.

    One request at a time; `reusable` says whether the next may follow on this socket.
    """

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.lost = False
        #: Done once the socket is closed (`connection_lost`).
        self.gone: asyncio.Future[None] = self.loop.create_future()
        self._error: BaseException | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._head_only = False
        self._head: Head | None = None
        self._headers: list[tuple[str, str]] = []
        self._reason = ""
        self._keep_alive = False
        self._framed = True  # the body's end is marked (length or chunked), not the EOF
        self._complete = False
        self._body: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self.received = 0  # body bytes of the current response handed to the reader
        self._request_sent = False  # the whole request went out (else the socket is spent)
        self._cut_short = False

    # --- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # nothing asked: an idle connection must not speak
            self._fail(ProtocolViolation("unexpected data on an idle connection"))
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ProtocolViolation(f"malformed response: {exc}"))

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.gone.done():
            self.gone.set_result(None)
        if self._head is not None and not self._framed and not self._complete and exc is None:
            self.on_message_complete()  # a body that runs to the end of the connection
        if not self._complete or self._head is None:
            self._fail(exc or ConnectionResetError("the server closed the connection"))
        self._wake_drain(exc or ConnectionResetError("the server closed the connection"))

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_drain(None)

    # --- httptools callbacks -------------------------------------------------------------------
    def on_status(self, reason: bytes) -> None:
        self._reason = reason.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        parser = self._parser
        assert parser is not None
        status = parser.get_status_code()
        if status < 200:  # an interim answer (100 Continue): the real one follows
            self._headers = []
            return
        self._keep_alive = parser.should_keep_alive()
        self._head = Head(status, self._reason, self._headers)
        if self._head_only or status in _NO_BODY_STATUSES:
            self._complete = True
        else:
            self._framed = any(
                n.lower() in ("content-length", "transfer-encoding") for n, _ in self._headers
            )
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._complete:
            return
        self._body.append(body)
        self._buffered += len(body)
        if self._buffered > BODY_HIGH_WATER and not self._reading_paused:
            assert self.transport is not None
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._head is None:  # end of an interim answer
            return
        if not self._complete:
            self._complete = True
            self._wake()
        # The parser resets itself now: it has said whether the connection stays open.

    # --- requests --------------------------------------------------------------------------------
    @property
    def reusable(self) -> bool:
        """Whether the answer was read to its end and the server keeps the connection."""
        return (
            self._complete
            and self._request_sent
            and self._keep_alive
            and not self._body
            and not self.lost
            and self._error is None
        )

    def begin(self, head_only: bool) -> None:
        """Get ready for the next response (`head_only`: it has no body, as for HEAD)."""
        self._parser = httptools.HttpResponseParser(self)
        self._head_only = head_only
        self._head = None
        self._headers = []
        self._reason = ""
        self._keep_alive = False
        self._framed = True
        self._complete = False
        self._body.clear()
        self._buffered = 0
        self.received = 0
        self._request_sent = False
        self._cut_short = False

    async def send(
        self,
        head: bytes,
        body: bytes | memoryview | Iterator[Any] | AsyncIterator[Any] | None,
        *,
        chunked: bool,
        timeout: float | None,
        offload: bool = False,
    ) -> None:
        """Write the request. A sync iterator is read on a worker thread when `offload` (file
        reads, signing frames) so the loop never waits on a disk."""
        transport = self.transport
        if self.lost or transport is None:
            raise self._error or ConnectionResetError("the connection is closed")
        if body is None or (isinstance(body, (bytes, memoryview)) and len(body) <= 64 * 1024):
            transport.write(head + body if body else head)
            self._request_sent = True
            return
        transport.write(head)
        if isinstance(body, (bytes, memoryview)):
            view = memoryview(body).cast("B")
            for i in range(0, len(view), SEND_CHUNK):
                await self._write(view[i : i + SEND_CHUNK], chunked=False, timeout=timeout)
        elif isinstance(body, AsyncIterator):
            async for chunk in body:
                if chunk:
                    await self._write(chunk, chunked=chunked, timeout=timeout)
        elif offload:
            while (chunk := await asyncio.to_thread(_next_copied, body)) is not None:
                await self._write(chunk, chunked=chunked, timeout=timeout)
        else:
            while (chunk := _next_copied(body)) is not None:
                await self._write(chunk, chunked=chunked, timeout=timeout)
        if chunked:
            await self._write(b"", chunked=True, timeout=timeout)
        # An early answer cut the body short: the server may still wait for the rest.
        self._request_sent = not self._cut_short

    async def _write(
        self, data: bytes | memoryview, *, chunked: bool, timeout: float | None
    ) -> None:
        if self._head is not None:
            self._cut_short = True  # the server answered already: the rest is not wanted
            return
        if self.lost:
            raise self._error or ConnectionResetError("the server closed the connection")
        transport = self.transport
        assert transport is not None
        if chunked:
            transport.write(b"%x\r\n" % len(data))
            if data:
                transport.write(data)
            transport.write(b"\r\n")
        else:
            transport.write(data)
        if self._writing_paused:
            waiter = self._drain_waiter = self.loop.create_future()
            await self._wait(waiter, timeout, "sending the request body")

    async def head(self, timeout: float | None) -> Head:
        """Wait for the response's status line and headers."""
        while self._head is None:
            if self._error is not None:
                raise self._error
            waiter = self._waiter = self.loop.create_future()
            await self._wait(waiter, timeout, "waiting for the response")
        return self._head

    async def read(self, amt: int, timeout: float | None) -> bytes:
        """Up to `amt` body bytes (at least one), b'' once the body has ended whole; a body
        cut short raises `ProtocolViolation` (or the connection's error)."""
        body = self._body
        while not body:
            if self._complete:
                return b""
            if self._error is not None:
                raise self._error
            waiter = self._waiter = self.loop.create_future()
            await self._wait(waiter, timeout, "reading the response body")
        chunk = body.popleft()
        if len(chunk) > amt:
            body.appendleft(chunk[amt:])
            chunk = chunk[:amt]
        else:
            while body and len(chunk) + len(body[0]) <= amt:
                chunk += body.popleft()
        self._buffered -= len(chunk)
        self.received += len(chunk)
        if self._reading_paused and self._buffered <= BODY_HIGH_WATER // 2:
            self._reading_paused = False
            assert self.transport is not None
            self.transport.resume_reading()
        return chunk

    def take_buffered(self) -> bytes | None:
        """The whole body when it has all arrived already (the common small answer), else None."""
        if not self._complete or self._error is not None:
            return None
        body = self._body
        data = b"".join(body) if len(body) != 1 else body[0]
        body.clear()
        self.received += len(data)
        self._buffered = 0
        return data

    @property
    def complete(self) -> bool:
        return self._complete and not self._body

    def idle(self) -> None:
        """Between requests: any byte the server sends now is an error."""
        self._parser = None

    def close(self) -> None:
        """Drop the connection at once (its half-read answer is abandoned; over TLS, without
        waiting for the server to acknowledge the close, as a plain socket close does)."""
        self.lost = True
        if self._error is None:
            self._error = ConnectionResetError("the connection was closed by the client")
        if self.transport is not None:
            self.transport.abort()

    # --- internals ------------------------------------------------------------------------------
    async def _wait(self, waiter: asyncio.Future[None], timeout: float | None, what: str) -> None:
        timer = None
        if timeout is not None:
            timer = self.loop.call_later(timeout, _expire, waiter, f"timed out {what}")
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            if self._waiter is waiter:
                self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _wake_drain(self, exc: BaseException | None) -> None:
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                if exc is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(exc)

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(exc)
        if not self.lost and self.transport is not None:
            self.lost = True
            self.transport.abort()


def _expire(waiter: asyncio.Future[None], message: str) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(message))


def _next_copied(body: Iterator[Any]) -> bytes | None:
    """The next non-empty chunk as bytes of its own (the source may reuse its buffer)."""
    for chunk in body:
        if chunk:
            return chunk if isinstance(chunk, bytes) else bytes(chunk)
    return None


#: Opens a connection within the given connect timeout (seconds).
Connector = Callable[[float], Awaitable[Connection]]


class Pool:
    """Keep-alive connections to one origin (or through one proxy), at most `max_size` open.

    A request waits up to `acquire`'s timeout for a free one; idle ones are reused newest
    first, after dropping any the server has closed meanwhile.
    """

    def __init__(self, connect: Connector, max_size: int) -> None:
        self._connect = connect
        self.max_size = max_size
        self._idle: list[Connection] = []
        self._open: set[Connection] = set()
        self._connecting = 0  # slots taken by connections being made
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    @property
    def size(self) -> int:
        """Connections open (idle or in use) or being made."""
        return len(self._open) + self._connecting

    async def acquire(
        self, timeout: float | None, connect_timeout: float
    ) -> tuple[Connection, bool]:
        """A connection for one request, and whether it was used before: waits up to
        `timeout` for a free one, gives a new one `connect_timeout` to connect."""
        while True:
            if self._closed:
                raise RuntimeError("the transport is closed")
            while self._idle:
                conn = self._idle.pop()
                if not conn.lost:
                    return conn, True
                self._open.discard(conn)
            if len(self._open) + self._connecting < self.max_size:
                break
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                # Woken as the caller is cancelled: the free slot goes to the next waiter.
                freed, _ = await bounded(waiter, timeout, lambda _: self._wake_one())
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if not freed:
                raise PoolTimeout(
                    f"no free connection within {timeout} s: all {self.max_size} are in use"
                )
        self._connecting += 1
        try:
            conn = await self._connect(connect_timeout)
        except BaseException:
            self._wake_one()
            raise
        finally:
            self._connecting -= 1
        self._open.add(conn)
        return conn, False

    def release(self, conn: Connection) -> None:
        """Hand a connection back: kept if its answer was read whole and it stays open."""
        if conn.reusable and not self._closed:
            conn.idle()
            self._idle.append(conn)
        else:
            conn.close()
            self._open.discard(conn)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        """Close every connection, idle or in use (a streamed answer still open then fails)."""
        self._closed = True
        conns = list(self._open)
        self._idle.clear()
        self._open.clear()
        for conn in conns:
            conn.close()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(RuntimeError("the transport is closed"))
        self._waiters.clear()
        if conns:  # let the transports finish closing their sockets
            await asyncio.wait([conn.gone for conn in conns], timeout=5)


class PoolTimeout(Exception):
    """No connection of the pool became free in time."""


def ssl_context(verify: bool | str) -> ssl.SSLContext:
    """A client TLS context: certificates and host names checked unless `verify` is False; a
    path is a CA bundle file or directory."""
    import os

    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(verify, str):
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        if os.path.isfile(verify):
            return ssl.create_default_context(cafile=verify)
        raise ValueError(f"verify: CA bundle {verify!r} does not exist")
    return ssl.create_default_context()
