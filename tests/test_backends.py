"""One behaviour suite for both backends: S3Session on SeaweedFS (and moto, where the test ran
there before) and B2Session on the B2 test server. Each test is written once; where the two
services differ by design (the ETag is an MD5 on S3 and the SHA-1 on B2, B2's error codes,
B2's versions), the difference is spelled out next to the assertion."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import s3lite
from conftest import both_flavours, new_bucket_name, open_files
from s3lite import S3Session
from s3lite.b2 import B2Session
from s3lite.devserver import free_port

#: Every test here runs on the sync sessions and on the async ones (conftest.both_flavours).
flavour = both_flavours()

Session = S3Session | B2Session


def is_b2(session: Session) -> bool:
    return isinstance(session, B2Session)


def etag_of(session: Session, data: bytes) -> str:
    """The ETag a single-part upload of `data` gets: S3's MD5, B2's SHA-1."""
    if is_b2(session):
        return hashlib.sha1(data).hexdigest()  # noqa: S324
    return hashlib.md5(data).hexdigest()  # noqa: S324


def like(session: Session, **kwargs: Any) -> Session:
    """A second session on the same service with the same credentials."""
    creds = session.credentials.get()
    assert creds is not None
    if isinstance(session, B2Session):
        return B2Session(
            creds.access_key, creds.secret_key, session.bucket, api_url=session.api_url, **kwargs
        )
    return S3Session(
        creds.access_key, creds.secret_key, endpoint_url=session.endpoint_url,
        bucket=session.bucket, **kwargs,
    )  # fmt: skip


def add_delete_marker(session: Session, key: str) -> None:
    """S3: a plain delete on a versioned bucket. B2 (whose delete_object removes versions):
    hiding the name."""
    if isinstance(session, B2Session):
        session.hide_object(key)
    else:
        session.delete_object(key)


# --- round trips -----------------------------------------------------------------------------


def test_put_get_head_delete_roundtrip(any_backend: Session) -> None:
    put = any_backend.put_object("dir/hello.txt", b"Hello, S3!", metadata={"processed": "false"})
    assert put.status == 200
    assert put.etag == etag_of(any_backend, b"Hello, S3!")

    got = any_backend.get_object("dir/hello.txt")
    with got:
        assert got.data == b"Hello, S3!"
    assert got.content_type == "text/plain"
    assert got.content_length == 10
    assert got.etag == put.etag
    assert got.metadata == {"processed": "false"}
    assert isinstance(got.last_modified, dt.datetime) and got.last_modified.tzinfo is not None
    assert abs((dt.datetime.now(dt.timezone.utc) - got.last_modified).total_seconds()) < 300

    head = any_backend.head_object("dir/hello.txt")
    assert head.status == 200 and head.content_length == 10 and head.data == b""
    assert head.metadata["processed"] == "false"

    assert any_backend.delete_object("dir/hello.txt").status == 204
    with pytest.raises(s3lite.NoSuchKey) as info:
        any_backend.get_object("dir/hello.txt")
    # the service's own code: S3 says NoSuchKey, B2 not_found
    assert info.value.status == 404
    assert info.value.code == ("not_found" if is_b2(any_backend) else "NoSuchKey")
    with pytest.raises(s3lite.NoSuchKey):
        any_backend.head_object("dir/hello.txt")
    # deleting a missing key succeeds, as in S3
    assert any_backend.delete_object("dir/hello.txt").status == 204


def test_metadata_headers_and_unicode_values(any_backend: Session) -> None:
    any_backend.put_object(
        "meta.bin",
        b"x",
        metadata={"Source": "sensor-1", "note": "héllo wörld ☃"},
        content_type="application/x-thing",
        cache_control="max-age=60",
        content_disposition='attachment; filename="a.bin"',
    )
    head = any_backend.head_object("meta.bin")
    assert head.metadata == {"source": "sensor-1", "note": "héllo wörld ☃"}
    assert head.content_type == "application/x-thing"
    assert head.headers["Cache-Control"] == "max-age=60"
    assert head.headers["content-disposition"] == 'attachment; filename="a.bin"'


def test_content_type_is_guessed_from_the_key(backend: Session) -> None:
    # S3Session guesses from the extension; B2Session sends b2/x-auto and B2 does it.
    for key, expected in [("a.json", "application/json"), ("b.png", "image/png"),
                          ("c.unknownext", "application/octet-stream")]:  # fmt: skip
        backend.put_object(key, b"{}")
        assert backend.head_object(key).content_type == expected


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda d: d, id="bytes"),
        pytest.param(bytearray, id="bytearray"),
        pytest.param(memoryview, id="memoryview"),
        pytest.param(io.BytesIO, id="BytesIO"),
        pytest.param(lambda d: iter([d[:1000], d[1000:5000], b"", d[5000:]]), id="iterator"),
        pytest.param(lambda d: (d[i : i + 777] for i in range(0, len(d), 777)), id="generator"),
    ],
)
def test_body_kinds(backend: Session, make_body: Any) -> None:
    data = os.urandom(70_000)
    backend.put_object("body", make_body(data))
    assert backend.get_object("body").data == data


def test_str_body_is_utf8(backend: Session) -> None:
    backend.put_object("text.txt", "héllo")
    assert backend.get_object("text.txt").data == "héllo".encode()


def test_file_body_from_offset_and_pipe(backend: Session, tmp_path: Any) -> None:
    path = tmp_path / "f.bin"
    data = os.urandom(300_000)
    path.write_bytes(data)
    with open(path, "rb") as f:
        f.seek(1000)  # a file object is sent from where it stands
        backend.put_object("from-offset", f)
    assert backend.get_object("from-offset").data == data[1000:]

    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "wb") as w:
        w.write(data[:50_000])
    with os.fdopen(read_fd, "rb") as pipe:  # not seekable, length unknown: spooled
        backend.put_object("from-pipe", pipe)
    assert backend.get_object("from-pipe").data == data[:50_000]


def spool_files() -> list[str]:
    """This process's open temporary files that are already unlinked (what a spool over its
    memory limit becomes on disk)."""
    return [t for t in open_files() if t.startswith("/") and t.endswith("(deleted)")]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_a_spooled_body_is_removed_when_the_upload_ends(backend: Session) -> None:
    """A stream of unknown length larger than the in-memory spool goes to a temporary file,
    which the upload removes when it ends, whether it succeeded or the stream failed: not at
    some later garbage collection."""
    import gc

    block = os.urandom(1024 * 1024)
    backend.put_object("warm-up", b"x")  # connections and caches made before counting
    gc.collect()
    gc.disable()
    try:
        before = spool_files()
        kept = backend.put_object("spooled", (block for _ in range(9)))  # 9 MiB > 8 MiB kept
        assert spool_files() == before  # in memory: over it, a file; gone, though kept lives
        del kept

        def broken() -> Any:
            for _ in range(9):
                yield block
            raise OSError("the source broke")

        with pytest.raises(OSError, match="the source broke") as caught:
            backend.put_object("never", broken())
        assert spool_files() == before  # even while the error and its traceback are kept
        del caught
    finally:
        gc.enable()
    assert backend.head_object("spooled").content_length == 9 * 1024 * 1024


def test_streamed_upload_with_declared_length(backend: Session) -> None:
    chunks = [os.urandom(300_000) for _ in range(4)]
    backend.put_object("declared", iter(chunks), content_length=1_200_000)
    assert backend.get_object("declared").data == b"".join(chunks)


# --- streaming responses ---------------------------------------------------------------------


def test_streaming_read_iter_and_release(backend: Session) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    backend.put_object("stream", data)
    with backend.get_object("stream") as resp:
        head = resp.read(10)
        rest = b"".join(resp.iter_chunks(65536))
    assert head + rest == data
    # early close must hand the connection back: many unread streams on a 2-connection pool
    session = like(backend, max_pool_connections=2, read_timeout=5)
    for _ in range(10):
        with session.get_object("stream") as resp:
            assert resp.read(100) == data[:100]
    for _ in range(10):
        resp = session.get_object("stream")
        resp.read(5)
        del resp  # dropped without close: released when collected
    assert session.get_object("stream", stream=False).data == data
    session.close()


def test_readinto_and_preloaded(backend: Session) -> None:
    backend.put_object("small", b"0123456789")
    resp = backend.get_object("small", stream=False)
    assert resp.closed
    buf = bytearray(4)
    assert resp.readinto(buf) == 4 and bytes(buf) == b"0123"
    assert resp.read() == b"456789"
    assert resp.read(3) == b""


def test_ranges(any_backend: Session) -> None:
    any_backend.put_object("r", b"0123456789")
    resp = any_backend.get_object("r", range_start=2, range_end=5)
    assert resp.status == 206 and resp.data == b"2345"
    assert resp.headers["Content-Range"] == "bytes 2-5/10"
    assert any_backend.get_object("r", range_start=7).data == b"789"
    assert any_backend.get_object("r", range_end=2).data == b"012"
    with pytest.raises(s3lite.InvalidRange) as info:
        any_backend.get_object("r", range_start=50)
    assert info.value.status == 416


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
    # 1024 bytes in all (S3's and B2's limit); SeaweedFS caps each path segment at 255 bytes,
    # B2 at 250
    "long/" + ("k" * 200 + "/") * 4 + "k" * 215,
]


def test_awkward_keys_roundtrip(backend: Session) -> None:
    # Both services store all of these. What neither backend can hold ('//', a leading or
    # trailing '/') is tested per backend: moto in test_s3_session.py; B2 forbids those names
    # (ValueError before any request, test_b2_session.py).
    for key in AWKWARD_KEYS:
        backend.put_object(key, key.encode())
    listed = {item["key"] for item in backend.list_objects().iter_objects()}
    assert listed == set(AWKWARD_KEYS)
    for key in AWKWARD_KEYS:
        assert backend.get_object(key).data == key.encode(), key
        copied = backend.copy_object(key, "copy/" + key[:1000])
        assert copied.etag == etag_of(backend, key.encode())
        assert backend.get_object("copy/" + key[:1000]).data == key.encode()
    result = backend.delete_objects(AWKWARD_KEYS)
    assert result.ok and len(result.deleted) == len(AWKWARD_KEYS)


# --- listings ----------------------------------------------------------------------------------


def test_listing_2500_keys_across_pages(backend: Session) -> None:
    keys = [f"many/{i:05d}" for i in range(2500)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: backend.put_object(k, b"x"), keys))
    backend.put_object("other/a", b"y")
    listing = backend.list_objects("many/", page_size=1000)
    pages = list(listing.pages())
    assert [len(p.items) for p in pages] == [1000, 1000, 500]
    items = list(listing.iter_objects())
    assert [i["key"] for i in items] == keys
    assert all(i["content_length"] == 1 and i["etag"] for i in items)
    assert items[0]["upload_timestamp"].tzinfo is not None
    assert len(list(backend.list_objects("many/", limit=1234).iter_objects())) == 1234
    after = list(backend.list_objects("many/", start_after="many/02490").iter_objects())
    assert [i["key"] for i in after] == keys[2491:]
    assert list(backend.list_objects(delimiter="/").iter_prefixes()) == ["many/", "other/"]
    # a whole prefix deleted in batches of 1000
    result = backend.delete_objects(prefix="many/")
    assert result.ok and len(result.deleted) == 2500
    assert [i["key"] for i in backend.list_objects().iter_objects()] == ["other/a"]


def test_list_objects_empty_and_iter(any_backend: Session) -> None:
    assert list(any_backend.list_objects()) == []
    any_backend.put_object("a/b/c", b"1")
    any_backend.put_object("a/d", b"22")
    assert [i["key"] for i in any_backend.list_objects("a/")] == ["a/b/c", "a/d"]
    listing = any_backend.list_objects("a/", delimiter="/")
    assert list(listing.iter_prefixes()) == ["a/b/"]
    assert [i["key"] for i in listing.iter_objects()] == ["a/d"]


def test_list_object_versions(any_backend: Session) -> None:
    any_backend.set_bucket_versioning(True)  # B2: always on, nothing to do
    v1 = any_backend.put_object("doc", b"one")
    v2 = any_backend.put_object("doc", b"two")
    assert v1.version_id and v2.version_id and v1.version_id != v2.version_id
    add_delete_marker(any_backend, "doc")
    versions = list(any_backend.list_object_versions("doc").iter_objects())
    markers = [v for v in versions if v["delete_marker"]]
    real = [v for v in versions if not v["delete_marker"]]
    assert len(markers) == 1 and markers[0]["is_latest"]
    assert {v["version_id"] for v in real} == {v1.version_id, v2.version_id}
    assert all(not v["is_latest"] for v in real)
    old = any_backend.get_object("doc", version_id=v1.version_id)
    assert old.data == b"one" and old.version_id == v1.version_id
    copied = any_backend.copy_object("doc", "restored", source_version_id=v1.version_id)
    assert copied.status == 200
    assert any_backend.get_object("restored").data == b"one"
    deleted = any_backend.delete_objects([(v["key"], v["version_id"]) for v in versions])
    assert deleted.ok
    assert list(any_backend.list_object_versions("doc").iter_objects()) == []


# --- copy ----------------------------------------------------------------------------------------


def test_copy_metadata_copy_and_replace(any_backend: Session) -> None:
    any_backend.put_object("src.txt", b"payload", metadata={"a": "1"})
    copied = any_backend.copy_object("src.txt", "dst.txt")
    assert copied.etag == etag_of(any_backend, b"payload")
    assert copied.last_modified is not None
    assert any_backend.head_object("dst.txt").metadata == {"a": "1"}
    any_backend.copy_object("src.txt", "dst2.txt", metadata={"b": "2"}, content_type="text/csv")
    head = any_backend.head_object("dst2.txt")
    assert head.metadata == {"b": "2"} and head.content_type == "text/csv"
    # metadata updated in place (copy onto itself with REPLACE)
    any_backend.copy_object("src.txt", "src.txt", metadata={"a": "updated"})
    assert any_backend.head_object("src.txt").metadata == {"a": "updated"}
    assert any_backend.get_object("src.txt").data == b"payload"
    with pytest.raises(s3lite.NoSuchKey):
        any_backend.copy_object("missing", "x")


def test_copy_between_buckets(any_backend: Session) -> None:
    other = new_bucket_name()
    any_backend.create_bucket(other)
    try:
        any_backend.put_object("k", b"v")
        any_backend.copy_object("k", "k2", dest_bucket=other)
        assert any_backend.get_object("k2", bucket=other).data == b"v"
        any_backend.copy_object("k2", "back", source_bucket=other)
        assert any_backend.get_object("back").data == b"v"
    finally:
        any_backend.delete_objects(prefix="", bucket=other)
        any_backend.delete_bucket(other)


# --- buckets --------------------------------------------------------------------------------------


def test_bucket_lifecycle(any_backend: Session) -> None:
    name = new_bucket_name("life")
    assert any_backend.create_bucket(name).status == 200
    assert name in {b["name"] for b in any_backend.list_buckets()}
    assert any_backend.head_bucket(name).status == 200
    try:
        any_backend.create_bucket(name)  # us-east-1 (moto) answers 200 to its owner, as AWS does
    except s3lite.BucketAlreadyOwnedByYou as exc:  # SeaweedFS (409), B2 (400)
        assert exc.status == (400 if is_b2(any_backend) else 409)
    # S3 answers DeleteBucket with 204 No Content, B2's b2_delete_bucket with 200 and JSON
    assert any_backend.delete_bucket(name).status == (200 if is_b2(any_backend) else 204)
    with pytest.raises(s3lite.NoSuchBucket):
        any_backend.head_bucket(name)
    with pytest.raises(s3lite.NoSuchBucket):
        any_backend.put_object("k", b"v", bucket=name)
    with pytest.raises(s3lite.NoSuchBucket):
        list(any_backend.list_objects(bucket=name))


# --- bad input ----------------------------------------------------------------------------------


def offline_session(kind: str) -> Session:
    """A session whose service does not exist: any request would be a TransportError."""
    url = f"http://127.0.0.1:{free_port()}"
    if kind == "b2":
        return B2Session("key-id", "key", "bucket-ok", api_url=url, max_attempts=1)
    return S3Session("AKID", "secret", endpoint_url=url, bucket="bucket-ok", max_attempts=1)


@pytest.mark.parametrize("kind", ["s3", "b2"])
def test_bad_arguments_fail_before_any_request(kind: str) -> None:
    session = offline_session(kind)
    with pytest.raises(ValueError, match="empty"):
        session.get_object("")
    with pytest.raises(ValueError, match="1025 bytes"):
        session.put_object("k" * 1025, b"x")
    with pytest.raises(ValueError, match="1026 bytes"):
        session.put_object("é" * 513, b"x")
    with pytest.raises(TypeError):
        session.get_object(b"bytes-key")  # type: ignore[arg-type]
    # invalid on both; names valid on one only are tested per backend
    for bad in ("ab", "Bad..name", "a" * 64, "192.168.1.1", "sp ace"):
        with pytest.raises(ValueError, match="invalid bucket name"):
            session.get_object("k", bucket=bad)
    with pytest.raises(ValueError, match="must not be negative"):
        session.get_object("k", range_start=-1)
    with pytest.raises(ValueError, match="before range_start"):
        session.get_object("k", range_start=5, range_end=2)
    with pytest.raises(ValueError, match="metadata name"):
        session.put_object("k", b"x", metadata={"bad name": "v"})
    with pytest.raises(ValueError, match="retry_mode"):
        type(session)("AKID", "secret", retry_mode="eager")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both"):
        type(session)("AKID")
    session.bucket = None
    if kind == "s3":  # B2 first asks whether the key is restricted to one bucket
        with pytest.raises(ValueError, match="no bucket"):
            session.get_object("k")
    with pytest.raises(TypeError, match="body"):
        session.put_object("k", 12345, bucket="bucket-ok")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pass either keys or prefix"):
        session.delete_objects(bucket="bucket-ok")


# --- large objects: one multipart engine and one downloader for both backends --------------------

MiB = 1024 * 1024


def _pattern(n: int, seed: int) -> bytes:
    block = hashlib.sha256(seed.to_bytes(4, "big")).digest() * (MiB // 32)
    return (block * (n // MiB + 1))[:n]


def test_upload_and_download_file_in_parts(backend: Session, tmp_path) -> None:
    data = _pattern(23 * MiB + 5, 1)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    done: list[int] = []
    backend.upload_file(src, "large/file.bin", part_size=5 * MiB, metadata={"kind": "big"},
                        progress=lambda d, t: done.append(d))  # fmt: skip
    assert done[-1] == len(data)
    head = backend.head_object("large/file.bin")
    assert head.content_length == len(data) and head.metadata["kind"] == "big"
    assert list(backend.list_multipart_uploads()) == []
    dest = tmp_path / "dest.bin"
    backend.download_file("large/file.bin", dest, part_size=4 * MiB, concurrency=4)
    assert dest.read_bytes() == data
    sink = io.BytesIO()
    backend.download_file("large/file.bin", sink, threshold=1 << 40)  # one streamed GET
    assert sink.getvalue() == data


def test_multipart_upload_aborts_on_error(backend: Session) -> None:
    from s3lite.multipart import MultipartUpload

    with (
        pytest.raises(RuntimeError),
        MultipartUpload(backend, key="broken", part_size=5 * MiB) as up,
    ):
        up.upload_part(1, _pattern(5 * MiB, 2))
        raise RuntimeError("stop")
    assert list(backend.list_multipart_uploads()) == []
    with pytest.raises(s3lite.NoSuchKey):
        backend.head_object("broken")


def test_300_mib_large_file_on_b2(b2: B2Session) -> None:
    from s3lite.multipart import MultipartUpload

    size = 300 * MiB

    def source():
        for i in range(size // MiB):
            yield _pattern(MiB, i)

    up = MultipartUpload(b2, source(), "huge.bin", part_size=25 * MiB, concurrency=4)
    up.upload()
    assert len(up.parts) == 12
    expected = hashlib.sha256()
    for i in range(size // MiB):
        expected.update(_pattern(MiB, i))
    got = hashlib.sha256()
    n = 0
    with b2.get_object("huge.bin") as resp:
        for chunk in resp.iter_chunks():
            got.update(chunk)
            n += len(chunk)
    assert n == size and got.hexdigest() == expected.hexdigest()
