"""TLS: certificates are verified by default, on both backends.

A throwaway CA signs a certificate for 127.0.0.1/localhost; a TLS forwarder (tests/
secure_servers.py) serves SeaweedFS and the B2 test server over HTTPS with it. The promises:

- by default (`verify=True`) the certificate is refused: a typed `TransportError` after ONE
  attempt (a certificate error is not retried), nothing reaches the server;
- `verify="<CA bundle path>"` (or a directory of CA certificates) accepts it;
- `AWS_CA_BUNDLE` is honoured like `verify=<path>`;
- `verify=False` accepts it (and anything else: for tests only);
- a certificate from the trusted CA that names another host is still refused.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import s3lite
from b2server import B2TestServer
from conftest import FAST_RETRY, new_bucket_name
from s3lite import S3Session
from s3lite.b2 import B2Session, clear_auth_cache
from s3lite.devserver import LocalSeaweedFS
from secure_servers import TlsForwarder, make_certificates


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https(seaweed: LocalSeaweedFS, certs: tuple[Path, Path, Path]) -> Iterator[TlsForwarder]:
    _, cert, key = certs
    with TlsForwarder(seaweed.s3_port, cert, key) as forwarder:
        yield forwarder


@pytest.fixture(scope="module")
def tls_bucket(seaweed: LocalSeaweedFS) -> Iterator[str]:
    name = new_bucket_name("tls")
    with S3Session(seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url) as s:
        s.create_bucket(name)
        yield name
        s.delete_bucket(name)


def settled(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether `condition` holds within `timeout` (the server counts a failed handshake on
    its own thread, after the client has already raised)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def session(seaweed: LocalSeaweedFS, url: str, bucket: str, **kwargs: object) -> S3Session:
    return S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=url, bucket=bucket,
        **{**FAST_RETRY, **kwargs},  # type: ignore[arg-type]
    )  # fmt: skip


def round_trip(s3: S3Session) -> None:
    s3.put_object("tls/k", b"over TLS")
    assert s3.get_object("tls/k").data == b"over TLS"
    assert [o["key"] for o in s3.list_objects("tls/")] == ["tls/k"]
    s3.delete_object("tls/k")


def test_self_signed_certificate_is_refused_by_default(
    seaweed: LocalSeaweedFS, https: TlsForwarder, tls_bucket: str
) -> None:
    s3 = session(seaweed, https.url, tls_bucket)
    assert s3.transport.verify is True
    with pytest.raises(s3lite.TransportError, match="CERTIFICATE_VERIFY_FAILED") as info:
        s3.put_object("tls/refused", b"x")
    assert info.value.attempts == 1 and info.value.retryable is False  # not retried
    assert settled(lambda: (https.handshakes_ok, https.handshakes_failed) == (0, 1))
    s3.close()


def test_ca_bundle_file_and_directory_are_accepted(
    seaweed: LocalSeaweedFS,
    https: TlsForwarder,
    tls_bucket: str,
    certs: tuple[Path, Path, Path],
    tmp_path: Path,
) -> None:
    ca, _, _ = certs
    with session(seaweed, https.url, tls_bucket, verify=str(ca)) as s3:
        round_trip(s3)
    # A directory of CA certificates in OpenSSL's hashed layout (c_rehash) works too.
    openssl = shutil.which("openssl")
    if openssl is not None:
        digest = subprocess.run(
            [openssl, "x509", "-hash", "-noout", "-in", str(ca)],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        shutil.copy(ca, tmp_path / f"{digest}.0")
        with session(seaweed, https.url, tls_bucket, verify=str(tmp_path)) as s3:
            round_trip(s3)
    assert https.handshakes_failed == 0


def test_aws_ca_bundle_is_honoured(
    seaweed: LocalSeaweedFS,
    https: TlsForwarder,
    tls_bucket: str,
    certs: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", str(certs[0]))
    with session(seaweed, https.url, tls_bucket) as s3:
        assert s3.transport.verify == str(certs[0])
        round_trip(s3)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(certs[0].parent / "missing.pem"))
    with pytest.raises((ValueError, s3lite.S3LiteError), match=r"missing\.pem"):
        session(seaweed, https.url, tls_bucket).put_object("tls/k", b"x")


def test_verify_false_accepts_any_certificate(
    seaweed: LocalSeaweedFS, https: TlsForwarder, tls_bucket: str
) -> None:
    with session(seaweed, https.url, tls_bucket, verify=False) as s3:
        round_trip(s3)


def test_a_certificate_for_another_host_is_refused(
    seaweed: LocalSeaweedFS, tls_bucket: str, tmp_path: Path
) -> None:
    ca, cert, key = make_certificates(tmp_path, hosts=("s3.example.test",))
    with TlsForwarder(seaweed.s3_port, cert, key) as other:
        s3 = session(seaweed, other.url, tls_bucket, verify=str(ca))
        with pytest.raises(
            s3lite.TransportError, match=r"(?i)mismatch|doesn't match|not valid"
        ) as info:
            s3.get_object("tls/k")
        assert info.value.attempts == 1
        s3.close()


def test_b2_over_tls(certs: tuple[Path, Path, Path]) -> None:
    """The same for B2: the test server's API, download and upload URLs all go through the
    TLS forwarder."""
    ca, cert, key = certs
    with B2TestServer(absolute_minimum_part_size=5_000) as server:
        port = int(server.api_url.rsplit(":", 1)[1])
        with TlsForwarder(port, cert, key) as forwarder:
            server._api_url = forwarder.url  # every URL it hands out is https now
            key_id, app_key = server.create_account()
            clear_auth_cache()
            refused = B2Session(key_id, app_key, api_url=forwarder.url, **FAST_RETRY)
            with pytest.raises(s3lite.TransportError, match="CERTIFICATE_VERIFY_FAILED") as info:
                refused.list_buckets()
            assert info.value.attempts == 1
            refused.close()
            clear_auth_cache()
            b2 = B2Session(key_id, app_key, api_url=forwarder.url, verify=str(ca), **FAST_RETRY)
            b2.create_bucket("tls-bucket")
            b2.put_object("k", b"over TLS", bucket="tls-bucket")
            assert b2.get_object("k", bucket="tls-bucket").data == b"over TLS"
            b2.delete_objects(prefix="", bucket="tls-bucket")
            b2.delete_bucket("tls-bucket")
            b2.close()
            clear_auth_cache()
            assert settled(lambda: forwarder.handshakes_failed == 1)


def test_certifi_is_not_needed() -> None:
    """Verification uses the platform's trust store through the ssl module (urllib3 without
    extra packages): s3lite's only runtime dependency stays urllib3."""
    code = "import s3lite, sys; s3lite.S3Session; print('certifi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
