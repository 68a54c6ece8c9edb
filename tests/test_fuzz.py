"""Fuzzing: bad input from a server never escapes as anything but a typed error, and arbitrary
unicode keys and metadata round-trip on a real server.

The promise for what a server sends (XML for S3, JSON for B2, and the headers of both):
a document that cannot be read raises `MalformedResponse`; an `<Error>` document inside a
200 answer (CopyObject, UploadPartCopy, CompleteMultipartUpload: S3's way of failing late)
raises the `ClientError` its code names; an error *status* whose body cannot be read raises
the `ClientError` for that status (its message says the body was unparseable). Nothing else
escapes: no `ValueError`, `KeyError`, `OverflowError`, `RecursionError`... Documents with a
DTD are refused before any entity is expanded or any external entity is fetched, whatever
encoding the document is in, so "billion laughs" and `<!ENTITY x SYSTEM "file:///etc/passwd">`
are refused at once and never read a file or open a connection.

Hypothesis runs with `deadline=None` (a loaded machine must not fail a test); the hang guards
below are generous bounds on hostile inputs, not timings.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import urllib3
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import new_bucket_name
from s3lite import S3Session, s3xml
from s3lite.b2 import B2Session, clear_auth_cache
from s3lite.b2 import parse_error as b2_parse_error
from s3lite.b2_requests import read_json
from s3lite.devserver import LocalSeaweedFS
from s3lite.errors import ClientError, MalformedResponse, S3LiteError
from s3lite.multipart import MultipartUpload
from s3lite.response import Response

FUZZ = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """Run `fn`, failing if it has not returned after `seconds` (a hang guard: the inputs it
    is used on are refused in microseconds; the bound only catches a parser that expands or
    fetches)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: a hang"
    if "error" in result:
        raise result["error"]
    return result.get("value")


# --- S3 XML --------------------------------------------------------------------------------------

#: Every parser of a server document, and the error types it may raise besides
#: MalformedResponse (ClientError: an <Error> reported inside a 200 answer).
PARSERS: dict[str, tuple[Callable[[bytes], Any], tuple[type[Exception], ...]]] = {
    "error": (lambda d: s3xml.parse_error(d, 500), ()),
    "list_objects": (s3xml.parse_list_objects, ()),
    "list_versions": (s3xml.parse_list_versions, ()),
    "list_buckets": (s3xml.parse_list_buckets, ()),
    "location": (s3xml.parse_location, ()),
    "delete_result": (s3xml.parse_delete_result, ()),
    "copy_result": (s3xml.parse_copy_result, (ClientError,)),
    "initiate_multipart": (s3xml.parse_initiate_multipart, ()),
    "complete_multipart": (s3xml.parse_complete_multipart, (ClientError,)),
    "list_parts": (s3xml.parse_list_parts, ()),
    "list_multipart_uploads": (s3xml.parse_list_multipart_uploads, ()),
    "tagging": (s3xml.parse_tagging, ()),
    "lifecycle": (lambda d: s3xml.parse_config(d, "LifecycleConfiguration"), ()),
    "object_lock": (lambda d: s3xml.parse_config(d, "ObjectLockConfiguration"), ()),
}

TAGS = [
    "ListBucketResult", "ListVersionsResult", "ListAllMyBucketsResult", "Buckets", "Bucket",
    "Name", "CreationDate", "LocationConstraint", "DeleteResult", "Deleted", "Error", "Errors",
    "CopyObjectResult", "CopyPartResult", "InitiateMultipartUploadResult",
    "CompleteMultipartUploadResult", "ListPartsResult", "ListMultipartUploadsResult", "Contents",
    "Key", "Size", "ETag", "LastModified", "StorageClass", "IsTruncated", "NextContinuationToken",
    "NextMarker", "EncodingType", "CommonPrefixes", "Prefix", "Version", "DeleteMarker",
    "VersionId", "IsLatest", "NextKeyMarker", "NextVersionIdMarker", "Code", "Message",
    "RequestId", "Resource", "HostId", "UploadId", "Part", "PartNumber", "NextPartNumberMarker",
    "Upload", "Initiated", "NextUploadIdMarker", "Location", "ChecksumCRC32",
]  # fmt: skip

TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["true", "false", "url", "", "0", "-1", "NaN", "1e400", "%zz", "%FF%FE",
                     "2009-10-12T17:50:30.000Z", "2009-10-12T17:50:30.1234567890Z",
                     "0000-00-00T00:00:00Z", "9999-12-31T23:59:59.999999999+14:00",
                     '"d41d8cd98f00b204e9800998ecf8427e"', "SlowDown", "NoSuchKey"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.just("9" * 5000),  # beyond Python's int() digit limit
)  # fmt: skip


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, body, ns: f"<{tag}{ns}>{body}</{tag}>",
        st.sampled_from(TAGS),
        st.one_of(TEXTS.map(escape), st.lists(children, max_size=6).map("".join)),
        st.sampled_from(["", ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"']),
    )


ELEMENTS = st.recursive(TEXTS.map(escape), _element, max_leaves=40)


@st.composite
def xml_documents(draw: st.DrawFn) -> bytes:
    """S3-shaped documents (tags and values S3 uses, nested at random), sometimes truncated
    or with a byte changed: most are well-formed, many are not."""
    root = draw(st.sampled_from(TAGS))
    body = "".join(draw(st.lists(ELEMENTS, max_size=8)))
    decl = draw(st.sampled_from(["", '<?xml version="1.0" encoding="UTF-8"?>\n']))
    data = f"{decl}<{root}>{body}</{root}>".encode()
    mutation = draw(st.sampled_from(["none", "none", "truncate", "flip", "insert"]))
    if mutation != "none" and data:
        at = draw(st.integers(0, len(data) - 1))
        if mutation == "truncate":
            data = data[:at]
        elif mutation == "flip":
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        else:
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data


def parse_typed(name: str, data: bytes) -> None:
    parse, extra = PARSERS[name]
    try:
        parse(data)
    except MalformedResponse:
        pass
    except extra:
        pass


@FUZZ
@given(data=st.one_of(xml_documents(), st.binary(max_size=400)))
def test_xml_parsers_raise_only_typed_errors(data: bytes) -> None:
    for name in PARSERS:
        parse_typed(name, data)


@FUZZ
@given(
    keys=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5),
    url_encoded=st.booleans(),
)
def test_listing_keys_survive_escaping_and_url_encoding(keys: list[str], url_encoded: bool) -> None:
    """What a server encodes comes back exactly (keys XML 1.0 can carry, see _xml_safe)."""
    from urllib.parse import quote

    keys = [k for k in keys if _xml_safe(k)]
    contents = "".join(
        f"<Contents><Key>{escape(quote(k, safe='/') if url_encoded else k)}</Key>"
        "<Size>1</Size></Contents>"
        for k in keys
    )
    encoding = "<EncodingType>url</EncodingType>" if url_encoded else ""
    page = s3xml.parse_list_objects(
        f"<ListBucketResult>{encoding}{contents}</ListBucketResult>".encode()
    )
    assert [item["key"] for item in page.items] == keys


def _xml_safe(text: str) -> bool:
    """Characters XML 1.0 can carry (tab, LF, and everything from U+0020 but surrogates and
    U+FFFE/U+FFFF), and no CR (XML parsers normalise line ends)."""
    return all(
        ch in "\t\n" or (0x20 <= ord(ch) < 0xD800) or (0xE000 <= ord(ch) < 0xFFFE)
        or ord(ch) >= 0x10000
        for ch in text
    )  # fmt: skip


# --- hostile documents --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xxe") / "secret.txt"
    path.write_text("XXE-MARKER-" + os.urandom(8).hex())
    return path


