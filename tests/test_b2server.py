"""Proves tests/b2server.py against b2sdk's real HTTP client and raw urllib3 requests."""

from __future__ import annotations

import base64
import http.client
import io
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlsplit

import b2sdk.v2 as b2
import b2sdk.v3 as b2v3
import pytest
import urllib3
from b2sdk.v2 import exception as b2x

from b2server import B2TestServer

sha1 = b2.hex_sha1_of_bytes


@pytest.fixture
def server() -> Iterator[B2TestServer]:
    with B2TestServer(recommended_part_size=1000, absolute_minimum_part_size=1000) as srv:
        yield srv


@pytest.fixture
def creds(server: B2TestServer) -> tuple[str, str]:
    return server.create_account()


@pytest.fixture
def api(server: B2TestServer, creds: tuple[str, str]) -> b2.B2Api:
    api = b2.B2Api(b2.InMemoryAccountInfo())
    api.authorize_account(server.api_url, *creds)  # the realm may be a URL
    return api


@pytest.fixture
def bucket(api: b2.B2Api) -> b2.Bucket:
    return api.create_bucket("test-bucket", "allPrivate")


@pytest.fixture
def pool() -> Iterator[urllib3.PoolManager]:
    with urllib3.PoolManager(retries=False) as manager:
        yield manager


class Raw:
    """Raw native-API calls over urllib3, for checking the wire format."""

    def __init__(self, pool: urllib3.PoolManager, server: B2TestServer, creds: tuple[str, str]):
        self.pool, self.base = pool, server.api_url
        basic = base64.b64encode(":".join(creds).encode()).decode()
        self.auth = self.get("b2_authorize_account", headers={"Authorization": "Basic " + basic})
        self.token = self.auth["authorizationToken"]

    def get(self, op: str, version: str = "v3", headers: Any = None, **params: Any) -> Any:
        url = f"{self.base}/b2api/{version}/{op}"
        response = self.pool.request("GET", url, fields=params, headers=headers)
        assert response.status == 200, response.data
        return json.loads(response.data)

    def post(self, op: str, token: str | None = None, **params: Any) -> urllib3.BaseHTTPResponse:
        headers = {"Authorization": self.token if token is None else token}
        return self.pool.request("POST", f"{self.base}/b2api/v3/{op}", json=params, headers=headers)

    def call(self, op: str, **params: Any) -> Any:
        response = self.post(op, **params)
        assert response.status == 200, response.data
        return json.loads(response.data)

    def upload(self, bucket_id: str, name: str, body: bytes, sha: str, **headers: str) -> Any:
        target = self.call("b2_get_upload_url", bucketId=bucket_id)
        headers = {
            "Authorization": target["authorizationToken"],
            "X-Bz-File-Name": quote(name),
            "Content-Type": "text/plain",
            "X-Bz-Content-Sha1": sha,
            **headers,
        }
        return self.pool.request("POST", target["uploadUrl"], body=body, headers=headers)


@pytest.fixture
def raw(pool: urllib3.PoolManager, server: B2TestServer, creds: tuple[str, str]) -> Raw:
    return Raw(pool, server, creds)


def error(response: urllib3.BaseHTTPResponse) -> tuple[int, str]:
    body = json.loads(response.data)
    assert set(body) == {"status", "code", "message"}
    assert body["status"] == response.status
    assert response.headers["Content-Type"].startswith("application/json")
    return body["status"], body["code"]


def download(dl: Any) -> bytes:
    out = io.BytesIO()
    dl.save(out)
    return out.getvalue()


