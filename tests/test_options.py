"""Configuration and per-call options: retry settings from the environment and the AWS config
file, the tinys3 Connection's configured endpoint, presign expiry as a timedelta, SSE-C, and
upload_file's object options. Against SeaweedFS, moto and the B2 test server."""

from __future__ import annotations

import datetime as _dt
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3

from conftest import FAST_RETRY, new_bucket_name
from faultproxy import ErrorResponse, FaultProxy
from s3lite import B2Session, ClientError, S3Session
from s3lite.compat import Connection
from s3lite.config import ConfigError
from s3lite.devserver import LocalSeaweedFS
from test_cli import run_cli

# --- retry settings (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE, the profile) --------------------------


@pytest.fixture
def proxy(seaweed: LocalSeaweedFS) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", seaweed.s3_port) as p:
        yield p


@pytest.fixture
def aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty AWS config file the test may write; AWS_CONFIG_FILE points to it."""
    path = tmp_path / "config"
    path.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    return path


def _attempts_on_503(seaweed: LocalSeaweedFS, proxy: FaultProxy, s3: S3Session, **kw: Any) -> int:
    """How many GETs a session built with `kw` sends for one get_object that always gets 503."""
    s3.put_object("k", b"x")
    session = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
        **FAST_RETRY, **kw,
    )  # fmt: skip
    rule = proxy.add(ErrorResponse(503, "SlowDown"), method="GET", times=None)
    try:
        with pytest.raises(Exception, match="SlowDown"):
            session.get_object("k", stream=False)
    finally:
        session.close()
        proxy.clear()
    return rule.injected


def test_max_attempts_from_environment(
    seaweed: LocalSeaweedFS, proxy: FaultProxy, s3: S3Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    assert _attempts_on_503(seaweed, proxy, s3) == 2
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    assert _attempts_on_503(seaweed, proxy, s3) == 5
    # The argument wins over the environment.
    assert _attempts_on_503(seaweed, proxy, s3, max_attempts=1) == 1


def test_retry_settings_from_profile(
    seaweed: LocalSeaweedFS,
    proxy: FaultProxy,
    s3: S3Session,
    aws_config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws_config.write_text(
        "[default]\nmax_attempts = 4\nretry_mode = adaptive\n"
        "[profile legacy]\nretry_mode = legacy\n"
    )
    assert _attempts_on_503(seaweed, proxy, s3) == 4
    session = S3Session("AK", "SK", endpoint_url=seaweed.endpoint_url)
    assert session.transport.retry.mode == "adaptive"
    assert session.transport.retry.limiter is not None
    # botocore's legacy mode: 5 attempts unless set; run as standard.
    assert _attempts_on_503(seaweed, proxy, s3, profile="legacy") == 5
    legacy = S3Session("AK", "SK", endpoint_url=seaweed.endpoint_url, profile="legacy")
    assert legacy.transport.retry.mode == "standard"
    # The environment wins over the profile, the argument over both.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    assert _attempts_on_503(seaweed, proxy, s3) == 3
    assert S3Session("AK", "SK", endpoint_url=seaweed.endpoint_url).transport.retry.mode == (
        "standard"
    )
    assert (
        S3Session(
            "AK", "SK", endpoint_url=seaweed.endpoint_url, retry_mode="adaptive"
        ).transport.retry.mode
        == "adaptive"
    )


def test_bad_retry_settings_are_named(aws_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "zero")
    with pytest.raises(ConfigError, match="AWS_MAX_ATTEMPTS"):
        S3Session("AK", "SK", endpoint_url="http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "0")
    with pytest.raises(ConfigError, match="AWS_MAX_ATTEMPTS"):
        S3Session("AK", "SK", endpoint_url="http://127.0.0.1:9")
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    monkeypatch.setenv("AWS_RETRY_MODE", "eager")
    with pytest.raises(ConfigError, match="AWS_RETRY_MODE"):
        S3Session("AK", "SK", endpoint_url="http://127.0.0.1:9")
    monkeypatch.delenv("AWS_RETRY_MODE")
    aws_config.write_text("[default]\nmax_attempts = -1\n")
    with pytest.raises(ConfigError, match=r"max_attempts of profile 'default' in .*config"):
        S3Session("AK", "SK", endpoint_url="http://127.0.0.1:9")


def test_b2_session_honours_retry_environment(
    b2server: Any, b2_account: tuple[str, str], aws_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B2 reads AWS_MAX_ATTEMPTS / AWS_RETRY_MODE (not the AWS profile); default 5 attempts."""
    aws_config.write_text("[default]\nmax_attempts = 9\n")
    session = B2Session(*b2_account, api_url=b2server.api_url)
    assert session.transport.retry.max_attempts == 5
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    session = B2Session(*b2_account, api_url=b2server.api_url)
    assert (session.transport.retry.max_attempts, session.transport.retry.mode) == (2, "adaptive")
    session = B2Session(*b2_account, api_url=b2server.api_url, max_attempts=7)
    assert session.transport.retry.max_attempts == 7


