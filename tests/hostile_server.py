"""A hostile HTTP/1.1 server on 127.0.0.1 for bounds tests: it answers every request by a
`behaviour` chosen per path (first match of a path fragment), and counts connections.

Behaviours (`Answer`): a status, headers and a body that is either fixed bytes, an endless
or very long chunked stream (`chunked_bytes`), or a huge declared `Content-Length` of which
only `send_bytes` are sent before the server waits for the client to give up.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: send this many bytes as a chunked body instead of `body` (None: use `body`)
    chunked_bytes: int | None = None
    #: declare this Content-Length instead of len(body), send `send_bytes`, then hold on
    declared_length: int | None = None
    send_bytes: int = 0
    #: for a chunked or declared body: how the filler bytes look
    filler: bytes = b"<a>x</a>"


class HostileServer:
    """Answers by path fragment (`answers`), else `default`; `connections` counts accepts."""

    def __init__(self, default: Answer | None = None) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.answers: list[tuple[str, Answer]] = []
        self.default = default or Answer(404)
        self.connections = 0
        self.requests: list[str] = []
        self._closing = threading.Event()
        self._lock = threading.Lock()

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _answer_for(self, target: str) -> Answer:
        for fragment, answer in self.answers:
            if fragment in target:
                return answer
        return self.default

    def _serve(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError):
            buffered = b""
            while not self._closing.is_set():
                while b"\r\n\r\n" not in buffered:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buffered += chunk
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                while len(buffered) < length:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buffered += chunk
                buffered = buffered[length:]
                with self._lock:
                    self.requests.append(f"{method} {target}")
                if not self._respond(client, method, self._answer_for(target)):
                    return

    def _respond(self, client: socket.socket, method: str, answer: Answer) -> bool:
        """Send one answer; False when the connection must end after it."""
        head = [f"HTTP/1.1 {answer.status} X"]
        head += [f"{k}: {v}" for k, v in answer.headers.items()]
        if answer.chunked_bytes is not None:
            head.append("Transfer-Encoding: chunked")
        elif answer.declared_length is not None:
            head.append(f"Content-Length: {answer.declared_length}")
        else:
            head.append(f"Content-Length: {len(answer.body)}")
        client.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if method == "HEAD":
            return True
        block = answer.filler * (65536 // len(answer.filler))
        if answer.chunked_bytes is not None:
            frame = f"{len(block):x}\r\n".encode() + block + b"\r\n"
            sent = 0
            while sent < answer.chunked_bytes and not self._closing.is_set():
                client.sendall(frame)
                sent += len(block)
            client.sendall(b"0\r\n\r\n")
            return True
        if answer.declared_length is not None:
            sent = 0
            while sent < answer.send_bytes:
                client.sendall(block[: answer.send_bytes - sent])
                sent += min(len(block), answer.send_bytes - sent)
            # hold the connection open until the client gives up (or the server stops)
            client.settimeout(0.2)
            while not self._closing.is_set():
                try:
                    if not client.recv(65536):
                        return False
                except TimeoutError:
                    continue
            return False
        client.sendall(answer.body)
        return True


def wait_until(predicate: object, timeout: float = 30.0) -> bool:
    """Poll `predicate()` until it is true or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


class SlowSink:
    """Accepts uploads and reads them at about `rate` bytes/s with a small receive buffer,
    then answers 200 with an ETag: a slow link, on loopback. `received` lists body sizes."""

    def __init__(self, rate: float = 6_000_000) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.rate = rate
        self.received: list[int] = []
        self._closing = threading.Event()

    def __enter__(self) -> SlowSink:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError):
            buffered = b""
            while True:
                while b"\r\n\r\n" not in buffered:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buffered += chunk
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                got = len(buffered)
                buffered = b""
                step = 64 * 1024
                while got < length:
                    chunk = client.recv(min(step, length - got))
                    if not chunk:
                        return
                    got += len(chunk)
                    time.sleep(len(chunk) / self.rate)
                self.received.append(got)
                client.sendall(
                    b'HTTP/1.1 200 OK\r\nETag: "0123456789abcdef0123456789abcdef"\r\n'
                    b"Content-Length: 0\r\n\r\n"
                )