def test_defaults_and_authorize_shapes(
    server: B2TestServer, raw: Raw, creds: tuple[str, str]
) -> None:
    default = B2TestServer()
    assert (default.recommended_part_size, default.absolute_minimum_part_size) == (
        5_000_000,
        5_000_000,
    )
    storage = raw.auth["apiInfo"]["storageApi"]
    assert storage["apiUrl"] == storage["downloadUrl"] == server.api_url
    assert storage["s3ApiUrl"].startswith("http://127.0.0.1:")
    assert (storage["recommendedPartSize"], storage["absoluteMinimumPartSize"]) == (1000, 1000)
    assert storage["bucketId"] is None and "writeFiles" in storage["capabilities"]
    header = {"Authorization": "Basic " + base64.b64encode(":".join(creds).encode()).decode()}
    v2 = raw.get("b2_authorize_account", "v2", headers=header)
    assert v2["apiUrl"] == server.api_url and v2["allowed"]["bucketId"] is None
    v4 = raw.get("b2_authorize_account", "v4", headers=header)
    assert v4["apiInfo"]["storageApi"]["allowed"]["buckets"] is None
    bucket_id = server.create_bucket(*creds, "helper-bucket", "allPublic")
    assert server.calls["b2_create_bucket"] == 0  # the helper does not go through HTTP
    buckets = raw.call("b2_list_buckets", accountId=raw.auth["accountId"])["buckets"]
    assert [(b["bucketId"], b["bucketType"]) for b in buckets] == [(bucket_id, "allPublic")]
    bad = {"Authorization": "Basic " + base64.b64encode(b"account-0:wrong").decode()}
    response = raw.pool.request(
        "POST", f"{server.api_url}/b2api/v3/b2_authorize_account", headers=bad
    )
    assert error(response) == (401, "unauthorized")


def test_upload_urls_are_local_with_separate_tokens(server: B2TestServer, raw: Raw) -> None:
    bucket_id = raw.call(
        "b2_create_bucket",
        accountId=raw.auth["accountId"],
        bucketName="bucket-raw",
        bucketType="allPrivate",
    )["bucketId"]
    target = raw.call("b2_get_upload_url", bucketId=bucket_id)
    assert target["uploadUrl"].startswith(f"{server.api_url}/b2api/v3/b2_upload_file/{bucket_id}/")
    assert target["authorizationToken"] not in (raw.token, target["uploadUrl"])
    # GET with query parameters works for read-only calls
    assert raw.get("b2_get_upload_url", headers={"Authorization": raw.token}, bucketId=bucket_id)
    # the account token is not an upload token
    response = raw.pool.request(
        "POST",
        target["uploadUrl"],
        body=b"x",
        headers={
            "Authorization": raw.token,
            "X-Bz-File-Name": "x",
            "Content-Type": "text/plain",
            "X-Bz-Content-Sha1": sha1(b"x"),
        },
    )
    assert error(response) == (401, "bad_auth_token")
    ok = raw.upload(bucket_id, "ok.txt", b"ok", sha1(b"ok"))
    assert ok.status == 200, ok.data
    server.expire_auth_tokens(include_upload_tokens=True)
    response = raw.pool.request(
        "POST",
        target["uploadUrl"],
        body=b"x",
        headers={
            "Authorization": target["authorizationToken"],
            "X-Bz-File-Name": "x",
            "Content-Type": "text/plain",
            "X-Bz-Content-Sha1": sha1(b"x"),
        },
    )
    assert error(response) == (401, "expired_auth_token")
    # every response above had a correct Content-Length and rejected bodies were drained,
    # so one kept-alive connection carried all of it
    assert raw.pool.connection_from_url(raw.base).num_connections == 1


def test_b2sdk_roundtrip(api: b2.B2Api, bucket: b2.Bucket) -> None:
    name = "dir/héllo wörld+1.txt"
    version = bucket.upload_bytes(b"hello world", name, file_info={"Color": "Blue"})
    assert version.file_info == {"color": "Blue"}  # B2 lowercases file info keys
    assert version.content_sha1 == sha1(b"hello world")
    assert version.upload_timestamp > 1_600_000_000_000  # real milliseconds
    by_name = bucket.download_file_by_name(name)
    assert by_name.download_version.file_info == {"color": "Blue"}
    assert download(by_name) == b"hello world"
    assert download(api.download_file_by_id(version.id_, range_=(2, 5))) == b"llo "
    info = bucket.get_file_info_by_name(name)  # a HEAD request
    assert (info.id_, info.size) == (version.id_, 11)
    assert api.get_file_info(version.id_).file_name == name
    with pytest.raises(b2x.FileNotPresent):
        bucket.download_file_by_name("missing.txt").save(io.BytesIO())


