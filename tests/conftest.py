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

import pytest
import urllib3

from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS, free_port

sys.path.insert(0, str(Path(__file__).parent))

# Tests never read the developer's AWS/B2 configuration and never reach a metadata service
# (169.254.169.254 is not loopback): isolate the environment before any test runs.
for _name in list(os.environ):
    if _name.startswith(("AWS_", "B2_")) or _name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                                     "https_proxy"):
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
