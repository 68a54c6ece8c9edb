"""The async way out to the network: pooled keep-alive connections per host, the same retry
decisions, rate limiting, signing and typed errors as `transport.Transport`, and responses
whose bodies are read whole or streamed."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import (
    ConnectionFailed,
    MalformedResponse,
    RequestTimeTooSkewed,
    TransportError,
    TransportTimeout,
)
from ..http_policy import client_error, is_transient_ssl, proxy_for
from ..response import S3_DIALECT, Dialect
from ..retries import AdaptiveRateLimiter, Retrying, RetryPolicy
from ..transport import (
    MAX_DOCUMENT_BODY,
    MAX_ERROR_BODY,
    Attempt,
    Auth,
    ErrorParser,
    Request,
    deadline_left,
    delay_before_deadline,
)
from .body import AsyncBody
from .http import Connection, Connector, Pool, PoolTimeout, head_bytes, ssl_context
from .response import AsyncResponse, AsyncResumer
from .timeouts import await_within

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["AsyncTransport"]

log = logging.getLogger("s3lite")

_NETWORK_ERRORS = (OSError, TimeoutError, asyncio.TimeoutError, ssl.SSLError)
_NO_BODY_METHODS = frozenset({"GET", "HEAD"})


def _abandon(made: tuple[asyncio.BaseTransport, Connection]) -> None:
    """Close a connection made for a caller that was cancelled meanwhile."""
    made[1].close()


def _abort(transport: asyncio.BaseTransport | None) -> None:
    """Close a TLS transport made for a caller that was cancelled meanwhile."""
    if isinstance(transport, asyncio.Transport):
        transport.abort()
    elif transport is not None:
        transport.close()


def _failure(exc: BaseException) -> tuple[type[TransportError], bool]:
    """The error class a network failure becomes, and whether a new attempt may succeed."""
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return TransportTimeout, True
    if isinstance(exc, ssl.SSLError):
        return ConnectionFailed, is_transient_ssl(exc)
    return ConnectionFailed, True


class AsyncTransport:
    """Sends requests with retries over pooled keep-alive connections, on one event loop.

    `max_pool_connections` bounds the connections to each host (and through each proxy);
    `connect_timeout` and `read_timeout` bound each attempt's connect and each wait for the
    server; `pool_timeout` bounds the wait for a free connection (default: `read_timeout`).
    A `s3lite.transport.request_deadline` around the await cuts them all to the time left,
    as for the sync transport.
    """

    def __init__(
        self,
        *,
        max_pool_connections: int = 10,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        verify: bool | str = True,
        retry: RetryPolicy | None = None,
        pool_timeout: float | None = None,
        user_agent: str | None = None,
        resolve: dict[str, str] | None = None,
    ) -> None:
        if max_pool_connections < 1:
            raise ValueError("max_pool_connections must be at least 1")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive numbers of seconds")
        if isinstance(verify, str):
            ssl_context(verify)  # a missing CA bundle is refused now, not at the first request
        self.retry = retry or RetryPolicy()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.pool_timeout = pool_timeout if pool_timeout is not None else read_timeout
        self.verify = verify
        self.max_pool_connections = max_pool_connections
        self.user_agent = user_agent or f"s3lite/{__version__}"
        #: host name -> address to connect to instead of resolving it (like curl --resolve);
        #: the Host header and TLS server name stay the host name.
        self.resolve = dict(resolve or {})
        #: Seconds to add to the local clock so signatures match the server's (skew fix).
        self.clock_offset = 0.0
        self._pools: dict[tuple[str, str, bool], tuple[Pool, bool]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._limiter_thread: ThreadPoolExecutor | None = None
        self._closed = False

    def now(self) -> float:
        return time.time() + self.clock_offset

    # --- connections -----------------------------------------------------------------------------
    def _pool(self, scheme: str, host: str, direct: bool) -> tuple[Pool, bool]:
        """The pool for a host, and whether the target must be an absolute URL (HTTP proxy)."""
        key = (scheme, host, direct)
        found = self._pools.get(key)
        if found is not None:
            return found
        if self._closed:
            raise RuntimeError("the transport is closed")
        proxy = None if direct else proxy_for(scheme, host)
        pool = Pool(self._connector(scheme, host, proxy), self.max_pool_connections)
        found = self._pools[key] = (pool, proxy is not None and scheme == "http")
        return found

    def _connector(self, scheme: str, host: str, proxy: str | None) -> Connector:
        hostname, _, port_text = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        if not hostname:
            hostname, port_text = host, ""
        hostname = hostname.strip("[]")
        port = int(port_text) if port_text else (443 if scheme == "https" else 80)
        address = self.resolve.get(hostname, hostname)
        proxy_host: str | None = None
        proxy_port = 80
        if proxy:
            from urllib.parse import urlsplit

            parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            if parts.scheme != "http":
                raise ValueError(f"unsupported proxy scheme {parts.scheme!r} (use http://)")
            proxy_host, proxy_port = parts.hostname or "", parts.port or 80

        async def connect(timeout: float) -> Connection:
            loop = asyncio.get_running_loop()
            tls = self._tls() if scheme == "https" else None
            if proxy_host is None:
                _, conn = await await_within(
                    loop.create_connection(
                        Connection, address, port, ssl=tls,
                        server_hostname=hostname if tls is not None else None,
                    ),
                    timeout, f"connecting to {hostname}:{port}", _abandon,
                )  # fmt: skip
                return conn
            _, conn = await await_within(
                loop.create_connection(Connection, proxy_host, proxy_port),
                timeout, f"connecting to the proxy {proxy_host}:{proxy_port}", _abandon,
            )  # fmt: skip
            if tls is None:
                return conn
            try:  # HTTPS through the proxy: a CONNECT tunnel, then TLS inside it
                target = f"{address}:{port}" if ":" not in address else f"[{address}]:{port}"
                conn.begin(head_only=True)
                await conn.send(
                    head_bytes("CONNECT", target, {"Host": target}),
                    None, chunked=False, timeout=timeout,
                )  # fmt: skip
                answer = await conn.head(timeout)
                if answer.status != 200:
                    raise ConnectionRefusedError(
                        f"the proxy refused the tunnel: {answer.status} {answer.reason}"
                    )
                assert conn.transport is not None
                tunnelled = await await_within(
                    loop.start_tls(conn.transport, conn, tls, server_hostname=hostname),
                    timeout, f"in the TLS handshake with {hostname} through the proxy",
                    _abort,
                )  # fmt: skip
                assert isinstance(tunnelled, asyncio.Transport)
                conn.transport = tunnelled
            except BaseException:
                conn.close()
                raise
            return conn

        return connect

    @property
    def open_connections(self) -> int:
        """Connections open now (idle or in use), over every host."""
        return sum(pool.size for pool, _ in self._pools.values())

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl_context(self.verify)
        return self._ssl

    # --- sending -------------------------------------------------------------------------------
    async def send(
        self,
        request: Request,
        auth: Auth | None,
        *,
        stream: bool = False,
        dialect: Dialect = S3_DIALECT,
        error_parser: ErrorParser | None = None,
        ok: Callable[[int], bool] | None = None,
        max_body: int | None = MAX_DOCUMENT_BODY,
        resume: AsyncResumer | None = None,
    ) -> AsyncResponse:
        """Send with retries; return the response or raise a typed error.

        `ok` says which statuses are success (default 2xx). With `stream`, the body is left
        on the connection for the caller to read; otherwise it is read now, and a body over
        `max_body` bytes (None: no bound) is refused as `MalformedResponse` as soon as that
        is known. `dialect` names the backend's object headers; `error_parser` reads its
        error bodies; `resume(delivered)` continues a body that breaks (see `AsyncResponse`).
        """
        preload = not stream or request.method == "HEAD"
        attempt = 0
        while True:
            attempt += 1
            response = await self.send_raw(
                request, auth, dialect=dialect, error_parser=error_parser, ok=ok
            )
            # A HEAD's Content-Length is the object's size, not a body to bound.
            response.max_body = max_body if request.method != "HEAD" else None
            if resume is not None:
                response.resume_with(resume, self.retry.max_attempts)
            if not preload:
                response.attempts = request.attempts
                return response
            try:
                await response.load()
            except TransportError as exc:
                # The response broke while its body was being read in: send it again.
                exc.attempts = request.attempts
                if attempt >= self.retry.max_attempts or not request.body.replayable:
                    raise
                log.debug("response body broke; resending %s %s", request.method, request.path)
                continue
            response.attempts = request.attempts
            return response

    async def send_raw(
        self,
        request: Request,
        auth: Auth | None,
        *,
        dialect: Dialect = S3_DIALECT,
        error_parser: ErrorParser | None = None,
        ok: Callable[[int], bool] | None = None,
    ) -> AsyncResponse:
        """Like `send`, but returns with the body still unread, whatever the method."""
        limiter = self.retry.limiter
        retrying = Retrying(self.retry, request)
        # An auth with `async def prepare()` gets what it signs with (a token, an upload URL)
        # before each attempt, without blocking the loop; its `sign` then only uses it.
        prepare = getattr(auth, "prepare", None)
        while True:
            attempt = retrying.next()
            timeouts = self._timeouts(request, attempt)
            request.attempts += 1
            if limiter is not None and limiter.enabled:
                await self._rate_token(limiter)
            if prepare is not None:
                await prepare()
            try:
                response = await self._attempt(request, auth, dialect, timeouts)
            except PoolTimeout as exc:
                raise TransportError(
                    f"no free connection to {request.host} within {self.pool_timeout} s: all "
                    f"{self.max_pool_connections} are in use (are streamed responses being "
                    "closed?); raise max_pool_connections for more concurrency",
                    attempts=attempt,
                    retryable=False,
                ) from exc
            except _NETWORK_ERRORS as exc:
                cls, retryable = _failure(exc)
                describe = f"{request.method} {request.host}: {type(exc).__name__}: {exc}"
                delay = retrying.after_failure(
                    exc, cls, describe, retryable=retryable, timeout=cls is TransportTimeout
                )
                await asyncio.sleep(delay_before_deadline(delay))
                continue
            status = response.status
            if ok(status) if ok is not None else 200 <= status < 300:
                retrying.succeeded()
                return response
            error = client_error(
                status,
                response.reason,
                response.headers,
                await self._error_body(request, response),
                error_parser,
                request.path,
            )
            retrying.answered(error)
            if isinstance(error, RequestTimeTooSkewed) and error.server_date is not None:
                self.clock_offset = error.server_date - time.time()
                log.debug("clock offset corrected to %.1f s", self.clock_offset)
            if (
                retrying.may_refresh(error, auth)
                and auth is not None
                and await asyncio.to_thread(auth.refresh, error)
                and retrying.refreshed_now()
            ):
                continue
            await asyncio.sleep(delay_before_deadline(retrying.after_error(error)))

    def _timeouts(self, request: Request, attempt: int) -> tuple[float, float, float]:
        """This attempt's connect, read and pool-wait timeouts, cut to what is left of a
        `request_deadline` (`DeadlineExceeded` when nothing is), as the sync transport's."""
        left = deadline_left(request, attempt)
        if left is None:
            return self.connect_timeout, self.read_timeout, self.pool_timeout
        return (
            min(self.connect_timeout, left),
            min(self.read_timeout, left),
            min(self.pool_timeout, left),
        )

    async def _rate_token(self, limiter: AdaptiveRateLimiter) -> None:
        """Wait for the adaptive limiter's next send token. Its `acquire` sleeps, so it runs
        on a thread of its own: tokens come one at a time anyway, and the loop and the
        default executor (file reads) never wait behind it."""
        executor = self._limiter_thread
        if executor is None:
            from concurrent.futures import ThreadPoolExecutor

            executor = ThreadPoolExecutor(1, thread_name_prefix="s3lite-rate-limiter")
            self._limiter_thread = executor
        await asyncio.get_running_loop().run_in_executor(executor, limiter.acquire)

    async def _attempt(
        self,
        request: Request,
        auth: Auth | None,
        dialect: Dialect,
        timeouts: tuple[float, float, float],
    ) -> AsyncResponse:
        """One attempt: sign, take a connection, send, wait for the status and headers
        (`timeouts`: connect, read and pool wait)."""
        connect_timeout, read_timeout, pool_timeout = timeouts
        headers = dict(request.headers)
        headers.setdefault("User-Agent", self.user_agent)
        source = request.body
        body = source.aopen() if isinstance(source, AsyncBody) else source.open()
        current = Attempt(request, headers, body, self.now())
        if auth is not None:
            auth.sign(current)
        method = request.method
        pool, absolute = self._pool(request.scheme, request.host, request.direct)
        target = request.url if absolute else request.target
        headers = current.headers
        names = {name.lower() for name in headers}
        if "host" not in names:
            headers["Host"] = request.host
        if "accept-encoding" not in names:
            headers["Accept-Encoding"] = "identity"
        send_body = current.body if method not in _NO_BODY_METHODS else None
        chunked = False
        if send_body is not None and "content-length" not in names:
            if isinstance(send_body, (bytes, bytearray, memoryview)):
                headers["Content-Length"] = str(memoryview(send_body).nbytes)
            elif "transfer-encoding" in names:
                chunked = True
            else:
                headers["Transfer-Encoding"] = "chunked"
                chunked = True
        head = head_bytes(method, target, headers)
        if isinstance(send_body, bytearray):
            send_body = bytes(send_body)
        conn, _ = await pool.acquire(pool_timeout, connect_timeout)
        try:
            conn.begin(head_only=method == "HEAD")
            await conn.send(head, send_body, chunked=chunked, timeout=read_timeout,
                            offload=True)  # fmt: skip
            answer = await conn.head(read_timeout)
        except BaseException:
            conn.close()
            pool.release(conn)
            raise
        return AsyncResponse(
            answer.status,
            answer.headers,
            dialect,
            reason=answer.reason,
            conn=conn,
            release=pool.release,
            read_timeout=read_timeout,
        )

    async def _error_body(self, request: Request, response: AsyncResponse) -> bytes:
        """A bounded prefix of an error answer's body; the connection is released after."""
        parts: list[bytes] = []
        total = 0
        try:
            if request.method != "HEAD":
                while total < MAX_ERROR_BODY:
                    chunk = await response.read(MAX_ERROR_BODY - total)
                    if not chunk:
                        break
                    parts.append(chunk)
                    total += len(chunk)
        except (TransportError, MalformedResponse) as exc:  # the status alone still tells
            log.debug("could not read error body: %r", exc)
        finally:
            response.close()
        return b"".join(parts)

    async def aclose(self) -> None:
        """Close every connection (a streamed response still open fails after this)."""
        self._closed = True
        pools = [pool for pool, _ in self._pools.values()]
        self._pools.clear()
        for pool in pools:
            await pool.close()
        if self._limiter_thread is not None:
            self._limiter_thread.shutdown(wait=False, cancel_futures=True)
            self._limiter_thread = None

    async def __aenter__(self) -> AsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"AsyncTransport(max_pool_connections={self.max_pool_connections}, "
            f"retry={self.retry!r}, verify={self.verify!r})"
        )
