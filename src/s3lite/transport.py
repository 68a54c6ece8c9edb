"""The one way out to the network: a shared urllib3 pool, retries, streaming bodies.

Backends build a `Request`, hand it to `Transport.send` with an `Auth` that signs each
attempt afresh, and get back a `Response` or a typed error.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from . import __version__
from .errors import (
    ClientError,
    RequestTimeTooSkewed,
    TransportError,
    transport_error_class,
)
from .http_policy import (
    ErrorParser,
    client_error,
    is_transient_ssl,
    proxy_for,
)
from .request_body import SEND_CHUNK, Body, BodyLike, BodyNotReplayable
from .response import S3_DIALECT, Dialect, Response
from .retries import Retrying, RetryPolicy

if TYPE_CHECKING:
    import urllib3

__all__ = [
    "Auth",
    "Body",
    "BodyLike",
    "BodyNotReplayable",
    "DeadlineExceeded",
    "ErrorParser",
    "Request",
    "Transport",
    "deadline_left",
    "delay_before_deadline",
    "make_pool_manager",
    "request_deadline",
]

log = logging.getLogger("s3lite")


#: Largest error body read into memory.
MAX_ERROR_BODY = 1024 * 1024
#: Largest body `Transport.send` reads into memory unless told otherwise (service documents:
#: listings, JSON answers, credentials); reading stops there.
MAX_DOCUMENT_BODY = 64 * 1024 * 1024


_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "s3lite_request_deadline", default=None
)


class DeadlineExceeded(TransportError):
    """A request could not be answered before the deadline set by `request_deadline`."""


@contextlib.contextmanager
def request_deadline(until: float) -> Iterator[None]:
    """Bound every request sent in this context (in this thread or task) to end by `until`, a
    `time.monotonic()` value: no attempt or retry starts after it, and each attempt's connect
    and read timeouts are cut to the time left. Nested deadlines keep the earliest."""
    current = _DEADLINE.get()
    token = _DEADLINE.set(until if current is None else min(current, until))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def deadline_left(request: Request, attempt: int) -> float | None:
    """Seconds left before this context's `request_deadline` (None: there is none), as
    attempt number `attempt` of `request` starts; raises `DeadlineExceeded` when none is
    left. Both transports cut each attempt's timeouts to it."""
    until = _DEADLINE.get()
    if until is None:
        return None
    left = until - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded(
            f"{request.method} {request.host}: no time left before the deadline "
            f"(after {attempt - 1} attempt{'s' * (attempt != 2)})",
            attempts=max(1, attempt - 1),
        )
    return left


def delay_before_deadline(delay: float) -> float:
    """A retry delay cut so that it ends by this context's `request_deadline` (the next
    attempt then fails at once with `DeadlineExceeded` instead of starting late)."""
    until = _DEADLINE.get()
    if until is not None:
        delay = min(delay, max(0.0, until - time.monotonic()))
    return delay


class Request:
    """One request as the backends build it, before signing.

    `path` is percent-encoded as sent; `query` is the canonical (sorted, encoded) query;
    `payload_hash` is the hex SHA-256 of the body, UNSIGNED-PAYLOAD or
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD; `resource` and `params` serve SigV2.
    """

    __slots__ = (
        "attempts", "body", "direct", "headers", "host", "method", "params", "path",
        "payload_hash", "query", "resource", "scheme",
    )  # fmt: skip

    def __init__(
        self,
        method: str,
        scheme: str,
        host: str,
        path: str,
        query: str = "",
        headers: dict[str, str] | None = None,
        body: Body | None = None,
        payload_hash: str | None = None,
        resource: str = "",
        params: list[tuple[str, str]] | None = None,
        direct: bool = False,
    ) -> None:
        self.method = method
        self.scheme = scheme
        self.host = host  # netloc: host[:port], as in the Host header
        self.path = path
        self.query = query
        self.headers = headers if headers is not None else {}
        self.body = body if body is not None else Body(None)
        self.payload_hash = payload_hash
        self.resource = resource
        self.params = params if params is not None else []
        #: Never through a proxy, whatever the environment or the pool manager says (credential
        #: endpoints: a proxy must never see their tokens nor answer in their place).
        self.direct = direct
        #: How many times the transport has sent this request so far (retries included):
        #: above 1, an earlier attempt may have taken effect although its answer was lost.
        self.attempts = 0

    @property
    def target(self) -> str:
        return self.path + ("?" + self.query if self.query else "")

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}{self.target}"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.scheme}://{self.host}{self.path}>"