@pytest.fixture(scope="module")
def tripwire() -> Iterator[tuple[int, list[bytes]]]:
    """A listening socket that records anything that connects (an external DTD's URL)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(1000) or b"<connected>")
                except OSError:
                    seen.append(b"<connected>")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], seen
    stop.set()
    thread.join(5)
    listener.close()


def billion_laughs(levels: int = 10) -> str:
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)
    ]
    return f"<!DOCTYPE lolz [{''.join(ents)}]>"


def hostile_documents(secret: Path, port: int) -> dict[str, bytes]:
    body = "<ListBucketResult><Contents><Key>{ref}</Key></Contents></ListBucketResult>"
    docs = {
        "billion-laughs": billion_laughs() + body.format(ref=f"&lol{9};"),
        "quadratic-blowup": f'<!DOCTYPE x [<!ENTITY a "{"A" * 50_000}">]>'
        + body.format(ref="&a;" * 50_000),
        "xxe-file": f'<!DOCTYPE x [<!ENTITY x SYSTEM "file://{secret}">]>' + body.format(ref="&x;"),
        "xxe-passwd": '<!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + body.format(ref="&x;"),
        "xxe-parameter": f'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]>'
        + body.format(ref="x"),
        "external-dtd": f'<!DOCTYPE x SYSTEM "http://127.0.0.1:{port}/x.dtd">'
        + body.format(ref="&ext;"),
    }
    out: dict[str, bytes] = {}
    for name, doc in docs.items():
        out[name] = doc.encode()
        # The same documents in encodings where "<!DOCTYPE" is not a byte string to find.
        out[name + "/utf-16"] = ('<?xml version="1.0" encoding="UTF-16"?>' + doc).encode("utf-16")
        out[name + "/utf-16-le-no-bom"] = doc.encode("utf-16-le")
        out[name + "/utf-16-be-no-bom"] = doc.encode("utf-16-be")
    out["huge"] = b"<ListBucketResult>" + b" " * (s3xml.MAX_XML_BYTES + 1) + b"</ListBucketResult>"
    out["deep"] = b"<a>" * 200_000 + b"</a>" * 200_000
    out["unsupported-encoding"] = '<?xml version="1.0" encoding="utf-16-le"?><a/>'.encode(
        "utf-16-le"
    )
    return out


@pytest.mark.parametrize("parser", list(PARSERS))
def test_hostile_xml_is_refused_quickly_without_reading_anything(
    parser: str, secret_file: Path, tripwire: tuple[int, list[bytes]]
) -> None:
    port, seen = tripwire
    marker = secret_file.read_text()
    parse, extra = PARSERS[parser]
    for name, doc in hostile_documents(secret_file, port).items():
        try:
            result = within(30, lambda doc=doc: parse(doc))
        except MalformedResponse as exc:
            assert marker not in str(exc) and "root:" not in str(exc)
            continue
        except extra as exc:
            assert marker not in str(exc)
            continue
        # A deep but well-formed document may be read (it has nothing hostile in it).
        # parse_error returns the first bytes of a body that is not XML (a UTF-16 BOM is not
        # '<') as the error message: nothing was parsed, so nothing was expanded.
        benign = name == "deep" or (parser == "error" and not doc.lstrip().startswith(b"<"))
        assert benign, f"{name} was accepted by {parser}: {result!r}"[:300]
        assert marker not in repr(result) and "root:" not in repr(result)
    assert seen == []  # no external DTD or entity was fetched


def test_dtds_are_refused_in_every_encoding() -> None:
    """The byte search for '<!DOCTYPE' alone missed UTF-16 documents, whose entities expat
    then expanded: the refusal is now made by expat itself, which reads the prolog exactly as
    the parser will."""
    doc = billion_laughs(3) + "<Error><Code>&lol2;</Code></Error>"
    for data in (doc.encode("utf-16-le"), doc.encode("utf-16-be"), doc.encode("utf-16")):
        with pytest.raises(MalformedResponse, match="DTD"):
            s3xml.parse_list_objects(data)
        if data[:1] == b"<":
            with pytest.raises(MalformedResponse, match="DTD"):
                s3xml.parse_error(data, 500)


# --- B2 JSON -------------------------------------------------------------------------------------

B2_FIELDS = [
    "files", "fileName", "fileId", "contentLength", "contentSha1", "contentType",
    "uploadTimestamp", "action", "fileInfo", "nextFileName", "nextFileId", "buckets",
    "bucketId", "bucketName", "bucketType", "uploadUrl", "authorizationToken", "parts",
    "partNumber", "nextPartNumber", "accountId", "apiUrl", "downloadUrl", "recommendedPartSize",
    "absoluteMinimumPartSize", "allowed", "capabilities", "namePrefix", "apiInfo",
    "storageApi", "applicationKeyExpirationTimestamp", "status", "code", "message",
    "large_file_sha1", "applicationKeyId", "applicationKey", "keys",
]  # fmt: skip

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["http://b2.example.com", "https://b2.example.com:443/x", "ftp://x",
                     "http://", "none", "unverified:abc", "upload", "hide", "start", "folder",
                     "tok\r\nX: y",
                     "http://b2.example.com/\r\nX: y", "da39a3ee5e6b4b0d3255bfef95601890afd80709"]),
)  # fmt: skip
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(B2_FIELDS) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=25,
)
B2_OBJECTS = st.dictionaries(st.sampled_from(B2_FIELDS), JSON_VALUES, max_size=10)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """JSON objects shaped like B2's (valid or not), truncated or raw bytes at times."""
    kind = draw(st.sampled_from(["object", "object", "object", "truncated", "raw", "deep"]))
    if kind == "raw":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        depth = draw(st.integers(1, 100_000))
        return b'{"files": ' + b"[" * depth + b"]" * depth + b"}"
    text = json.dumps(draw(B2_OBJECTS))
    if kind == "truncated":
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-32"])))


