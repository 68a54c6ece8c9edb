"""B2 operations without a server: each request they build, and what they make of answers.

Operations are generators: each test steps one by hand, checks the `Call` it yields, and
resumes it with a `Response` around a real `urllib3.HTTPResponse` made from bytes (or throws
the error a transport would raise into it).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Generator
from typing import Any

import pytest
import urllib3

from s3lite import (
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    ChecksumMismatch,
    InvalidRequest,
    MalformedResponse,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    PreconditionFailed,
)
from s3lite.b2_auth import AuthSlot, BasicAuth, UploadAuth, UploadTarget, authorize
from s3lite.b2_bodies import Sha1Trailer, prepare_upload
from s3lite.b2_buckets import create_bucket, create_key, key_params, list_buckets, shared_url
from s3lite.b2_calls import B2Context, bucket_id, download_request, get_upload_url
from s3lite.b2_large_files import finish_large_file, list_parts, part_request, upload_part
from s3lite.b2_listings import list_file_names_page, list_file_versions_page, listing_params
from s3lite.b2_objects import (
    copy_file,
    copy_params,
    delete_file,
    download_headers,
    get_file,
    head_file,
    hide_file,
    upload_file,
    upload_request,
)
from s3lite.b2_requests import (
    B2_DIALECT,
    MAX_JSON_BYTES,
    Account,
    api_call,
    file_info,
    parse_authorization,
    parse_error,
    read_json,
    resendable,
    validate_bucket,
    validate_key,
)
from s3lite.errors import ClientError
from s3lite.multipart import PartResult
from s3lite.operation import Call
from s3lite.response import Response
from s3lite.transport import Attempt

SHA_ABC = hashlib.sha1(b"abc").hexdigest()  # noqa: S324

AUTH = {
    "accountId": "acc1",
    "authorizationToken": "tok-account",
    "applicationKeyExpirationTimestamp": None,
    "apiInfo": {
        "storageApi": {
            "apiUrl": "https://api.example.test:8443/base",
            "downloadUrl": "https://dl.example.test",
            "absoluteMinimumPartSize": 5_000_000,
            "recommendedPartSize": 100_000_000,
            "allowed": {"capabilities": ["listFiles", "readFiles", 7], "buckets": None},
        }
    },
}


def answer(
    obj: Any = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    attempts: int = 1,
) -> Response:
    """A read answer, as a driver resumes an operation with it."""
    data = json.dumps(obj).encode() if body is None else body
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(data),
        headers={"Content-Type": "application/json", **(headers or {})},
        status=status,
        preload_content=False,
        decode_content=False,
    )
    response = Response(raw, B2_DIALECT, preload=True, max_body=MAX_JSON_BYTES)
    response.attempts = attempts
    return response


def error(cls: type[ClientError], status: int, code: str, message: str = "") -> ClientError:
    return cls(status, code, message)


Op = Generator[Call, Response, Any]


def step(op: Op, response: Response | None = None) -> Call:
    """Resume `op` (start it, when `response` is None) and return the call it yields next."""
    return next(op) if response is None else op.send(response)


def finish(op: Op, response: Response) -> Any:
    """Resume `op` with its last answer and return its result."""
    with pytest.raises(StopIteration) as stop:
        op.send(response)
    return stop.value.value


def result_now(op: Op) -> Any:
    """The result of an operation that needs no request at all."""
    with pytest.raises(StopIteration) as stop:
        next(op)
    return stop.value.value


def sent_json(call: Call) -> dict[str, Any]:
    body = call.request.body.data
    assert isinstance(body, bytes)
    obj = json.loads(body)
    assert isinstance(obj, dict)
    return obj


def api_name(call: Call) -> str:
    return call.request.path.rpartition("/")[2]


@pytest.fixture
def ctx() -> B2Context:
    account, _ = parse_authorization(AUTH)
    slot = AuthSlot("https://api.example.test", "key-id", "secret")
    slot.bucket_ids["my-bucket"] = "bid1"
    return B2Context(account, slot)


# --- authorization and plain parsing -----------------------------------------------------------


def test_authorize_builds_a_basic_request_and_parses_the_account() -> None:
    op = authorize("http://realm.test:9000/prefix", "key-id", "secret")
    call = step(op)
    request = call.request
    assert (request.method, request.scheme, request.host) == ("GET", "http", "realm.test:9000")
    assert request.path == "/prefix/b2api/v3/b2_authorize_account"
    assert "Authorization" not in request.headers  # the key is in the signer, not the request
    assert isinstance(call.auth, BasicAuth) and "secret" not in repr(call.auth)
    attempt = Attempt(request, {}, b"", 0.0)
    call.auth.sign(attempt)
    assert attempt.headers["Authorization"] == "Basic a2V5LWlkOnNlY3JldA=="
    account, lifetime = finish(op, answer(AUTH))
    assert isinstance(account, Account)
    assert (account.api_scheme, account.api_host) == ("https", "api.example.test:8443")
    assert account.api_prefix == "/base/b2api/v3/"
    assert account.capabilities == ("listFiles", "readFiles")
    assert account.min_part_size == 5_000_000 and lifetime == 3600.0
    assert "tok-account" not in repr(account)


def test_authorize_refuses_a_malformed_reply() -> None:
    op = authorize("https://realm.test", "k", "s")
    step(op)
    with pytest.raises(MalformedResponse):
        op.send(answer(body=b"[1, 2]"))


def test_error_bodies_and_json_replies() -> None:
    assert parse_error(b'{"status": 400, "code": "bad_request", "message": "no"}', 400)[:2] == (
        "bad_request",
        "no",
    )
    assert parse_error(b'{"code": 503, "status": "service_unavailable"}', 503)[0] == (
        "service_unavailable"
    )
    assert parse_error(b"<html>oops</html>", 502)[:2] == (None, "<html>oops</html>")
    assert parse_error(b'{"code": "a b c"}', 400)[0] is None
    assert read_json(answer({"a": 1})) == {"a": 1}
    with pytest.raises(MalformedResponse, match="malformed JSON"):
        read_json(answer(body=b"{not json"))


def test_validation() -> None:
    assert validate_key("a/b c") == "a/b c"
    for bad in ("", "/a", "a/", "a//b", "a\x00b", "x" * 1025):
        with pytest.raises(ValueError):
            validate_key(bad)
    with pytest.raises(ValueError):
        validate_bucket("b2-bucket")
    assert file_info({"Color": "red"}, cache_control="no-cache") == {
        "color": "red",
        "b2-cache-control": "no-cache",
    }
    with pytest.raises(ValueError, match="reserved"):
        file_info({"b2-x": "y"})
    with pytest.raises(ValueError, match="at most 10"):
        file_info({f"m{i}": "v" for i in range(11)})


def test_only_calls_that_change_nothing_are_resent_after_a_broken_answer(ctx: B2Context) -> None:
    assert resendable(api_call(ctx.account, "b2_list_file_names", {}))
    assert not resendable(api_call(ctx.account, "b2_copy_file", {}))
    get = download_request(ctx, "GET", "my-bucket", "k", None, {})
    assert resendable(Call(get))
    target = UploadTarget("https", "up.test", "/upload", "t", 0.0)
    auth = UploadAuth(target, lambda: get_upload_url(ctx, "bid1"))
    assert not resendable(Call(api_call(ctx.account, "b2_list_buckets", {}).request, auth=auth))


# --- buckets -----------------------------------------------------------------------------------


def test_a_known_bucket_id_needs_no_request(ctx: B2Context) -> None:
    assert result_now(bucket_id(ctx, "my-bucket")) == "bid1"


def test_a_bucket_id_is_looked_up_once(ctx: B2Context) -> None:
    op = bucket_id(ctx, "other-bucket")
    call = step(op)
    assert api_name(call) == "b2_list_buckets" and call.request.method == "POST"
    assert call.request.host == "api.example.test:8443"
    assert sent_json(call) == {"accountId": "acc1", "bucketName": "other-bucket"}
    assert call.max_body == MAX_JSON_BYTES and not call.stream
    reply = {"buckets": [{"accountId": "acc1", "bucketName": "other-bucket", "bucketId": "b2"}]}
    assert finish(op, answer(reply)) == "b2"
    assert ctx.slot.bucket_ids["other-bucket"] == "b2"


def test_an_unknown_bucket_is_no_such_bucket(ctx: B2Context) -> None:
    op = bucket_id(ctx, "gone-bucket")
    step(op)
    with pytest.raises(NoSuchBucket):
        op.send(answer({"buckets": []}))


def test_a_bucket_id_the_service_forgot_is_dropped(ctx: B2Context) -> None:
    op = list_file_names_page(ctx, "my-bucket", {"maxFileCount": 10}, None)
    step(op)
    with pytest.raises(NoSuchBucket):
        op.throw(error(NoSuchBucket, 400, "bad_bucket_id"))
    assert "my-bucket" not in ctx.slot.bucket_ids


def test_list_buckets_caches_every_id(ctx: B2Context) -> None:
    op = list_buckets(ctx)
    assert sent_json(step(op)) == {"accountId": "acc1"}
    reply = {
        "buckets": [
            {"accountId": "acc1", "bucketName": "alpha-bucket", "bucketId": "ba",
             "bucketType": "allPrivate"},
            {"accountId": "someone-else", "bucketName": "theirs", "bucketId": "bx"},
        ]
    }  # fmt: skip
    assert finish(op, answer(reply)) == [
        {"name": "alpha-bucket", "creation_date": None, "bucket_id": "ba",
         "bucket_type": "allPrivate"}
    ]  # fmt: skip
    assert ctx.slot.bucket_ids["alpha-bucket"] == "ba"


def test_creating_a_bucket_we_own_already(ctx: B2Context) -> None:
    op = create_bucket(ctx, "new-bucket", "allPrivate", object_lock=True)
    call = step(op)
    assert sent_json(call) == {
        "accountId": "acc1", "bucketName": "new-bucket", "bucketType": "allPrivate",
        "fileLockEnabled": True,
    }  # fmt: skip
    lookup = op.throw(error(BucketAlreadyExists, 400, "duplicate_bucket_name"))
    assert api_name(lookup) == "b2_list_buckets"
    reply = {"buckets": [{"accountId": "acc1", "bucketName": "new-bucket", "bucketId": "bn"}]}
    with pytest.raises(BucketAlreadyOwnedByYou):
        op.send(answer(reply))


def test_app_keys(ctx: B2Context) -> None:
    with pytest.raises(ValueError, match="capabilities"):
        key_params([], "name", None, None, None)
    with pytest.raises(ValueError, match="prefix needs a bucket"):
        key_params(["readFiles"], "name", None, None, "p/")
    params = key_params("readFiles", "reader", 60, "my-bucket", "p/")
    op = create_key(ctx, params, "my-bucket")
    assert sent_json(step(op)) == {
        "accountId": "acc1", "capabilities": ["readFiles"], "keyName": "reader",
        "validDurationInSeconds": 60, "namePrefix": "p/", "bucketId": "bid1",
    }  # fmt: skip
    key = finish(
        op,
        answer({"applicationKeyId": "kid", "applicationKey": "sec", "keyName": "reader",
                "capabilities": ["readFiles"], "bucketIds": ["bid1"],
                "expirationTimestamp": 1_700_000_000_000}),
    )  # fmt: skip
    assert key.bucket_id == "bid1" and key.expires.year == 2023
    assert "sec" not in repr(key)


def test_shared_url() -> None:
    url = shared_url("https://dl.test", "b", "a b/c", "t/k+n")
    assert url == "https://dl.test/file/b/a%20b/c?Authorization=t%2Fk%2Bn"


# --- objects -----------------------------------------------------------------------------------


def test_upload_gets_an_upload_url_then_sends_with_its_token(ctx: B2Context) -> None:
    request, sha1 = upload_request(
        "dir/ä b.txt", b"abc", {"Color": "red"}, cache_control="max-age=1"
    )
    assert sha1 == SHA_ABC
    headers = request.headers
    assert headers["X-Bz-File-Name"] == "dir/%C3%A4%20b.txt"
    assert headers["Content-Type"] == "b2/x-auto"
    assert headers["X-Bz-Info-color"] == "red"
    assert headers["X-Bz-Info-b2-cache-control"] == "max-age%3D1"
    assert headers["X-Bz-Content-Sha1"] == SHA_ABC and headers["Content-Length"] == "3"
    op = upload_file(ctx, "my-bucket", request, sha1)
    get_url = step(op)
    assert api_name(get_url) == "b2_get_upload_url" and sent_json(get_url) == {"bucketId": "bid1"}
    upload = step(
        op, answer({"uploadUrl": "https://pod.test/b2api/v3/b2_upload_file/bid1/x",
                    "authorizationToken": "tok-upload"})
    )  # fmt: skip
    assert isinstance(upload.auth, UploadAuth)
    assert (upload.request.host, upload.request.path) == (
        "pod.test",
        "/b2api/v3/b2_upload_file/bid1/x",
    )
    attempt = Attempt(upload.request, {}, b"abc", 0.0)
    upload.auth.sign(attempt)
    assert attempt.headers["Authorization"] == "tok-upload"
    done = finish(
        op,
        answer({"fileId": "f1", "contentSha1": SHA_ABC, "uploadTimestamp": 1_600_000_000_000}),
    )
    assert (done.version_id, done.etag, done.last_modified.year) == ("f1", SHA_ABC, 2020)
    assert ctx.slot.take_upload("b:bid1") is not None  # the URL that worked is pooled


def test_an_upload_stored_with_another_sha1_is_refused(ctx: B2Context) -> None:
    ctx.slot.give_upload("b:bid1", UploadTarget("https", "pod.test", "/up", "t", 1e18))
    request, sha1 = upload_request("k", b"abc")
    op = upload_file(ctx, "my-bucket", request, sha1)
    assert step(op).request.host == "pod.test"  # a pooled URL: no b2_get_upload_url
    with pytest.raises(ChecksumMismatch):
        op.send(answer({"fileId": "f1", "contentSha1": "0" * 40}))


def test_a_stream_sends_its_sha1_at_the_end() -> None:
    body, sha1 = prepare_upload(io.BytesIO(b"abc"), None)
    assert sha1 == "hex_digits_at_end" and body.length == 43
    reader = Sha1Trailer(io.BytesIO(b"abc"), 3, 0)
    assert reader.read() + reader.read() == b"abc" + SHA_ABC.encode()
    reader.seek(0)
    assert b"".join(iter(lambda: reader.read(7), b"")) == b"abc" + SHA_ABC.encode()
    body, sha1 = prepare_upload(iter([b"a", b"bc"]), None)  # unknown length: spooled, hashed
    assert sha1 == SHA_ABC and body.length == 3


def test_download_by_name_with_a_range(ctx: B2Context) -> None:
    headers = download_headers(10, 19, {"X-Extra": "1"})
    assert headers == {"Range": "bytes=10-19", "X-Extra": "1"}
    op = get_file(ctx, "my-bucket", "a b/c", None, headers, stream=True)
    call = step(op)
    assert call.stream and call.ok is not None and call.ok(206) and not call.ok(304)
    assert call.request.method == "GET" and call.request.host == "dl.example.test"
    assert call.request.path == "/file/my-bucket/a%20b/c" and call.request.query == ""
    response = finish(
        op,
        answer(body=b"x" * 10, status=206, headers={
            "x-bz-file-id": "f9", "x-bz-content-sha1": "none",
            "x-bz-info-large_file_sha1": SHA_ABC, "x-bz-info-color": "r%C3%A9d",
        }),
    )  # fmt: skip
    assert (response.version_id, response.etag) == ("f9", SHA_ABC)
    assert response.metadata == {"large_file_sha1": SHA_ABC, "color": "réd"}


def test_download_by_file_id_through_another_host(ctx: B2Context) -> None:
    other = B2Context(ctx.account, ctx.slot, ("http", "cdn.test", "/b2"))
    op = head_file(other, "my-bucket", "k", "4_z id", {})
    call = step(op)
    assert (call.request.method, call.request.host) == ("HEAD", "cdn.test")
    assert call.request.path == "/b2/b2api/v3/b2_download_file_by_id"
    assert call.request.query == "fileId=4_z%20id"


def test_hiding_what_is_hidden_is_no_such_key(ctx: B2Context) -> None:
    op = hide_file(ctx, "my-bucket", "k")
    assert sent_json(step(op)) == {"bucketId": "bid1", "fileName": "k"}
    with pytest.raises(NoSuchKey):
        op.throw(error(ClientError, 400, "already_hidden"))


def test_delete_every_version_of_a_name(ctx: B2Context) -> None:
    op = delete_file(ctx, "my-bucket", "k", None)
    listing = step(op)
    assert api_name(listing) == "b2_list_file_versions"
    assert sent_json(listing)["startFileName"] == "k"
    reply = {
        "files": [
            {"fileName": "k", "fileId": "v2", "action": "upload"},
            {"fileName": "k", "fileId": "v1", "action": "hide"},
            {"fileName": "k2", "fileId": "v0", "action": "upload"},
        ],
        "nextFileName": "k2",
    }
    first = step(op, answer(reply))
    assert api_name(first) == "b2_delete_file_version"
    assert sent_json(first) == {"fileId": "v2", "fileName": "k"}
    second = op.throw(error(NoSuchKey, 404, "file_not_present"))  # gone already: skipped
    assert sent_json(second) == {"fileId": "v1", "fileName": "k"}
    response = finish(op, answer({"fileId": "v1"}))
    assert response.status == 204 and response.headers["X-Bz-File-Id"] == "v1"


def test_copy_checks_the_sha1_of_the_version_it_copies(ctx: B2Context) -> None:
    params = copy_params("dst", {"a": "b"}, None)
    assert params == {"fileName": "dst", "metadataDirective": "REPLACE",
                      "contentType": "b2/x-auto", "fileInfo": {"a": "b"}}  # fmt: skip
    op = copy_file(ctx, "my-bucket", "src", "my-bucket", params, if_match='"' + SHA_ABC + '"')
    head = step(op)
    assert head.request.method == "HEAD" and head.request.path == "/file/my-bucket/src"
    copy = step(op, answer(body=b"", headers={"x-bz-file-id": "s1", "x-bz-content-sha1": SHA_ABC}))
    assert api_name(copy) == "b2_copy_file"
    assert sent_json(copy)["sourceFileId"] == "s1" and "destinationBucketId" not in sent_json(copy)
    done = finish(op, answer({"fileId": "d1", "contentSha1": SHA_ABC}))
    assert done.version_id == "d1"

    op = copy_file(ctx, "my-bucket", "src", "my-bucket", params, if_match="0" * 40)
    step(op)
    with pytest.raises(PreconditionFailed):
        op.send(answer(body=b"", headers={"x-bz-file-id": "s1", "x-bz-content-sha1": SHA_ABC}))


# --- listings ----------------------------------------------------------------------------------


def test_a_page_of_file_names(ctx: B2Context) -> None:
    base = listing_params("p/", "/", 1000, 5)
    assert base == {"maxFileCount": 5, "prefix": "p/", "delimiter": "/"}
    op = list_file_names_page(ctx, "my-bucket", base, None, start_after="p/a")
    assert sent_json(step(op)) == {**base, "bucketId": "bid1", "startFileName": "p/a"}
    page = finish(
        op,
        answer({"files": [
            {"fileName": "p/a", "action": "upload", "contentLength": 1},  # the start: skipped
            {"fileName": "p/b", "action": "upload", "contentLength": 2, "contentSha1": SHA_ABC,
             "uploadTimestamp": 1_600_000_000_000},
            {"fileName": "p/c", "action": "hide"},
            {"fileName": "p/d/", "action": "folder"},
        ], "nextFileName": "p/e"}),
    )  # fmt: skip
    assert [item["key"] for item in page.items] == ["p/b"]
    assert page.items[0]["etag"] == SHA_ABC and page.items[0]["content_length"] == 2
    assert page.prefixes == ["p/d/"]
    assert page.truncated


def test_a_page_of_versions_marks_the_latest(ctx: B2Context) -> None:
    op = list_file_versions_page(ctx, "my-bucket", {"maxFileCount": 3}, None, None)
    step(op)
    page, last = finish(
        op,
        answer({"files": [
            {"fileName": "a", "fileId": "a2", "action": "hide"},
            {"fileName": "a", "fileId": "a1", "action": "upload", "contentSha1": SHA_ABC},
            {"fileName": "b", "fileId": "b1", "action": "upload"},
        ], "nextFileName": "b", "nextFileId": "b0"}),
    )  # fmt: skip
    assert [(i["version_id"], i["is_latest"], i["delete_marker"]) for i in page.items] == [
        ("a2", True, True), ("a1", False, False), ("b1", True, False),
    ]  # fmt: skip
    assert page.items[0]["etag"] is None and last == "b"
    op = list_file_versions_page(ctx, "my-bucket", {}, "b", "b0", last=last)
    assert sent_json(step(op))["startFileId"] == "b0"
    page, _ = finish(op, answer({"files": [{"fileName": "b", "fileId": "b0", "action": "upload"}]}))
    assert page.items[0]["is_latest"] is False  # b's latest was on the page before


# --- large files -------------------------------------------------------------------------------


def test_a_part_is_sent_with_its_sha1_on_a_part_url(ctx: B2Context) -> None:
    with pytest.raises(ValueError, match=r"1\.\.10000"):
        part_request(0, b"x")
    request, size, sha1 = part_request(3, b"abc")
    assert (size, sha1) == (3, SHA_ABC)
    assert request.headers["X-Bz-Part-Number"] == "3"
    op = upload_part(ctx, "L1", 3, request, size, sha1)
    get_url = step(op)
    assert api_name(get_url) == "b2_get_upload_part_url" and sent_json(get_url) == {"fileId": "L1"}
    upload = step(op, answer({"uploadUrl": "https://pod.test/part", "authorizationToken": "pt"}))
    assert upload.request.path == "/part"
    assert finish(op, answer({"contentSha1": SHA_ABC})) == PartResult(3, 3, sha1=SHA_ABC)


def test_finishing_a_large_file_whose_answer_was_lost(ctx: B2Context) -> None:
    parts = [PartResult(2, 1, sha1="b" * 40), PartResult(1, 1, sha1="a" * 40)]
    op = finish_large_file(ctx, "L1", parts)
    assert sent_json(step(op)) == {"fileId": "L1", "partSha1Array": ["a" * 40, "b" * 40]}
    info = op.throw(error(InvalidRequest, 400, "bad_request", "no such file"))
    assert api_name(info) == "b2_get_file_info"
    done = finish(op, answer({"action": "upload", "fileId": "L1", "fileInfo": {
        "large_file_sha1": SHA_ABC}, "contentSha1": "none"}))  # fmt: skip
    assert (done.version_id, done.etag) == ("L1", SHA_ABC)

    op = finish_large_file(ctx, "L2", parts)
    step(op)
    op.throw(error(InvalidRequest, 400, "bad_request"))
    with pytest.raises(NoSuchUpload):
        op.throw(error(NoSuchKey, 404, "file_not_present"))


def test_parts_are_listed_across_pages(ctx: B2Context) -> None:
    op = list_parts(ctx, "L1")
    assert sent_json(step(op)) == {"fileId": "L1", "maxPartCount": 1000}
    second = step(
        op,
        answer({"parts": [{"partNumber": 1, "contentLength": 5, "contentSha1": "a" * 40}],
                "nextPartNumber": 2}),
    )  # fmt: skip
    assert sent_json(second)["startPartNumber"] == 2
    parts = finish(op, answer({"parts": [{"partNumber": 2, "contentLength": 1}]}))
    assert [(p.number, p.size, p.sha1) for p in parts] == [(1, 5, "a" * 40), (2, 1, None)]
    op = list_parts(ctx, "gone")
    step(op)
    with pytest.raises(NoSuchUpload):
        op.throw(error(InvalidRequest, 400, "bad_request"))
