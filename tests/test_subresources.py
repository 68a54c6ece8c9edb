"""The escape hatch (`request`) and the common sub-resources: object tagging, bucket policy,
lifecycle and Object Lock, against SeaweedFS and moto; B2's raw native API calls."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urljoin

import pytest

from conftest import new_bucket_name
from s3lite import S3Session
from s3lite.b2 import B2Session
from s3lite.errors import ClientError, NoSuchBucket, NoSuchKey, NotImplementedByServer

# --- request() -----------------------------------------------------------------------------


def s3func_url(session: S3Session, key: str | None = None) -> str:
    """A URL built the way s3func builds them: endpoint + bucket (+ quoted key)."""
    base = session.endpoint_url + "/"
    return urljoin(base, f"{session.bucket}/{quote(key)}" if key else f"{session.bucket}")


def test_request_with_a_key_and_fields(any_s3: S3Session) -> None:
    any_s3.put_object("dir/a b+é.txt", b"hello")
    response = any_s3.request("GET", "dir/a b+é.txt")
    assert response.status == 200 and response.data == b"hello"
    body = b"<Tagging><TagSet><Tag><Key>k</Key><Value>v 1</Value></Tag></TagSet></Tagging>"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324
    any_s3.request(
        "PUT", "dir/a b+é.txt", headers={"Content-MD5": md5}, fields={"tagging": None}, body=body
    )
    assert any_s3.get_object_tagging("dir/a b+é.txt") == {"k": "v 1"}
    listing = any_s3.request("GET", fields=[("list-type", "2"), ("prefix", "dir/")])
    assert b"<Key>dir/a b+\xc3\xa9.txt</Key>" in listing.data
    with pytest.raises(NoSuchKey):
        any_s3.request("GET", "missing")
    with pytest.raises(NoSuchBucket):
        any_s3.request("GET", fields={"list-type": "2"}, bucket=new_bucket_name())


def test_request_takes_s3func_style_urls(any_s3: S3Session) -> None:
    key = "s3func/x y&z=1~é.bin"
    put = any_s3.request("PUT", s3func_url(any_s3, key), body=b"12345")
    assert put.status == 200
    got = any_s3.request("GET", s3func_url(any_s3, key), headers={"Range": "bytes=1-2"})
    assert got.status == 206 and got.data == b"23"
    listing = any_s3.request("GET", s3func_url(any_s3), fields={"list-type": "2"})
    assert b"<KeyCount>1</KeyCount>" in listing.data
    query = any_s3.request("GET", s3func_url(any_s3) + "?list-type=2&prefix=none/")
    assert b"<KeyCount>0</KeyCount>" in query.data
    service = any_s3.request("GET", any_s3.endpoint_url + "/")  # ListBuckets
    assert any_s3.bucket is not None and any_s3.bucket.encode() in service.data
    with any_s3.request("GET", s3func_url(any_s3, key), preload_content=False) as streamed:
        assert streamed.read() == b"12345"
    deleted = any_s3.request("DELETE", s3func_url(any_s3, key))
    assert deleted.status == 204


class _Counter(BaseHTTPRequestHandler):
    hits = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def other_server() -> Iterator[tuple[str, type[_Counter]]]:
    handler = type("Counter", (_Counter,), {"hits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_request_refuses_other_hosts(s3: S3Session, other_server) -> None:
    netloc, handler = other_server
    own = s3.endpoint_url.split("://", 1)[1]
    port = own.rsplit(":", 1)[1]
    for url in (
        f"http://{netloc}/{s3.bucket}/k",  # another port on the same address
        f"http://localhost:{port}/{s3.bucket}/k",  # the same server under another name
        f"https://{own}/{s3.bucket}/k",  # another scheme
        f"http://user:pw@{own}/{s3.bucket}/k",
        f"http://evil.{own}.example.com/{s3.bucket}/k",
    ):
        with pytest.raises(ValueError, match=r"endpoint|user info"):
            s3.request("GET", url)
    assert handler.hits == 0
    with pytest.raises(ValueError, match="Host"):
        s3.request("GET", "k", headers={"host": netloc})
    with pytest.raises(ValueError, match="not both"):
        s3.request("GET", f"{s3.endpoint_url}/{s3.bucket}/k", bucket=s3.bucket)
    with pytest.raises(ValueError, match="method"):
        s3.request("GET /x", "k")


def test_request_accepts_the_default_port_and_virtual_hosts() -> None:
    session = S3Session("AKID", "secret", endpoint_url="https://s3.example.com")
    assert session._own_url("https://s3.example.com:443/bkt/a%20b?x=1") == (
        "bkt", "a b", [("x", "1")],
    )  # fmt: skip
    assert session._own_url("https://bkt.s3.example.com/dir/k") == ("bkt", "dir/k", [])
    assert session._own_url("https://s3.example.com/") == (None, None, [])
    with pytest.raises(ValueError, match="endpoint"):
        session._own_url("https://s3.example.com.evil.example/bkt/k")


# --- tagging, policy ----------------------------------------------------------------------------


def test_object_tagging(any_s3: S3Session) -> None:
    any_s3.put_object("t", b"x")
    assert any_s3.get_object_tagging("t") == {}
    tags = {"project": "blue", "owner": "a b=c", "empty": ""}
    any_s3.put_object_tagging("t", tags)
    assert any_s3.get_object_tagging("t") == tags
    any_s3.put_object_tagging("t", {"only": "one"})  # replaces the set
    assert any_s3.get_object_tagging("t") == {"only": "one"}
    any_s3.delete_object_tagging("t")
    assert any_s3.get_object_tagging("t") == {}
    with pytest.raises(TypeError, match="str"):
        any_s3.put_object_tagging("t", {"n": 1})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="control character"):
        any_s3.put_object_tagging("t", {"n": "a\x00"})
    with pytest.raises(NoSuchKey):
        any_s3.get_object_tagging("missing")


def test_bucket_policy(any_s3: S3Session) -> None:
    assert any_s3.get_bucket_policy() is None
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{any_s3.bucket}/public/*",
            }
        ],
    }
    any_s3.put_bucket_policy(policy)
    text = any_s3.get_bucket_policy()
    assert text is not None and json.loads(text) == policy
    any_s3.put_bucket_policy(json.dumps(policy, indent=1))  # JSON text works too
    assert json.loads(any_s3.get_bucket_policy() or "") == policy
    any_s3.delete_bucket_policy()
    assert any_s3.get_bucket_policy() is None


# --- lifecycle ----------------------------------------------------------------------------------

RULES = [
    {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 7}},
    {
        "ID": "archive",
        "Status": "Enabled",
        "Filter": {
            "And": {
                "Prefix": "logs/",
                "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
            }
        },
        "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}],
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
    },
]


def test_lifecycle_on_moto(moto_s3: S3Session) -> None:
    assert moto_s3.get_bucket_lifecycle_configuration() == []
    moto_s3.put_bucket_lifecycle_configuration(RULES)
    assert moto_s3.get_bucket_lifecycle_configuration() == RULES
    moto_s3.put_bucket_lifecycle_configuration({"Rules": RULES[:1]})  # boto3's shape
    assert moto_s3.get_bucket_lifecycle_configuration() == RULES[:1]
    moto_s3.delete_bucket_lifecycle()
    assert moto_s3.get_bucket_lifecycle_configuration() == []
    with pytest.raises(ValueError, match="element name"):
        moto_s3.put_bucket_lifecycle_configuration([{"ID": "x", "<bad>": "y"}])
    with pytest.raises(ValueError, match="at least one"):
        moto_s3.put_bucket_lifecycle_configuration([])


def test_lifecycle_on_seaweedfs(s3: S3Session) -> None:
    """SeaweedFS keeps expiration rules (it runs them as TTLs) and refuses the rest."""
    assert s3.get_bucket_lifecycle_configuration() == []
    with pytest.raises(NotImplementedByServer):
        s3.put_bucket_lifecycle_configuration(RULES)
    s3.put_bucket_lifecycle_configuration(RULES[:1])
    rules = s3.get_bucket_lifecycle_configuration()
    assert [r["Expiration"] for r in rules] == [{"Days": 7}]
    s3.delete_bucket_lifecycle()


# --- Object Lock --------------------------------------------------------------------------------


def test_object_lock_config(any_s3: S3Session) -> None:
    assert any_s3.get_object_lock_config() == {}
    bucket = new_bucket_name("lock")
    any_s3.create_bucket(bucket, object_lock=True)
    try:
        assert any_s3.get_object_lock_config(bucket) == {"ObjectLockEnabled": "Enabled"}
        any_s3.put_object_lock_config(True, mode="GOVERNANCE", days=2, bucket=bucket)
        config = any_s3.get_object_lock_config(bucket)
        assert config["ObjectLockEnabled"] == "Enabled"
        retention = config["Rule"]["DefaultRetention"]
        assert retention["Mode"] == "GOVERNANCE" and retention["Days"] == 2
        assert retention.get("Years", 0) == 0  # moto also reports the unused unit, as 0
        any_s3.put_object_lock_config(True, bucket=bucket)  # no default retention
        assert any_s3.get_object_lock_config(bucket) == {"ObjectLockEnabled": "Enabled"}
    finally:
        any_s3.delete_bucket(bucket)
    with pytest.raises(ValueError, match="cannot disable"):
        any_s3.put_object_lock_config()
    with pytest.raises(ValueError, match="days or years"):
        any_s3.put_object_lock_config(True, mode="COMPLIANCE")
    with pytest.raises(ValueError, match="mode"):
        any_s3.put_object_lock_config(True, mode="gov", days=1)  # type: ignore[arg-type]


def test_config_errors_are_still_raised(any_s3: S3Session) -> None:
    missing = new_bucket_name()
    for call in (
        any_s3.get_bucket_policy,
        any_s3.get_bucket_lifecycle_configuration,
        any_s3.get_object_lock_config,
    ):
        with pytest.raises(ClientError):
            call(missing)


# --- B2 -----------------------------------------------------------------------------------------


def test_b2_request(b2: B2Session) -> None:
    b2.put_object("raw/one", b"1")
    listed = b2.request("b2_list_file_names", {"prefix": "raw/"}, bucket=b2.bucket)
    assert [f["fileName"] for f in listed["files"]] == ["raw/one"]
    buckets = b2.request("b2_list_buckets", {"accountId": b2.account_id})
    assert b2.bucket in [entry["bucketName"] for entry in buckets["buckets"]]
    with pytest.raises(ClientError):
        b2.request("b2_get_file_info", {"fileId": "no-such-file"})
    with pytest.raises(ValueError, match="operation"):
        b2.request("../b2_list_buckets")


def test_configuration_parser_is_bounded() -> None:
    from s3lite import s3xml
    from s3lite.errors import MalformedResponse

    deep = "<LifecycleConfiguration>" + "<Rule>" * 200 + "x" + "</Rule>" * 200
    with pytest.raises(MalformedResponse, match="nested"):
        s3xml.parse_config((deep + "</LifecycleConfiguration>").encode(), "LifecycleConfiguration")
    with pytest.raises(MalformedResponse, match="expected"):
        s3xml.parse_config(b"<Other/>", "LifecycleConfiguration")
    with pytest.raises(MalformedResponse, match="integer"):
        s3xml.parse_config(
            b"<LifecycleConfiguration><Rule><Expiration><Days>soon</Days></Expiration></Rule>"
            b"</LifecycleConfiguration>",
            "LifecycleConfiguration",
        )
    with pytest.raises(MalformedResponse, match="DTD"):
        s3xml.parse_tagging(b'<!DOCTYPE x [<!ENTITY a "b">]><Tagging/>')


def test_bucket_requests_are_signed_with_sigv2_too(seaweed, s3: S3Session) -> None:
    """SigV2 signs a path-style bucket request's path as sent (no trailing slash), with the
    sub-resource. (SeaweedFS leaves `tagging` and `object-lock` out of its SigV2 sub-resource
    list, unlike AWS, so only bucket-level ones are exercised here.)"""
    v2 = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url,
        bucket=s3.bucket, signature_version="s3",
    )  # fmt: skip
    with v2:
        bucket = new_bucket_name("v2")
        v2.create_bucket(bucket)
        v2.head_bucket(bucket)
        v2.put_object("v2", b"x", bucket=bucket)
        listing = v2.request("GET", fields={"list-type": "2"}, bucket=bucket)
        assert b"<Key>v2</Key>" in listing.data
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
        v2.put_bucket_policy(policy, bucket=bucket)
        assert json.loads(v2.get_bucket_policy(bucket) or "") == policy
        v2.delete_bucket_policy(bucket)
        assert [o["key"] for o in v2.list_objects(bucket=bucket)] == ["v2"]
        v2.delete_bucket(bucket)
