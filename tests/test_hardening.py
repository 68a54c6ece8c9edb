"""Bounds against hostile servers and environments: response bodies read whole stop at their
limit while reading, credential endpoints never go through a proxy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import s3lite
from conftest import PEAK_RSS, open_files
from forward_proxy import ForwardProxy
from hostile_server import Answer, HostileServer, SlowSink
from metadata_servers import ContainerServer, ImdsServer
from s3lite import S3Session
from s3lite.credentials import (
    ContainerCredentials,
    CredentialSourceError,
    InstanceMetadataCredentials,
)
from s3lite.transport import Transport, _proxy_for, make_pool_manager
from secure_servers import TlsForwarder, make_certificates

MiB = 1024 * 1024
LISTING = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Name>bkt</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
    b"<IsTruncated>false</IsTruncated></ListBucketResult>"
)


def _session(url: str, **kwargs: Any) -> S3Session:
    return S3Session(
        "AKIDHOSTILE", "hostile-secret", endpoint_url=url, bucket="bkt", region="us-east-1",
        max_attempts=2, **kwargs,
    )  # fmt: skip


# --- response bodies read whole: bounded while reading -----------------------------------------

_CHILD = PEAK_RSS + textwrap.dedent(
    """
    import json, sys
    import s3lite
    from s3lite import S3Session, B2Session
    from s3lite.credentials import ContainerCredentials
    scenario, url = sys.argv[1], sys.argv[2]
    before = peak_rss_mib()
    try:
        if scenario == "s3-listing":
            session = S3Session("AK", "SK", endpoint_url=url, bucket="bkt", max_attempts=1)
            list(session.list_objects())
        elif scenario == "s3-error":
            session = S3Session("AK", "SK", endpoint_url=url, bucket="bkt", max_attempts=1)
            session.delete_objects(["a", "b"])
        elif scenario == "container":
            ContainerCredentials(url + "/creds", attempts=1, timeout=30).get()
        elif scenario == "sts":
            from s3lite.credentials import WebIdentityCredentials
            token = sys.argv[3]
            WebIdentityCredentials(
                "arn:aws:iam::123456789012:role/r", token, endpoint_url=url, region="us-east-1"
            ).get()
        elif scenario == "b2":
            B2Session("keyid", "key", api_url=url, max_attempts=1).list_buckets()
        outcome = "no error"
    except Exception as exc:
        outcome = type(exc).__name__ + ": " + str(exc)[:200]
    print(json.dumps({"grew": peak_rss_mib() - before, "outcome": outcome}))
    """
)


def _run_child(scenario: str, url: str, *extra: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, scenario, url, *extra],
        capture_output=True, timeout=300, check=False, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("scenario", "fragment", "status", "bound", "raised"),
    [
        ("s3-listing", "list-type", 200, 32, "MalformedResponse"),
        ("s3-error", "delete", 500, 1, "DeleteObjectsError"),  # every batch tried, then raised
        ("container", "/creds", 200, 1, "CredentialSourceError"),
        ("sts", "/", 200, 1, "CredentialSourceError"),
        ("b2", "b2_authorize_account", 200, 64, "MalformedResponse"),
    ],
)
def test_long_bodies_stop_being_read_at_the_limit(
    scenario: str, fragment: str, status: int, bound: int, raised: str, tmp_path: Path
) -> None:
    """A 256 MiB chunked answer (as good as endless) raises the right typed error, and the
    client's peak memory grows by about the bound, not by the body."""
    answer = Answer(status, {"Content-Type": "application/xml"}, chunked_bytes=256 * MiB)
    with HostileServer() as server:
        server.answers.append((fragment, answer))
        token = tmp_path / "web-identity-token"
        token.write_text("header.payload.signature")
        result = _run_child(scenario, server.url, str(token))
    assert result["outcome"].startswith(raised), result
    assert result["grew"] < 2 * bound + 40, result  # peak MiB over the child's own baseline