def test_download_headers_ranges_and_head(raw: Raw, api: b2.B2Api, bucket: b2.Bucket) -> None:
    name = "a dir/ü.txt"
    version = bucket.upload_bytes(b"0123456789", name, file_info={"author": "Zoë"})
    url = f"{raw.base}/file/{bucket.name}/{quote(name)}"
    auth = {"Authorization": raw.token}
    r = raw.pool.request("GET", url, headers={**auth, "Range": "bytes=1-3"})
    assert (r.status, r.data) == (206, b"123")
    assert r.headers["Content-Range"] == "bytes 1-3/10"
    assert r.headers["Content-Length"] == "3"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["X-Bz-File-Name"] == quote(name)
    assert r.headers["X-Bz-File-Id"] == version.id_
    assert r.headers["X-Bz-Content-Sha1"] == sha1(b"0123456789")
    assert r.headers["X-Bz-Info-author"] == quote("Zoë")
    assert int(r.headers["X-Bz-Upload-Timestamp"]) == version.upload_timestamp
    r = raw.pool.request("GET", url, headers={**auth, "Range": "bytes=-4"})
    assert (r.status, r.data) == (206, b"6789")
    r = raw.pool.request("GET", url, headers={**auth, "Range": "bytes=10-"})
    assert error(r) == (416, "range_not_satisfiable")
    assert r.headers["Content-Range"] == "bytes */10"
    r = raw.pool.request("HEAD", url, headers=auth)
    assert (r.status, r.data, r.headers["Content-Length"]) == (200, b"", "10")
    r = raw.pool.request("HEAD", f"{raw.base}/file/{bucket.name}/nope", headers=auth)
    assert (r.status, r.data) == (404, b"")
    by_id = f"{raw.base}/b2api/v3/b2_download_file_by_id?fileId={version.id_}"
    r = raw.pool.request("GET", by_id, headers=auth)
    assert (r.status, r.data) == (200, b"0123456789")


def test_listing_hiding_and_deleting(api: b2.B2Api, bucket: b2.Bucket) -> None:
    old = bucket.upload_bytes(b"1", "a.txt")
    new = bucket.upload_bytes(b"22", "a.txt")
    bucket.upload_bytes(b"3", "b.txt")
    bucket.hide_file("b.txt")
    assert [f.file_name for f, _ in bucket.ls(recursive=True)] == ["a.txt"]
    assert [f.id_ for f in bucket.list_file_versions("a.txt")] == [new.id_, old.id_]
    assert [f.action for f in bucket.list_file_versions("b.txt")] == ["hide", "upload"]
    with pytest.raises(b2x.FileAlreadyHidden):
        bucket.hide_file("b.txt")
    with pytest.raises(b2x.FileNotPresent):
        bucket.hide_file("never.txt")
    api.delete_file_version(new.id_, "a.txt")
    assert download(bucket.download_file_by_name("a.txt")) == b"1"
    with pytest.raises(b2x.FileNotPresent):
        api.delete_file_version(new.id_, "a.txt")
    with pytest.raises(b2x.FileNotPresent):
        bucket.download_file_by_name("b.txt").save(io.BytesIO())


