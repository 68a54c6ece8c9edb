"""Property test: s3lite's SigV4 headers and presigned URLs equal botocore's, byte for byte,
for random keys, headers, query strings and payloads at a fixed time."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3lite import S3Session
from s3lite.transport import Attempt

FIXED = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)
ACCESS, SECRET, TOKEN = "AKIDPROPERTYTEST", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPROPERTY", "tok/en+=="

keys = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
    max_size=80,
).filter(lambda k: len(k.encode()) <= 1024)  # fmt: skip
header_names = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_"), min_size=1, max_size=12
).map(lambda n: "x-amz-meta-" + n)
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=0, max_size=30
)
query = st.lists(
    st.tuples(
        st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=10),
    ),
    max_size=4,
    unique_by=lambda kv: kv[0],
)


@pytest.fixture(autouse=True)
def fixed_botocore_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: FIXED.replace(tzinfo=None))


def _session(token: str | None, region: str) -> S3Session:
    return S3Session(
        ACCESS, SECRET, session_token=token, region=region, payload_signing="signed",
        endpoint_url="https://s3.example.com",
    )  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "PUT", "HEAD", "DELETE", "POST"]),
    key=keys,
    headers=st.dictionaries(header_names, header_values, max_size=4),
    params=query,
    payload=st.binary(max_size=200),
    token=st.sampled_from([None, TOKEN]),
    region=st.sampled_from(["us-east-1", "eu-central-1"]),
)
def test_sigv4_headers_match_botocore(method, key, headers, params, payload, token, region):
    session = _session(token, region)
    body = payload if method in ("PUT", "POST") else None
    request = session._build(method, "bucket-name", key, params, dict(headers), body)
    attempt = Attempt(request, dict(request.headers), request.body.open(), FIXED.timestamp())
    session._auth.sign(attempt)

    boto_headers = dict(request.headers)
    boto_request = AWSRequest(method=method, url=request.url, headers=boto_headers, data=body)
    botocore.auth.S3SigV4Auth(BotoCredentials(ACCESS, SECRET, token), "s3", region).add_auth(
        boto_request
    )
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256"):
        assert attempt.headers[name] == boto_request.headers[name], name
    assert attempt.headers.get("X-Amz-Security-Token") == boto_request.headers.get(
        "X-Amz-Security-Token"
    )


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "PUT", "HEAD", "DELETE"]),
    key=keys,
    params=query.filter(lambda q: not any(k.lower().startswith("x-amz-") for k, _ in q)),
    expires=st.integers(min_value=1, max_value=7 * 24 * 3600),
    token=st.sampled_from([None, TOKEN]),
)
def test_presigned_urls_match_botocore(method, key, params, expires, token):
    session = _session(token, "us-east-1")
    session.transport.clock_offset = (
        FIXED.timestamp() - dt.datetime.now(dt.timezone.utc).timestamp()
    )
    url = session.presign(method, key, expires, bucket="bucket-name", params=dict(params))

    host, path, _ = session._locate("bucket-name", key)
    boto_request = AWSRequest(method=method, url=f"https://{host}{path}", params=dict(params))
    botocore.auth.S3SigV4QueryAuth(
        BotoCredentials(ACCESS, SECRET, token), "s3", "us-east-1", expires=expires
    ).add_auth(boto_request)
    ours, theirs = urlsplit(url), urlsplit(boto_request.url)
    assert (ours.netloc, ours.path) == (theirs.netloc, theirs.path)
    assert sorted(parse_qsl(ours.query, keep_blank_values=True)) == sorted(
        parse_qsl(theirs.query, keep_blank_values=True)
    )
