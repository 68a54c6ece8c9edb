"""tinys3 / minis3 compatibility: the README examples of both libraries, run against SeaweedFS
(`import s3lite as tinys3` / `import s3lite as minis3`, a local endpoint), and public/private
objects proven on moto (SeaweedFS accepts ACLs but ignores them)."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, TimeoutError
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3

import s3lite
import s3lite as minis3
import s3lite as tinys3
from conftest import FAST_RETRY, MotoServer, new_bucket_name
from s3lite import MultipartUpload, S3Session
from s3lite.devserver import LocalSeaweedFS

# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def conn(seaweed: LocalSeaweedFS, s3: S3Session) -> Iterator[s3lite.Connection]:
    """A Connection to SeaweedFS (host:port endpoint, plain HTTP), no default bucket."""
    connection = tinys3.Connection(
        seaweed.access_key, seaweed.secret_key, tls=False, endpoint=_hostport(seaweed),
        **FAST_RETRY,
    )  # fmt: skip
    yield connection
    connection.close()


@pytest.fixture
def other_bucket(s3: S3Session) -> Iterator[str]:
    bucket = new_bucket_name()
    s3.create_bucket(bucket)
    yield bucket
    s3.delete_bucket(bucket)


@pytest.fixture
def moto_conn(moto: MotoServer, moto_s3: S3Session) -> Iterator[s3lite.Connection]:
    connection = s3lite.Connection(
        "AKIDMOTO", "moto-secret", endpoint=moto.endpoint_url, default_bucket=moto_s3.bucket,
        **FAST_RETRY,
    )  # fmt: skip
    yield connection
    connection.close()


def _hostport(seaweed: LocalSeaweedFS) -> str:
    return seaweed.endpoint_url.split("://", 1)[1]


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- tinys3 README --------------------------------------------------------------------------------


def test_tinys3_uploading_files(seaweed: LocalSeaweedFS, s3: S3Session, tmp_path: Path) -> None:
    bucket = s3.bucket
    assert bucket is not None
    hostport = _hostport(seaweed)
    ak, sk = seaweed.access_key, seaweed.secret_key
    path = _file(tmp_path, "some_file.zip", b"zip bytes" * 1000)

    # conn = tinys3.Connection(S3_ACCESS_KEY,S3_SECRET_KEY,ssl=True)  (here: ssl=False, local)
    conn = tinys3.Connection(ak, sk, ssl=False, endpoint=hostport)
    with open(path, "rb") as f:
        conn.upload("some_file.zip", f, bucket)
    assert s3.get_object("some_file.zip").data == path.read_bytes()
    assert s3.head_object("some_file.zip").content_type == "application/zip"

    # Specifying a default bucket, so we could skip the bucket parameter on every request
    conn = tinys3.Connection(ak, sk, default=bucket, ssl=False, endpoint=hostport)
    f = open(path, "rb")  # noqa: SIM115 - the README's own style
    conn.upload("default.zip", f)
    assert not f.closed  # closed only with close=True
    conn.upload("default.zip", f, close=True)  # rewound: the whole file again
    assert f.closed
    assert s3.get_object("default.zip").data == path.read_bytes()

    # tinys3 0.1.12's positional order: (access_key, secret_key, default_bucket, tls, endpoint)
    conn = tinys3.Connection(ak, sk, bucket, False, hostport)
    assert conn.default_bucket == bucket and not conn.tls
    assert conn.upload("positional.txt", b"p").status_code == 200
    # minis3's keyword spelling, and an endpoint URL
    conn = minis3.Connection(
        access_key=ak, secret_key=sk, endpoint=seaweed.endpoint_url, default_bucket=bucket
    )
    assert conn.get("positional.txt").content == b"p"

    # ssl / tls pick the scheme of a bare host[:port]
    secure = tinys3.Connection(ak, sk, ssl=True, endpoint=hostport)
    assert secure.endpoint == hostport and secure.session.endpoint_url.startswith("https://")
    assert tinys3.Connection(ak, sk, endpoint=hostport).tls  # HTTPS unless told otherwise
    assert not tinys3.Connection(ak, sk, tls=False, endpoint=hostport).tls


def test_tinys3_expiry_headers(conn: s3lite.Connection, s3: S3Session) -> None:
    bucket = s3.bucket
    f = io.BytesIO(b"cache me")
    before = time.time()
    for key, expires, seconds in [
        ("hour.zip", 3600, 3600),  # stored in cache for one hour
        ("max.zip", "max", 31536000),  # 'max': cachable for a year
        ("weeks.zip", timedelta(weeks=5), 5 * 7 * 24 * 3600),  # a timedelta
    ]:
        conn.upload(key, f, bucket=bucket, expires=expires)
        head = conn.head_object(key, bucket)
        assert head.headers["Cache-Control"] == f"max-age={seconds}, private"
        expires_at = email.utils.parsedate_to_datetime(head.headers["Expires"]).timestamp()
        assert before + seconds - 5 <= expires_at <= time.time() + seconds + 5
        assert conn.get(key, bucket).content == b"cache me"  # f rewound each time
    conn.upload("public.zip", b"x", bucket=bucket, expires="max", public=True)
    cache = conn.head_object("public.zip", bucket).headers["cache-control"]
    assert cache == "max-age=31536000, public"
    for bad in ("forever", 1.5, True):
        with pytest.raises(TypeError):
            conn.upload("bad", b"x", bucket=bucket, expires=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        conn.upload("bad", b"x", bucket=bucket, expires=-1)


def test_tinys3_content_type_and_headers(conn: s3lite.Connection, s3: S3Session) -> None:
    bucket = s3.bucket
    f = io.BytesIO(b"PK\x03\x04")
    conn.upload("my_awesome_key.zip", f, bucket=bucket)  # guessed from the key
    assert conn.head_object("my_awesome_key.zip", bucket).headers["Content-Type"] == (
        "application/zip"
    )
    conn.upload("my_awesome_key.zip", f, bucket=bucket, content_type="application/x-custom")
    assert conn.head_object("my_awesome_key.zip", bucket).content_type == "application/x-custom"
    conn.upload("no-extension", b"?", bucket=bucket)
    assert conn.head_object("no-extension", bucket).content_type == "application/octet-stream"

    # additional headers, in any spelling; they win over the arguments
    conn.upload(
        "my_awesome_key.zip", f, bucket=bucket,
        headers={"x-amz-storage-class": "REDUCED_REDUNDANCY", "X-Amz-Meta-Author": "me",
                 "content-type": "text/x-from-headers", "Cache-Control": "no-store"},
        content_type="application/zip", expires=60,
    )  # fmt: skip
    head = conn.head_object("my_awesome_key.zip", bucket)
    assert head.metadata == {"author": "me"}
    assert head.content_type == "text/x-from-headers"
    assert head.headers["cache-control"] == "no-store"


def test_tinys3_copy_keys(conn: s3lite.Connection, s3: S3Session, other_bucket: str) -> None:
    bucket = s3.bucket
    assert bucket is not None
    s3.put_object(
        "source_key.jpg", b"jpeg", content_type="image/jpeg", metadata={"owner": "ann"},
        cache_control="max-age=60",
    )  # fmt: skip

    # Simple copy between two buckets
    conn.copy("source_key.jpg", bucket, "target_key.jpg", other_bucket)
    copied = s3.head_object("target_key.jpg", bucket=other_bucket)
    assert copied.content_type == "image/jpeg" and copied.metadata == {"owner": "ann"}
    assert s3.get_object("target_key.jpg", bucket=other_bucket).data == b"jpeg"

    # No need to specify the target bucket if we're copying inside the same bucket
    response = conn.copy("source_key.jpg", bucket, "target_key.jpg")
    assert response.status_code == 200 and response.etag
    assert s3.head_object("target_key.jpg").metadata == {"owner": "ann"}

    # We could also update the metadata of the target file
    conn.copy(
        "source_key.jpg", bucket, "target_key.jpg", other_bucket,
        metadata={"x-amz-storage-class": "REDUCED_REDUNDANCY"},
    )  # fmt: skip
    copied = s3.head_object("target_key.jpg", bucket=other_bucket)
    assert copied.content_type == "image/jpeg" and copied.metadata == {"owner": "ann"}

    # Or set the target file as private
    conn.copy("source_key.jpg", bucket, "target_key.jpg", other_bucket, public=False)

    # metadata naming user metadata or object headers replaces those, keeps the rest
    conn.copy(
        "source_key.jpg", bucket, "meta.jpg",
        metadata={"x-amz-meta-owner": "bob", "reviewed": "yes", "Content-Language": "en"},
    )  # fmt: skip
    head = s3.head_object("meta.jpg")
    assert head.metadata == {"owner": "bob", "reviewed": "yes"}
    assert head.content_type == "image/jpeg"  # kept from the source, not guessed
    assert head.headers["content-language"] == "en"
    assert head.headers["cache-control"] == "max-age=60"

    # minis3's keyword names
    conn.copy(
        from_key="source_key.jpg", from_bucket=bucket,
        to_key="archived/profile_old.jpg", to_bucket=other_bucket,
    )  # fmt: skip
    assert s3.get_object("archived/profile_old.jpg", bucket=other_bucket).data == b"jpeg"
    with pytest.raises(s3lite.NoSuchKey):
        conn.copy("missing.jpg", bucket, "x.jpg")


def test_tinys3_update_metadata(conn: s3lite.Connection, s3: S3Session) -> None:
    bucket = s3.bucket
    conn.upload(
        "key.jpg", b"jpeg", bucket=bucket, expires=600, headers={"x-amz-meta-author": "ann"}
    )
    before = s3.head_object("key.jpg")
    assert before.content_type == "image/jpeg"

    # Updating metadata for a key
    conn.update_metadata("key.jpg", {"x-amz-storage-class": "REDUCED_REDUNDANCY"}, bucket)
    head = s3.head_object("key.jpg")
    assert head.headers["x-amz-storage-class"] == "REDUCED_REDUNDANCY"
    assert head.metadata == {"author": "ann"}  # not named: kept
    assert head.content_type == "image/jpeg"
    assert head.headers["cache-control"] == "max-age=600, private"
    assert head.headers["expires"] == before.headers["expires"]

    # We can also change the privacy of a file, without updating its metadata
    conn.update_metadata("key.jpg", {}, bucket, public=False)
    head = s3.head_object("key.jpg")
    assert head.metadata == {"author": "ann"}
    assert head.headers["x-amz-storage-class"] == "REDUCED_REDUNDANCY"  # kept too

    # minis3: update metadata of an existing object (user metadata given replaces the old)
    conn.update_metadata("key.jpg", bucket=bucket, metadata={"x-amz-meta-reviewed": "true"})
    head = s3.head_object("key.jpg")
    assert head.metadata == {"reviewed": "true"}
    assert head.content_type == "image/jpeg"
    assert s3.get_object("key.jpg").data == b"jpeg"

    conn.update_metadata(
        "key.jpg", {"Content-Type": "image/png", "Cache-Control": "no-cache"}, bucket
    )
    head = s3.head_object("key.jpg")
    assert head.content_type == "image/png" and head.headers["cache-control"] == "no-cache"
    assert head.metadata == {"reviewed": "true"}


def test_tinys3_delete_and_errors(conn: s3lite.Connection, s3: S3Session) -> None:
    bucket = s3.bucket
    conn.upload("key.jpg", b"x", bucket=bucket)
    # Deleting keys is simple
    response = conn.delete("key.jpg", bucket)
    assert response.ok and response.status_code in (200, 204)
    with pytest.raises(s3lite.NoSuchKey) as info:
        conn.get("key.jpg", bucket)
    assert isinstance(info.value, s3lite.ClientError) and info.value.status == 404
    assert conn.delete("key.jpg", bucket).ok  # deleting a missing key succeeds
    with pytest.raises(ValueError, match="no bucket"):
        conn.delete("key.jpg")  # no bucket and no default bucket


# --- minis3 README --------------------------------------------------------------------------------


def test_minis3_quick_start_get_list_head(
    seaweed: LocalSeaweedFS, s3: S3Session, tmp_path: Path
) -> None:
    bucket = s3.bucket
    conn = minis3.Connection(
        access_key=seaweed.access_key,
        secret_key=seaweed.secret_key,
        endpoint=_hostport(seaweed),
        tls=False,
        path_style=True,
        verify=False,
    )
    local = _file(tmp_path, "local_file.txt", b"hello minis3\n")
    with open(local, "rb") as f:
        conn.upload("remote_key.txt", f, bucket=bucket)
    response = conn.get("remote_key.txt", bucket=bucket)
    with open(tmp_path / "downloaded_file.txt", "wb") as out:
        out.write(response.content)
    assert (tmp_path / "downloaded_file.txt").read_bytes() == b"hello minis3\n"

    # The response behaves like requests' Response
    assert response.status_code == 200 and response.ok
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "hello minis3\n"
    assert repr(response) == "<Response [200]>"
    assert response.url == f"{seaweed.endpoint_url}/{bucket}/remote_key.txt"
    assert response.raise_for_status() is None
    conn.upload("data.json", json.dumps({"a": 1}).encode(), bucket=bucket)
    assert conn.get("data.json", bucket=bucket).json() == {"a": 1}
    assert conn.get("remote_key.txt", bucket, headers={"Range": "bytes=0-4"}).content == b"hello"

    # Uploading with metadata, caching and public access
    with open(_file(tmp_path, "profile.jpg", b"\xff\xd8jpeg"), "rb") as f:
        conn.upload(
            "user_profiles/profile.jpg",
            f,
            bucket=bucket,
            public=True,
            expires="max",
            content_type="image/jpeg",
            headers={"x-amz-storage-class": "STANDARD_IA", "x-amz-meta-user-id": "12345"},
        )
    response = conn.get("user_profiles/profile.jpg", bucket=bucket)
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.metadata == {"user-id": "12345"}

    # Listing objects
    conn.upload("user_profiles/other.png", b"png", bucket=bucket)
    listed = list(conn.list("user_profiles/", bucket=bucket))
    assert [o["key"] for o in listed] == ["user_profiles/other.png", "user_profiles/profile.jpg"]
    obj = listed[1]
    assert set(obj) == {"key", "size", "last_modified", "etag", "storage_class"}
    assert obj["size"] == 6 and obj["etag"] == _md5(b"\xff\xd8jpeg")
    assert isinstance(obj["last_modified"], dt.datetime) and obj["last_modified"].tzinfo is None
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert abs(obj["last_modified"] - now) < timedelta(minutes=5)
    assert obj["storage_class"] == "STANDARD_IA" and listed[0]["storage_class"] == "STANDARD"
    assert len(list(conn.list(bucket=bucket))) == 4

    # Managing metadata
    metadata = conn.head_object("remote_key.txt", bucket=bucket)
    assert repr(metadata) == "<Response [200]>" and metadata.content == b""
    assert metadata.headers["Content-Length"] == str(len(b"hello minis3\n"))
    conn.update_metadata("remote_key.txt", bucket=bucket, metadata={"x-amz-meta-reviewed": "true"})
    assert conn.head_object("remote_key.txt", bucket=bucket).metadata == {"reviewed": "true"}

    conn.delete("user_profiles/profile.jpg", bucket=bucket)
    assert [o["key"] for o in conn.list("user_profiles/", bucket)] == ["user_profiles/other.png"]


def test_minis3_bucket_management(conn: s3lite.Connection) -> None:
    name = new_bucket_name("minis3")
    assert conn.create_bucket(name).status_code == 200
    conn.upload("k", b"v", bucket=name)
    assert [o["key"] for o in conn.list(bucket=name)] == ["k"]
    conn.delete("k", bucket=name)
    assert conn.delete_bucket(name).ok
    with pytest.raises(s3lite.NoSuchBucket):
        list(conn.list(bucket=name))


def test_minis3_signature_v2(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    """SigV2 ('s3'): SeaweedFS verifies it for object GET and PUT."""
    conn = minis3.Connection(
        seaweed.access_key, seaweed.secret_key, s3.bucket, False, _hostport(seaweed),
        signature_version="s3", **FAST_RETRY,
    )  # fmt: skip
    conn.upload("v2.txt", b"signed with SigV2", expires=60)
    assert conn.get("v2.txt").text == "signed with SigV2"
    assert s3.head_object("v2.txt").headers["cache-control"] == "max-age=60, private"
    wrong = minis3.Connection(
        seaweed.access_key, "wrong-secret", s3.bucket, False, _hostport(seaweed),
        signature_version="s3", **FAST_RETRY,
    )  # fmt: skip
    with pytest.raises(s3lite.SignatureDoesNotMatch):
        wrong.get("v2.txt")


def test_minis3_multipart_upload(conn: s3lite.Connection, s3: S3Session, tmp_path: Path) -> None:
    data = os.urandom(9 * 1024 * 1024)  # two parts of the default 8 MiB
    file_path = str(_file(tmp_path, "large_video.mp4", data))
    with MultipartUpload(conn, file_path, "videos/large_video.mp4", bucket=s3.bucket) as uploader:
        assert uploader.upload_id
    assert uploader.completed is not None
    head = s3.head_object("videos/large_video.mp4")
    assert head.content_length == len(data) and head.etag and head.etag.endswith("-2")
    assert head.content_type == "video/mp4"
    assert s3.get_object("videos/large_video.mp4").data == data

    # the connection's default bucket is the upload's default (a path, not a str: with a
    # Connection, `MultipartUpload(conn, "x", "key")` is tinys3's (conn, bucket, key) form)
    conn.default_bucket = s3.bucket
    with MultipartUpload(conn, Path(file_path), "again.mp4"):
        pass
    assert s3.head_object("again.mp4").content_length == len(data)


# --- Pools ----------------------------------------------------------------------------------------


def test_tinys3_pool(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    bucket = s3.bucket
    ak, sk = seaweed.access_key, seaweed.secret_key
    # The pool can use the same parameters as Connection; 5 workers by default
    pool = tinys3.Pool(ak, sk, ssl=True, default_bucket="my_bucket")
    assert pool.size == 5 and pool.default_bucket == "my_bucket"
    assert pool.connection.session.endpoint_url == "https://s3.amazonaws.com"
    pool.close()

    pool = tinys3.Pool(ak, sk, size=25, tls=False, endpoint=_hostport(seaweed), **FAST_RETRY)
    assert pool.connection.session.transport.max_pool_connections == 25  # one shared pool
    for future in [pool.upload(f"key{i}", b"x", bucket) for i in range(100)]:
        future.result(timeout=120)
    assert len(list(s3.list_objects("key"))) == 100

    # Let's use the pool to delete a file
    r = pool.delete("key0", bucket)
    assert isinstance(r, Future)
    assert isinstance(r.done(), bool)  # did we finish?
    assert repr(r.result()) in ("<Response [200]>", "<Response [204]>")
    assert r.result(timeout=120).ok  # block until completed, with a timeout

    # First we'll create a lot of async requests
    requests = []
    for i in range(100):
        requests.append(pool.delete("key" + str(i), bucket))
    # all_completed blocks until all are done: the responses, without the Future wrappers
    responses = pool.all_completed(requests)
    assert len(responses) == 100 and all(resp.status_code == 204 for resp in responses)
    # as_completed yields every response as it completes
    seen = 0
    for resp in pool.as_completed(requests):
        assert resp.ok and repr(resp) == "<Response [204]>"
        seen += 1
    assert seen == 100
    assert list(s3.list_objects("key")) == []

    # failures raise their typed error from result() and from the helpers
    missing = pool.get("missing", bucket)
    with pytest.raises(s3lite.NoSuchKey):
        missing.result(timeout=60)
    with pytest.raises(s3lite.NoSuchKey):
        pool.all_completed([missing])
    with pytest.raises(s3lite.NoSuchKey):
        list(pool.as_completed([pool.get("missing", bucket)]))
    slow: Future[Any] = Future()  # never completes
    with pytest.raises(TimeoutError):
        pool.all_completed([slow], timeout=0.01)
    with pytest.raises(TimeoutError):
        list(pool.as_completed([slow], timeout=0.01))

    listing = pool.list("", bucket).result(timeout=60)
    assert list(listing) == []
    pool.close()


def test_minis3_pool_directory_upload(
    seaweed: LocalSeaweedFS, s3: S3Session, tmp_path: Path
) -> None:
    bucket = s3.bucket
    access_key, secret_key = seaweed.access_key, seaweed.secret_key
    my_files = tmp_path / "my_files"
    my_files.mkdir()
    for n in range(12):
        (my_files / f"file{n}.txt").write_bytes(f"file {n}".encode())
    (my_files / "subdir").mkdir()

    pool = minis3.Pool(
        access_key=access_key, secret_key=secret_key, size=20,
        endpoint=seaweed.endpoint_url, **FAST_RETRY,
    )  # fmt: skip
    # Upload all files in a directory concurrently
    futures = []
    for filename in os.listdir(my_files):
        filepath = os.path.join(my_files, filename)
        if os.path.isfile(filepath):
            with open(filepath, "rb") as f:
                future = pool.upload(f"uploads/{filename}", f.read(), bucket=bucket)
                futures.append(future)
    # Wait for all uploads to complete and check results
    statuses = []
    for future in pool.as_completed(futures):
        response = future.result()
        statuses.append(response.status_code)
    assert statuses == [200] * 12
    pool.close()
    assert len(list(s3.list_objects("uploads/"))) == 12
    assert s3.get_object("uploads/file3.txt").data == b"file 3"

    # The pool can also be used as a context manager
    with minis3.Pool(access_key, secret_key, size=10, endpoint=seaweed.endpoint_url) as pool:
        assert pool.get("uploads/file3.txt", bucket).result(timeout=60).content == b"file 3"
        copied = pool.copy("uploads/file3.txt", bucket, "copied.txt")
        updated = pool.update_metadata("uploads/file4.txt", {"x-amz-meta-a": "b"}, bucket)
        assert [r.status_code for r in pool.all_completed([copied, updated])] == [200, 200]
        assert pool.head_object("copied.txt", bucket).result(timeout=60).content_length == 6
    with pytest.raises(RuntimeError):  # closed on exit
        pool.get("uploads/file3.txt", bucket)


# --- public / private, proven on moto -------------------------------------------------------------


def _anonymous_get(moto: MotoServer, bucket: str, key: str) -> int:
    url = f"{moto.endpoint_url}/{bucket}/{key}"
    return urllib3.request("GET", url, retries=False, timeout=10).status


def test_public_objects_on_moto(
    moto: MotoServer, moto_s3: S3Session, moto_conn: s3lite.Connection
) -> None:
    bucket = moto_s3.bucket
    assert bucket is not None
    conn = moto_conn
    conn.upload("public.txt", b"for everyone", public=True)
    assert _anonymous_get(moto, bucket, "public.txt") == 200
    conn.upload("private.txt", b"for me")  # public=False by default
    assert _anonymous_get(moto, bucket, "private.txt") == 403

    # update_metadata keeps the ACL unless told: public=None leaves it public ...
    conn.update_metadata("public.txt", {"x-amz-meta-a": "1"})
    assert _anonymous_get(moto, bucket, "public.txt") == 200
    assert moto_s3.head_object("public.txt").metadata == {"a": "1"}
    # ... public=False makes it private (and keeps its metadata)
    conn.update_metadata("public.txt", {}, public=False)
    assert _anonymous_get(moto, bucket, "public.txt") == 403
    assert moto_s3.head_object("public.txt").metadata == {"a": "1"}
    conn.update_metadata("public.txt", {}, public=True)
    assert _anonymous_get(moto, bucket, "public.txt") == 200

    # copies: like the source by default, or as asked
    conn.copy("public.txt", None, "copy-like-source.txt")
    assert _anonymous_get(moto, bucket, "copy-like-source.txt") == 200
    conn.copy("public.txt", bucket, "copy-private.txt", public=False)
    assert _anonymous_get(moto, bucket, "copy-private.txt") == 403
    conn.copy("private.txt", bucket, "copy-public.txt", public=True)
    assert _anonymous_get(moto, bucket, "copy-public.txt") == 200
    conn.copy("private.txt", bucket, "copy-private-2.txt", metadata={"x-amz-meta-b": "2"})
    assert _anonymous_get(moto, bucket, "copy-private-2.txt") == 403
    assert moto_s3.head_object("copy-private-2.txt").metadata == {"b": "2"}


# --- arguments, without a server ------------------------------------------------------------------


def test_connection_arguments() -> None:
    conn = s3lite.Connection("AKID", "SECRET-never-shown")
    assert conn.session.endpoint_url == "https://s3.amazonaws.com" and conn.tls
    assert conn.session.addressing_style == "auto"  # virtual host on AWS
    assert "SECRET" not in repr(conn) and "SECRET" not in str(conn)
    assert "SECRET" not in repr(s3lite.Pool("AKID", "SECRET-never-shown"))

    conn = s3lite.Connection("AKID", "S", endpoint="s3.eu-west-1.amazonaws.com")
    assert conn.session.region == "eu-west-1"
    conn = s3lite.Connection("AKID", "S", region="ap-southeast-2")
    assert conn.session.endpoint_url == "https://s3.ap-southeast-2.amazonaws.com"
    conn = s3lite.Connection("AKID", "S", endpoint="localhost:9000", tls=False, path_style=True)
    assert conn.session.endpoint_url == "http://localhost:9000"
    assert conn.session.addressing_style == "path"
    conn = s3lite.Connection("AKID", "S", endpoint="https://minio.local:9000/")
    assert conn.session.endpoint_url == "https://minio.local:9000" and conn.tls

    with pytest.raises(ValueError, match="disagree"):
        s3lite.Connection("AKID", "S", ssl=True, tls=False)
    with pytest.raises(ValueError, match="disagree"):
        s3lite.Connection("AKID", "S", "bucket-a", default="bucket-b")
    with pytest.raises(ValueError, match="contradicts"):
        s3lite.Connection("AKID", "S", endpoint="https://minio.local", tls=False)
    with pytest.raises(ValueError, match="looks like an endpoint"):
        s3lite.Connection("AKID", "S", "localhost:9000")
    with pytest.raises(ValueError, match="invalid bucket name"):
        s3lite.Connection("AKID", "S", default_bucket="a")
    with pytest.raises(ValueError, match="size"):
        s3lite.Pool("AKID", "S", size=0)
    with pytest.raises(TypeError, match="str"):
        s3lite.Connection("AKID", "S", "bucket-a").upload("k", b"v", headers={"x-n": 1})  # type: ignore[dict-item]


def test_upload_streams_files(conn: s3lite.Connection, s3: S3Session) -> None:
    """A file object is sent in chunks, never read whole into memory."""

    class Recording(io.BytesIO):
        def __init__(self, data: bytes) -> None:
            super().__init__(data)
            self.reads: list[int | None] = []

        def read(self, size: int | None = -1) -> bytes:
            self.reads.append(size)
            return super().read(size)

    data = os.urandom(3 * 1024 * 1024 + 5)
    f = Recording(data)
    f.seek(100)  # rewound: uploaded from the start
    response = conn.upload("big.bin", f, bucket=s3.bucket)
    assert response.etag == _md5(data)  # one streamed PUT
    assert f.reads and all(n is not None and 0 < n <= 1024 * 1024 for n in f.reads)
    assert s3.get_object("big.bin").data == data

    f = Recording(data)
    f.seek(100)
    conn.upload("tail.bin", f, bucket=s3.bucket, rewind=False)
    assert s3.get_object("tail.bin").data == data[100:]


def test_compat_is_imported_lazily() -> None:
    code = "import sys, s3lite; assert 's3lite.compat' not in sys.modules; s3lite.Connection"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