def fake_response(data: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return urllib3.HTTPResponse(
        body=io.BytesIO(data), headers=hdrs, status=status, preload_content=False,
        decode_content=False,
    )  # fmt: skip


@FUZZ
@given(data=json_bodies())
def test_b2_json_bodies_parse_or_raise_malformed(data: bytes) -> None:
    try:
        obj = read_json(Response(fake_response(data)))
    except MalformedResponse:
        return
    assert isinstance(obj, dict)


@FUZZ
@given(data=st.one_of(json_bodies(), st.binary(max_size=300)))
def test_b2_error_parser_never_raises(data: bytes) -> None:
    code, message, *_ = b2_parse_error(data, 503)
    assert code is None or isinstance(code, str)
    assert isinstance(message, str)


# --- whole sessions over a server that answers anything -----------------------------------------


class AnythingServer:
    """Stands in for urllib3's PoolManager (and pool): every request is answered by
    `answer(method, url) -> (status, headers, body)`. Header names and values are checked as
    http.client checks them, so a header made from server data that would be refused on the
    wire is refused here too."""

    def __init__(self, answer: Callable[[str, str], tuple[int, dict[str, str], bytes]]) -> None:
        self.answer = answer
        self.pools: dict[str, Any] = {}

    def connection_from_host(self, host: str, port: int, scheme: str = "http", **_: Any) -> Any:
        return self

    def urlopen(self, method: str, url: str, body: Any = None, headers: Any = None, **_: Any):
        import http.client

        for name, value in (headers or {}).items():
            if not http.client._is_legal_header_name(name.encode("latin-1")):  # type: ignore[attr-defined]
                raise ValueError(f"Invalid header name {name!r}")
            if http.client._is_illegal_header_value(str(value).encode("latin-1", "replace")):  # type: ignore[attr-defined]
                raise ValueError(f"Invalid header value {value!r}")
        if body is not None and not isinstance(body, (bytes, bytearray, memoryview)):
            for _chunk in body:  # consume a streamed body as the wire would
                pass
        status, hdrs, data = self.answer(method, url)
        return fake_response(data, status, hdrs)

    def clear(self) -> None:
        pass


ANSWER_HEADERS = st.dictionaries(
    st.sampled_from(["Content-Length", "ETag", "Last-Modified", "x-amz-meta-a", "x-amz-meta-b",
                     "Content-Range", "x-amz-checksum-crc32", "x-amz-mp-parts-count",
                     "x-amz-version-id", "Retry-After", "Date", "x-bz-content-sha1",
                     "x-bz-file-id", "x-bz-upload-timestamp", "x-bz-info-large_file_sha1"]),
    st.one_of(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=30),
              st.sampled_from(["0", "10", "1000000", "-5", "²", "9" * 30, "=?UTF-8?B?////?=",
                               "=?x-bogus?Q?a?=", "bytes 0-9/10", "bytes */5",
                               '"d41d8cd98f00b204e9800998ecf8427e"', "abc-2", "none",
                               "Wed, 21 Oct 2015 07:28:00 GMT", "Tue, 99 Foo 0 0:0:0"])),
    max_size=5,
)  # fmt: skip


