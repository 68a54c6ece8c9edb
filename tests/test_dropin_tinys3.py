"""tinys3 code runs on s3lite beyond its README: the boto-like multipart API
(`initiate_multipart_upload`, `upload_part_from_file`, `complete_upload`, ...),
`MultipartUpload(conn, bucket, key)`, `conn.endpoint`/`conn.tls`, `conn.run(request)` and
the Pool's. Written the way tinys3's users write it, against SeaweedFS."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import s3lite
import s3lite as tinys3
from conftest import FAST_RETRY
from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS

MiB = 1024 * 1024


def _hostport(seaweed: LocalSeaweedFS) -> str:
    return seaweed.endpoint_url.split("://", 1)[1]


@pytest.fixture
def conn(seaweed: LocalSeaweedFS, s3: S3Session) -> Iterator[s3lite.Connection]:
    """tinys3's positional order: (access_key, secret_key, default_bucket, tls, endpoint)."""
    connection = tinys3.Connection(
        seaweed.access_key, seaweed.secret_key, s3.bucket, False, _hostport(seaweed),
        **FAST_RETRY,
    )  # fmt: skip
    yield connection
    connection.close()


def test_boto_like_multipart_upload(conn: s3lite.Connection, s3: S3Session) -> None:
    data = os.urandom(6 * MiB)
    mp = conn.initiate_multipart_upload("backups/big.bin")
    assert mp.upload_id and mp.uploadId == mp.upload_id
    assert mp.bucket == s3.bucket and mp.key == "backups/big.bin"
    # the way tinys3's users feed it: one file-like object per part
    for number, start in enumerate(range(0, len(data), 5 * MiB), start=1):
        chunk = io.BytesIO(data[start : start + 5 * MiB])
        mp.upload_part_from_file(chunk, number)
    assert mp.number_of_parts() == 2
    parts = list(mp.list_parts())
    assert [(p["part_number"], p["size"]) for p in parts] == [(1, 5 * MiB), (2, MiB)]
    assert all(p["etag"] and p["last_modified"] for p in parts)
    listed = [u.upload_id for u in conn.list_multipart_uploads("backups/")]
    assert listed == [mp.upload_id]
    response = mp.complete_upload()
    assert response.status_code == 200
    assert s3.get_object("backups/big.bin").data == data
    assert conn.get_all_multipart_uploads() == []


def test_uploads_found_by_listing_are_completed_or_cancelled(
    conn: s3lite.Connection, s3: S3Session, seaweed: LocalSeaweedFS
) -> None:
    first = conn.initiate_multipart_upload("resume/a.bin")
    first.upload_part_from_file(io.BytesIO(b"part one"), 1)
    second = conn.initiate_multipart_upload("resume/b.bin")
    second.upload_part_from_file(io.BytesIO(b"never"), 1)
    # another process (another connection) finds them by listing
    other = tinys3.Connection(seaweed.access_key, seaweed.secret_key, s3.bucket, False,
                              _hostport(seaweed))  # fmt: skip
    found = {u.key: u for u in other.get_all_multipart_uploads(s3.bucket, "resume/")}
    assert set(found) == {"resume/a.bin", "resume/b.bin"}
    assert found["resume/a.bin"].upload_id == first.upload_id
    found["resume/a.bin"].complete_upload()  # with the parts the server holds
    found["resume/b.bin"].cancel_upload()
    assert s3.get_object("resume/a.bin").data == b"part one"
    assert other.get_all_multipart_uploads(prefix="resume/") == []
    with pytest.raises(s3lite.NoSuchKey):
        s3.head_object("resume/b.bin")
    other.close()


def test_listing_markers(conn: s3lite.Connection) -> None:
    uploads = {key: conn.initiate_multipart_upload(key) for key in ("m/a", "m/b", "m/c")}
    after_a = [u.key for u in conn.list_multipart_uploads("m/", key_marker="m/a")]
    assert after_a == ["m/b", "m/c"]
    mp = uploads["m/a"]
    for number in (1, 2, 3):
        mp.upload_part_from_file(io.BytesIO(b"x" * number), number)
    assert [p["part_number"] for p in mp.list_parts(part_number_marker="1")] == [2, 3]
    assert [p["size"] for p in mp.list_parts(max_parts=1)] == [1, 2, 3]  # every page
    for upload in uploads.values():
        upload.cancel_upload()