# --- Connection (tinys3/minis3) and AWS_ENDPOINT_URL ----------------------------------------


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
def test_connection_uses_configured_endpoint(
    seaweed: LocalSeaweedFS, s3: S3Session, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, seaweed.endpoint_url)
    conn = Connection(seaweed.access_key, seaweed.secret_key, default_bucket=s3.bucket)
    assert conn.session.endpoint_url == seaweed.endpoint_url
    conn.upload("from-env.txt", b"configured endpoint")
    assert conn.get("from-env.txt").content == b"configured endpoint"
    assert s3.get_object("from-env.txt", stream=False).data == b"configured endpoint"
    # tinys3's Pool too.
    from s3lite.compat import Pool

    pool = Pool(seaweed.access_key, seaweed.secret_key, default_bucket=s3.bucket, size=2)
    try:
        assert pool.get("from-env.txt").result(timeout=60).content == b"configured endpoint"
    finally:
        pool.close()
    # An endpoint given explicitly still wins.
    other = Connection("AK", "SK", endpoint="127.0.0.1:9", tls=False)
    assert other.endpoint == "127.0.0.1:9"  # as given, as in tinys3
    assert other.session.endpoint_url == "http://127.0.0.1:9"


# --- presign with a timedelta ------------------------------------------------------------------


def test_presign_takes_a_timedelta(s3: S3Session) -> None:
    s3.put_object("shared.txt", b"shared")
    url = s3.presign("GET", "shared.txt", _dt.timedelta(minutes=10))
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["600"]
    assert urllib3.request("GET", url, retries=False).data == b"shared"
    week = s3.presign("GET", "shared.txt", _dt.timedelta(days=7))
    assert parse_qs(urlsplit(week).query)["X-Amz-Expires"] == ["604800"]


@pytest.mark.parametrize(
    ("expires", "error", "message"),
    [
        (_dt.timedelta(0), ValueError, "positive"),
        (_dt.timedelta(seconds=-5), ValueError, "positive"),
        (-1, ValueError, "positive"),
        (_dt.timedelta(days=7, seconds=1), ValueError, "at most 7 days"),
        (604801, ValueError, "at most 7 days"),
        (_dt.timedelta(milliseconds=1500), ValueError, "whole number"),
        (True, TypeError, "timedelta"),
        ("3600", TypeError, "timedelta"),
    ],
)
def test_presign_expiry_errors(
    s3: S3Session, b2: B2Session, expires: Any, error: type[Exception], message: str
) -> None:
    for session in (s3, b2):
        with pytest.raises(error, match=message):
            session.presign("GET", "k", expires)


def test_b2_presign_takes_a_timedelta(b2: B2Session) -> None:
    b2.put_object("shared.txt", b"shared b2")
    url = b2.presign("GET", "shared.txt", _dt.timedelta(hours=1))
    assert urllib3.request("GET", url, retries=False).data == b"shared b2"


def test_s3path_presign_takes_a_timedelta(s3: S3Session) -> None:
    from s3lite.path import S3Path, register_configuration_parameter

    register_configuration_parameter(S3Path(f"/{s3.bucket}"), session=s3)
    path = S3Path(f"/{s3.bucket}/p.txt")
    path.write_bytes(b"via path")
    url = path.presign(_dt.timedelta(minutes=5))
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["300"]
    assert urllib3.request("GET", url, retries=False).data == b"via path"


