"""S3 operations without a server: requests are built and answers parsed by the operations of
`s3lite.s3_requests`, driven here by hand with answers made from bytes (real urllib3
responses, parsed as the transport would hand them over)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from urllib3 import HTTPResponse

from s3lite import s3_bucket_requests as bucket_ops
from s3lite import s3_delete_requests as delete_ops
from s3lite import s3_listing_requests as listing_ops
from s3lite import s3_multipart_requests as multipart_ops
from s3lite import s3_requests as ops
from s3lite.credentials import Credentials
from s3lite.deletes import DeleteObjectsError
from s3lite.errors import (
    ChecksumMismatch,
    ClientError,
    EntityTooLarge,
    MalformedResponse,
    NoSuchBucket,
    NoSuchKey,
    ObjectChanged,
    error_class_for,
)
from s3lite.operation import Call, Operation, run
from s3lite.parts import PartResult
from s3lite.response import S3_DIALECT, Response
from s3lite.s3_endpoint import S3Endpoint
from s3lite.s3_payload import prepare_body
from s3lite.signing import EMPTY_SHA256, STREAMING_PAYLOAD, UNSIGNED_PAYLOAD
from s3lite.transport import Request

LOCAL = "http://127.0.0.1:9000"


def endpoint(url: str = LOCAL, **kwargs: Any) -> S3Endpoint:
    kwargs.setdefault("bucket", "bkt")
    return S3Endpoint(url, kwargs.pop("region", "us-east-1"), **kwargs)


def answer(status: int = 200, body: bytes = b"", **headers: str) -> Response:
    """A response as the transport hands it over: a urllib3 response parsed from bytes. A
    Content-Length given with no body is a HEAD's answer (the transport reads none)."""
    fields = {name.replace("_", "-"): value for name, value in headers.items()}
    head = not body and "Content-Length" in fields
    fields.setdefault("Content-Length", str(len(body)))
    raw = HTTPResponse(
        body=io.BytesIO(body),
        headers=fields,
        status=status,
        preload_content=False,
        request_method="HEAD" if head else "GET",
    )
    return Response(raw, S3_DIALECT, preload=True, expected_length=0 if head else None)


def texts(body: bytes | memoryview, tag: str) -> list[str]:
    """The texts of every `tag` element of an XML request body."""
    return re.findall(rf"<{tag}>([^<]*)</{tag}>", bytes(body).decode())


def failure(status: int, code: str, message: str = "") -> ClientError:
    return error_class_for(status, code)(status, code, message)


Reply = Response | Exception | Callable[[Call], Response | Exception]


def drive(op: Operation[Any], *replies: Reply) -> tuple[list[Call], Any]:
    """Run `op`, answering its calls in order with `replies` (an exception is raised as the
    send's); returns the calls it made and its result. Every reply must be used."""
    calls: list[Call] = []
    script: Iterator[Reply] = iter(replies)

    def send(call: Call) -> Response:
        calls.append(call)
        reply = next(script)
        if callable(reply) and not isinstance(reply, (Response, Exception)):
            reply = reply(call)
        if isinstance(reply, Exception):
            raise reply
        return reply

    result = run(op, send)
    assert next(script, None) is None, "the operation stopped before using every answer"
    return calls, result


def xml(*parts: str) -> bytes:
    return ("<?xml version='1.0' encoding='UTF-8'?>" + "".join(parts)).encode()


# --- the endpoint ------------------------------------------------------------------------------
def test_locate_path_style_and_virtual_host() -> None:
    local = endpoint("http://127.0.0.1:9000/prefix/")
    assert local.locate("b-1", "k/x y") == ("127.0.0.1:9000", "/prefix/b-1/k/x%20y", "/b-1/k/x%20y")
    assert local.locate("b-1", None) == ("127.0.0.1:9000", "/prefix/b-1", "/b-1")
    assert local.locate(None, None) == ("127.0.0.1:9000", "/prefix/", "/")
    aws = endpoint("https://s3.eu-west-1.amazonaws.com", region="eu-west-1")
    assert aws.aws
    assert aws.locate("my-bucket", "k")[:2] == ("my-bucket.s3.eu-west-1.amazonaws.com", "/k")
    assert aws.locate("my-bucket", None)[1:] == ("/", "/my-bucket/")
    assert aws.locate("my.bucket", "k")[:2] == ("s3.eu-west-1.amazonaws.com", "/my.bucket/k")
    aws.addressing_style = "path"  # the remembered placements are forgotten
    assert aws.locate("my-bucket", "k")[:2] == ("s3.eu-west-1.amazonaws.com", "/my-bucket/k")
    with pytest.raises(ValueError, match="virtual-host"):
        endpoint(addressing_style="virtual").locate("My_Bucket", "k")
    with pytest.raises(ValueError, match="invalid bucket name"):
        local.locate("a..b", "k")


