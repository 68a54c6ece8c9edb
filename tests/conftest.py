"""Shared fixtures: one SeaweedFS and one moto server per test session, a fresh bucket per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import urllib3

from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS, free_port

sys.path.insert(0, str(Path(__file__).parent))

if TYPE_CHECKING:
    from b2server import B2TestServer
    from s3lite.b2 import B2Session

# Tests never read the developer's AWS/B2 configuration and never reach a metadata service
# (169.254.169.254 is not loopback): isolate the environment before any test runs.
for _name in list(os.environ):
    if _name.startswith(("AWS_", "B2_")) or _name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        del os.environ[_name]
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = os.path.join(os.sep, "nonexistent", "s3lite-tests", "config")
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(
    os.sep, "nonexistent", "s3lite-tests", "credentials"
)

#: Short backoff so retry tests stay fast; the policy itself is unchanged.
FAST_RETRY = {"backoff_base": 0.02, "max_backoff": 0.2}


@pytest.fixture(scope="session")
def seaweed() -> Iterator[LocalSeaweedFS]:
    """A SeaweedFS server shared by the whole test session."""
    with LocalSeaweedFS() as server:
        yield server


def new_bucket_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def s3(seaweed: LocalSeaweedFS) -> Iterator[S3Session]:
    """An S3Session on SeaweedFS, path-style, with a fresh bucket as its default."""
    session = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url, **FAST_RETRY
    )
    bucket = new_bucket_name()
    session.create_bucket(bucket)
    session.bucket = bucket
    yield session
    try:
        session.delete_bucket(bucket)  # SeaweedFS deletes non-empty buckets too
    finally:
        session.close()


class MotoServer:
    """moto's S3 (and STS) server on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        exe = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or "moto_server"
        self.process = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib3.request("GET", self.endpoint_url + "/moto-api/", timeout=1, retries=False)
                return
            except urllib3.exceptions.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def moto_s3(moto: MotoServer) -> Iterator[S3Session]:
    """An S3Session on moto with a fresh bucket (moto accepts any credentials)."""
    session = S3Session("AKIDMOTO", "moto-secret", endpoint_url=moto.endpoint_url, **FAST_RETRY)
    bucket = new_bucket_name()
    session.create_bucket(bucket)
    session.bucket = bucket
    yield session
    session.delete_objects(prefix="", bucket=bucket)
    session.close()


@pytest.fixture(params=["seaweedfs", "moto"])
def any_s3(request: pytest.FixtureRequest) -> S3Session:
    """The same test on both S3 implementations."""
    fixture = "s3" if request.param == "seaweedfs" else "moto_s3"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


# --- Backblaze B2 (native API) -------------------------------------------------------------------

#: Part sizes the shared B2 test server reports (real B2: 5 MB minimum, 100 MB recommended).
#: Small, so that large-file tests stay fast; a test may change them on `b2server` (restore
#: them with monkeypatch) and must then call `s3lite.b2.clear_auth_cache()`, since sessions
#: read them from the cached authorization.
B2_MIN_PART_SIZE = 5_000
B2_RECOMMENDED_PART_SIZE = 100_000


@pytest.fixture(scope="session")
def b2server() -> Iterator[B2TestServer]:
    """One B2 native-API test server (b2sdk's simulator over HTTP) per test session."""
    from b2server import B2TestServer

    with B2TestServer(
        recommended_part_size=B2_RECOMMENDED_PART_SIZE,
        absolute_minimum_part_size=B2_MIN_PART_SIZE,
    ) as server:
        yield server


@pytest.fixture(scope="session")
def b2_account(b2server: B2TestServer) -> tuple[str, str]:
    """(application key id, application key) of an account on the test server."""
    return b2server.create_account()


def b2_session(b2server: B2TestServer, account: tuple[str, str], **kwargs: Any) -> B2Session:
    """A B2Session on the test server, with short retry backoffs."""
    from s3lite.b2 import B2Session

    return B2Session(*account, api_url=b2server.api_url, **{**FAST_RETRY, **kwargs})


def empty_b2_bucket(session: B2Session, bucket: str) -> None:
    """Cancel unfinished large files and delete every file version (hide markers too)."""
    for upload in list(session.list_multipart_uploads(bucket=bucket)):
        session._mp_abort(bucket, upload["key"], upload["upload_id"])
    result = session.delete_objects(prefix="", bucket=bucket)
    assert result.ok, result.errors


@pytest.fixture
def b2(b2server: B2TestServer, b2_account: tuple[str, str]) -> Iterator[B2Session]:
    """A B2Session on the test server with a fresh bucket as its default.

    The process-wide authorization cache is cleared before and after, so every test starts
    with no authorization, bucket ids or upload URLs cached, and no injected fault pending.
    """
    from s3lite.b2 import clear_auth_cache

    clear_auth_cache()
    session = b2_session(b2server, b2_account)
    bucket = new_bucket_name()
    session.create_bucket(bucket)
    session.bucket = bucket
    yield session
    with b2server._lock:  # faults a test injected but did not use must not leak into others
        b2server._faults.clear()
    try:
        clear_auth_cache()  # a test may have expired every token
        cleanup = b2_session(b2server, b2_account)
        empty_b2_bucket(cleanup, bucket)
        cleanup.delete_bucket(bucket)
        cleanup.close()
    finally:
        session.close()
        clear_auth_cache()


@pytest.fixture(params=["s3", "b2"])
def backend(request: pytest.FixtureRequest) -> S3Session | B2Session:
    """The same test on S3 (SeaweedFS) and on B2 (native API), each with a fresh bucket."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture(params=["s3", "moto", "b2"])
def any_backend(request: pytest.FixtureRequest) -> S3Session | B2Session:
    """`backend` plus moto: for tests that ran on both S3 implementations before."""
    name = {"s3": "s3", "moto": "moto_s3", "b2": "b2"}[request.param]
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


#: Prepended to child-process scripts that report their peak memory. VmHWM is the peak of
#: this process image; ru_maxrss would include the parent's memory inherited at fork.
PEAK_RSS = """
def peak_rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
