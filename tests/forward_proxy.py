"""A minimal forward HTTP proxy on 127.0.0.1 for proxy-environment tests: absolute-form
requests are forwarded, CONNECT is tunnelled; it only ever connects to loopback."""

from __future__ import annotations

import contextlib
import socket
import threading


class ForwardProxy:
    """Counts what it was asked to forward (`seen`: first request line per connection)."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.seen: list[str] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closing = False

    def __enter__(self) -> ForwardProxy:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            line, _, rest = head.partition(b"\r\n")
            method, target, version = line.decode("latin-1").split(" ", 2)
            with self._lock:
                self.seen.append(f"{method} {target}")
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                upstream = self._connect(host, int(port))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                rest = rest.partition(b"\r\n\r\n")[2]
            else:
                authority, _, path = target.split("://", 1)[1].partition("/")
                host, _, port = authority.rpartition(":")
                upstream = self._connect(host, int(port or 80))
                rest = f"{method} /{path} {version}\r\n".encode("latin-1") + rest
            with upstream:
                if rest:
                    upstream.sendall(rest)
                self._pipe(client, upstream)

    @staticmethod
    def _connect(host: str, port: int) -> socket.socket:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError(f"refusing to connect to {host}")
        return socket.create_connection(("127.0.0.1", port))

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        def copy(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

        other = threading.Thread(target=copy, args=(b, a), daemon=True)
        other.start()
        copy(a, b)
        other.join(timeout=30)
