"""Shared fixtures: one SeaweedFS and one moto server per test session, a fresh bucket per test."""

from __future__ import annotations

import contextlib
import importlib
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

# --- sync and async sessions ---------------------------------------------------------------------

#: The session flavours a behaviour suite runs on: the sync sessions, and the async ones driven
#: through tests/syncfacade.py (so the same test bodies run on both).
FLAVOURS = ["sync", "async"]

#: The flavour of the test being set up (the `flavour` fixture sets it): the session fixtures
#: and `b2_session` build sessions of this flavour.
CURRENT_FLAVOUR = "sync"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sync_only(reason): the test uses a feature the async sessions do not have (the reason "
        "names it); it runs on the sync sessions only",
    )


def s3_class(flavour: str | None = None) -> Any:
    """S3Session, or the facade that builds an AsyncS3Session and is used like one."""
    if (flavour or CURRENT_FLAVOUR) == "async":
        from syncfacade import AsyncS3Facade

        return AsyncS3Facade
    return S3Session


def b2_class(flavour: str | None = None) -> Any:
    """B2Session, or the facade that builds an AsyncB2Session and is used like one."""
    if (flavour or CURRENT_FLAVOUR) == "async":
        from syncfacade import AsyncB2Facade

        return AsyncB2Facade
    from s3lite.b2 import B2Session

    return B2Session


@pytest.fixture
def flavour() -> str:
    """The session flavour: "sync" unless a module runs both (`both_flavours`)."""
    return "sync"


def both_flavours() -> Any:
    """A module's `flavour` fixture (assign it to `flavour`): each test of the module runs on
    the sync sessions and on the async ones. For the async run, the session fixtures (s3,
    moto_s3, b2, b2_session) build async sessions behind a sync facade, and the module's own
    `S3Session`, `B2Session` and `MultipartUpload` names (and `s3lite.b2.B2Session`, which
    some tests import in their body) are the facades, so sessions a test builds itself are
    async too. A test marked `sync_only(reason)` is skipped on async with that reason."""

    @pytest.fixture(params=FLAVOURS, name="flavour", autouse=True)
    def flavour_fixture(
        request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[str]:
        global CURRENT_FLAVOUR
        if request.param == "async":
            marker = request.node.get_closest_marker("sync_only")
            if marker is not None:
                pytest.skip(f"sync only: {marker.args[0] if marker.args else marker.kwargs}")
            import s3lite.b2
            from syncfacade import AsyncB2Facade, AsyncS3Facade, SyncMultipartUpload

            # Import the async modules before the names are patched: one that copies from
            # the sync classes at import time must see the real ones.
            for name in ("s3", "b2", "multipart", "transfer", "lock", "listing"):
                with contextlib.suppress(ImportError):
                    importlib.import_module(f"s3lite.aio.{name}")

            module = request.module
            for name, facade in (
                ("S3Session", AsyncS3Facade),
                ("B2Session", AsyncB2Facade),
                ("MultipartUpload", SyncMultipartUpload),
            ):
                if hasattr(module, name):
                    monkeypatch.setattr(module, name, facade)
            monkeypatch.setattr(s3lite.b2, "B2Session", AsyncB2Facade)
        previous, CURRENT_FLAVOUR = CURRENT_FLAVOUR, request.param
        try:
            yield request.param
        finally:
            CURRENT_FLAVOUR = previous

    return flavour_fixture


@pytest.fixture(scope="session")
def seaweed() -> Iterator[LocalSeaweedFS]:
    """A SeaweedFS server shared by the whole test session."""
    with LocalSeaweedFS() as server:
        yield server


def new_bucket_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def s3(seaweed: LocalSeaweedFS, flavour: str) -> Iterator[S3Session]:
    """An S3Session on SeaweedFS, path-style, with a fresh bucket as its default."""
    session = s3_class(flavour)(
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
def moto_s3(moto: MotoServer, flavour: str) -> Iterator[S3Session]:
    """An S3Session on moto with a fresh bucket (moto accepts any credentials)."""
    session = s3_class(flavour)(
        "AKIDMOTO", "moto-secret", endpoint_url=moto.endpoint_url, **FAST_RETRY
    )
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


def b2_session(
    b2server: B2TestServer, account: tuple[str, str], flavour: str | None = None, **kwargs: Any
) -> B2Session:
    """A B2Session on the test server, with short retry backoffs (of the test's flavour)."""
    cls = b2_class(flavour)
    return cls(*account, api_url=b2server.api_url, **{**FAST_RETRY, **kwargs})  # type: ignore[no-any-return]


def empty_b2_bucket(session: B2Session, bucket: str) -> None:
    """Cancel unfinished large files and delete every file version (hide markers too)."""
    for upload in list(session.list_multipart_uploads(bucket=bucket)):
        session.multipart_backend.abort(bucket, upload["key"], upload["upload_id"])
    result = session.delete_objects(prefix="", bucket=bucket)
    assert result.ok, result.errors


@pytest.fixture
def b2(b2server: B2TestServer, b2_account: tuple[str, str], flavour: str) -> Iterator[B2Session]:
    """A B2Session on the test server with a fresh bucket as its default.

    The process-wide authorization cache is cleared before and after, so every test starts
    with no authorization, bucket ids or upload URLs cached, and no injected fault pending.
    """
    from s3lite.b2 import clear_auth_cache

    clear_auth_cache()
    session = b2_session(b2server, b2_account, flavour)
    bucket = new_bucket_name()
    session.create_bucket(bucket)
    session.bucket = bucket
    yield session
    with b2server._lock:  # faults a test injected but did not use must not leak into others
        b2server._faults.clear()
    try:
        clear_auth_cache()  # a test may have expired every token
        cleanup = b2_session(b2server, b2_account, "sync")
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


def open_files() -> list[str]:
    """What this process's open descriptors point to (Linux: /proc/self/fd): paths, with
    " (deleted)" after an unlinked file's, or "socket:[...]", "pipe:[...]"."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor)
    return found


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