def test_multipart_upload_constructor_forms(
    conn: s3lite.Connection, s3: S3Session, tmp_path: Path
) -> None:
    bucket = s3.bucket
    # tinys3's constructor: MultipartUpload(conn, bucket, key), then initiate()
    mp = tinys3.MultipartUpload(conn, bucket, "by-hand.txt")
    assert isinstance(mp, s3lite.compat.TinyMultipartUpload) and mp.upload_id is None
    mp.initiate()
    with open(_write(tmp_path / "part", b"hello"), "rb") as f:
        mp.upload_part_from_file(f, 1, close=True)
        assert f.closed
    mp.complete_upload()
    assert s3.get_object("by-hand.txt").data == b"hello"
    # None is the default bucket
    assert tinys3.MultipartUpload(conn, None, "k").bucket == bucket
    # s3lite's form: a source that is not a str, or any keyword, or a session
    path = _write(tmp_path / "source.bin", b"s" * 100)
    with tinys3.MultipartUpload(conn, path, "from-path.bin") as up:
        assert not isinstance(up, s3lite.compat.TinyMultipartUpload)
    with tinys3.MultipartUpload(conn, str(path), "from-str.bin", bucket=bucket):
        pass
    with tinys3.MultipartUpload(conn.session, str(path), "from-session.bin"):
        pass
    for key in ("from-path.bin", "from-str.bin", "from-session.bin"):
        assert s3.get_object(key).data == b"s" * 100


def test_upload_part_checks_md5_and_length(conn: s3lite.Connection, s3: S3Session) -> None:
    mp = conn.initiate_multipart_upload("checked.txt")
    good = base64.b64encode(hashlib.md5(b"payload").digest()).decode()  # noqa: S324
    with pytest.raises(ValueError, match="md5"):
        mp.upload_part_from_file(io.BytesIO(b"tampered"), 1, md5=good)
    with pytest.raises(ValueError, match="length"):
        mp.upload_part_from_file(io.BytesIO(b"short"), 1, length=100)
    assert mp.number_of_parts() == 0  # nothing was sent
    mp.upload_part_from_file(io.BytesIO(b"payload"), 1, md5=good, length=7)
    mp.complete_upload()
    assert s3.get_object("checked.txt").data == b"payload"


def test_bucket_helpers(conn: s3lite.Connection, s3: S3Session) -> None:
    assert conn.bucket(None) == s3.bucket and conn.bucket("other-bucket") == "other-bucket"
    assert conn.head_bucket().status_code == 200
    with pytest.raises(s3lite.NoSuchBucket):
        conn.head_bucket("no-such-bucket-s3lite")
    conn.default_bucket = None
    with pytest.raises(ValueError, match="no default bucket"):
        conn.bucket(None)


def test_endpoint_and_tls_attributes(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    ak, sk = seaweed.access_key, seaweed.secret_key
    default = tinys3.Connection(ak, sk)
    assert default.endpoint == "s3.amazonaws.com"  # the host as given
    assert default.tls  # HTTPS stays the default (tinys3 defaulted to plain HTTP)
    # tinys3 code switches the scheme on the connection object
    conn = tinys3.Connection(ak, sk, s3.bucket, endpoint=_hostport(seaweed), **FAST_RETRY)
    assert conn.endpoint == _hostport(seaweed) and conn.tls
    conn.tls = False  # the local server speaks plain HTTP
    assert conn.session.endpoint_url == seaweed.endpoint_url
    conn.upload("tls.txt", io.BytesIO(b"over http"))
    assert conn.get("tls.txt").content == b"over http"
    with pytest.raises(TypeError):
        conn.tls = "yes"  # type: ignore[assignment]
    pool = tinys3.Pool(ak, sk, s3.bucket, True, _hostport(seaweed), 2, **FAST_RETRY)
    assert pool.tls and pool.endpoint == _hostport(seaweed)
    pool.tls = False
    assert pool.get("tls.txt").result().content == b"over http"
    pool.close()
    conn.close()


class HeadRequest:
    """A request object of the kind tinys3 code hands to conn.run()."""

    def __init__(self, conn: s3lite.Connection, key: str) -> None:
        self.conn, self.key = conn, key

    def run(self) -> int | None:
        return self.conn.head_object(self.key).content_length


def test_run_executes_request_objects(
    conn: s3lite.Connection, seaweed: LocalSeaweedFS, s3: S3Session
) -> None:
    conn.upload("sized.txt", io.BytesIO(b"12345"))
    assert conn.run(HeadRequest(conn, "sized.txt")) == 5
    with pytest.raises(TypeError, match="run"):
        conn.run("not a request")
    pool = tinys3.Pool(seaweed.access_key, seaweed.secret_key, s3.bucket, False,
                       _hostport(seaweed), **FAST_RETRY)  # fmt: skip
    future = pool.run(HeadRequest(pool.connection, "sized.txt"))
    assert future.result(timeout=60) == 5
    started = pool.initiate_multipart_upload("pooled.txt").result(timeout=60)
    started.upload_part_from_file(io.BytesIO(b"pooled"), 1)
    started.complete_upload()
    assert conn.get("pooled.txt").content == b"pooled"
    assert pool.get_all_multipart_uploads().result(timeout=60) == []
    pool.close()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