class Attempt:
    """A request as one attempt sends it: its own headers and body, and the signing time."""

    __slots__ = ("body", "headers", "now", "request")

    def __init__(self, request: Request, headers: dict[str, str], body: Any, now: float) -> None:
        self.request = request
        self.headers = headers
        self.body = body  # bytes or an iterator of bytes
        self.now = now


class Auth(Protocol):
    """Signs attempts; may refresh itself after an auth error."""

    def sign(self, attempt: Attempt) -> None:
        """Add authentication to `attempt.headers` (and wrap `attempt.body` if it frames it).

        It may also re-target `attempt.request` (scheme, host, path): the connection is
        chosen after signing, so each attempt can go elsewhere (B2 sends a retried upload to
        a fresh upload URL)."""

    def refresh(self, error: ClientError) -> bool:
        """After an auth error: renew credentials and return True to retry once."""


#: Parses an error body into (code, message, request_id, resource, host_id).


def make_pool_manager(
    *,
    max_connections: int = 10,
    verify: bool | str = True,
    proxy_url: str | None = None,
) -> urllib3.PoolManager:
    """A PoolManager set up as s3lite wants it: bounded, blocking, TLS verified.

    `block=True` makes threads wait for a free connection instead of opening extra ones that
    would be thrown away ("connection pool is full").
    """
    import urllib3

    kwargs: dict[str, Any] = {
        "num_pools": 32,
        "maxsize": max_connections,
        "block": True,
        "blocksize": 256 * 1024,
    }
    if verify is False:
        # urllib3 warns (InsecureRequestWarning) on each host's unverified connections, as
        # botocore leaves it: silencing it would take a process-wide filter, which would
        # silence it for every other client in the process too.
        kwargs["cert_reqs"] = "CERT_NONE"
    else:
        kwargs["cert_reqs"] = "CERT_REQUIRED"
        if isinstance(verify, str):
            if os.path.isdir(verify):
                kwargs["ca_cert_dir"] = verify
            elif os.path.isfile(verify):
                kwargs["ca_certs"] = verify
            else:
                raise ValueError(f"verify: CA bundle {verify!r} does not exist")
    if proxy_url:
        return urllib3.ProxyManager(proxy_url, **kwargs)
    return urllib3.PoolManager(**kwargs)