def test_list_delimiter_folders_and_paging(raw: Raw, bucket: b2.Bucket) -> None:
    for name in [
        "photos/a.jpg",
        "photos/cats/x.jpg",
        "photos/cats/y.jpg",
        "photos/dogs/z.jpg",
        "photos/lilly.jpg",
        "zebra.txt",
    ]:
        bucket.upload_bytes(b"x", name)
    page = raw.call("b2_list_file_names", bucketId=bucket.id_, prefix="photos/", delimiter="/")
    listed = [(f["action"], f["fileName"]) for f in page["files"]]
    assert listed == [
        ("upload", "photos/a.jpg"),
        ("folder", "photos/cats/"),
        ("folder", "photos/dogs/"),
        ("upload", "photos/lilly.jpg"),
    ]
    assert page["nextFileName"] is None
    first = raw.call(
        "b2_list_file_names", bucketId=bucket.id_, prefix="photos/", delimiter="/", maxFileCount=2
    )
    assert [f["fileName"] for f in first["files"]] == ["photos/a.jpg", "photos/cats/"]
    assert first["nextFileName"] == "photos/dogs/"
    rest = raw.call(
        "b2_list_file_names",
        bucketId=bucket.id_,
        prefix="photos/",
        delimiter="/",
        startFileName=first["nextFileName"],
    )
    assert [f["fileName"] for f in rest["files"]] == ["photos/dogs/", "photos/lilly.jpg"]
    top = raw.call("b2_list_file_versions", bucketId=bucket.id_, delimiter="/")
    assert (top["files"][0]["fileName"], top["files"][0]["fileId"]) == ("photos/", None)
    assert (top["nextFileName"], top["nextFileId"]) == (None, None)
    response = raw.post("b2_list_file_names", bucketId=bucket.id_, maxFileCount=10001)
    assert error(response) == (400, "bad_request")


def test_copy(api: b2.B2Api, bucket: b2.Bucket) -> None:
    source = bucket.upload_bytes(b"0123456789" * 50, "src.txt", file_info={"k": "v"})
    copied = bucket.copy(source.id_, "dst.txt")  # 500 bytes: more than the simulator's 200
    assert api.get_file_info(copied.id_).file_info == {"k": "v"}
    assert download(api.download_file_by_id(copied.id_)) == b"0123456789" * 50
    part = bucket.copy(
        source.id_, "part.txt", offset=2, length=3, content_type="text/x-thing", file_info={}
    )
    assert download(bucket.download_file_by_name("part.txt")) == b"234"
    assert api.get_file_info(part.id_).file_info == {}
    other = api.create_bucket("other-bucket", "allPrivate")
    moved = other.copy(source.id_, "moved.txt")
    assert download(other.download_file_by_name("moved.txt")) == b"0123456789" * 50
    assert api.get_file_info(moved.id_).bucket_id == other.id_


def test_large_file_through_b2sdk(server: B2TestServer, bucket: b2.Bucket) -> None:
    data = bytes(range(256)) * 40  # 10240 bytes; the server recommends 1000-byte parts
    server.reset_counts()
    version = bucket.upload_bytes(data, "big.bin")
    assert version.content_sha1 == "none"  # large files have no SHA1 of their own …
    assert version.file_info["large_file_sha1"] == sha1(data)  # … b2sdk records one instead
    assert server.calls["b2_finish_large_file"] == 1 and server.calls["b2_upload_part"] > 1
    downloaded = bucket.download_file_by_name("big.bin")
    assert downloaded.download_version.content_sha1 == "none"
    assert download(downloaded) == data