def test_declared_huge_length_is_refused_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Content-Length beyond the bound: refused at once, the connection is closed (not
    pooled), and the next request gets a fresh connection and a good answer."""
    with HostileServer() as server:
        server.answers.append(
            ("prefix=big", Answer(200, declared_length=10**12, send_bytes=2 * MiB))
        )
        server.answers.append(("list-type", Answer(200, body=LISTING)))
        session = _session(server.url, read_timeout=3)
        with pytest.raises(s3lite.MalformedResponse, match="too large"):
            list(session.list_objects("big"))
        assert server.connections == 1
        assert list(session.list_objects("small")) == []
        assert server.connections == 2  # the refused one was not reused
        session.close()


def test_bounded_read_keeps_object_downloads_unbounded(s3: S3Session) -> None:
    """Object data is the caller's, not a service document: get_object(stream=False) reads
    bodies beyond the document bound."""
    data = b"y" * (33 * MiB)
    s3.put_object("big-object", data)
    assert s3.get_object("big-object", stream=False).data == data


# --- credential endpoints never go through a proxy ----------------------------------------------


def test_container_credentials_never_go_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "container-auth-token-never-proxied"
    with ForwardProxy() as proxy, ContainerServer(token=token) as server:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.com")
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + server.path)
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
        creds = ContainerCredentials().get()
        assert creds is not None and creds.access_key == server.issued[-1].access_key
        # a caller's transport whose pool manager is itself a proxy manager: still direct
        proxied = Transport(pool_manager=make_pool_manager(proxy_url=proxy.url))
        creds = ContainerCredentials(
            server.url + server.path, auth_token=token, transport=proxied
        ).get()
        assert creds is not None and creds.access_key == server.issued[-1].access_key
        assert proxy.seen == []
        assert server.authorizations == [token, token]
        proxied.close()


def test_instance_metadata_never_goes_through_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardProxy() as proxy, ImdsServer() as server:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url)
        creds = InstanceMetadataCredentials().get()
        assert creds is not None and creds.access_key == server.issued[-1].access_key
        assert proxy.seen == []
    # and an ordinary S3 endpoint on loopback still goes through the proxy it is given
    assert _proxy_for("http", "127.0.0.1:9000") == proxy.url


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "169.254.170.2",
        "169.254.170.23",
        "[fd00:ec2::254]",
        "[fd00:ec2::23]",
        "[fd00:ec2:0::23]:80",
        "[fe80::1]",
        "[FD00:EC2::254]",
    ],
)
def test_metadata_addresses_are_never_proxied(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.com:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    monkeypatch.setenv("NO_PROXY", "")
    assert _proxy_for("http", host) is None
    assert _proxy_for("https", host) is None
    assert _proxy_for("http", "[fd00:ec2::1]") == "http://proxy.example.com:3128"


def test_credential_answer_over_the_bound_is_a_credential_error(tmp_path: Path) -> None:
    """A container endpoint declaring a huge body: a clear CredentialSourceError at once."""
    with HostileServer() as server:
        server.answers.append(("/creds", Answer(200, declared_length=10**10, send_bytes=1000)))
        with pytest.raises(CredentialSourceError, match="too large"):
            ContainerCredentials(server.url + "/creds", attempts=1, timeout=30).get()


# --- download_file: no temporary file or descriptor left behind ---------------------------------


def _files_open_under(root: Path) -> list[str]:
    """Paths under `root` that this process holds a descriptor on."""
    return [target for target in open_files() if target.startswith(str(root))]


def _object_server(size: int, get: Answer) -> HostileServer:
    """HEAD says the object has `size` bytes; GET answers `get`."""
    server = HostileServer(get)
    server.answers.append(
        ("obj", Answer(200, {"ETag": '"0123456789abcdef0123456789abcdef"'}, declared_length=size))
    )
    return server


@pytest.mark.parametrize("size", [10**18, 10**23])
def test_absurd_size_is_refused_before_any_file_exists(tmp_path: Path, size: int) -> None:
    with _object_server(size, Answer(500)) as server:
        session = _session(server.url)
        with pytest.raises(s3lite.MalformedResponse, match="Content-Length"):
            session.download_file("obj", tmp_path / "target.bin")
        assert list(tmp_path.iterdir()) == []
        assert _files_open_under(tmp_path) == []
        assert all(not r.startswith("GET") for r in server.requests)
        session.close()


@pytest.mark.parametrize(
    ("size", "get"),
    [
        (1 << 49, Answer(500)),  # more than ext4 can pre-size (EFBIG), or a GET that fails
        (1000, Answer(200, declared_length=1000, send_bytes=10)),  # a body that stops short
        (3 * MiB, Answer(403)),  # ranged GETs refused
    ],
)
def test_failed_download_removes_and_closes_its_temporary_file(
    tmp_path: Path, size: int, get: Answer
) -> None:
    with _object_server(size, get) as server:
        session = _session(server.url, read_timeout=2)
        with pytest.raises((OSError, s3lite.S3LiteError)):
            session.download_file("obj", tmp_path / "target.bin", threshold=MiB, part_size=MiB)
        assert list(tmp_path.iterdir()) == []
        assert _files_open_under(tmp_path) == []
        session.close()


@pytest.mark.parametrize("name", ["a" * 235, "b" * 255, "é" * 127, "x" * 200 + "€" * 18])
def test_download_to_a_name_at_name_max(s3: S3Session, tmp_path: Path, name: str) -> None:
    assert len(name.encode()) <= 255
    data = os.urandom(3000)
    s3.put_object("long-name", data)
    target = tmp_path / name
    s3.download_file("long-name", target)
    assert target.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left
    # ranged (parallel) downloads use the same temporary name
    big = os.urandom(3 * MiB)
    s3.put_object("long-name-big", big)
    s3.download_file("long-name-big", target, threshold=MiB, part_size=MiB)
    assert target.read_bytes() == big
    assert [p.name for p in tmp_path.iterdir()] == [name]


# --- in-memory bodies are sent in chunks, each bounded by the timeout ---------------------------

SLOW_BODY = b"x" * 29_360_128  # 28 MiB: about 5 s at 6 MB/s, far beyond connect_timeout=2


def test_large_bytes_body_over_a_slow_link() -> None:
    """One sendall of the whole body would be bounded by the 2 s socket timeout; in chunks,
    each chunk is."""
    with SlowSink() as sink:
        session = _session(sink.url, connect_timeout=2, read_timeout=30)
        session.put_object("slow", SLOW_BODY)
        session.close()
        assert sink.received == [len(SLOW_BODY)]


def test_compat_bytes_uploads_over_a_slow_link() -> None:
    """tinys3's Connection.upload(bytes) and Pool.upload(bytes): 14 MiB at 6 MB/s with a
    1 s connect timeout."""
    body = SLOW_BODY[: 14 * MiB]
    with SlowSink() as sink:
        endpoint = f"127.0.0.1:{sink.port}"
        options: dict[str, Any] = {"connect_timeout": 1, "read_timeout": 30, "max_attempts": 1}
        with s3lite.Connection(
            "AKID", "secret", "bkt", tls=False, endpoint=endpoint, path_style=True, **options
        ) as conn:
            conn.upload("slow", body)
        with s3lite.Pool(
            "AKID", "secret", "bkt", tls=False, endpoint=endpoint, path_style=True, size=1,
            **options,
        ) as pool:  # fmt: skip
            pool.upload("slow", body).result(timeout=120)
        assert sink.received == [len(body)] * 2


# --- verify=False does not silence urllib3 for the rest of the process --------------------------

_WARN_CHILD = textwrap.dedent(
    """
    import sys, warnings
    import urllib3
    from s3lite import S3Session
    url = sys.argv[1]
    session = S3Session("AK", "SK", endpoint_url=url, bucket="bkt", verify=False, max_attempts=1)
    try:
        session.head_object("k")
    except Exception as exc:
        print("s3lite:", type(exc).__name__, file=sys.stderr)
    session.close()
    other = urllib3.PoolManager(cert_reqs="CERT_NONE")
    with warnings.catch_warnings(record=True) as caught:  # the filters stay as they are
        other.request("GET", url + "/other", retries=False)
    print(sum(issubclass(w.category, urllib3.exceptions.InsecureRequestWarning) for w in caught))
    """
)


def test_verify_false_leaves_other_clients_warnings_alone(tmp_path: Path) -> None:
    """After an S3Session(verify=False) made its requests, another urllib3 client in the
    same process still gets its InsecureRequestWarning."""
    _, cert, key = make_certificates(tmp_path)
    with HostileServer() as upstream, TlsForwarder(upstream.port, cert, key) as https:
        proc = subprocess.run(
            [sys.executable, "-c", _WARN_CHILD, https.url],
            capture_output=True, timeout=120, check=False, text=True,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "s3lite: NoSuchKey" in proc.stderr  # s3lite did talk to it, unverified
        assert int(proc.stdout.strip()) >= 1, proc.stderr


def test_lock_state_over_the_bound_is_refused_while_read() -> None:
    """The lock's objects are read through the same bound (S3 and B2 share the store's get)."""
    from s3lite.lock import S3LockStore

    with HostileServer() as server:
        server.answers.append(("state", Answer(200, declared_length=10**12, send_bytes=MiB)))
        server.answers.append(("chunked", Answer(200, chunked_bytes=256 * MiB)))
        session = _session(server.url, read_timeout=3)
        store = S3LockStore(session, "bkt")
        with pytest.raises(s3lite.MalformedResponse, match="too large"):
            store.get("lk.lock/state")
        with pytest.raises(s3lite.MalformedResponse, match="too large"):
            store.get("lk.lock/chunked")
        session.close()


def test_get_object_max_size_bounds_an_in_memory_read(backend: Any) -> None:
    backend.put_object("two-mib", b"z" * (2 * MiB))
    with pytest.raises(s3lite.MalformedResponse, match="too large"):
        backend.get_object("two-mib", stream=False, max_size=MiB)
    assert len(backend.get_object("two-mib", stream=False, max_size=2 * MiB).data) == 2 * MiB