class Transport:
    """Sends requests with retries on one shared connection pool.

    Thread-safe; share one between sessions to share connections, the retry quota and the
    adaptive rate limiter.
    """

    def __init__(
        self,
        *,
        max_pool_connections: int = 10,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        verify: bool | str = True,
        retry: RetryPolicy | None = None,
        pool_manager: urllib3.PoolManager | None = None,
        pool_timeout: float | None = None,
        user_agent: str | None = None,
        resolve: dict[str, str] | None = None,
    ) -> None:
        import urllib3

        if max_pool_connections < 1:
            raise ValueError("max_pool_connections must be at least 1")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive numbers of seconds")
        self.retry = retry or RetryPolicy()
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.pool_timeout = pool_timeout if pool_timeout is not None else read_timeout
        self.verify = verify
        self.max_pool_connections = max_pool_connections
        self._pool_manager = pool_manager
        self._proxy_managers: dict[str, urllib3.PoolManager] = {}
        self._proxy_cache: dict[tuple[str, str], str | None] = {}
        # (scheme, host, direct) -> (manager, pool key, host name, resolved address, absolute)
        self._pool_keys: dict[tuple[str, str, bool], tuple[Any, Any, str, str | None, bool]] = {}
        self._lock = threading.Lock()
        self.user_agent = user_agent or f"s3lite/{__version__}"
        #: host name -> address to connect to instead of resolving it (like curl --resolve);
        #: the Host header and TLS server name stay the host name.
        self.resolve = dict(resolve or {})
        #: Seconds to add to the local clock so signatures match the server's (skew fix).
        self.clock_offset = 0.0

    def now(self) -> float:
        return time.time() + self.clock_offset

    @property
    def pool_manager(self) -> urllib3.PoolManager:
        """The shared pool (made on first use, so a session costs nothing until it sends)."""
        manager = self._pool_manager
        if manager is None:
            with self._lock:
                manager = self._pool_manager
                if manager is None:
                    manager = make_pool_manager(
                        max_connections=self.max_pool_connections, verify=self.verify
                    )
                    self._pool_manager = manager
        return manager

    def _direct_manager(self) -> urllib3.PoolManager:
        """A pool manager that goes to hosts directly: the shared one, unless that is a
        proxy manager (then one of its own, made on first use)."""
        manager = self.pool_manager
        if not _is_proxy_manager(manager):
            return manager
        with self._lock:
            direct = self._proxy_managers.get("")
            if direct is None:
                direct = make_pool_manager(
                    max_connections=self.max_pool_connections, verify=self.verify
                )
                self._proxy_managers[""] = direct
        return direct

    def _pool(self, scheme: str, host: str, direct: bool = False) -> tuple[Any, bool]:
        """The connection pool for a host, and whether the target must be an absolute URL.

        The pool's key in its manager is worked out on a host's first request and kept: later
        requests only look the pool up (which also keeps it recently used). An evicted or
        closed pool, or a changed `resolve`, takes the full way again."""
        found = self._pool_keys.get((scheme, host, direct))
        if found is not None:
            manager, pool_key, hostname, address, absolute = found
            if self.resolve.get(hostname) == address:
                pool = manager.pools.get(pool_key)
                if pool is not None:
                    return pool, absolute
        manager = self._direct_manager() if direct else self.pool_manager
        if not direct and not _is_proxy_manager(manager):
            key = (scheme, host)
            proxy = self._proxy_cache.get(key, "")
            if proxy == "":  # not looked up yet: the environment is read once per host
                proxy = self._proxy_cache[key] = proxy_for(scheme, host)
            if proxy:
                with self._lock:
                    proxied = self._proxy_managers.get(proxy)
                    if proxied is None:
                        proxied = make_pool_manager(
                            max_connections=self.max_pool_connections,
                            verify=self.verify,
                            proxy_url=proxy,
                        )
                        self._proxy_managers[proxy] = proxied
                manager = proxied
        hostname, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        if not hostname:
            hostname, port = host, ""
        default_port = 443 if scheme == "https" else 80
        name = hostname = hostname.strip("[]")
        address = self.resolve.get(hostname)
        pool_kwargs = None
        if address is not None:
            if scheme == "https":
                pool_kwargs = {"server_hostname": hostname, "assert_hostname": hostname}
            hostname = address
        port_number = int(port) if port else default_port
        pool = manager.connection_from_host(
            hostname, port_number, scheme=scheme, pool_kwargs=pool_kwargs
        )
        absolute = _is_proxy_manager(manager) and scheme == "http"
        pool_key = _pool_key(manager, hostname, port_number, scheme, pool_kwargs)
        if pool_key is not None and manager.pools.get(pool_key) is pool:
            self._pool_keys[(scheme, host, direct)] = (manager, pool_key, name, address, absolute)
        return pool, absolute

    def send(
        self,
        request: Request,
        auth: Auth | None,
        *,
        stream: bool = False,
        dialect: Dialect = S3_DIALECT,
        error_parser: ErrorParser | None = None,
        ok: Callable[[int], bool] | None = None,
        resume: Callable[[int], Any] | None = None,
        max_body: int | None = MAX_DOCUMENT_BODY,
    ) -> Response:
        """Send with retries; return the response or raise a typed error.

        `ok` says which statuses are success (default 2xx). With `stream`, the body is left
        on the connection for the caller to read; otherwise it is read now, and a body over
        `max_body` bytes (None: no bound, for object data) is refused as `MalformedResponse`
        as soon as that is known, without reading the rest.
        """
        head = request.method == "HEAD"
        preload = not stream or head
        attempt = 0
        while True:
            attempt += 1
            raw = self.send_raw(request, auth, error_parser=error_parser, ok=ok)
            try:
                response = Response(
                    raw,
                    dialect,
                    preload=preload,
                    resume=resume,
                    max_resumes=self.retry.max_attempts,
                    expected_length=0 if head or raw.status in (204, 304) else None,
                    max_body=max_body,
                )
            except TransportError as exc:
                # The response broke while its body was being read in: send it again.
                exc.attempts = request.attempts
                if not preload or attempt >= self.retry.max_attempts:
                    raise
                if not request.body.replayable:
                    raise
                log.debug("response body broke; resending %s %s", request.method, request.path)
                continue
            response.attempts = request.attempts
            return response

    def send_raw(
        self,
        request: Request,
        auth: Auth | None,
        *,
        error_parser: ErrorParser | None = None,
        ok: Callable[[int], bool] | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """Like `send`, but returns urllib3's response with the body still unread."""
        limiter = self.retry.limiter
        retrying = Retrying(self.retry, request)
        while True:
            attempt = retrying.next()
            attempt_timeout, pool_timeout = self._timeout_within(request, attempt)
            request.attempts += 1
            if limiter is not None:
                limiter.acquire()
            headers = dict(request.headers)
            headers.setdefault("User-Agent", self.user_agent)
            body = request.body.open()
            current = Attempt(request, headers, body, self.now())
            if auth is not None:
                auth.sign(current)
            pool, absolute = self._pool(request.scheme, request.host, request.direct)
            target = request.url if absolute else request.target
            send_body = current.body if request.method not in ("GET", "HEAD") else None
            if isinstance(send_body, (bytes, bytearray, memoryview)):
                send_body = _in_chunks(send_body, current.headers)
            try:
                raw: urllib3.BaseHTTPResponse = pool.urlopen(
                    request.method,
                    target,
                    body=send_body,
                    headers=current.headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=attempt_timeout,
                    pool_timeout=pool_timeout,
                    preload_content=False,
                    decode_content=False,
                    release_conn=False,
                    chunked=False,
                )
            except Exception as exc:
                empty_pool, http_error, ssl_error, timeout_error = _urllib3_errors()
                if isinstance(exc, empty_pool):
                    raise TransportError(
                        f"no free connection to {request.host} within {self.pool_timeout} s: "
                        f"all {self.max_pool_connections} are in use (are streamed responses "
                        "being closed?); raise max_pool_connections for more concurrency",
                        attempts=attempt,
                        retryable=False,
                    ) from exc
                if not isinstance(exc, (http_error, OSError)):
                    raise
                describe = f"{request.method} {request.host}: {type(exc).__name__}: {exc}"
                delay = retrying.after_failure(
                    exc,
                    transport_error_class(exc),
                    describe,
                    retryable=not isinstance(exc, ssl_error) or is_transient_ssl(exc),
                    timeout=isinstance(exc, timeout_error),
                )
                _sleep_within(delay)
                continue
            status = raw.status
            if ok(status) if ok is not None else 200 <= status < 300:
                retrying.succeeded()
                return raw
            error = self._error(request, raw, error_parser)
            retrying.answered(error)
            if isinstance(error, RequestTimeTooSkewed) and error.server_date is not None:
                self.clock_offset = error.server_date - time.time()
                log.debug("clock offset corrected to %.1f s", self.clock_offset)
            if (
                retrying.may_refresh(error, auth)
                and auth is not None
                and auth.refresh(error)
                and retrying.refreshed_now()
            ):
                continue
            _sleep_within(retrying.after_error(error))

    def _timeout_within(
        self, request: Request, attempt: int
    ) -> tuple[urllib3.Timeout, float | None]:
        """This attempt's timeouts (and wait for a pooled connection), cut to what is left of
        a `request_deadline`."""
        left = deadline_left(request, attempt)
        if left is None:
            return self.timeout, self.pool_timeout
        connect, read = self.timeout.connect_timeout, self.timeout.read_timeout
        timeout = type(self.timeout)(
            connect=left if not isinstance(connect, (int, float)) else min(connect, left),
            read=left if not isinstance(read, (int, float)) else min(read, left),
        )
        pool = self.pool_timeout
        return timeout, left if pool is None else min(pool, left)

    def _error(
        self, request: Request, raw: urllib3.BaseHTTPResponse, parser: ErrorParser | None
    ) -> ClientError:
        """Read (a bounded amount of) an error response, release it, build the typed error."""
        data = b""
        try:
            if request.method != "HEAD":
                data = raw.read(MAX_ERROR_BODY, decode_content=False) or b""
        except Exception as exc:  # the status alone still tells the error
            log.debug("could not read error body: %r", exc)
        finally:
            raw.close()
            raw.release_conn()
        return client_error(raw.status, raw.reason or "", raw.headers, data, parser, request.path)

    def close(self) -> None:
        """Close every pooled connection (a connection in use is closed when it is released).

        urllib3 2's `PoolManager.clear()` only forgets its pools, leaving their idle
        connections open until garbage collection: each pool is closed here."""
        managers = [self._pool_manager, *self._proxy_managers.values()]
        for manager in managers:
            if manager is None:
                continue
            pools = [manager.pools.get(key) for key in manager.pools.keys()]  # noqa: SIM118
            manager.clear()
            for pool in pools:
                if pool is not None:
                    pool.close()

    def __repr__(self) -> str:
        return (
            f"Transport(max_pool_connections={self.max_pool_connections}, "
            f"retry={self.retry!r}, verify={self.verify!r})"
        )


def _in_chunks(
    data: bytes | bytearray | memoryview, headers: dict[str, str]
) -> bytes | bytearray | memoryview | Iterator[memoryview]:
    """An in-memory body larger than `SEND_CHUNK`, as chunks (with its Content-Length set):
    the socket timeout bounds each send, so one `sendall` of the whole body would have to
    finish within the timeout, and a large body on a slow link would fail."""
    if type(data) is bytes and len(data) <= SEND_CHUNK:
        return data  # the common case, without a memoryview
    view = memoryview(data)
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    if view.nbytes <= SEND_CHUNK:
        return data
    if not any(name.lower() in ("content-length", "transfer-encoding") for name in headers):
        headers["Content-Length"] = str(view.nbytes)
    return (view[i : i + SEND_CHUNK] for i in range(0, len(view), SEND_CHUNK))


def _sleep_within(delay: float) -> None:
    """Sleep before a retry, but not past a `request_deadline`."""
    time.sleep(delay_before_deadline(delay))


def _pool_key(
    manager: Any, host: str, port: int, scheme: str, pool_kwargs: dict[str, Any] | None
) -> Any:
    """The key under which a plain urllib3 PoolManager files the pool `connection_from_host`
    gives for these arguments (as it works it out); None for any other manager."""
    import urllib3

    if type(manager) is not urllib3.PoolManager:
        return None  # a proxy manager, or a subclass that may choose its pools differently
    context = dict(manager.connection_pool_kw)
    for key, value in (pool_kwargs or {}).items():
        if value is None:
            context.pop(key, None)
        else:
            context[key] = value
    context.update(scheme=scheme, port=port, host=host)
    make_key = manager.key_fn_by_scheme.get(scheme.lower())
    return make_key(context) if make_key is not None else None


_URLLIB3_ERRORS: tuple[type[BaseException], ...] = ()


def _urllib3_errors() -> tuple[type[BaseException], ...]:
    """urllib3's EmptyPoolError, HTTPError, SSLError and TimeoutError (imported on the first
    failure: a request that succeeds never needs them)."""
    global _URLLIB3_ERRORS  # noqa: PLW0603 - filled once, lazily (keeps urllib3 out of import)
    if not _URLLIB3_ERRORS:
        from urllib3.exceptions import EmptyPoolError, HTTPError, SSLError, TimeoutError

        _URLLIB3_ERRORS = (EmptyPoolError, HTTPError, SSLError, TimeoutError)
    return _URLLIB3_ERRORS


def _is_proxy_manager(manager: object) -> bool:
    return type(manager).__name__ == "ProxyManager"


#: The name tests and older callers knew the proxy choice by.
_proxy_for = proxy_for
