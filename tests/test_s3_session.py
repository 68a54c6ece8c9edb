"""S3Session against real servers: SeaweedFS (checks signatures) and, for a subset, moto.

Only what is S3's own lives here (payload signing, conditional requests, checksums, presigned
URLs, addressing styles, SigV2, session tokens, moto specifics); the behaviour both backends
share (round trips, bodies, streaming, ranges, listings, versions, copies, buckets, awkward
keys, argument checks) is tested once for S3 and B2 in test_backends.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import time

import pytest
import urllib3

import s3lite
from conftest import FAST_RETRY, both_flavours, new_bucket_name
from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS, free_port
from s3lite.transport import Transport

#: Every test here runs on the sync session and on the async one (conftest.both_flavours).
flavour = both_flavours()

# --- payload signing ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["signed", "unsigned", "streaming", "auto"])
def test_payload_signing_modes(seaweed: LocalSeaweedFS, mode: str) -> None:
    session = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url,
        payload_signing=mode,  # type: ignore[arg-type]
    )  # fmt: skip
    bucket = new_bucket_name()
    session.create_bucket(bucket)
    try:
        data = os.urandom(1_500_000)
        session.put_object("k", io.BytesIO(data), bucket=bucket)
        session.put_object("small", b"abc", bucket=bucket)
        assert session.get_object("k", bucket=bucket).data == data
        assert session.get_object("small", bucket=bucket).data == b"abc"
    finally:
        session.delete_bucket(bucket)
        session.close()


# --- conditional requests ---------------------------------------------------------------------


def test_conditional_writes(s3: S3Session) -> None:
    first = s3.put_object("cond", b"v1", if_none_match="*")
    with pytest.raises(s3lite.PreconditionFailed) as info:
        s3.put_object("cond", b"v2", if_none_match="*")
    assert info.value.status == 412
    assert s3.get_object("cond").data == b"v1"
    with pytest.raises(s3lite.PreconditionFailed):
        s3.put_object("cond", b"v2", if_match="0" * 32)
    assert first.etag is not None
    second = s3.put_object("cond", b"v2", if_match=first.etag)
    assert s3.get_object("cond").data == b"v2"
    assert second.etag != first.etag


def test_conditional_reads(s3: S3Session) -> None:
    put = s3.put_object("cr", b"data")
    assert put.etag is not None
    assert s3.get_object("cr", if_match=put.etag).data == b"data"
    with pytest.raises(s3lite.PreconditionFailed):
        s3.get_object("cr", if_match="f" * 32)
    with pytest.raises(s3lite.NotModified) as info:
        s3.get_object("cr", if_none_match=put.etag)
    assert info.value.status == 304
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    with pytest.raises(s3lite.NotModified):
        s3.get_object("cr", if_modified_since=future)
    past = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    assert s3.get_object("cr", if_modified_since=past).data == b"data"
    with pytest.raises(ValueError, match="timezone-aware"):
        s3.get_object("cr", if_modified_since=dt.datetime(2000, 1, 1))


# --- checksums -------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["crc32", "crc32c", "sha1", "sha256", "md5"])
def test_checksums_sent_and_verified(s3: S3Session, algorithm: str) -> None:
    data = os.urandom(100_000)
    s3.put_object(f"sum-{algorithm}", data, checksum=algorithm)
    s3.put_object(f"sum-file-{algorithm}", io.BytesIO(data), checksum=algorithm)
    assert s3.get_object(f"sum-file-{algorithm}").data == data


def test_wrong_checksum_is_refused_by_the_server(s3: S3Session) -> None:
    with pytest.raises(s3lite.BadDigest):
        s3.put_object("bad", b"payload", headers={"x-amz-checksum-crc32": "AAAAAA=="})
    with pytest.raises(s3lite.NoSuchKey):
        s3.head_object("bad")  # nothing was stored


def test_crc32c_matches_known_vector() -> None:
    from s3lite.checksums import new_checksum

    c = new_checksum("crc32c")
    c.update(b"123456789")
    assert c.digest().hex() == "e3069283"
    with pytest.raises(ValueError, match="unknown checksum"):
        new_checksum("crc64")


# --- awkward keys (the shared ones: test_backends.py) -------------------------------------------


def test_slash_keys_roundtrip_on_moto(moto_s3: S3Session) -> None:
    # SeaweedFS cannot store '//' or a trailing '/' (see shared/test-servers.md); moto can,
    # which proves the canonical path is signed and sent exactly as the key is.
    keys = ["double//slash", "trailing/", "/leading", "dot/./segment", "dots/../up"]
    for key in keys:
        moto_s3.put_object(key, key.encode())
        assert moto_s3.get_object(key).data == key.encode()
    assert {i["key"] for i in moto_s3.list_objects().iter_objects()} == set(keys)


# --- deleting ------------------------------------------------------------------------------------


def test_delete_objects_reports_per_key_errors(any_s3: S3Session) -> None:
    import base64

    bucket = new_bucket_name("lock")
    any_s3.create_bucket(bucket, object_lock=True)
    any_s3.put_object("free", b"x", bucket=bucket)
    md5 = base64.b64encode(hashlib.md5(b"held").digest()).decode()  # noqa: S324
    held = any_s3.put_object(
        "held", b"held", bucket=bucket,
        headers={"x-amz-object-lock-legal-hold": "ON", "Content-MD5": md5},
    )  # fmt: skip
    result = any_s3.delete_objects(
        [("free", None), ("held", held.version_id)], bucket=bucket, raise_errors=False
    )
    assert [d["key"] for d in result.deleted] == ["free"]
    assert [(e["key"], e["code"]) for e in result.errors] == [("held", "AccessDenied")]
    assert not result.ok
    assert any_s3.get_object("held", bucket=bucket, version_id=held.version_id).data == b"held"


# --- buckets --------------------------------------------------------------------------------------


def test_delete_non_empty_bucket_on_moto(moto_s3: S3Session) -> None:
    moto_s3.put_object("k", b"v")
    with pytest.raises(s3lite.BucketNotEmpty) as info:
        moto_s3.delete_bucket()
    assert info.value.status == 409


# --- presigned URLs -------------------------------------------------------------------------------


def test_presigned_urls(s3: S3Session) -> None:
    http = urllib3.PoolManager()
    put_url = s3.presign("PUT", "pre/signed key+ü", 60)
    assert http.request("PUT", put_url, body=b"via url").status == 200
    get_url = s3.presign("GET", "pre/signed key+ü", 60)
    resp = http.request("GET", get_url)
    assert resp.status == 200 and resp.data == b"via url"
    assert http.request("HEAD", s3.presign("HEAD", "pre/signed key+ü")).status == 200
    tampered = get_url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    assert http.request("GET", tampered).status == 403
    secret = s3.credentials.get().secret_key  # type: ignore[union-attr]
    assert secret not in get_url and urllib3.util.parse_url(get_url).query is not None
    assert http.request("DELETE", s3.presign("DELETE", "pre/signed key+ü")).status == 204
    with pytest.raises(s3lite.NoSuchKey):
        s3.head_object("pre/signed key+ü")


def test_presigned_url_expires(s3: S3Session) -> None:
    s3.put_object("short", b"x")
    url = s3.presign("GET", "short", expires_in=1)
    time.sleep(2.1)
    assert urllib3.request("GET", url).status == 403


def test_presign_limits(s3: S3Session) -> None:
    for bad in (0, 7 * 24 * 3600 + 1):
        with pytest.raises(ValueError, match="expires_in"):
            s3.presign("GET", "k", bad)
    with pytest.raises(ValueError, match="POST"):
        s3.presign("POST", "k")
    assert "X-Amz-Expires=604800" in s3.presign("GET", "k", 7 * 24 * 3600)


# --- addressing and signature versions ---------------------------------------------------------


def test_virtual_host_addressing(seaweed: LocalSeaweedFS) -> None:
    # `<bucket>.localhost` does not resolve here: connect to 127.0.0.1 with the virtual Host.
    bucket = new_bucket_name()
    host = f"{bucket}.localhost"
    transport = Transport(resolve={host: "127.0.0.1", "localhost": "127.0.0.1"})
    session = S3Session(
        seaweed.access_key, seaweed.secret_key, bucket=bucket, addressing_style="virtual",
        endpoint_url=f"http://localhost:{seaweed.s3_port}", transport=transport,
    )  # fmt: skip
    assert session._locate(bucket, "a b")[:2] == (f"{host}:{seaweed.s3_port}", "/a%20b")
    session.create_bucket()
    try:
        session.put_object("a b", b"virtual")
        assert session.get_object("a b").data == b"virtual"
        assert [i["key"] for i in session.list_objects()] == ["a b"]
        url = session.presign("GET", "a b")
        assert url.startswith(f"http://{host}:{seaweed.s3_port}/a%20b?")
    finally:
        session.delete_bucket()


def test_auto_addressing_rules() -> None:
    aws = S3Session("AKID", "secret", region="eu-west-1")
    assert aws.endpoint_url == "https://s3.eu-west-1.amazonaws.com"
    assert aws._locate("my-bucket", "k")[:2] == ("my-bucket.s3.eu-west-1.amazonaws.com", "/k")
    # dots break TLS wildcard certificates; upper case is not DNS: path style
    assert aws._locate("my.bucket", "k")[:2] == ("s3.eu-west-1.amazonaws.com", "/my.bucket/k")
    assert aws._locate("My_Bucket", "k")[:2] == ("s3.eu-west-1.amazonaws.com", "/My_Bucket/k")
    local = S3Session("AKID", "secret", endpoint_url="http://127.0.0.1:9000/prefix/")
    assert local._locate("b-1", "k/x")[:2] == ("127.0.0.1:9000", "/prefix/b-1/k/x")
    with pytest.raises(ValueError, match="virtual"):
        S3Session("AKID", "secret", addressing_style="virtual")._locate("My_Bucket", "k")


def test_sigv2_objects(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    v2 = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url,
        bucket=s3.bucket, signature_version="s3",
    )  # fmt: skip
    v2.put_object("v2 key+ü", b"signed with v2", metadata={"m": "1"})
    got = v2.get_object("v2 key+ü")
    assert got.data == b"signed with v2" and got.metadata == {"m": "1"}
    assert urllib3.request("GET", v2.presign("GET", "v2 key+ü", 60)).data == b"signed with v2"
    wrong = S3Session(
        seaweed.access_key, "not-the-secret", endpoint_url=seaweed.endpoint_url,
        bucket=s3.bucket, signature_version="s3",
    )  # fmt: skip
    with pytest.raises((s3lite.SignatureDoesNotMatch, s3lite.AccessDenied)):
        wrong.get_object("v2 key+ü")


def test_wrong_secret_and_unknown_key_are_refused(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    s3.put_object("secret-test", b"x")
    wrong = S3Session(
        seaweed.access_key, seaweed.secret_key + "x", endpoint_url=seaweed.endpoint_url,
        bucket=s3.bucket, **FAST_RETRY,
    )  # fmt: skip
    with pytest.raises(s3lite.SignatureDoesNotMatch) as info:
        wrong.get_object("secret-test")
    assert info.value.status == 403
    with pytest.raises(s3lite.SignatureDoesNotMatch):
        wrong.put_object("secret-test", b"overwrite")
    unknown = S3Session(
        "AKNOBODY", seaweed.secret_key, endpoint_url=seaweed.endpoint_url, bucket=s3.bucket
    )
    with pytest.raises(s3lite.InvalidAccessKeyId):
        unknown.get_object("secret-test")
    assert s3.get_object("secret-test").data == b"x"


def test_session_token_is_sent_and_signed(moto: object, moto_s3: S3Session) -> None:
    session = S3Session(
        "AKIDMOTO", "moto-secret", session_token="FwoGZXIvYXdzEXAMPLETOKEN",
        endpoint_url=moto_s3.endpoint_url, bucket=moto_s3.bucket,
    )  # fmt: skip
    session.put_object("tok", b"t")
    assert session.get_object("tok").data == b"t"


# --- retries and transport errors ---------------------------------------------------------------


def test_connection_refused_is_retried_then_transport_error() -> None:
    port = free_port()
    session = S3Session(
        "AKID", "secret", endpoint_url=f"http://127.0.0.1:{port}", bucket="nobody-here",
        max_attempts=3, backoff_base=0.01, connect_timeout=1,
    )  # fmt: skip
    started = time.monotonic()
    with pytest.raises(s3lite.TransportError) as info:
        session.get_object("k")
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)
    assert time.monotonic() - started < 5


def test_clock_skew_is_corrected_from_the_server_date(s3: S3Session) -> None:
    s3.put_object("skew", b"on time")
    s3.transport.clock_offset = -3600.0  # a local clock an hour slow
    assert s3.get_object("skew").data == b"on time"
    assert abs(s3.transport.clock_offset) < 60


def test_non_replayable_body_is_not_retried(s3: S3Session) -> None:
    s3.transport.clock_offset = -3600.0  # forces a RequestTimeTooSkewed retry
    chunks = iter([b"a" * 10_000, b"b" * 10_000])
    with pytest.raises(s3lite.TransportError, match="non-seekable"):
        s3.put_object("once", chunks, content_length=20_000)
    s3.transport.clock_offset = 0.0


# --- bad input ----------------------------------------------------------------------------------


def test_bad_arguments_fail_before_any_request() -> None:
    # The checks both backends make are in test_backends.py; these are S3Session's own.
    # Nothing listens on this port: any request would be a TransportError, not a ValueError.
    session = S3Session(
        "AKID", "secret", endpoint_url=f"http://127.0.0.1:{free_port()}", bucket="bucket-ok"
    )
    for bad in ("-leading", "trailing-"):  # valid B2 bucket names, not S3 ones
        with pytest.raises(ValueError, match="invalid bucket name"):
            session.get_object("k", bucket=bad)
    with pytest.raises(ValueError, match="checksum"):
        session.put_object("k", b"x", checksum="crc64")
    with pytest.raises(ValueError, match="line break"):
        session.put_object("k", b"x", metadata={"m": "a\r\nInjected: 1"})
    with pytest.raises(ValueError, match="addressing_style"):
        S3Session("AKID", "secret", addressing_style="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="signature_version"):
        S3Session("AKID", "secret", signature_version="v3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="endpoint_url"):
        S3Session("AKID", "secret", endpoint_url="ftp://example.com")
    with pytest.raises(ValueError, match="no bucket"):
        S3Session("AKID", "secret").get_object("k")


def test_anonymous_access_to_a_public_object(moto_s3: S3Session) -> None:
    moto_s3.put_object("public.txt", b"for everyone", acl="public-read")
    anon = S3Session(endpoint_url=moto_s3.endpoint_url, anonymous=True, bucket=moto_s3.bucket)
    assert anon.get_object("public.txt").data == b"for everyone"
    with pytest.raises(ValueError, match="anonymous"):
        anon.presign("GET", "public.txt")


def test_missing_credentials_error_names_the_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    session = S3Session(endpoint_url=f"http://127.0.0.1:{free_port()}", bucket="bucket-ok")
    with pytest.raises(s3lite.NoCredentialsError, match="Environment"):
        session.get_object("k")


# --- operations run by the session -------------------------------------------------------------


def test_run_drives_any_operation(s3: S3Session) -> None:
    """`run` sends what an operation of `s3_requests` builds, signed by the session; the
    session's methods are such operations."""
    from s3lite import s3_delete_requests, s3_listing_requests, s3_requests

    s3.put_object("run/k", b"ran")
    head = s3.run(s3_requests.head_object(s3.s3_endpoint, "run/k"))
    assert head.content_length == 3 and head.etag == s3.head_object("run/k").etag
    pages = s3_listing_requests.list_objects(s3.s3_endpoint, "run/")
    listed = s3.run(s3_listing_requests.all_items(pages))
    assert [item["key"] for item in listed] == ["run/k"]
    result = s3.run(s3_delete_requests.delete_objects(s3.s3_endpoint, ["run/k"]))
    assert [d["key"] for d in result.deleted] == ["run/k"]
    with pytest.raises(s3lite.NoSuchKey):
        s3.run(s3_requests.head_object(s3.s3_endpoint, "run/k"))