def _answers(
    data: st.DataObject, bodies: st.SearchStrategy[bytes], ok: int = 85
) -> Callable[[str, str], tuple[int, dict[str, str], bytes]]:
    """Answers drawn up front (Hypothesis draws only on the test's thread, and transfers send
    from worker threads), served in order; then 503s, which retries end in a typed error."""
    statuses = st.sampled_from([200] * ok + [206, 304, 400, 401, 403, 404, 409, 412, 416, 500,
                                             503])  # fmt: skip
    queue = data.draw(st.lists(st.tuples(statuses, ANSWER_HEADERS, bodies), max_size=12))
    lock = threading.Lock()

    def answer(method: str, url: str) -> tuple[int, dict[str, str], bytes]:
        with lock:
            return queue.pop(0) if queue else (503, {}, b"")

    return answer


def _typed_only(call: Callable[[], Any]) -> None:
    with contextlib.suppress(S3LiteError):
        call()


@FUZZ
@given(data=st.data())
def test_s3_session_over_a_server_that_answers_anything(data: st.DataObject, tmp_path_factory):
    server = AnythingServer(_answers(data, st.one_of(xml_documents(), st.binary(max_size=64))))
    session = S3Session(
        "AKIDFUZZ", "secret", endpoint_url="http://s3.example.com", bucket="fuzz", max_attempts=2,
        backoff_base=0, max_backoff=0, pool_manager=server,
    )  # fmt: skip
    session.transport.retry.max_retry_after = 0
    session.multipart_min_part_size = 1  # small parts, so a multipart upload costs nothing
    dest = tmp_path_factory.mktemp("dl") / "target"
    calls: list[Callable[[], Any]] = [
        lambda: list(session.list_objects("p/")),
        lambda: list(session.list_object_versions()),
        lambda: list(session.list_multipart_uploads()),
        session.list_buckets,
        lambda: session.delete_objects(["a", "b"]),
        lambda: session.copy_object("a", "b"),
        lambda: _fields(session.head_object("k")),
        lambda: session.get_object("k", stream=False).data,
        lambda: session.get_object("k").data,
        lambda: session.download_file("k", dest, threshold=10, part_size=10, concurrency=1),
        lambda: MultipartUpload(session, b"x" * 25, "k", part_size=10, concurrency=1).upload(),
        lambda: session.put_object("k", b"v", checksum="crc32"),
    ]
    try:
        for index in data.draw(st.lists(st.integers(0, len(calls) - 1), min_size=1, max_size=3)):
            _typed_only(calls[index])
    finally:
        session.close()


def _fields(response: Response) -> None:
    for name in ("etag", "last_modified", "metadata", "content_length", "version_id"):
        getattr(response, name)


B2_AUTH = {
    "accountId": "acc", "authorizationToken": "tok", "apiUrl": "http://b2.example.com",
    "downloadUrl": "http://b2.example.com", "recommendedPartSize": 100,
    "absoluteMinimumPartSize": 5,
}  # fmt: skip


