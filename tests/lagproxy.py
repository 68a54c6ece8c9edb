"""A loopback HTTP/1.1 proxy that delays or stalls chosen requests, for one client only.

Point one client at ``proxy.url`` and leave the others on the real server: the proxy forwards
every request to ``upstream`` (an ``http://127.0.0.1:PORT`` URL) and relays the answer, with
its ``Host`` header unchanged (SigV4 signatures stay valid) and the server's ``Date`` intact.
Rules hold chosen requests back *before* forwarding them (the server sees them late) or hold
the answer back *after* the server has acted (the client learns late)::

    with LagProxy(seaweed.endpoint_url) as proxy:
        proxy.delay(8, method="GET", query_contains="list-type", when="after")
        client = S3Session(..., endpoint_url=proxy.url)

With ``rewrite=True`` the upstream URL is replaced by the proxy's in response bodies, so that a
B2 client authorized through the proxy gets the proxy's URL as its apiUrl, downloadUrl and
upload URLs and keeps using it. Bodies are read whole (lock traffic is small); request bodies
need a Content-Length. Standard library only.
"""

from __future__ import annotations

import http.client
import http.server
import socketserver
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LagProxy", "LagRule"]

_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade"}


@dataclass
class LagRule:
    """Hold matching requests ``seconds`` before forwarding (``when="before"``) or before
    relaying the answer (``"after"``); ``times=None`` for every match."""

    seconds: float
    when: str = "after"
    method: str | None = None
    path_contains: str | None = None
    query_contains: str | None = None
    times: int | None = 1
    matched: int = 0
    fired: list[float] = field(default_factory=list)  # monotonic times the rule fired

    def matches(self, method: str, target: str) -> bool:
        path, _, query = target.partition("?")
        return (
            (self.method is None or self.method == method)
            and (self.path_contains is None or self.path_contains in path)
            and (self.query_contains is None or self.query_contains in query)
        )


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    proxy: LagProxy


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _relay(self) -> None:
        proxy = self.server.proxy
        if self.headers.get("Transfer-Encoding"):
            self.send_error(501, "chunked request bodies are not supported")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rule = proxy._pick(self.command, self.path)
        if rule is not None and rule.when == "before" and not proxy._sleep(rule.seconds):
            self.close_connection = True
            return
        upstream = http.client.HTTPConnection(proxy._host, proxy._port, timeout=120)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP:
                    upstream.putheader(name, value)
            upstream.endheaders(body or None)
            response = upstream.getresponse()
            data = response.read()
            headers = response.getheaders()
            status, reason = response.status, response.reason
        finally:
            upstream.close()
        if proxy.rewrite:
            data = data.replace(proxy.upstream.encode(), proxy.url.encode())
        if rule is not None and rule.when == "after" and not proxy._sleep(rule.seconds):
            self.close_connection = True
            return
        self.send_response_only(status, reason)
        for name, value in headers:
            lowered = name.lower()
            if lowered in _HOP or (lowered == "content-length" and self.command != "HEAD"):
                continue
            self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True  # the client gave up (its read timeout): fine

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay


class LagProxy:
    """See the module docstring. Usable as a context manager."""

    def __init__(self, upstream: str, *, rewrite: bool = False) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("LagProxy forwards to a loopback http:// server only")
        self.upstream = upstream.rstrip("/")
        self.rewrite = rewrite
        self._host, self._port = parts.hostname, parts.port or 80
        self._rules: list[LagRule] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[tuple[str, str]] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="lagproxy", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def delay(
        self,
        seconds: float,
        *,
        when: str = "after",
        method: str | None = None,
        path_contains: str | None = None,
        query_contains: str | None = None,
        times: int | None = 1,
    ) -> LagRule:
        """Add a rule (tried in the order added; the first that matches and is not used up
        applies)."""
        if when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        rule = LagRule(seconds, when, method, path_contains, query_contains, times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def stall(self) -> LagRule:
        """From now on hold every request back for a long time (the client times out)."""
        return self.delay(600, when="before", times=None)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _pick(self, method: str, target: str) -> LagRule | None:
        with self._lock:
            self.requests.append((method, target))
            for rule in self._rules:
                if not rule.matches(method, target):
                    continue
                if rule.times is not None and rule.matched >= rule.times:
                    continue
                rule.matched += 1
                rule.fired.append(time.monotonic())
                return rule
        return None

    def _sleep(self, seconds: float) -> bool:
        """Wait; False if the proxy is stopping meanwhile."""
        return not self._stopping.wait(seconds)

    def start(self) -> LagProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> LagProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
