"""The signer against the published AWS vectors in tests/vectors, byte for byte."""

from __future__ import annotations

import calendar
import hashlib
import json
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from s3lite import signing
from s3lite.signing import SigV4Context

#: Published vectors kept in the repository (origin and licences: tests/vectors/README.md).
CONFORMANCE = Path(__file__).resolve().parent / "vectors"

SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_DATE = "20150830T123600Z"


def _parse_request(
    text: str,
) -> tuple[str, str, list[tuple[str, str]], list[tuple[str, str]], bytes]:
    """(method, raw path, query pairs, header pairs, body) of a suite `.req` / `request.txt`."""
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]  # the path may contain a space (get-space)
    path, _, raw_query = target.partition("?")
    query = []
    for part in raw_query.split("&") if raw_query else []:
        name, _, value = part.partition("=")
        query.append((unquote(name), unquote(value)))
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[:1] in (" ", "\t") and headers:  # folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    return method, path, query, headers, body.encode()


def _suite_ctx(token: str | None = None) -> SigV4Context:
    return SigV4Context("AKIDEXAMPLE", SUITE_SECRET, "us-east-1", "service", SUITE_DATE, token)


#: Cases whose published .sreq disagrees with their own .authz (a defect of the suite).
SREQ_INCONSISTENT = {"get-vanilla-with-session-token"}

CLASSIC = sorted(p.parent for p in (CONFORMANCE / "sigv4").rglob("*.req"))


@pytest.mark.parametrize("case", CLASSIC, ids=lambda p: str(p.relative_to(CONFORMANCE / "sigv4")))
def test_classic_sigv4_suite(case: Path) -> None:
    name = case.name
    read = lambda ext: (case / f"{name}.{ext}").read_text()  # noqa: E731
    method, path, query, headers, body = _parse_request(read("req"))
    creq_expected = read("creq")
    token = None
    for line in creq_expected.split("\n"):
        if line.startswith("x-amz-security-token:"):
            token = line.split(":", 1)[1]
    if token and not any(k.lower() == "x-amz-security-token" for k, _ in headers):
        headers.append(("X-Amz-Security-Token", token))
    ctx = _suite_ctx(token)
    uri = signing.canonical_uri(path, s3=False)
    creq, signed = signing.canonical_request(
        method, uri, signing.canonical_query(query), headers, hashlib.sha256(body).hexdigest()
    )
    assert creq == creq_expected
    sts = signing.string_to_sign(ctx, creq)
    assert sts == read("sts")
    result = signing._sign_string(ctx, creq, signed)
    authz = (
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{ctx.scope}, "
        f"SignedHeaders={signed}, Signature={result.signature}"
    )
    assert authz == read("authz")
    sreq_auth = [ln for ln in read("sreq").split("\n") if ln.startswith("Authorization:")]
    if name in SREQ_INCONSISTENT:
        # Upstream's .sreq carries the signature of the token-less request; only its
        # credential scope and signed-header list agree with the .authz.
        published = sreq_auth[0].split(":", 1)[1].strip()
        assert published.split("Signature=")[0] == authz.split("Signature=", maxsplit=1)[0]
        return
    assert [ln.split(":", 1)[1].strip() for ln in sreq_auth] == [authz]