@FUZZ
@given(data=st.data(), fuzz_auth=st.booleans())
def test_b2_session_over_a_server_that_answers_anything(data: st.DataObject, fuzz_auth: bool):
    fuzzed = _answers(data, json_bodies(), ok=95)
    known_bucket = data.draw(st.booleans())

    def answer(method: str, url: str) -> tuple[int, dict[str, str], bytes]:
        if "b2_authorize_account" in url and not fuzz_auth:
            return 200, {}, json.dumps(B2_AUTH).encode()
        if "b2_list_buckets" in url and known_bucket:
            doc = {"buckets": [{"bucketName": "fuzz-bucket", "bucketId": "b", "accountId": "acc"}]}
            return 200, {}, json.dumps(doc).encode()
        return fuzzed(method, url)

    clear_auth_cache()
    server = AnythingServer(answer)
    session = B2Session(
        "keyid", "key", bucket="fuzz-bucket", api_url="http://b2.example.com", max_attempts=2,
        backoff_base=0, max_backoff=0, pool_manager=server,
    )  # fmt: skip
    session.transport.retry.max_retry_after = 0
    calls: list[Callable[[], Any]] = [
        lambda: list(session.list_objects("p/")),
        lambda: list(session.list_object_versions()),
        lambda: list(session.list_multipart_uploads()),
        session.list_buckets,
        lambda: _fields(session.head_object("k")),
        lambda: session.get_object("k").data,
        lambda: session.put_object("k", b"v"),
        lambda: session.copy_object("a", "b"),
        lambda: session.delete_object("k"),
        lambda: session.presign("GET", "k"),
        lambda: MultipartUpload(session, b"x" * 25, "k", part_size=10, concurrency=1).upload(),
    ]
    try:
        for index in data.draw(st.lists(st.integers(0, len(calls) - 1), min_size=1, max_size=3)):
            _typed_only(calls[index])
    finally:
        session.close()
        clear_auth_cache()


# --- unicode keys and metadata on the real server ---------------------------------------------


def seaweed_round_trips(key: str) -> bool:
    """Keys SeaweedFS cannot store as given (documented in /work/shared/test-servers.md):
    `//` (it collapses empty path segments: a leading `/` makes one too, in `/bucket//key`),
    a trailing `/` (it stores a directory), and `\\` (it turns backslashes into slashes).
    These are server limits, not client ones: such keys round-trip on moto
    (test_s3_session.py::test_slash_keys_roundtrip_on_moto). Nothing else is excluded."""
    return "//" not in "/" + key and not key.endswith("/") and "\\" not in key


def seaweed_accepts(key: str) -> bool:
    """Keys SeaweedFS refuses outright (with a typed 400, nothing stored: see
    test_keys_seaweedfs_refuses_are_refused_cleanly): NUL, `.` or `..` path segments, and
    segments over 255 bytes (file-name limits; S3 allows 1024-byte keys)."""
    segments = key.split("/")
    return (
        "\x00" not in key
        and not ({".", ".."} & set(segments))
        and all(len(s.encode()) <= 255 for s in segments)
    )


#: Any character UTF-8 can encode (lone surrogates cannot be): control characters too, since
#: listings are asked for with encoding-type=url.
KEY_CHARS = st.characters(exclude_categories=("Cs",))
KEYS = st.text(KEY_CHARS, min_size=1, max_size=60).filter(
    lambda k: seaweed_round_trips(k) and seaweed_accepts(k)
)
#: Any text but line breaks (refused by s3lite: a header cannot carry them) and the empty
#: string (SeaweedFS drops a metadata entry with an empty value; moto keeps it).
META_VALUES = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), min_size=1, max_size=40
)
META = st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12),
    META_VALUES,
    max_size=3,
)


@pytest.fixture(scope="module")
def unicode_s3(seaweed: LocalSeaweedFS) -> Iterator[S3Session]:
    session = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url,
        bucket=new_bucket_name("uni"),
    )  # fmt: skip
    session.create_bucket()
    yield session
    session.delete_bucket()
    session.close()


@settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=list(HealthCheck),
)
@given(key=KEYS, metadata=META)
@example(key="%2F+ %?#&=;~", metadata={"lead": " x", "trail": "x ", "word": "=?UTF-8?B?YQ==?="})
@example(key=" lead/trail \t\x01\r\n\x7f", metadata={"ctl": "a\x7fb\x00", "tab": "a\tb"})
@example(key="\ufeff𝄞/é\u2028\u00a0", metadata={"uni": "é ", "blank": "   "})
def test_unicode_keys_and_metadata_round_trip_on_seaweedfs(
    unicode_s3: S3Session, key: str, metadata: dict[str, str]
) -> None:
    s3 = unicode_s3
    body = key.encode("utf-8", "surrogatepass")
    s3.put_object(key, body, metadata=metadata)
    try:
        got = s3.get_object(key)
        assert got.data == body
        assert got.metadata == metadata
        listed = [o["key"] for o in s3.list_objects(key)]
        assert key in listed
        copy = "copy/" + key
        s3.copy_object(key, copy)
        assert s3.get_object(copy).data == body
        assert s3.head_object(copy).metadata == metadata
        s3.delete_object(copy)
    finally:
        s3.delete_object(key)
    assert key not in [o["key"] for o in s3.list_objects(key)]