def test_large_file_rules(server: B2TestServer, api: b2.B2Api, bucket: b2.Bucket) -> None:
    session = api.session
    part1, part2 = b"a" * 1000, b"b" * 10

    def start(name: str) -> str:
        return str(session.start_large_file(bucket.id_, name, "b2/x-auto", {})["fileId"])

    def upload(file_id: str, number: int, data: bytes) -> Any:
        return session.upload_part(file_id, number, len(data), sha1(data), io.BytesIO(data))

    file_id = start("large.txt")
    assert upload(file_id, 2, part2)["partNumber"] == 2
    with pytest.raises(b2x.MissingPart):
        session.finish_large_file(file_id, [sha1(part2)])
    upload(file_id, 1, part1)
    parts = session.list_parts(file_id, None, None)["parts"]
    assert [(p["partNumber"], p["contentLength"]) for p in parts] == [(1, 1000), (2, 10)]
    with pytest.raises(b2x.PartSha1Mismatch):
        session.finish_large_file(file_id, [sha1(part2), sha1(part1)])
    done = session.finish_large_file(file_id, [sha1(part1), sha1(part2)])
    assert (done["action"], done["contentLength"], done["contentType"]) == (
        "upload",
        1010,
        "text/plain",
    )
    assert download(bucket.download_file_by_name("large.txt")) == part1 + part2
    with pytest.raises(b2x.BadRequest):  # finished: no active upload any more
        upload(file_id, 3, part2)

    small = start("small.txt")
    upload(small, 1, part2)
    upload(small, 2, part2)
    with pytest.raises(b2x.BadRequest, match="smaller than the minimum part size"):
        session.finish_large_file(small, [sha1(part2), sha1(part2)])
    with pytest.raises(b2x.BadRequest, match="1 - 10000"):
        upload(small, 10001, part2)
    assert [f.file_id for f in bucket.list_unfinished_large_files()] == [small]
    copied = session.copy_part(done["fileId"], small, 3, (0, 999))
    assert copied["contentLength"] == 1000
    api.cancel_large_file(small)
    assert list(bucket.list_unfinished_large_files()) == []
    with pytest.raises(b2x.BadRequest):
        session.get_upload_part_url(small)


def test_keys_and_download_authorization(
    server: B2TestServer, api: b2.B2Api, bucket: b2.Bucket, raw: Raw
) -> None:
    bucket.upload_bytes(b"shared", "dir/x.txt")
    bucket.upload_bytes(b"secret", "other.txt")
    key = api.create_key(["listBuckets", "listFiles", "readFiles"], "key-one", bucket_id=bucket.id_)
    assert key.id_ in [k.id_ for k in api.list_keys()]
    limited = b2.B2Api(b2.InMemoryAccountInfo())
    limited.authorize_account(server.api_url, key.id_, key.application_key)
    assert limited.account_info.get_allowed()["bucketId"] == bucket.id_
    limited_bucket = limited.get_bucket_by_name(bucket.name)
    assert [f.file_name for f, _ in limited_bucket.ls(recursive=True)] == ["dir/x.txt", "other.txt"]
    with pytest.raises(b2x.Unauthorized):
        limited.session.get_upload_url(bucket.id_)  # no writeFiles
    token = limited.account_info.get_account_auth_token()
    api.delete_key_by_id(key.id_)
    response = raw.post("b2_list_file_names", token=token, bucketId=bucket.id_)
    assert error(response) == (401, "bad_auth_token")

    grant = bucket.get_download_authorization("dir/", 60)
    base = f"{raw.base}/file/{bucket.name}"
    r = raw.pool.request("GET", f"{base}/dir/x.txt?Authorization={quote(grant, safe='')}")
    assert (r.status, r.data) == (200, b"shared")
    r = raw.pool.request("GET", f"{base}/dir/x.txt", headers={"Authorization": grant})
    assert r.status == 200
    r = raw.pool.request("GET", f"{base}/other.txt", headers={"Authorization": grant})
    assert error(r) == (401, "unauthorized")
    assert error(raw.pool.request("GET", f"{base}/dir/x.txt")) == (401, "unauthorized")
    public = api.create_bucket("public-bucket", "allPublic")
    public.upload_bytes(b"open", "p.txt")
    r = raw.pool.request("GET", f"{raw.base}/file/public-bucket/p.txt")
    assert (r.status, r.data) == (200, b"open")