def test_endpoint_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="http"):
        endpoint("ftp://host")
    with pytest.raises(ValueError, match="query"):
        endpoint("http://host/?x=1")
    with pytest.raises(ValueError, match="addressing_style"):
        endpoint(addressing_style="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="payload_signing"):
        endpoint(payload_signing="maybe")  # type: ignore[arg-type]
    assert endpoint("host.example:8080").endpoint_url == "https://host.example:8080"
    ep = endpoint(bucket=None)
    with pytest.raises(ValueError, match="no default bucket"):
        ep.resolve_bucket(None)
    assert endpoint().resolve_bucket(None) == "bkt"


def test_build_sets_host_length_and_payload_hash() -> None:
    ep = endpoint()
    get = ep.build("GET", "bkt", "k")
    assert (get.method, get.host, get.path, get.query) == ("GET", "127.0.0.1:9000", "/bkt/k", "")
    assert get.headers == {"Host": "127.0.0.1:9000"}
    assert get.payload_hash == EMPTY_SHA256
    put = ep.build("PUT", "bkt", "k", [("b", "2"), ("a", "x y")], {"X-A": "1"}, b"data")
    assert put.query == "a=x%20y&b=2"
    assert put.headers["Content-Length"] == "4" and put.headers["X-A"] == "1"
    assert put.payload_hash == hashlib.sha256(b"data").hexdigest()
    stream = ep.build("PUT", "bkt", "k", body=io.BytesIO(b"abc"))
    assert stream.headers["Content-Length"] == "3"
    assert stream.payload_hash == STREAMING_PAYLOAD  # plain HTTP: aws-chunked signatures
    assert (
        endpoint("https://h.example").build("PUT", "bkt", "k", body=io.BytesIO(b"abc")).payload_hash
        == UNSIGNED_PAYLOAD
    )
    unsigned = endpoint(payload_signing="unsigned").build("PUT", "bkt", "k", body=b"x")
    assert unsigned.payload_hash == UNSIGNED_PAYLOAD
    sigv2 = endpoint(signature_version="s3")
    assert sigv2.stream_payload_mode() == UNSIGNED_PAYLOAD
    with pytest.raises(ValueError, match="length unknown"):
        ep.build("PUT", "bkt", "k", body=iter([b"x"]))


def test_own_url_keeps_requests_on_the_endpoint() -> None:
    ep = endpoint("https://s3.example.com")
    assert ep.own_url("https://s3.example.com:443/bkt/a%20b?x=1") == ("bkt", "a b", [("x", "1")])
    assert ep.own_url("https://bkt.s3.example.com/dir/k") == ("bkt", "dir/k", [])
    with pytest.raises(ValueError, match="refusing"):
        ep.own_url("https://s3.example.com.evil.example/bkt/k")
    assert ep.object_url("b-2", "a b") == "https://s3.example.com/b-2/a%20b"


# --- objects -----------------------------------------------------------------------------------
def test_head_object_request_and_answer() -> None:
    op = ops.head_object(endpoint(), "dir/k", "v1", if_match="abc", checksum_mode=True)
    calls, result = drive(op, answer(200, ETag='"abc"', x_amz_meta_a="1"))
    request = calls[0].request
    assert (request.method, request.path, request.query) == ("HEAD", "/bkt/dir/k", "versionId=v1")
    assert request.headers["If-Match"] == '"abc"'
    assert request.headers["x-amz-checksum-mode"] == "ENABLED"
    assert not calls[0].stream
    assert result.etag == "abc" and result.metadata == {"a": "1"}


def test_invalid_arguments_are_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="key must not be empty"):
        drive(ops.head_object(endpoint(), ""))
    with pytest.raises(TypeError, match="key must be a str"):
        drive(ops.delete_object(endpoint(), 3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32 bytes"):
        drive(ops.get_object(endpoint(), "k", sse_customer_key=b"short"))


def test_get_object_streamed_is_resumable() -> None:
    calls, _ = drive(ops.get_object(endpoint(), "k", range_start=10, range_end=19), answer(206))
    call = calls[0]
    assert isinstance(call, ops.ResumableGet) and call.stream
    assert (call.start, call.end) == (10, 19)
    assert call.request.headers["Range"] == "bytes=10-19"
    assert call.ok is not None and call.ok(206) and call.ok(200) and not call.ok(304)

    calls, result = drive(
        ops.get_object(endpoint(), "k", stream=False, max_size=5), answer(200, b"hello")
    )
    assert type(calls[0]) is Call and not calls[0].stream and calls[0].max_body == 5
    assert "Range" not in calls[0].request.headers
    assert result.data == b"hello"


def test_resuming_a_get_is_pinned_to_its_etag() -> None:
    first = endpoint().build(
        "GET", "bkt", "k", None, {"If-None-Match": '"x"', "Range": "bytes=10-"}
    )
    again = ops.resume_request(first, '"e1"', 10, None, 5)
    assert again.headers["Range"] == "bytes=15-"
    assert again.headers["If-Match"] == '"e1"' and "If-None-Match" not in again.headers
    assert first.headers["Range"] == "bytes=10-"  # the first request is left alone
    assert ops.check_resumed(206, "bytes 15-99/100", 15) is None
    assert isinstance(ops.check_resumed(200, "", 15), ObjectChanged)
    assert isinstance(ops.check_resumed(206, "bytes 0-99/100", 15), ObjectChanged)
    assert "ETag" in str(ops.object_changed('"e1"', 5))


def test_put_object_sends_and_checks_a_checksum() -> None:
    ep = endpoint()
    bucket, headers = ops.put_object_headers(
        ep, "a.txt", {"Note": "héllo"}, if_none_match="*", cache_control="no-cache"
    )
    assert bucket == "bkt"
    assert headers["Content-Type"] == "text/plain"
    assert headers["x-amz-meta-note"].startswith("=?UTF-8?B?")
    assert headers["If-None-Match"] == "*" and headers["Cache-Control"] == "no-cache"
    crc = base64.b64encode(zlib.crc32(b"body").to_bytes(4, "big")).decode()
    calls, result = drive(
        ops.put_object(ep, bucket, "a.txt", headers, prepare_body(b"body", None, "crc32", "auto")),
        answer(200, ETag='"e"', x_amz_checksum_crc32=crc),
    )
    sent = calls[0].request
    assert sent.headers["x-amz-checksum-crc32"] == crc
    assert sent.headers["x-amz-sdk-checksum-algorithm"] == "CRC32"
    assert sent.payload_hash == hashlib.sha256(b"body").hexdigest()
    assert result.etag == "e"
    _, headers = ops.put_object_headers(ep, "a.txt")
    with pytest.raises(ChecksumMismatch):
        drive(
            ops.put_object(
                ep, "bkt", "a.txt", headers, prepare_body(b"body", None, "crc32", "auto")
            ),
            answer(200, x_amz_checksum_crc32="AAAAAA=="),
        )


def test_prepare_body_spools_and_hashes_streams() -> None:
    prepared = prepare_body(iter([b"ab", b"cd"]), None, None, "auto")  # unknown length
    assert prepared.body.length == 4
    assert prepared.payload_hash == hashlib.sha256(b"abcd").hexdigest()
    signed = prepare_body(io.BytesIO(b"xyz"), None, "sha256", "signed")
    assert signed.payload_hash == hashlib.sha256(b"xyz").hexdigest()
    assert signed.sums is not None and signed.sums.digest() == hashlib.sha256(b"xyz").digest()
    with pytest.raises(ValueError, match="content_length"):
        prepare_body(b"", -1, None, "auto")


def test_part_size_of_reads_the_parts_count() -> None:
    calls, size = drive(
        ops.part_size_of(endpoint(), "k", 2),
        answer(200, x_amz_mp_parts_count="3", Content_Length="0"),
    )
    assert calls[0].request.query == "partNumber=2"
    assert size == 0
    _, unknown = drive(ops.part_size_of(endpoint(), "k", 1), answer(200))
    assert unknown is None


def _deleted(*keys: str) -> bytes:
    return xml(
        "<DeleteResult>",
        *(f"<Deleted><Key>{k}</Key></Deleted>" for k in keys),
        "</DeleteResult>",
    )


def test_delete_objects_in_batches_with_content_md5() -> None:
    keys = [f"k{i}" for i in range(1001)]

    def ok(call: Call) -> Response:
        return answer(200, _deleted(*texts(call.request.body.data, "Key")))

    calls, result = drive(delete_ops.delete_objects(endpoint(), keys), ok, ok)
    assert [c.request.query for c in calls] == ["delete=", "delete="]
    body = calls[0].request.body.data
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324
    assert calls[0].request.headers["Content-MD5"] == md5
    assert len(result.deleted) == 1001 and result.ok


def test_delete_objects_reports_failed_batches_and_keys() -> None:
    refusal = xml(
        "<DeleteResult><Error><Key>b</Key><Code>AccessDenied</Code>",
        "<Message>no</Message></Error></DeleteResult>",
    )
    with pytest.raises(DeleteObjectsError) as caught:
        drive(delete_ops.delete_objects(endpoint(), ["a", "b"]), answer(200, refusal))
    assert [e["key"] for e in caught.value.result.errors] == ["b"]
    _, result = drive(
        delete_ops.delete_objects(endpoint(), ["a"], raise_errors=False),
        failure(500, "InternalError"),
    )
    assert result.errors[0]["code"] == "InternalError"
    with pytest.raises(NoSuchBucket):
        drive(delete_ops.delete_objects(endpoint(), ["a"]), failure(404, "NoSuchBucket"))
    with pytest.raises(ValueError, match="either keys or prefix"):
        drive(delete_ops.delete_objects(endpoint()))


def test_delete_objects_purge_falls_back_to_plain_keys() -> None:
    listed = xml(
        "<ListBucketResult><IsTruncated>false</IsTruncated>",
        "<Contents><Key>p/a</Key><Size>1</Size></Contents></ListBucketResult>",
    )
    calls, result = drive(
        delete_ops.delete_objects(endpoint(), prefix="p/", purge=True),
        failure(501, "NotImplemented"),  # no versioning on this server
        answer(200, listed),
        answer(200, _deleted("p/a")),
    )
    assert (
        calls[0].request.query.startswith("encoding-type=url")
        and "versions=" in calls[0].request.query
    )
    assert "list-type=2" in calls[1].request.query
    assert [d["key"] for d in result.deleted] == ["p/a"]


def test_delete_objects_purge_lists_the_versions_of_each_key() -> None:
    versions = xml(
        "<ListVersionsResult><IsTruncated>false</IsTruncated>",
        "<Version><Key>k</Key><VersionId>v1</VersionId><IsLatest>true</IsLatest></Version>",
        "<Version><Key>k2</Key><VersionId>v9</VersionId></Version>",
        "<DeleteMarker><Key>k</Key><VersionId>v0</VersionId></DeleteMarker>",
        "</ListVersionsResult>",
    )
    calls, _ = drive(
        delete_ops.delete_objects(endpoint(), ["k"], purge=True),
        answer(200, versions),
        answer(200, _deleted("k", "k")),
    )
    body = calls[1].request.body.data
    pairs = list(zip(texts(body, "Key"), texts(body, "VersionId"), strict=True))
    assert sorted(pairs) == [("k", "v0"), ("k", "v1")]


# --- listings ----------------------------------------------------------------------------------
def test_list_objects_pages_follow_the_continuation_token() -> None:
    pages = listing_ops.list_objects(endpoint(), "p/", delimiter="/", max_keys=2, limit=10)
    assert pages.limit == 10
    page_xml = xml(
        "<ListBucketResult><IsTruncated>true</IsTruncated><EncodingType>url</EncodingType>",
        "<NextContinuationToken>tok</NextContinuationToken>",
        '<Contents><Key>p/a+b</Key><Size>3</Size><ETag>"e"</ETag></Contents>',
        "<CommonPrefixes><Prefix>p/d/</Prefix></CommonPrefixes></ListBucketResult>",
    )
    calls, page = drive(pages.page(None, None), answer(200, page_xml))
    assert calls[0].request.query == (
        "delimiter=%2F&encoding-type=url&list-type=2&max-keys=2&prefix=p%2F"
    )
    assert [i["key"] for i in page.items] == ["p/a b"] and page.prefixes == ["p/d/"]
    assert listing_ops.next_markers(page, None, None) == ("tok", None)
    calls, _ = drive(pages.page("tok", None), answer(200, page_xml))
    assert "continuation-token=tok" in calls[0].request.query
    with pytest.raises(MalformedResponse, match="same page marker"):
        listing_ops.next_markers(page, "tok", None)


def test_list_object_versions_start_at_the_given_markers() -> None:
    pages = listing_ops.list_object_versions(endpoint(), key_marker="k", version_id_marker="v")
    calls, _ = drive(
        pages.page(None, None),
        answer(
            200, xml("<ListVersionsResult><IsTruncated>false</IsTruncated></ListVersionsResult>")
        ),
    )
    assert "key-marker=k" in calls[0].request.query
    assert "version-id-marker=v" in calls[0].request.query


# --- copy --------------------------------------------------------------------------------------
class Limits:
    multipart_min_part_size = 5 * 1024 * 1024
    multipart_max_part_size = 5 * 1024 * 1024 * 1024
    multipart_max_parts = 10_000


def test_copy_object_in_one_request() -> None:
    result_xml = xml(
        '<CopyObjectResult><ETag>"c0"</ETag>',
        "<LastModified>2024-01-02T03:04:05.000Z</LastModified></CopyObjectResult>",
    )
    calls, result = drive(
        ops.copy_object(endpoint(), "a b", "dst", "v1", content_type="text/x", limits=Limits()),
        answer(200, result_xml),
    )
    headers = calls[0].request.headers
    assert headers["x-amz-copy-source"] == "/bkt/a%20b?versionId=v1"
    assert headers["x-amz-metadata-directive"] == "REPLACE"
    assert headers["Content-Type"] == "text/x"
    assert result.etag == "c0" and result.last_modified == dt.datetime(
        2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc
    )


def test_copy_object_too_large_becomes_a_copy_in_parts() -> None:
    size = 12 * 1024 * 1024 * 1024
    calls, plan = drive(
        ops.copy_object(endpoint(), "big", "dst", limits=Limits()),
        EntityTooLarge(400, "EntityTooLarge", "too large"),
        answer(200, ETag='"src"', Content_Length=str(size), Cache_Control="max-age=1"),
    )
    assert [c.request.method for c in calls] == ["PUT", "HEAD"]
    assert isinstance(plan, multipart_ops.CopyInParts)
    assert plan.etag == "src" and plan.extra == {"Cache-Control": "max-age=1"}
    part = 256 * 1024 * 1024  # copies go in parts of at least 256 MiB
    assert len(plan.ranges) == 48 and plan.ranges[-1] == (48, (47 * part, size - 1))

    calls, upload_id = drive(
        plan.start(),
        answer(200, xml("<InitiateMultipartUploadResult><UploadId>u1</UploadId>"
                        "</InitiateMultipartUploadResult>")),
    )  # fmt: skip
    assert upload_id == "u1" and calls[0].request.query == "uploads="
    assert "x-amz-checksum-algorithm" not in calls[0].request.headers
    calls, part = drive(
        plan.part("u1", 2, (10, 19)),
        answer(200, xml('<CopyPartResult><ETag>"p2"</ETag></CopyPartResult>')),
    )
    headers = calls[0].request.headers
    assert headers["x-amz-copy-source-range"] == "bytes=10-19"
    assert headers["x-amz-copy-source-if-match"] == '"src"'
    assert part == PartResult(2, 10, etag="p2")


def test_copy_object_with_a_threshold_heads_the_source_first() -> None:
    calls, plan = drive(
        ops.copy_object(endpoint(), "big", "dst", multipart_threshold=10, limits=Limits()),
        answer(200, ETag='"src"', Content_Length="11"),
    )
    assert isinstance(plan, multipart_ops.CopyInParts) and plan.ranges == [(1, (0, 10))]
    calls, _ = drive(
        ops.copy_object(endpoint(), "small", "dst", multipart_threshold=10, limits=Limits()),
        answer(200, ETag='"src"', Content_Length="10"),
        answer(200, xml('<CopyObjectResult><ETag>"c"</ETag></CopyObjectResult>')),
    )
    assert [c.request.method for c in calls] == ["HEAD", "PUT"]


# --- multipart ---------------------------------------------------------------------------------
def _initiated(upload_id: str) -> Response:
    return answer(
        200,
        xml(f"<InitiateMultipartUploadResult><UploadId>{upload_id}</UploadId>"
            "</InitiateMultipartUploadResult>"),
    )  # fmt: skip


def test_start_multipart_names_the_part_checksum() -> None:
    calls, upload_id = drive(
        multipart_ops.start_multipart(
            endpoint(), "bkt", "k.bin", metadata={"a": "1"}, content_type=None, headers=None,
            checksum="sha256",
        ),
        _initiated("u1"),
    )  # fmt: skip
    headers = calls[0].request.headers
    assert headers["x-amz-checksum-algorithm"] == "SHA256"
    assert headers["x-amz-meta-a"] == "1"
    assert upload_id == "u1"
    with pytest.raises(ValueError, match="per part"):
        drive(
            multipart_ops.start_multipart(
                endpoint(), "bkt", "k", metadata=None, content_type=None, headers=None,
                checksum="crc64nvme",
            )
        )  # fmt: skip


def test_a_retried_start_aborts_the_uploads_it_left() -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)

    def retried(call: Call) -> Response:
        call.request.attempts = 2  # as the transport counts a retry
        return _initiated("mine")

    uploads = xml(
        "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>",
        "<Upload><Key>k</Key><UploadId>mine</UploadId>",
        "<Initiated>2024-05-01T12:00:00.000Z</Initiated></Upload>",
        "<Upload><Key>k</Key><UploadId>stray</UploadId>",
        "<Initiated>2024-05-01T11:59:59.500Z</Initiated></Upload>",
        "<Upload><Key>k</Key><UploadId>old</UploadId>",
        "<Initiated>2024-05-01T10:00:00.000Z</Initiated></Upload>",
        "</ListMultipartUploadsResult>",
    )
    calls, upload_id = drive(
        multipart_ops.start_multipart(
            endpoint(), "bkt", "k", metadata=None, content_type=None, headers=None,
            clock=now.timestamp,
        ),
        retried, answer(200, uploads), answer(204),
    )  # fmt: skip
    assert upload_id == "mine"
    assert [c.request.method for c in calls] == ["POST", "GET", "DELETE"]
    assert calls[2].request.query == "uploadId=stray"


def test_upload_part_checks_the_echoed_checksum() -> None:
    crc = base64.b64encode(zlib.crc32(b"part").to_bytes(4, "big")).decode()
    calls, part = drive(
        multipart_ops.upload_part(endpoint(), "bkt", "k", "u1", 3, b"part", crc, "crc32"),
        answer(200, ETag='"p"', x_amz_checksum_crc32=crc),
    )
    request = calls[0].request
    assert request.query == "partNumber=3&uploadId=u1"
    assert request.payload_hash == UNSIGNED_PAYLOAD
    assert request.headers["x-amz-checksum-crc32"] == crc
    assert part == PartResult(3, 4, etag="p", checksum=crc)
    with pytest.raises(ChecksumMismatch, match="part 3"):
        drive(
            multipart_ops.upload_part(endpoint(), "bkt", "k", "u1", 3, b"part", crc, "crc32"),
            answer(200, x_amz_checksum_crc32="AAAAAA=="),
        )


def test_complete_abort_and_list_parts() -> None:
    parts = [PartResult(1, 5, etag="a" * 32, checksum="c1"), PartResult(2, 1, etag="b" * 32)]
    done = xml(
        '<CompleteMultipartUploadResult><ETag>"etag-2"</ETag></CompleteMultipartUploadResult>'
    )
    calls, response = drive(
        multipart_ops.complete_multipart(endpoint(), "bkt", "k", "u1", parts), answer(200, done)
    )
    assert texts(calls[0].request.body.data, "PartNumber") == ["1", "2"]
    assert response.etag == "etag-2"
    expected = multipart_ops.expected_multipart_etag(parts)
    assert expected is not None and expected.endswith("-2")
    with pytest.raises(ChecksumMismatch):
        multipart_ops.verify_multipart_etag(response, parts)

    calls, nothing = drive(
        multipart_ops.abort_multipart(endpoint(), "bkt", "k", "u1"), failure(404, "NoSuchUpload")
    )
    assert nothing is None and calls[0].request.method == "DELETE"

    page = xml(
        "<ListPartsResult><IsTruncated>{t}</IsTruncated>",
        "<NextPartNumberMarker>{n}</NextPartNumberMarker>",
        '<Part><PartNumber>{n}</PartNumber><ETag>"e"</ETag><Size>5</Size></Part>',
        "</ListPartsResult>",
    ).decode()
    calls, listed = drive(
        multipart_ops.list_parts(endpoint(), "bkt", "k", "u1"),
        answer(200, page.format(t="true", n=1).encode()),
        answer(200, page.format(t="false", n=2).encode()),
    )
    assert "part-number-marker=1" in calls[1].request.query
    assert [p.number for p in listed] == [1, 2]


def test_abort_multipart_uploads_only_the_stale_ones() -> None:
    uploads = xml(
        "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>",
        "<Upload><Key>a</Key><UploadId>u-old</UploadId>",
        "<Initiated>2000-01-01T00:00:00.000Z</Initiated></Upload>",
        "<Upload><Key>b</Key><UploadId>u-new</UploadId>",
        f"<Initiated>{dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%S}.000Z</Initiated>",
        "</Upload></ListMultipartUploadsResult>",
    )
    calls, count = drive(
        multipart_ops.abort_multipart_uploads(endpoint(), older_than=3600),
        answer(200, uploads),
        failure(404, "NoSuchUpload"),  # aborted meanwhile: still counted, no error
    )
    assert count == 1 and calls[1].request.query == "uploadId=u-old"


# --- buckets and sub-resources -----------------------------------------------------------------
def test_create_bucket_names_its_region_on_aws() -> None:
    aws = endpoint("https://s3.eu-west-1.amazonaws.com", region="eu-west-1", bucket=None)
    calls, _ = drive(bucket_ops.create_bucket(aws, "my-bucket", object_lock=True), answer(200))
    request = calls[0].request
    assert request.host == "my-bucket.s3.eu-west-1.amazonaws.com"
    assert b"<LocationConstraint>eu-west-1</LocationConstraint>" in request.body.data
    assert request.headers["x-amz-bucket-object-lock-enabled"] == "true"
    calls, _ = drive(bucket_ops.create_bucket(endpoint(), "other"), answer(200))
    assert calls[0].request.body.data == b""


def test_head_bucket_turns_a_404_into_no_such_bucket() -> None:
    with pytest.raises(NoSuchBucket):
        drive(bucket_ops.head_bucket(endpoint()), NoSuchKey(404, "NoSuchKey", ""))


def test_sub_resources() -> None:
    calls, _ = drive(
        bucket_ops.put_object_tagging(endpoint(), "k", {"a": "1"}, version_id="v"), answer(200)
    )
    request = calls[0].request
    assert request.query == "tagging=&versionId=v"
    assert (
        request.headers["Content-MD5"]
        == base64.b64encode(
            hashlib.md5(request.body.data).digest()  # noqa: S324
        ).decode()
    )
    tags = xml("<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>")
    assert drive(bucket_ops.get_object_tagging(endpoint(), "k"), answer(200, tags))[1] == {"a": "1"}
    assert (
        drive(bucket_ops.get_bucket_policy(endpoint()), failure(404, "NoSuchBucketPolicy"))[1]
        is None
    )
    assert (
        drive(bucket_ops.get_bucket_policy(endpoint()), answer(200, b'{"a": 1}'))[1] == '{"a": 1}'
    )
    with pytest.raises(ClientError):
        drive(bucket_ops.get_bucket_policy(endpoint()), failure(403, "AccessDenied"))
    rules = xml(
        "<LifecycleConfiguration><Rule><ID>tmp</ID><Status>Enabled</Status>",
        "<Expiration><Days>7</Days></Expiration></Rule></LifecycleConfiguration>",
    )
    listed = drive(bucket_ops.get_bucket_lifecycle_configuration(endpoint()), answer(200, rules))[1]
    assert listed == [{"ID": "tmp", "Status": "Enabled", "Expiration": {"Days": 7}}]
    none = failure(404, "NoSuchLifecycleConfiguration")
    assert drive(bucket_ops.get_bucket_lifecycle_configuration(endpoint()), none)[1] == []
    with pytest.raises(ValueError, match="at least one rule"):
        drive(bucket_ops.put_bucket_lifecycle_configuration(endpoint(), []))
    calls, _ = drive(
        bucket_ops.put_object_lock_config(endpoint(), True, mode="GOVERNANCE", days=1), answer(200)
    )
    assert b"<Days>1</Days>" in calls[0].request.body.data
    with pytest.raises(ValueError, match="cannot disable"):
        drive(bucket_ops.put_object_lock_config(endpoint(), False))
    listed_buckets = xml(
        "<ListAllMyBucketsResult><Buckets><Bucket><Name>b1</Name>",
        "<CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets>",
        "</ListAllMyBucketsResult>",
    )
    calls, buckets = drive(bucket_ops.list_buckets(endpoint()), answer(200, listed_buckets))
    assert calls[0].request.path == "/" and buckets[0]["name"] == "b1"


# --- any request, presigned URLs ---------------------------------------------------------------
def test_custom_request_target() -> None:
    ep = endpoint()
    method, bucket, key, params, headers = ops.custom_request_target(
        ep, "get", f"{LOCAL}/b-2/a%20b?acl", {"X-A": "1"}, {"versionId": "v"}
    )
    assert (method, bucket, key) == ("GET", "b-2", "a b")
    assert params == [("acl", ""), ("versionId", "v")] and headers == {"X-A": "1"}
    with pytest.raises(ValueError, match="refusing"):
        ops.custom_request_target(ep, "GET", "http://elsewhere.example/b/k")
    with pytest.raises(ValueError, match="Host"):
        ops.custom_request_target(ep, "GET", "k", {"host": "x"})
    with pytest.raises(ValueError, match="method"):
        ops.custom_request_target(ep, "GE T", "k")
    calls, _ = drive(
        ops.custom_request(
            ep, "GET", "bkt", "k", [], {}, prepare_body(None, None, None, "auto"), stream=True
        ),
        answer(200),
    )
    assert calls[0].stream


def test_presign_url_is_deterministic() -> None:
    def creds() -> Credentials:
        return Credentials("AKID", "secret")

    now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    url = ops.presign_url(endpoint(), creds, now, "get", "a b", 60, version_id="v")
    assert url.startswith(f"{LOCAL}/bkt/a%20b?")
    assert "X-Amz-Expires=60" in url and "X-Amz-Date=20240101T000000Z" in url
    assert url == ops.presign_url(endpoint(), creds, now, "GET", "a b", 60, version_id="v")
    v2 = ops.presign_url(endpoint(signature_version="s3"), creds, now, "GET", "k", 60)
    assert f"Expires={int(now) + 60}" in v2
    with pytest.raises(ValueError, match="anonymous"):
        ops.presign_url(endpoint(), lambda: None, now, "GET", "k")
    with pytest.raises(ValueError, match="presign supports"):
        ops.presign_url(endpoint(), creds, now, "POST", "k")


def test_a_request_is_built_once_per_call() -> None:
    """The builder hands the transport a fresh Request and headers per call; nothing of one
    request leaks into the next."""
    ep = endpoint()
    first = next(ops.get_object(ep, "k", stream=False)).request
    second = next(ops.get_object(ep, "k", stream=False, if_match="e")).request
    assert isinstance(first, Request) and first is not second
    assert "If-Match" not in first.headers and second.headers["If-Match"] == '"e"'


def test_content_type_guess_is_mimetypes_own_answer() -> None:
    """The per-suffix memo gives what mimetypes gives for the whole key."""
    import mimetypes
    import random

    from s3lite.s3_endpoint import guess_type

    rng = random.Random(14)
    keys = ["a.txt", "dir.d/file", "x.tar.gz", "A.JPG", "noext", ".hidden", "a/b.c/d.json",
            ".bashrc.txt", "c:/x.txt", "a?b.txt", "a..txt", "f.TaR.Gz"]  # fmt: skip
    keys += ["".join(rng.choice("ab./.:?#xtgzjpTXT") for _ in range(9)) for _ in range(3000)]
    for key in keys + keys:  # the second pass answers from the memo
        expected = mimetypes.guess_type(key, strict=False)[0] or "application/octet-stream"
        assert guess_type(key) == expected, key