@pytest.mark.parametrize("key", [".", "..", "a/./b", "a/../b", "../up", "x/" + "y" * 256, "a\x00b"])
def test_keys_seaweedfs_refuses_are_refused_cleanly(unicode_s3: S3Session, key: str) -> None:
    """What SeaweedFS will not store fails with a typed error and stores nothing elsewhere
    (s3lite sends dot segments as they are, like the AWS SDKs: no client-side rewriting)."""
    with pytest.raises(ClientError) as info:
        unicode_s3.put_object(key, b"x")
    assert info.value.status == 400
    assert list(unicode_s3.list_objects()) == []


# --- local paths derived from keys -------------------------------------------------------------


@settings(deadline=None, max_examples=500)
@given(
    key=st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(["..", ".", "", "a", "b", "C:", "c:x", "\\", "/", "\x00",
                                  "..\\..", "~", "a b"]), max_size=6).map("/".join),
    )
)  # fmt: skip
def test_local_paths_from_keys_never_leave_the_target_directory(tmp_path_factory, key: str):
    """`commands.safe_local_path` (what `s3lite cp -r` / `sync` use to map keys to files, the
    CLI's own tests cover its named cases): for ANY key, either a refusal or a path strictly
    inside the root."""
    from s3lite import commands

    root = str(tmp_path_factory.getbasetemp() / "root")
    os.makedirs(root, exist_ok=True)
    try:
        path = commands.safe_local_path(root, key)
    except commands.UnsafeKey:
        return
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    assert os.path.commonpath([real_root, real]) == real_root and real != real_root
    assert "\x00" not in path


# --- what the fuzzing found, pinned -------------------------------------------------------------


def test_b2_values_out_of_range_are_typed_or_ignored() -> None:
    """Found by the session fuzzing above: each of these escaped as an untyped exception."""
    from s3lite import b2_requests as b2

    for stamp in (10**400, float("inf"), float("nan"), 1e20, -1):
        assert b2.millis_datetime(stamp) is None  # was OverflowError / ValueError / OSError
    auth = dict(B2_AUTH)
    assert b2.parse_authorization({**auth, "applicationKeyExpirationTimestamp": 10**400})
    for bad in (
        {"authorizationToken": "tok\r\nX-Injected: 1"},
        {"authorizationToken": ""},
        {"apiUrl": "http://b2.example.com:port"},
        {"downloadUrl": "http://b2.example.com:99999"},
    ):
        with pytest.raises(MalformedResponse):  # was a ValueError from http.client, later
            b2.parse_authorization({**auth, **bad})
    with pytest.raises(MalformedResponse):  # was TypeError: 'float' object is not iterable
        b2.json_list({"files": 1.5}, "files")
    assert b2.json_list({"files": None}, "files") == []


def test_header_values_from_a_server_are_typed_or_ignored() -> None:
    weird = Response(fake_response(b"", headers={"Content-Length": "²"}), preload=True)
    assert weird.content_length is None  # was ValueError from int('²')
    from s3lite.b2 import B2_DIALECT

    late = Response(fake_response(b"", headers={"x-bz-upload-timestamp": "9" * 30}), B2_DIALECT)
    assert late.last_modified is None  # was OverflowError / ValueError


# --- helpers kept honest ------------------------------------------------------------------------


def test_xml_safe_matches_what_s3lite_refuses_to_send() -> None:
    for ch in ("\x01", "\x1f", "\x0b"):
        assert not _xml_safe("a" + ch)
        with pytest.raises(ValueError, match="control character"):
            s3xml.delete_objects_body([("a" + ch, None)], quiet=True)
    assert _xml_safe("tab\tand\nnewline ü 𝄞")