def test_expired_token_makes_b2sdk_reauthorize(
    server: B2TestServer, api: b2.B2Api, bucket: b2.Bucket, raw: Raw
) -> None:
    bucket.upload_bytes(b"x", "x.txt")
    server.expire_auth_tokens()
    assert error(raw.post("b2_list_buckets", accountId=raw.auth["accountId"])) == (
        401,
        "expired_auth_token",
    )
    server.reset_counts()
    assert [f.file_name for f, _ in bucket.ls()] == ["x.txt"]
    assert server.calls["b2_authorize_account"] == 1
    assert server.calls["b2_list_file_names"] == 2


def test_injected_faults_are_retried(
    server: B2TestServer, api: b2.B2Api, bucket: b2.Bucket
) -> None:
    version = bucket.upload_bytes(b"x", "x.txt")
    server.reset_counts()
    server.inject(503, "service_unavailable", retry_after=0, operation="b2_list_file_names")
    assert [f.file_name for f, _ in bucket.ls()] == ["x.txt"]
    assert server.calls["b2_list_file_names"] == 2
    server.inject(429, "too_many_requests", count=2, retry_after=0, operation="b2_get_file_info")
    assert api.get_file_info(version.id_).file_name == "x.txt"
    assert server.calls["b2_get_file_info"] == 3
    server.inject(503, "service_unavailable", retry_after=0, operation="b2_upload_file")
    bucket.upload_bytes(b"y" * 100, "y.txt")
    assert server.calls["b2_upload_file"] == 2  # b2sdk then fetched a fresh upload URL
    server.inject(500, "internal_error", retry_after=0, operation="download_file_by_name")
    assert download(bucket.download_file_by_name("y.txt")) == b"y" * 100
    assert server.calls["download_file_by_name"] == 2


def test_fault_shape_and_retry_after(server: B2TestServer, raw: Raw) -> None:
    server.inject(408, "request_timeout", retry_after=7, message="slow down")
    response = raw.post("b2_list_buckets", accountId=raw.auth["accountId"])
    assert json.loads(response.data) == {
        "status": 408,
        "code": "request_timeout",
        "message": "slow down",
    }
    assert response.headers["Retry-After"] == "7"
    assert raw.post("b2_list_buckets", accountId=raw.auth["accountId"]).status == 200


def test_upload_sha1_and_header_decoding(raw: Raw, bucket: b2.Bucket) -> None:
    data = b"some data"
    response = raw.upload(bucket.id_, "f.txt", data, "0" * 40)
    assert error(response) == (400, "bad_request")
    assert "checksum" in json.loads(response.data)["message"]
    assert error(raw.upload(bucket.id_, "f.txt", data, "abc")) == (400, "bad_request")
    response = raw.upload(
        bucket.id_,
        "ünï code.txt",
        data + sha1(data).encode(),
        "hex_digits_at_end",
        **{"X-Bz-Info-Note": quote("café au lait"), "X-Bz-Info-src_last_modified_millis": "5"},
    )
    body = json.loads(response.data)
    assert response.status == 200, body
    assert (body["fileName"], body["contentLength"], body["contentSha1"]) == (
        "ünï code.txt",
        9,
        sha1(data),
    )
    assert body["fileInfo"] == {"note": "café au lait", "src_last_modified_millis": "5"}
    response = raw.upload(bucket.id_, "g.txt", data, "do_not_verify")
    assert json.loads(response.data)["contentSha1"] == "unverified:" + sha1(data)
    response = raw.upload(
        bucket.id_, "h.txt", data, sha1(data), **{"Content-Disposition": "inline"}
    )
    assert error(response) == (400, "bad_request")
    response = raw.upload(
        bucket.id_, "auto.json", b"{}", sha1(b"{}"), **{"Content-Type": "b2/x-auto"}
    )
    assert json.loads(response.data)["contentType"] == "application/json"


