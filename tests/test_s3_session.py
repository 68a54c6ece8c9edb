"""S3Session against real servers: SeaweedFS (checks signatures) and, for a subset, moto."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3
from conftest import FAST_RETRY, new_bucket_name

import s3lite
from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS, free_port
from s3lite.transport import Transport

# --- round trips -----------------------------------------------------------------------------


def test_put_get_head_delete_roundtrip(any_s3: S3Session) -> None:
    put = any_s3.put_object("dir/hello.txt", b"Hello, S3!", metadata={"processed": "false"})
    assert put.status == 200
    assert put.etag == hashlib.md5(b"Hello, S3!").hexdigest()  # noqa: S324

    got = any_s3.get_object("dir/hello.txt")
    with got:
        assert got.data == b"Hello, S3!"
    assert got.content_type == "text/plain"
    assert got.content_length == 10
    assert got.etag == put.etag
    assert got.metadata == {"processed": "false"}
    assert isinstance(got.last_modified, dt.datetime) and got.last_modified.tzinfo is not None
    assert abs((dt.datetime.now(dt.timezone.utc) - got.last_modified).total_seconds()) < 300

    head = any_s3.head_object("dir/hello.txt")
    assert head.status == 200 and head.content_length == 10 and head.data == b""
    assert head.metadata["processed"] == "false"

    assert any_s3.delete_object("dir/hello.txt").status == 204
    with pytest.raises(s3lite.NoSuchKey) as info:
        any_s3.get_object("dir/hello.txt")
    assert info.value.status == 404 and info.value.code == "NoSuchKey"
    with pytest.raises(s3lite.NoSuchKey):
        any_s3.head_object("dir/hello.txt")
    # deleting a missing key succeeds, as in S3
    assert any_s3.delete_object("dir/hello.txt").status == 204


def test_metadata_headers_and_unicode_values(any_s3: S3Session) -> None:
    any_s3.put_object(
        "meta.bin",
        b"x",
        metadata={"Source": "sensor-1", "note": "héllo wörld ☃"},
        content_type="application/x-thing",
        cache_control="max-age=60",
        content_disposition='attachment; filename="a.bin"',
    )
    head = any_s3.head_object("meta.bin")
    assert head.metadata == {"source": "sensor-1", "note": "héllo wörld ☃"}
    assert head.content_type == "application/x-thing"
    assert head.headers["Cache-Control"] == "max-age=60"
    assert head.headers["content-disposition"] == 'attachment; filename="a.bin"'


def test_content_type_is_guessed_from_the_key(s3: S3Session) -> None:
    for key, expected in [("a.json", "application/json"), ("b.png", "image/png"),
                          ("c.unknownext", "application/octet-stream")]:  # fmt: skip
        s3.put_object(key, b"{}")
        assert s3.head_object(key).content_type == expected


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda d: d, id="bytes"),
        pytest.param(lambda d: bytearray(d), id="bytearray"),
        pytest.param(lambda d: memoryview(d), id="memoryview"),
        pytest.param(lambda d: io.BytesIO(d), id="BytesIO"),
        pytest.param(lambda d: iter([d[:1000], d[1000:5000], b"", d[5000:]]), id="iterator"),
        pytest.param(lambda d: (d[i : i + 777] for i in range(0, len(d), 777)), id="generator"),
    ],
)
def test_body_kinds(s3: S3Session, make_body) -> None:
    data = os.urandom(70_000)
    s3.put_object("body", make_body(data))
    assert s3.get_object("body").data == data


def test_str_body_is_utf8(s3: S3Session) -> None:
    s3.put_object("text.txt", "héllo")
    assert s3.get_object("text.txt").data == "héllo".encode()


def test_file_body_from_offset_and_pipe(s3: S3Session, tmp_path) -> None:
    path = tmp_path / "f.bin"
    data = os.urandom(300_000)
    path.write_bytes(data)
    with open(path, "rb") as f:
        f.seek(1000)  # a file object is sent from where it stands
        s3.put_object("from-offset", f)
    assert s3.get_object("from-offset").data == data[1000:]

    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "wb") as w:
        w.write(data[:50_000])
    with os.fdopen(read_fd, "rb") as pipe:  # not seekable, length unknown: spooled
        s3.put_object("from-pipe", pipe)
    assert s3.get_object("from-pipe").data == data[:50_000]


def test_streamed_upload_with_declared_length(s3: S3Session) -> None:
    chunks = [os.urandom(300_000) for _ in range(4)]
    s3.put_object("declared", iter(chunks), content_length=1_200_000)
    assert s3.get_object("declared").data == b"".join(chunks)


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


# --- streaming responses ---------------------------------------------------------------------


def test_streaming_read_iter_and_release(s3: S3Session) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    s3.put_object("stream", data)
    with s3.get_object("stream") as resp:
        head = resp.read(10)
        rest = b"".join(resp.iter_chunks(65536))
    assert head + rest == data
    # early close must hand the connection back: many unread streams on a 2-connection pool
    session = S3Session(
        s3.credentials.get().access_key, s3.credentials.get().secret_key,  # type: ignore[union-attr]
        endpoint_url=s3.endpoint_url, bucket=s3.bucket, max_pool_connections=2, read_timeout=5,
    )  # fmt: skip
    for _ in range(10):
        with session.get_object("stream") as resp:
            assert resp.read(100) == data[:100]
    for _ in range(10):
        resp = session.get_object("stream")
        resp.read(5)
        del resp  # dropped without close: released when collected
    assert session.get_object("stream", stream=False).data == data
    session.close()


def test_readinto_and_preloaded(s3: S3Session) -> None:
    s3.put_object("small", b"0123456789")
    resp = s3.get_object("small", stream=False)
    assert resp.closed
    buf = bytearray(4)
    assert resp.readinto(buf) == 4 and bytes(buf) == b"0123"
    assert resp.read() == b"456789"
    assert resp.read(3) == b""


def test_ranges(any_s3: S3Session) -> None:
    any_s3.put_object("r", b"0123456789")
    resp = any_s3.get_object("r", range_start=2, range_end=5)
    assert resp.status == 206 and resp.data == b"2345"
    assert resp.headers["Content-Range"] == "bytes 2-5/10"
    assert any_s3.get_object("r", range_start=7).data == b"789"
    assert any_s3.get_object("r", range_end=2).data == b"012"
    with pytest.raises(s3lite.InvalidRange) as info:
        any_s3.get_object("r", range_start=50)
    assert info.value.status == 416


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
        s3.get_object("cr", if_modified_since=dt.datetime(2000, 1, 1))  # noqa: DTZ001


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


# --- awkward keys ------------------------------------------------------------------------------

AWKWARD_KEYS = [
    "with space",
    "plus+sign",
    "tilde~key",
    "percent%20literal",
    "percent%",
    "unicode/ünïcødé/日本語",
    "emoji/😀",
    "query?x=1&y=2",
    "hash#frag",
    "semi;colon:at@dollar$comma,",
    "quotes'\"",
    "xml<&>chars",
    "eq=sign",
    "star*paren()bang!",
    "back`tick^caret{brace}[bracket]|pipe",
    # 1024 bytes in all (S3's limit); SeaweedFS caps each path segment at 255 bytes
    "long/" + ("k" * 200 + "/") * 4 + "k" * 215,
]


def test_awkward_keys_roundtrip(s3: S3Session) -> None:
    for key in AWKWARD_KEYS:
        s3.put_object(key, key.encode())
    listed = {item["key"] for item in s3.list_objects().iter_objects()}
    assert listed == set(AWKWARD_KEYS)
    for key in AWKWARD_KEYS:
        assert s3.get_object(key).data == key.encode(), key
        copied = s3.copy_object(key, "copy/" + key[:1000])
        assert copied.etag == hashlib.md5(key.encode()).hexdigest()  # noqa: S324
        assert s3.get_object("copy/" + key[:1000]).data == key.encode()
    result = s3.delete_objects(AWKWARD_KEYS)
    assert result.ok and len(result.deleted) == len(AWKWARD_KEYS)


def test_slash_keys_roundtrip_on_moto(moto_s3: S3Session) -> None:
    # SeaweedFS cannot store '//' or a trailing '/' (see shared/test-servers.md); moto can,
    # which proves the canonical path is signed and sent exactly as the key is.
    keys = ["double//slash", "trailing/", "/leading", "dot/./segment", "dots/../up"]
    for key in keys:
        moto_s3.put_object(key, key.encode())
        assert moto_s3.get_object(key).data == key.encode()
    assert {i["key"] for i in moto_s3.list_objects().iter_objects()} == set(keys)


# --- listings ----------------------------------------------------------------------------------


def test_listing_2500_keys_across_pages(s3: S3Session) -> None:
    keys = [f"many/{i:05d}" for i in range(2500)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(k, b"x"), keys))
    s3.put_object("other/a", b"y")
    listing = s3.list_objects("many/", page_size=1000)
    pages = list(listing.pages())
    assert [len(p.items) for p in pages] == [1000, 1000, 500]
    items = list(listing.iter_objects())
    assert [i["key"] for i in items] == keys
    assert all(i["content_length"] == 1 and i["etag"] for i in items)
    assert items[0]["upload_timestamp"].tzinfo is not None
    assert len(list(s3.list_objects("many/", max_keys=1234).iter_objects())) == 1234
    after = list(s3.list_objects("many/", start_after="many/02490").iter_objects())
    assert [i["key"] for i in after] == keys[2491:]
    assert list(s3.list_objects(delimiter="/").iter_prefixes()) == ["many/", "other/"]
    # a whole prefix deleted in batches of 1000
    result = s3.delete_objects(prefix="many/")
    assert result.ok and len(result.deleted) == 2500
    assert [i["key"] for i in s3.list_objects().iter_objects()] == ["other/a"]


def test_list_objects_empty_and_iter(any_s3: S3Session) -> None:
    assert list(any_s3.list_objects()) == []
    any_s3.put_object("a/b/c", b"1")
    any_s3.put_object("a/d", b"22")
    assert [i["key"] for i in any_s3.list_objects("a/")] == ["a/b/c", "a/d"]
    listing = any_s3.list_objects("a/", delimiter="/")
    assert list(listing.iter_prefixes()) == ["a/b/"]
    assert [i["key"] for i in listing.iter_objects()] == ["a/d"]


def test_list_object_versions(any_s3: S3Session) -> None:
    any_s3.set_bucket_versioning(True)
    v1 = any_s3.put_object("doc", b"one")
    v2 = any_s3.put_object("doc", b"two")
    assert v1.version_id and v2.version_id and v1.version_id != v2.version_id
    any_s3.delete_object("doc")  # adds a delete marker
    versions = list(any_s3.list_object_versions("doc").iter_objects())
    markers = [v for v in versions if v["delete_marker"]]
    real = [v for v in versions if not v["delete_marker"]]
    assert len(markers) == 1 and markers[0]["is_latest"]
    assert {v["version_id"] for v in real} == {v1.version_id, v2.version_id}
    assert all(not v["is_latest"] for v in real)
    old = any_s3.get_object("doc", version_id=v1.version_id)
    assert old.data == b"one" and old.version_id == v1.version_id
    copied = any_s3.copy_object("doc", "restored", source_version_id=v1.version_id)
    assert copied.status == 200
    assert any_s3.get_object("restored").data == b"one"
    deleted = any_s3.delete_objects([(v["key"], v["version_id"]) for v in versions])
    assert deleted.ok
    assert list(any_s3.list_object_versions("doc").iter_objects()) == []


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
    result = any_s3.delete_objects([("free", None), ("held", held.version_id)], bucket=bucket)
    assert [d["key"] for d in result.deleted] == ["free"]
    assert [(e["key"], e["code"]) for e in result.errors] == [("held", "AccessDenied")]
    assert not result.ok
    assert any_s3.get_object("held", bucket=bucket, version_id=held.version_id).data == b"held"


# --- copy ----------------------------------------------------------------------------------------


def test_copy_metadata_copy_and_replace(any_s3: S3Session) -> None:
    any_s3.put_object("src.txt", b"payload", metadata={"a": "1"})
    copied = any_s3.copy_object("src.txt", "dst.txt")
    assert copied.etag == hashlib.md5(b"payload").hexdigest()  # noqa: S324
    assert copied.last_modified is not None
    assert any_s3.head_object("dst.txt").metadata == {"a": "1"}
    any_s3.copy_object("src.txt", "dst2.txt", metadata={"b": "2"}, content_type="text/csv")
    head = any_s3.head_object("dst2.txt")
    assert head.metadata == {"b": "2"} and head.content_type == "text/csv"
    # metadata updated in place (copy onto itself with REPLACE)
    any_s3.copy_object("src.txt", "src.txt", metadata={"a": "updated"})
    assert any_s3.head_object("src.txt").metadata == {"a": "updated"}
    assert any_s3.get_object("src.txt").data == b"payload"
    with pytest.raises(s3lite.NoSuchKey):
        any_s3.copy_object("missing", "x")


def test_copy_between_buckets(any_s3: S3Session) -> None:
    other = new_bucket_name()
    any_s3.create_bucket(other)
    try:
        any_s3.put_object("k", b"v")
        any_s3.copy_object("k", "k2", dest_bucket=other)
        assert any_s3.get_object("k2", bucket=other).data == b"v"
        any_s3.copy_object("k2", "back", source_bucket=other)
        assert any_s3.get_object("back").data == b"v"
    finally:
        any_s3.delete_objects(prefix="", bucket=other)
        any_s3.delete_bucket(other)


# --- buckets --------------------------------------------------------------------------------------


def test_bucket_lifecycle(any_s3: S3Session) -> None:
    name = new_bucket_name("life")
    assert any_s3.create_bucket(name).status == 200
    assert name in {b["name"] for b in any_s3.list_buckets()}
    assert any_s3.head_bucket(name).status == 200
    try:
        any_s3.create_bucket(name)  # us-east-1 (moto) answers 200 to its owner, as AWS does
    except s3lite.BucketAlreadyOwnedByYou as exc:  # SeaweedFS
        assert exc.status == 409
    assert any_s3.delete_bucket(name).status == 204
    with pytest.raises(s3lite.NoSuchBucket):
        any_s3.head_bucket(name)
    with pytest.raises(s3lite.NoSuchBucket):
        any_s3.put_object("k", b"v", bucket=name)
    with pytest.raises(s3lite.NoSuchBucket):
        list(any_s3.list_objects(bucket=name))


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


# --- addressing and signature versions -------------------------------------------------------------


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


# --- retries and transport errors -------------------------------------------------------------------


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
    # Nothing listens on this port: any request would be a TransportError, not a ValueError.
    session = S3Session(
        "AKID", "secret", endpoint_url=f"http://127.0.0.1:{free_port()}", bucket="bucket-ok"
    )
    with pytest.raises(ValueError, match="empty"):
        session.get_object("")
    with pytest.raises(ValueError, match="1025 bytes"):
        session.put_object("k" * 1025, b"x")
    with pytest.raises(ValueError, match="1026 bytes"):
        session.put_object("é" * 513, b"x")
    with pytest.raises(TypeError):
        session.get_object(b"bytes-key")  # type: ignore[arg-type]
    for bad in ("ab", "Bad..name", "-leading", "trailing-", "a" * 64, "192.168.1.1", "sp ace"):
        with pytest.raises(ValueError, match="invalid bucket name"):
            session.get_object("k", bucket=bad)
    with pytest.raises(ValueError, match="must not be negative"):
        session.get_object("k", range_start=-1)
    with pytest.raises(ValueError, match="before range_start"):
        session.get_object("k", range_start=5, range_end=2)
    with pytest.raises(ValueError, match="checksum"):
        session.put_object("k", b"x", checksum="crc64")
    with pytest.raises(ValueError, match="metadata name"):
        session.put_object("k", b"x", metadata={"bad name": "v"})
    with pytest.raises(ValueError, match="line break"):
        session.put_object("k", b"x", metadata={"m": "a\r\nInjected: 1"})
    with pytest.raises(ValueError, match="addressing_style"):
        S3Session("AKID", "secret", addressing_style="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="retry_mode"):
        S3Session("AKID", "secret", retry_mode="eager")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="signature_version"):
        S3Session("AKID", "secret", signature_version="v3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both"):
        S3Session("AKID")
    with pytest.raises(ValueError, match="endpoint_url"):
        S3Session("AKID", "secret", endpoint_url="ftp://example.com")
    with pytest.raises(ValueError, match="no bucket"):
        S3Session("AKID", "secret").get_object("k")
    with pytest.raises(TypeError, match="body"):
        session.put_object("k", 12345)  # type: ignore[arg-type]


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
