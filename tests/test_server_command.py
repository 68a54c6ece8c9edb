"""`s3lite server`, end to end: the real command in a subprocess, used through the `export`
lines it prints, then stopped by a signal; nothing of it may be left behind."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3lite import NoSuchKey, S3Session
from s3lite.devserver import free_port

EXPORTS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")


#: The installed `s3lite` command, beside this Python.
S3LITE = Path(sys.executable).parent / "s3lite"


class ServerCommand:
    """`s3lite server ARGS` in its own session, its stdout read line by line."""

    def __init__(self, *args: str) -> None:
        assert S3LITE.is_file(), f"no s3lite command at {S3LITE}"
        self.process = subprocess.Popen(
            [str(S3LITE), "server", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, prefix: str, timeout: float = 120) -> str:
        """Read output until a line starts with `prefix`; return that line."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line; output so far: {self.output}") from None
            if line is None:
                raise AssertionError(f"exited before {prefix!r}: {self.output}")
            self.output.append(line)
            if line.startswith(prefix):
                return line

    def exports(self) -> dict[str, str]:
        """The `export NAME=value` lines, up to the region (the last one)."""
        self.wait_for("export AWS_DEFAULT_REGION=")
        found = {}
        for line in self.output:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                found[name] = value
        return found

    def stop(self, sig: int) -> int:
        """Send `sig`; return the exit code once the command has cleaned up and exited."""
        self.process.send_signal(sig)
        return self.wait_exit()

    def wait_exit(self) -> int:
        """The exit code, once the command exited; all its output is in `output` then."""
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        while (line := self.lines.get_nowait()) is not None:
            self.output.append(line)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@pytest.fixture
def run_server() -> Iterator[type[ServerCommand]]:
    started: list[ServerCommand] = []

    class Tracked(ServerCommand):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for command in started:  # a failed test must not leave a server running
        command.kill()


def _weed_processes(data_dir: Path) -> list[int]:
    """Pids of processes whose command line names this data directory."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(data_dir).encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def _readme_quick_start() -> str:
    """The first Python block of the README's "Quick start", as a user would paste it."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def _s3_socket(port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"seaweedfs-s3-{port}.sock"


def test_server_runs_the_quick_start_and_cleans_up_on_sigterm(
    run_server: type[ServerCommand], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = run_server("--bucket", "my-bucket")
    data_dir = Path(server.wait_for("Starting SeaweedFS").split("(data in ", 1)[1].rstrip(") ."))
    env = server.exports()
    assert set(env) == set(EXPORTS)
    port = int(env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    # The README's quick start, with nothing but the environment the command printed.
    s3 = S3Session(bucket="my-bucket")
    try:
        s3.put_object("hello.txt", b"Hello, S3!", metadata={"source": "sensor-1"})
        resp = s3.get_object("hello.txt")
        assert (resp.data, resp.metadata) == (b"Hello, S3!", {"source": "sensor-1"})
        listed = [(o["key"], o["content_length"]) for o in s3.list_objects().iter_objects()]
        assert listed == [("hello.txt", 10)]
        with pytest.raises(NoSuchKey):
            s3.head_object("missing.txt")
    finally:
        s3.close()
    # And the README's quick start block itself, verbatim, in a fresh process.
    quick_start = subprocess.run(
        [sys.executable, "-c", _readme_quick_start()],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert quick_start.returncode == 0, quick_start.stderr
    assert quick_start.stdout.startswith("b'Hello, S3!' {'source': 'sensor-1'}")
    assert data_dir.is_dir() and _weed_processes(data_dir) and _s3_socket(port).exists()

    assert server.stop(signal.SIGTERM) == 0
    assert any(line.startswith("SIGTERM: stopped SeaweedFS") for line in server.output)
    assert not data_dir.exists()  # the temporary data is removed
    assert not _weed_processes(data_dir)  # the whole process group is gone
    assert not _s3_socket(port).exists()
    with pytest.raises(OSError):  # nothing listens on the port any more
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_server_with_port_and_dir_keeps_the_data_on_ctrl_c(
    run_server: type[ServerCommand], tmp_path: Path
) -> None:
    port = free_port(grpc_too=True)
    data_dir = tmp_path / "s3data"
    server = run_server("--port", str(port), "--dir", str(data_dir), "--bucket", "kept")
    env = server.exports()
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
    s3 = S3Session(
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
        endpoint_url=env["AWS_ENDPOINT_URL"], bucket="kept",
    )  # fmt: skip
    try:
        s3.put_object("k", b"v")
    finally:
        s3.close()
    assert server.stop(signal.SIGINT) == 0  # Ctrl-C
    assert data_dir.is_dir() and any(data_dir.iterdir())  # --dir: the data stays
    assert not _weed_processes(data_dir)
    assert not _s3_socket(port).exists()

    # A second run on the same directory serves the same objects (with new keys); the bucket
    # asked for again is there already, which is fine.
    again = run_server("--dir", str(data_dir), "--bucket", "kept")
    env = again.exports()
    s3 = S3Session(
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
        endpoint_url=env["AWS_ENDPOINT_URL"], bucket="kept",
    )  # fmt: skip
    try:
        assert s3.get_object("k").data == b"v"
    finally:
        s3.close()
    assert again.stop(signal.SIGTERM) == 0
    assert data_dir.is_dir() and not _weed_processes(data_dir)


def test_server_refuses_a_port_in_use(run_server: type[ServerCommand]) -> None:
    with socket.socket() as busy:
        port = free_port(grpc_too=True)  # below 55536, so that its gRPC port is a port too
        busy.bind(("127.0.0.1", port))
        busy.listen(1)
        server = run_server("--port", str(port))
        assert server.wait_exit() == 2
    assert any(f"port {port} on 127.0.0.1 is in use" in line for line in server.output)