def test_raw_error_shapes(server: B2TestServer, raw: Raw, bucket: b2.Bucket) -> None:
    assert error(raw.post("b2_list_buckets", token="nope", accountId="x")) == (
        401,
        "bad_auth_token",
    )
    assert error(raw.post("b2_list_file_names")) == (400, "bad_request")  # bucketId missing
    assert error(raw.post("b2_get_file_info", fileId="123")) == (404, "not_found")
    assert error(raw.post("b2_list_file_names", bucketId="nope")) == (400, "bad_bucket_id")
    assert error(raw.post("b2_no_such_call")) == (404, "not_found")
    response = raw.pool.request(
        "POST",
        f"{raw.base}/b2api/v3/b2_list_buckets",
        body=b"{nope",
        headers={"Authorization": raw.token},
    )
    assert error(response) == (400, "bad_json")
    response = raw.pool.request("DELETE", f"{raw.base}/b2api/v3/b2_list_buckets")
    assert error(response) == (405, "method_not_allowed")
    bucket.upload_bytes(b"x", "x.txt")
    assert error(
        raw.post("b2_delete_bucket", accountId=raw.auth["accountId"], bucketId=bucket.id_)
    ) == (
        400,
        "cannot_delete_non_empty_bucket",
    )
    response = raw.pool.request("HEAD", f"{raw.base}/file/{bucket.name}/x.txt")
    assert (response.status, response.data) == (401, b"")  # HEAD errors have no body
    assert raw.post("b2_list_buckets", accountId=raw.auth["accountId"]).status == 200
    assert raw.pool.connection_from_url(raw.base).num_connections == 1  # kept alive throughout


def test_one_upload_at_a_time_per_upload_token(
    server: B2TestServer, raw: Raw, bucket: b2.Bucket
) -> None:
    target = raw.call("b2_get_upload_url", bucketId=bucket.id_)
    data = b"z" * 100
    headers = {
        "Authorization": target["authorizationToken"],
        "X-Bz-File-Name": "z.txt",
        "Content-Type": "text/plain",
        "X-Bz-Content-Sha1": sha1(data),
        "Content-Length": str(len(data)),
    }
    url = urlsplit(target["uploadUrl"])
    slow = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    slow.putrequest("POST", url.path)
    for name, value in headers.items():
        slow.putheader(name, value)
    slow.endheaders(data[:10])
    deadline = time.monotonic() + 5
    while not server._uploads_in_flight and time.monotonic() < deadline:
        time.sleep(0.005)
    second = raw.pool.request("POST", target["uploadUrl"], body=data, headers=headers)
    assert error(second) == (400, "auth_token_limit")
    assert json.loads(second.data)["message"] == (
        f"more than one upload using auth token {target['authorizationToken']}"
    )
    slow.send(data[10:])
    first = slow.getresponse()
    assert first.status == 200 and json.loads(first.read())["contentLength"] == 100
    slow.close()


def test_concurrent_uploads(server: B2TestServer, api: b2.B2Api, bucket: b2.Bucket) -> None:
    def upload(i: int) -> str:
        return str(bucket.upload_bytes(str(i).encode() * 700, f"f/{i:03}").id_)

    with ThreadPoolExecutor(8) as executor:
        ids = list(executor.map(upload, range(40)))
    assert len(set(ids)) == 40
    listed = [f.file_name for f, _ in bucket.ls("f", recursive=True)]
    assert listed == [f"f/{i:03}" for i in range(40)]
    assert server.calls["b2_upload_file"] + server.calls["b2_upload_part"] >= 40


def test_b2sdk_v3_client_uses_api_v4(server: B2TestServer, creds: tuple[str, str]) -> None:
    api = b2v3.B2Api(b2v3.InMemoryAccountInfo())
    api.authorize_account(*creds, realm=server.api_url)
    bucket = api.create_bucket("v4-bucket", "allPrivate")
    version = bucket.upload_bytes(b"v4 data" * 300, "v4.txt")
    assert download(api.download_file_by_id(version.id_)) == b"v4 data" * 300
    key = api.create_key(["listFiles"], "v4-key", bucket_ids=[bucket.id_])
    assert key.bucket_ids == [bucket.id_]
    assert server.calls["b2_upload_part"] > 1