@pytest.mark.parametrize("expires", ["8d", "0"])
def test_cli_presign_names_the_flag(expires: str) -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"}
    for url in ("s3://some-bucket/k", "b2://some-bucket/k"):
        env_b2 = {"B2_APPLICATION_KEY_ID": "kid", "B2_APPLICATION_KEY": "key"}
        result = run_cli("presign", "--expires", expires, url, env={**env, **env_b2})
        assert result.returncode == 2, result.stderr
        assert "--expires" in result.stderr
        assert "expires_in" not in result.stderr


# --- SSE-C (customer-provided keys) ------------------------------------------------------------

SSE_KEY = bytes(range(32))
OTHER_KEY = "k" * 32  # a str key is its UTF-8 bytes


def _secrets_of(key: bytes | str) -> list[str]:
    import base64

    raw = key.encode() if isinstance(key, str) else key
    return [base64.b64encode(raw).decode(), raw.hex(), repr(raw)[2:-1]]


def test_sse_c_put_head_get_download(
    s3: S3Session, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = os.urandom(300_000)
    put = s3.put_object("secret.bin", data, sse_customer_key=SSE_KEY)
    assert put.headers["x-amz-server-side-encryption-customer-algorithm"] == "AES256"
    head = s3.head_object("secret.bin", sse_customer_key=SSE_KEY)
    assert head.content_length == len(data)
    assert s3.get_object("secret.bin", sse_customer_key=SSE_KEY, stream=False).data == data
    ranged = s3.get_object("secret.bin", sse_customer_key=SSE_KEY, range_start=10, range_end=99)
    assert ranged.read() == data[10:100]
    # Without the key (or with another one) the object cannot be read.
    errors: list[BaseException] = []
    for call in (
        lambda: s3.get_object("secret.bin", stream=False),
        lambda: s3.head_object("secret.bin"),
        lambda: s3.get_object("secret.bin", sse_customer_key=OTHER_KEY, stream=False),
        lambda: s3.download_file("secret.bin", tmp_path / "no-key.bin"),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.status in (400, 403)
        errors.append(info.value)
    assert not (tmp_path / "no-key.bin").exists()
    # download_file: one GET, and parallel ranged GETs; all carry the key.
    s3.download_file("secret.bin", tmp_path / "one.bin", sse_customer_key=SSE_KEY)
    assert (tmp_path / "one.bin").read_bytes() == data
    s3.download_file(
        "secret.bin", tmp_path / "ranges.bin", sse_customer_key=SSE_KEY, threshold=1000,
        part_size=64 * 1024, concurrency=3,
    )  # fmt: skip
    assert (tmp_path / "ranges.bin").read_bytes() == data
    # The raw `headers=` route reaches download_file and head_object too.
    from s3lite.s3 import sse_customer_headers

    raw = sse_customer_headers(SSE_KEY)
    assert s3.head_object("secret.bin", headers=raw).content_length == len(data)
    s3.download_file("secret.bin", tmp_path / "raw.bin", headers=raw, threshold=1000,
                     part_size=100_000)  # fmt: skip
    assert (tmp_path / "raw.bin").read_bytes() == data
    # The key appears in no log record, exception or repr.
    shown = " ".join(
        [caplog.text, repr(s3), repr(put), repr(head)] + [f"{e} {e!r} {e.__dict__}" for e in errors]
    )
    for secret in _secrets_of(SSE_KEY) + _secrets_of(OTHER_KEY):
        assert secret not in shown


def test_sse_c_bad_keys_are_refused_without_showing_them(s3: S3Session) -> None:
    for bad in (b"short", "x" * 31, "é" * 16 + "x"):
        with pytest.raises(ValueError, match="must be 32 bytes") as info:
            s3.put_object("k", b"x", sse_customer_key=bad)
        assert str(bad) not in str(info.value) and repr(bad) not in str(info.value)
    with pytest.raises(TypeError, match="sse_customer_key"):
        s3.get_object("k", sse_customer_key=12345)  # type: ignore[arg-type]


def test_sse_c_multipart_upload_and_copy(s3: S3Session, tmp_path: Path) -> None:
    from s3lite.s3 import sse_customer_headers

    data = os.urandom(11 * 1024 * 1024 + 123)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    sent: list[tuple[str, str, dict[str, str]]] = []
    original = s3.transport.send

    def observe(request: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append((request.method, request.query, dict(request.headers)))
        return original(request, *args, **kwargs)

    s3.transport.send = observe  # type: ignore[method-assign]
    try:
        up = s3.upload_file(
            source, "big.bin", sse_customer_key=SSE_KEY, threshold=1024 * 1024,
            part_size=5 * 1024 * 1024, metadata={"kind": "secret"},
        )  # fmt: skip
    finally:
        s3.transport.send = original  # type: ignore[method-assign]
    assert up.etag and up.etag.endswith("-3")
    # Start, three parts and completion: every request carries the key.
    assert [(m, "partNumber" in q) for m, q, _ in sent] == [
        ("POST", False), ("PUT", True), ("PUT", True), ("PUT", True), ("POST", False)
    ]  # fmt: skip
    assert all(sse_customer_headers(SSE_KEY).items() <= h.items() for _, _, h in sent)
    with pytest.raises(ClientError):
        s3.get_object("big.bin", stream=False, range_end=10)
    head = s3.head_object("big.bin", sse_customer_key=SSE_KEY)
    assert (head.content_length, head.metadata) == (len(data), {"kind": "secret"})
    s3.download_file(
        "big.bin", tmp_path / "back.bin", sse_customer_key=SSE_KEY, part_size=4 * 1024 * 1024
    )
    assert (tmp_path / "back.bin").read_bytes() == data
    # Copy: read with the source's key, write with another.
    s3.copy_object(
        "big.bin", "copy.bin", sse_customer_key=OTHER_KEY, copy_source_sse_customer_key=SSE_KEY
    )
    assert s3.get_object("copy.bin", sse_customer_key=OTHER_KEY, stream=False).data == data
    with pytest.raises(ClientError):
        s3.get_object("copy.bin", sse_customer_key=SSE_KEY, stream=False, range_end=10)


def test_sse_c_multipart_copy_sends_both_keys(moto_s3: S3Session) -> None:
    """UploadPartCopy with SSE-C (SeaweedFS answers 501 NotImplemented to it): on moto, every
    request of a multipart copy carries the keys it needs. moto does not enforce SSE-C, so the
    headers sent are observed on the session's transport."""
    from s3lite.s3 import sse_customer_headers

    data = os.urandom(6 * 1024 * 1024)
    moto_s3.put_object("src.bin", data, sse_customer_key=SSE_KEY)
    sent: list[tuple[str, str, dict[str, str]]] = []
    original = moto_s3.transport.send

    def observe(request: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append((request.method, request.query, dict(request.headers)))
        return original(request, *args, **kwargs)

    moto_s3.transport.send = observe  # type: ignore[method-assign]
    moto_s3.copy_object(
        "src.bin", "dst.bin", sse_customer_key=OTHER_KEY, copy_source_sse_customer_key=SSE_KEY,
        multipart_threshold=1024 * 1024, part_size=5 * 1024 * 1024,
    )  # fmt: skip
    moto_s3.transport.send = original  # type: ignore[method-assign]
    dest = sse_customer_headers(OTHER_KEY)
    source = sse_customer_headers(SSE_KEY, copy_source=True)
    head, start, *parts, complete = sent
    assert head[0] == "HEAD" and sse_customer_headers(SSE_KEY).items() <= head[2].items()
    assert "uploads" in start[1] and dest.items() <= start[2].items()
    assert len(parts) == 2
    for method, query, headers in parts:
        assert method == "PUT" and "partNumber" in query
        assert dest.items() <= headers.items() and source.items() <= headers.items()
    assert complete[0] == "POST" and "uploadId" in complete[1]
    got = moto_s3.get_object("dst.bin", sse_customer_key=OTHER_KEY, stream=False).data
    assert got == data


# --- upload_file takes put_object's object options --------------------------------------------


@pytest.mark.parametrize("size", [100_000, 6 * 1024 * 1024 + 7], ids=["single", "multipart"])
def test_upload_file_object_options(any_s3: S3Session, tmp_path: Path, size: int) -> None:
    import base64
    import hashlib

    data = os.urandom(size)
    path = tmp_path / "report.dat"
    path.write_bytes(data)
    any_s3.upload_file(
        path, "report.dat", metadata={"owner": "alice", "note": "ünïcode"},
        content_type="application/x-report", storage_class="STANDARD_IA", checksum="sha256",
        threshold=1024 * 1024, part_size=5 * 1024 * 1024,
    )  # fmt: skip
    head = any_s3.head_object("report.dat", checksum_mode=True)
    assert head.content_length == size
    assert head.metadata == {"owner": "alice", "note": "ünïcode"}
    assert head.content_type == "application/x-report"
    assert head.headers.get("x-amz-storage-class") == "STANDARD_IA"
    if head.headers.get("server", "").startswith("SeaweedFS"):  # moto does not report it
        part = 5 * 1024 * 1024
        if size <= 1024 * 1024:
            expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
        else:  # composite: the SHA-256 of the parts' SHA-256s, and the part count
            digests = b"".join(
                hashlib.sha256(data[i : i + part]).digest() for i in range(0, size, part)
            )
            expected = base64.b64encode(hashlib.sha256(digests).digest()).decode() + "-2"
        assert head.headers["x-amz-checksum-sha256"] == expected
    listed = next(iter(any_s3.list_objects("report.dat")))
    assert listed["storage_class"] == "STANDARD_IA"
    assert any_s3.get_object("report.dat", stream=False).data == data


@pytest.mark.parametrize("checksum", ["crc32c", "sha1", "md5"])
def test_upload_file_other_checksums(s3: S3Session, tmp_path: Path, checksum: str) -> None:
    # CRC32C runs in pure Python here: a small multipart upload (one 5 MiB part and a bit).
    data = os.urandom(5 * 1024 * 1024 + 1)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    for threshold in (16 * 1024 * 1024, 1024 * 1024):  # one request, then parts
        s3.upload_file(path, "f.bin", checksum=checksum, threshold=threshold)
        assert s3.get_object("f.bin", stream=False).data == data
    with pytest.raises(ValueError, match="checksum 'crc16'"):
        s3.upload_file(path, "f.bin", checksum="crc16", threshold=1024 * 1024)


def test_b2_upload_file_options(b2: B2Session, tmp_path: Path) -> None:
    data = os.urandom(250_000)
    path = tmp_path / "b2.bin"
    path.write_bytes(data)
    for threshold in (1_000_000, 100_000):  # b2_upload_file, then a large file
        b2.upload_file(
            path, "b2.bin", metadata={"owner": "bob"}, content_type="application/x-b2",
            checksum="sha1", threshold=threshold, part_size=100_000,
        )  # fmt: skip
        head = b2.head_object("b2.bin")
        assert (head.metadata["owner"], head.content_type) == ("bob", "application/x-b2")
        assert b2.get_object("b2.bin", stream=False).data == data
    for option, message in (
        ({"storage_class": "GLACIER"}, "no storage classes"),
        ({"checksum": "crc32"}, "SHA-1"),
        ({"sse_customer_key": SSE_KEY}, "sse_customer_key"),
    ):
        with pytest.raises(ValueError, match=message):
            b2.upload_file(path, "refused.bin", **option)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sse_customer_key"):
        b2.download_file("b2.bin", tmp_path / "x", sse_customer_key=SSE_KEY)
    assert [o["key"] for o in b2.list_objects()] == ["b2.bin"]


# --- B2: large files' SHA-1, abort_multipart_uploads ------------------------------------------


def test_b2_large_upload_file_has_a_sha1_etag(b2: B2Session, tmp_path: Path) -> None:
    import hashlib
    import io

    data = os.urandom(300_000)
    path = tmp_path / "large.bin"
    path.write_bytes(data)
    sha1 = hashlib.sha1(data).hexdigest()  # noqa: S324 - B2's content digest
    up = b2.upload_file(path, "large.bin", threshold=100_000, part_size=100_000)
    assert list(b2.list_multipart_uploads()) == []
    assert up.etag == sha1
    assert [o["etag"] for o in b2.list_objects("large.bin")] == [sha1]
    assert b2.head_object("large.bin").etag == sha1
    b2.upload_file(io.BytesIO(data), "from-file-object.bin", threshold=100_000)
    assert next(iter(b2.list_objects("from-file-object.bin")))["etag"] == sha1
    # Downloads check the whole file against it.
    b2.download_file("large.bin", tmp_path / "back.bin", threshold=50_000, part_size=64_000)
    assert (tmp_path / "back.bin").read_bytes() == data


def test_b2_abort_multipart_uploads(b2: B2Session) -> None:
    from s3lite import MultipartUpload

    for key in ("tmp/a", "tmp/b", "keep/c"):
        MultipartUpload(b2, None, key).start()
    assert b2.abort_multipart_uploads("tmp/", older_than=_dt.timedelta(hours=1)) == 0
    assert b2.abort_multipart_uploads("tmp/") == 2
    assert [u["key"] for u in b2.list_multipart_uploads()] == ["keep/c"]
    assert b2.abort_multipart_uploads(older_than=0) == 1
    assert list(b2.list_multipart_uploads()) == []


def test_readme_s3path_configuration_example_runs_on_seaweedfs(
    seaweed: LocalSeaweedFS, s3: S3Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's per-bucket configuration example, pointed at the test SeaweedFS: the
    object options it sets for other buckets must not reach the local one."""
    import re

    from s3lite.path import S3Path, register_configuration_parameter

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "local-bucket" in b)
    code = block.replace("http://127.0.0.1:8333", seaweed.endpoint_url)
    code = code.replace("/local-bucket", f"/{s3.bucket}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    try:
        names = {"S3Path": S3Path, "S3Session": S3Session}
        names["register_configuration_parameter"] = register_configuration_parameter
        exec(code, names)  # noqa: S102 - the README's own example (imports from the one above)
        (S3Path(f"/{s3.bucket}") / "readme.txt").write_text("configured")
        assert s3.get_object("readme.txt", stream=False).data == b"configured"
    finally:
        for prefix in ("/", "/my-bucket", "/my-bucket/archive"):
            register_configuration_parameter(S3Path(prefix), parameters={})


def test_headers_reach_every_request(s3: S3Session, tmp_path: Path) -> None:
    """`headers=` goes out with every request a method makes (observed on the session's
    transport; the requests themselves go to SeaweedFS and must succeed with it)."""
    probe = {"X-S3lite-Probe": "yes"}
    sent: list[tuple[str, str, dict[str, str]]] = []
    original = s3.transport.send

    def observe(request: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append((request.method, request.target, dict(request.headers)))
        return original(request, *args, **kwargs)

    s3.transport.send = observe  # type: ignore[method-assign]
    other = new_bucket_name()
    calls = [
        lambda: s3.put_object("a", b"a", headers=probe),
        lambda: s3.get_object("a", headers=probe, stream=False),
        lambda: s3.head_object("a", headers=probe),
        lambda: s3.copy_object("a", "b", headers=probe),
        lambda: list(s3.list_objects(headers=probe)),
        lambda: list(s3.list_object_versions(headers=probe)),
        lambda: list(s3.list_multipart_uploads(headers=probe)),
        lambda: s3.abort_multipart_uploads(headers=probe),
        lambda: s3.delete_object("b", headers=probe),
        lambda: s3.delete_objects(["a"], headers=probe),
        lambda: s3.upload_file(io.BytesIO(b"u" * 5000), "u", headers=probe),
        lambda: s3.download_file("u", tmp_path / "u", headers=probe),
        lambda: s3.create_bucket(other, headers=probe),
        lambda: s3.head_bucket(other, headers=probe),
        lambda: s3.set_bucket_versioning(True, other, headers=probe),
        lambda: s3.list_buckets(headers=probe),
        lambda: s3.delete_bucket(other, headers=probe),
    ]
    try:
        for call in calls:
            before = len(sent)
            call()
            assert len(sent) > before
    finally:
        s3.transport.send = original  # type: ignore[method-assign]
    missing = [(m, t) for m, t, h in sent if h.get("X-S3lite-Probe") != "yes"]
    assert not missing
    assert (tmp_path / "u").read_bytes() == b"u" * 5000


@pytest.mark.parametrize("checksum", ["sha256", "md5"])
def test_resume_with_another_checksum(s3: S3Session, checksum: str) -> None:
    from s3lite import MultipartUpload

    data = os.urandom(11 * 1024 * 1024)
    part = 5 * 1024 * 1024
    first = MultipartUpload(s3, None, "resumed.bin", part_size=part, checksum=checksum)
    upload_id = first.start()
    first.upload_part(1, data[:part])
    first.upload_part(3, data[2 * part :])  # part 2 never arrived: the upload broke
    done = MultipartUpload.resume(
        s3, "resumed.bin", upload_id, data, part_size=part, checksum=checksum
    )
    assert done.etag and done.etag.endswith("-3")
    assert s3.get_object("resumed.bin", stream=False).data == data


def test_headers_reach_sub_resource_requests(moto_s3: S3Session) -> None:
    """Tagging, policy, lifecycle and Object Lock calls send `headers=` too (moto)."""
    probe = {"X-S3lite-Probe": "yes"}
    moto_s3.put_object("t", b"t")
    sent: list[dict[str, str]] = []
    original = moto_s3.transport.send

    def observe(request: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(dict(request.headers))
        return original(request, *args, **kwargs)

    moto_s3.transport.send = observe  # type: ignore[method-assign]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{moto_s3.bucket}/*"}],
    }  # fmt: skip
    rule = {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
            "Expiration": {"Days": 7}}  # fmt: skip
    try:
        moto_s3.put_object_tagging("t", {"a": "b"}, headers=probe)
        assert moto_s3.get_object_tagging("t", headers=probe) == {"a": "b"}
        moto_s3.delete_object_tagging("t", headers=probe)
        moto_s3.put_bucket_policy(policy, headers=probe)
        assert moto_s3.get_bucket_policy(headers=probe)
        moto_s3.delete_bucket_policy(headers=probe)
        moto_s3.put_bucket_lifecycle_configuration([rule], headers=probe)
        assert moto_s3.get_bucket_lifecycle_configuration(headers=probe)
        moto_s3.delete_bucket_lifecycle(headers=probe)
        moto_s3.get_object_lock_config(headers=probe)
    finally:
        moto_s3.transport.send = original  # type: ignore[method-assign]
    assert len(sent) == 10
    assert all(h.get("X-S3lite-Probe") == "yes" for h in sent)


def test_cli_part_size_message_names_the_flag(
    seaweed: LocalSeaweedFS, s3: S3Session, tmp_path: Path
) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(20_000))
    env = {"AWS_ACCESS_KEY_ID": seaweed.access_key, "AWS_SECRET_ACCESS_KEY": seaweed.secret_key}
    result = run_cli(
        "--endpoint-url", seaweed.endpoint_url, "cp", "--multipart-threshold", "1000",
        "--part-size", "100", str(src), f"s3://{s3.bucket}/big.bin", env=env,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "--part-size" in result.stderr and "part_size" not in result.stderr
    assert [o["key"] for o in s3.list_objects()] == []


def test_cli_retries_follow_aws_max_attempts(
    seaweed: LocalSeaweedFS, proxy: FaultProxy, s3: S3Session
) -> None:
    s3.put_object("k", b"x")
    rule = proxy.add(ErrorResponse(503, "SlowDown", retry_after=0), method="GET", times=None)
    env = {
        "AWS_ACCESS_KEY_ID": seaweed.access_key,
        "AWS_SECRET_ACCESS_KEY": seaweed.secret_key,
        "AWS_MAX_ATTEMPTS": "2",
    }
    result = run_cli("--endpoint-url", proxy.url, "cat", f"s3://{s3.bucket}/k", env=env)
    assert result.returncode == 1, result.stderr
    assert rule.injected == 2


@pytest.mark.parametrize("size", [300_000, 6 * 1024 * 1024 + 5], ids=["small", "parts"])
def test_upload_file_options_from_a_pipe(s3: S3Session, size: int) -> None:
    """A stream of unknown length (a pipe) takes the options on both of its paths too."""
    import threading

    data = os.urandom(size)
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as w:
            w.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    with os.fdopen(read_fd, "rb") as r:
        s3.upload_file(
            r, "piped.bin", sse_customer_key=SSE_KEY, storage_class="STANDARD_IA",
            metadata={"via": "pipe"}, content_type="application/x-piped", checksum="sha256",
            threshold=1024 * 1024, part_size=5 * 1024 * 1024,
        )  # fmt: skip
    writer.join(timeout=60)
    head = s3.head_object("piped.bin", sse_customer_key=SSE_KEY)
    assert (head.content_length, head.metadata, head.content_type) == (
        size, {"via": "pipe"}, "application/x-piped"
    )  # fmt: skip
    assert head.headers.get("x-amz-storage-class") == "STANDARD_IA"
    assert s3.get_object("piped.bin", sse_customer_key=SSE_KEY, stream=False).data == data
    with pytest.raises(ClientError):
        s3.head_object("piped.bin")