AWS_C_AUTH = sorted(p for p in (CONFORMANCE / "sigv4-aws-c-auth" / "v4").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", AWS_C_AUTH, ids=lambda p: p.name)
def test_aws_c_auth_header_and_query(case: Path) -> None:
    context = json.loads((case / "context.json").read_text())
    read = lambda f: (case / f).read_text()  # noqa: E731
    method, path, query, header_pairs, body = _parse_request(read("request.txt"))
    creds = context["credentials"]
    ts = calendar.timegm(time.strptime(context["timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
    ctx = SigV4Context(
        creds["access_key_id"],
        creds["secret_access_key"],
        context["region"],
        context["service"],
        signing.amz_date(ts),
        creds.get("token"),
    )
    omit_token = bool(context.get("omit_session_token"))
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = dict(header_pairs)
    repeated = len(headers) != len(header_pairs)

    # Header signing
    if repeated:
        pairs = [*header_pairs, ("X-Amz-Date", ctx.amz_date)]
        uri = signing.canonical_uri(path, s3=False, normalize=context["normalize"])
        creq, signed = signing.canonical_request(
            method, uri, signing.canonical_query(query), pairs, payload_hash
        )
        result = signing._sign_string(ctx, creq, signed)
    else:
        result = signing.sign_v4(
            ctx,
            method,
            path,
            signing.canonical_query(query),
            headers,
            payload_hash,
            s3=False,
            normalize=context["normalize"],
            add_content_sha256=context["sign_body"],
            sign_session_token=not omit_token,
        )
        signed_request = read("header-signed-request.txt")
        assert f"Authorization:{headers['Authorization']}" in signed_request
    assert result.canonical_request == read("header-canonical-request.txt")
    assert result.string_to_sign == read("header-string-to-sign.txt")
    assert result.signature == read("header-signature.txt").strip()

    # Query signing (presigned URL)
    extra = [(k, v) for k, v in header_pairs if k.lower() != "host"]
    url, qresult = signing.presign_v4(
        ctx,
        method,
        "https",
        headers["Host"],
        path,
        query,
        context["expiration_in_seconds"],
        headers=extra,
        payload_hash=payload_hash,
        s3=False,
        normalize=context["normalize"],
        sign_session_token=not omit_token,
    )
    assert qresult.canonical_request == read("query-canonical-request.txt")
    assert qresult.string_to_sign == read("query-string-to-sign.txt")
    assert qresult.signature == read("query-signature.txt").strip()
    # Same parameters as the published signed request (their order there is not sorted).
    expected_target = read("query-signed-request.txt").split("\n", 1)[0].split(" ", 1)[1]
    expected_query = expected_target.rsplit(" ", 1)[0].split("?", 1)[1]
    got_query = url.split("?", 1)[1]
    assert sorted(map(unquote, got_query.split("&"))) == sorted(
        map(unquote, expected_query.split("&"))
    )


S3_EXAMPLES = json.loads((CONFORMANCE / "s3-sigv4-examples.json").read_text())


def _s3_ctx() -> SigV4Context:
    common = S3_EXAMPLES["common"]
    creds = common["credentials"]
    return SigV4Context(
        creds["access_key_id"], creds["secret_access_key"], "us-east-1", "s3", common["amz_date"]
    )


def test_s3_signing_key() -> None:
    key = _s3_ctx().signing_key()
    assert key.hex() == S3_EXAMPLES["common"]["signing_key_hex"]


@pytest.mark.parametrize("example", S3_EXAMPLES["header_examples"], ids=lambda e: e["name"])
def test_s3_header_examples(example: dict) -> None:
    inputs, expected = example["inputs"], example["expected"]
    headers = {k: v for k, v in inputs["headers"].items() if k.lower() != "x-amz-date"}
    headers.pop("x-amz-content-sha256", None)
    encoded_path = signing.uri_encode(inputs["path"].split("?")[0], safe="/")
    assert encoded_path == inputs["canonical_uri"]
    result = signing.sign_v4(
        _s3_ctx(),
        inputs["method"],
        encoded_path,
        signing.canonical_query(inputs["query"]),
        headers,
        inputs["payload_hash"],
    )
    assert result.canonical_request == expected["canonical_request"]
    assert result.string_to_sign == expected["string_to_sign"]
    assert result.signature == expected["signature"]
    assert headers["Authorization"] == expected["authorization"]


def test_s3_presigned_url_example() -> None:
    example = S3_EXAMPLES["presigned_url_example"]
    inputs, expected = example["inputs"], example["expected"]
    url, result = signing.presign_v4(
        _s3_ctx(), "GET", "https", inputs["host"], inputs["path"], [], inputs["expires_seconds"]
    )
    assert result.canonical_request == expected["canonical_request"]
    assert result.string_to_sign == expected["string_to_sign"]
    assert result.signature == expected["signature"]
    assert url == expected["url"]


def test_s3_chunked_upload_example() -> None:
    example = S3_EXAMPLES["chunked_upload_example"]
    inputs, expected = example["inputs"], example["expected"]
    headers = {k: v for k, v in inputs["headers"].items() if k.lower() != "x-amz-date"}
    headers.pop("x-amz-content-sha256")
    assert signing.aws_chunked_length(66560, 65536) == expected["total_encoded_content_length"]
    seed = signing.sign_v4(_s3_ctx(), "PUT", inputs["path"], "", headers, signing.STREAMING_PAYLOAD)
    assert seed.canonical_request == expected["seed"]["canonical_request"]
    assert seed.signature == expected["seed"]["signature"]
    assert headers["Authorization"] == expected["seed"]["authorization"]
    chunker = signing.ChunkSigner(_s3_ctx(), seed.signature)
    frames = list(chunker.frames([b"a" * 65536, b"a" * 1024]))
    for frame, chunk in zip(frames, expected["chunks"], strict=True):
        header_line, _, rest = frame.partition(b"\r\n")
        assert header_line.decode() == chunk["chunk_header_line"]
        assert len(rest) == chunk["size"] + 2 and rest.endswith(b"\r\n")
    assert sum(len(f) for f in frames) == expected["total_encoded_content_length"]


def test_presign_expiry_limits() -> None:
    ctx = _s3_ctx()
    for bad in (0, -1, 7 * 24 * 3600 + 1):
        with pytest.raises(ValueError, match="expires_in"):
            signing.presign_v4(ctx, "GET", "https", "h", "/k", [], bad)
    with pytest.raises(TypeError):
        signing.presign_v4(ctx, "GET", "https", "h", "/k", [], 1.5)  # type: ignore[arg-type]
    for ok in (1, 7 * 24 * 3600):
        signing.presign_v4(ctx, "GET", "https", "h", "/k", [], ok)


V2 = json.loads((CONFORMANCE / "sigv2-examples.json").read_text())
V2_CASES = [
    e
    for group in ("examples_johnsmith", "examples_awsexamplebucket1", "examples_bucketless")
    for e in V2[group]
]


def _v2_resource(example: dict) -> tuple[str, list[tuple[str, str]]]:
    req = example["request"]
    path, _, raw_query = req["path"].partition("?")
    params = [(p.partition("=")[0], p.partition("=")[2]) for p in raw_query.split("&") if p]
    host = req["host"].split(":")[0]
    if host.startswith("s3."):  # path style: the bucket is in the path already
        return path, params
    # virtual host style (bucket.[region.]s3.amazonaws.com) or a CNAME (the whole host)
    bucket = host.split(".")[0] if host.endswith(".amazonaws.com") else host
    return f"/{bucket}{path}", params


@pytest.mark.parametrize("example", V2_CASES, ids=lambda e: e["name"])
def test_sigv2_examples(example: dict) -> None:
    resource, params = _v2_resource(example)
    headers = dict()
    pairs = example["request"]["headers"]
    # repeated headers are joined as one comma-separated value before signing
    for name, value in pairs:
        key = next((k for k in headers if k.lower() == name.lower()), name)
        headers[key] = headers[key] + "," + value if key in headers else value
    if "CAUTION" in example.get("note", ""):
        sts = example["string_to_sign"]
        assert (
            signing._v2_signature(V2["credentials"]["secret_access_key"], sts)
            == example["signature"]
        )
        return
    creds = V2["credentials"]
    sts = signing.sign_v2(
        creds["access_key_id"], creds["secret_access_key"], example["request"]["method"],
        resource, params, headers,
    )  # fmt: skip
    assert sts == example["string_to_sign"]
    assert headers["Authorization"] == example["authorization"]


def test_sigv2_query_string_auth() -> None:
    example = V2["query_string_auth_example"]
    creds = V2["credentials"]
    expires = int(dict(example["query"])["Expires"])
    url = signing.presign_v2(
        creds["access_key_id"], creds["secret_access_key"], "GET", "https",
        example["request"]["host"], example["request"]["path"], "/johnsmith/photos/puppy.jpg",
        [], expires,
    )  # fmt: skip
    assert f"Signature={example['signature_url_encoded']}" in url
    assert f"Expires={expires}" in url and "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE" in url
