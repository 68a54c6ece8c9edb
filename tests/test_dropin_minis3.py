"""minis3 code runs on s3lite beyond its README: Cache-Control exactly as minis3 sends it,
`MultipartUpload(conn, bucket, key)` as minis3's own code and tests build it, the
connection's `endpoint`/`tls`, and the Pool's. Written the way minis3's users write it,
against SeaweedFS."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest

import s3lite
import s3lite as minis3
from conftest import FAST_RETRY
from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS


def _hostport(seaweed: LocalSeaweedFS) -> str:
    return seaweed.endpoint_url.split("://", 1)[1]


@pytest.fixture
def conn(seaweed: LocalSeaweedFS, s3: S3Session) -> Iterator[s3lite.Connection]:
    connection = minis3.Connection(
        access_key=seaweed.access_key, secret_key=seaweed.secret_key,
        endpoint=_hostport(seaweed), tls=False, default_bucket=s3.bucket, **FAST_RETRY,
    )  # fmt: skip
    yield connection
    connection.close()


@pytest.mark.parametrize(
    ("expires", "public", "cache_control"),
    [
        (3600, False, "max-age=3600, private"),
        (3600, True, "max-age=3600, public"),
        ("max", False, "max-age=31536000, private"),
        ("max", True, "max-age=31536000, public"),
        (timedelta(days=2, seconds=5), False, "max-age=172805, private"),
        (0, True, "max-age=0, public"),
    ],
)
def test_cache_control_as_minis3_sends_it(
    conn: s3lite.Connection,
    s3: S3Session,
    expires: int | str | timedelta,
    public: bool,
    cache_control: str,
) -> None:
    with io.BytesIO(b"cached") as f:
        conn.upload("asset.css", f, expires=expires, public=public)
    head = s3.head_object("asset.css")
    assert head.headers["cache-control"] == cache_control
    assert head.content_type == "text/css"
    # no expires: no Cache-Control at all
    conn.upload("plain.css", io.BytesIO(b"x"))
    assert "cache-control" not in s3.head_object("plain.css").headers


def test_multipart_upload_as_minis3_builds_it(conn: s3lite.Connection, s3: S3Session) -> None:
    # minis3's MultipartUpload(conn, bucket, key), as its own code and tests use it
    mu = minis3.MultipartUpload(conn, s3.bucket, "key")
    assert "MultipartUpload" in repr(mu)
    mu.initiate()
    result = mu.upload_part_from_file(fp=b"data", part_num=1)  # bytes are accepted too
    assert result.etag and result.size == 4
    assert mu.number_of_parts() == 1
    mu.complete_upload()
    assert s3.get_object("key").data == b"data"
    # and the upload a connection hands out
    started = conn.initiate_multipart_upload("other-key")
    assert [u.key for u in conn.list_multipart_uploads()] == ["other-key"]
    started.cancel_upload()
    assert conn.get_all_multipart_uploads() == []
    with pytest.raises(RuntimeError, match="not initiated"):
        minis3.MultipartUpload(conn, None, "never").complete_upload()


def test_conn_alias(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    # minis3 exports Conn for code written before Connection
    conn = minis3.Conn(seaweed.access_key, seaweed.secret_key, s3.bucket, False,
                       _hostport(seaweed), **FAST_RETRY)  # fmt: skip
    assert isinstance(conn, minis3.Connection)
    conn.upload("alias.txt", b"a")
    assert conn.get("alias.txt").content == b"a"
    conn.close()


def test_endpoint_and_tls_as_given(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    conn = minis3.Connection("key", "secret-never-kept", endpoint="localhost:9000", tls=False)
    assert conn.endpoint == "localhost:9000" and conn.tls is False
    assert conn.session.endpoint_url == "http://localhost:9000"
    conn.tls = True
    assert conn.tls and conn.session.endpoint_url == "https://localhost:9000"
    assert conn.endpoint == "localhost:9000"
    # the new session reuses the credentials provider: the secret is not kept on the side
    assert "secret-never-kept" not in repr(vars(conn))
    # a new endpoint keeps the keys, bucket and scheme
    working = minis3.Connection(seaweed.access_key, seaweed.secret_key, s3.bucket,
                                endpoint="localhost:1", tls=False, **FAST_RETRY)  # fmt: skip
    working.endpoint = _hostport(seaweed)
    working.upload("moved.txt", b"here")
    assert working.get("moved.txt").text == "here" and working.endpoint == _hostport(seaweed)
    with pytest.raises(ValueError):
        working.endpoint = "ftp://nowhere.example"
    assert working.endpoint == _hostport(seaweed)  # unchanged after a refused value
    # the Pool exposes the same
    pool = minis3.Pool("key", "secret", endpoint="localhost:9000", tls=False)
    assert pool.endpoint == "localhost:9000" and pool.tls is False
    pool.tls = True
    assert pool.connection.session.endpoint_url == "https://localhost:9000"
    pool.close()
    working.close()
    conn.close()


def test_private_is_the_default(moto_s3: S3Session) -> None:
    # minis3 (and this library) upload privately unless public=True; tinys3 defaulted to public
    conn = minis3.Connection("AKIDMOTO", "moto-secret", moto_s3.bucket,
                             endpoint=moto_s3.endpoint_url, **FAST_RETRY)  # fmt: skip
    conn.upload("private.txt", b"p")
    conn.upload("public.txt", b"p", public=True)
    grants = {
        key: moto_s3._send(moto_s3._build("GET", moto_s3.bucket, key, [("acl", "")])).text
        for key in ("private.txt", "public.txt")
    }
    assert "AllUsers" not in grants["private.txt"]
    assert "AllUsers" in grants["public.txt"]
    conn.close()
