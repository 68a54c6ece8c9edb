"""AWS Signature Version 4 (headers, presigned URLs, aws-chunked streaming) and Version 2.

Pure functions over strings and bytes: no I/O, no clock of their own (callers pass the
time), so every one of them is checked byte for byte against the published AWS vectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol
from urllib.parse import quote

if TYPE_CHECKING:
    from .errors import ClientError
    from .transport import Attempt

__all__ = [
    "EMPTY_SHA256",
    "STREAMING_PAYLOAD",
    "UNSIGNED_PAYLOAD",
    "ChunkSigner",
    "SigV2Auth",
    "SigV4Auth",
    "SigV4Context",
    "aws_chunked_length",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "derive_signing_key",
    "presign_v2",
    "presign_v4",
    "sign_v2",
    "sign_v4",
    "string_to_sign",
    "uri_encode",
]

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
ALGORITHM = "AWS4-HMAC-SHA256"

#: Headers never signed: hop-by-hop and tracing headers that proxies may change in flight.
_UNSIGNED_HEADERS = frozenset(
    {
        "authorization", "baggage", "connection", "expect", "keep-alive", "proxy-authenticate",
        "proxy-authorization", "te", "traceparent", "tracestate", "trailer", "transfer-encoding",
        "upgrade", "user-agent", "x-amzn-trace-id",
    }
)  # fmt: skip

#: Presigned URLs last at least one second and at most seven days (AWS's limit for SigV4).
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


def uri_encode(value: str, *, safe: str = "") -> str:
    """Percent-encode as AWS's UriEncode: everything but A-Z a-z 0-9 - . _ ~ (and `safe`)."""
    return quote(value, safe=safe)


def canonical_uri(path: str, *, s3: bool = True, normalize: bool = True) -> str:
    """The canonical URI of a request path.

    S3 (`s3=True`): `path` is the percent-encoded path exactly as sent, and is signed as it
    is: encoded once, never normalized (`a//b/./c` stays). Other services: `path` is the
    decoded path; it is normalized (RFC 3986 dot segments removed, `//` collapsed) unless
    `normalize=False`, then percent-encoded.
    """
    if not path:
        return "/"
    if s3:
        return path
    if normalize:
        segments: list[str] = []
        for segment in path.split("/"):
            if segment in ("", "."):
                continue
            if segment == "..":
                if segments:
                    segments.pop()
                continue
            segments.append(segment)
        normalized = "/" + "/".join(segments)
        if path.endswith("/") and normalized != "/":
            normalized += "/"
        path = normalized
    return quote(path, safe="/")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """Encode and sort query parameters (by encoded name, then value) as SigV4 requires.

    Values are given unencoded. The result is also a valid wire query string.
    """
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in pairs)


def _hmac(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256 in one call (OpenSSL's one-shot path: no HMAC object per signature)."""
    return hmac.digest(key, msg, "sha256")


class _KeyedHmac:
    """HMAC-SHA256 under one fixed key, its padded-key blocks hashed once (RFC 2104): each
    message then costs two hash copies instead of a fresh HMAC set-up."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0")  # a SigV4 signing key is 32 bytes, below the block size
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hexdigest(self, msg: bytes) -> str:
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def __repr__(self) -> str:
        return "<HMAC-SHA256>"


_KEY_CACHE: dict[tuple[str, str, str, str], bytes] = {}
_KEY_CACHE_MAX = 64


def derive_signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key for one day, region and service; cached (it changes daily)."""
    cache_key = (secret_key, date, region, service)
    key = _KEY_CACHE.get(cache_key)
    if key is None:
        k_date = _hmac(("AWS4" + secret_key).encode(), date.encode())
        k_region = _hmac(k_date, region.encode())
        k_service = _hmac(k_region, service.encode())
        key = _hmac(k_service, b"aws4_request")
        if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
            _KEY_CACHE.clear()
        _KEY_CACHE[cache_key] = key
    return key


def amz_date(now: float) -> str:
    """`YYYYMMDDTHHMMSSZ` for a Unix time."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


def _canonical_headers(headers: Mapping[str, str] | Sequence[tuple[str, str]]) -> tuple[str, str]:
    """(canonical header block, signed header list) of the headers to be signed."""
    items = headers.items() if type(headers) is dict or isinstance(headers, Mapping) else headers
    merged: dict[str, str] = {}
    unsigned = _UNSIGNED_HEADERS
    for name, value in items:
        lname = name.lower()
        if lname in unsigned:
            continue
        # Trim and collapse runs of white space (also folds multi-line values).
        trimmed = " ".join(value.split())
        if lname in merged:  # a repeated header: its values in order, comma-separated
            merged[lname] += "," + trimmed
        else:
            merged[lname] = trimmed
    names = sorted(merged)
    block = "".join([f"{n}:{merged[n]}\n" for n in names])
    return block, ";".join(names)


class SigV4Context:
    """What a signature covers besides the request: who, when, where.

    Fixed once made: the scope and the credential prefix of the Authorization header are
    worked out here, and the day's signing key on first use, so every request signed with
    one context shares them.
    """

    __slots__ = (
        "_authorization", "_hmac", "_key", "access_key", "amz_date", "date", "region", "scope",
        "secret_key", "service", "session_token",
    )  # fmt: skip

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        region: str,
        service: str,
        amz_date: str,
        session_token: str | None = None,
    ) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.service = service
        self.amz_date = amz_date
        self.session_token = session_token
        #: `YYYYMMDD` of `amz_date`.
        self.date = amz_date[:8]
        #: The credential scope: `date/region/service/aws4_request`.
        self.scope = f"{self.date}/{region}/{service}/aws4_request"
        self._authorization = f"{ALGORITHM} Credential={access_key}/{self.scope}, SignedHeaders="
        self._key: bytes | None = None
        self._hmac: _KeyedHmac | None = None

    def signing_key(self) -> bytes:
        key = self._key
        if key is None:
            key = derive_signing_key(self.secret_key, self.date, self.region, self.service)
            self._key = key
        return key

    def sign(self, string_to_sign: str) -> str:
        """The hex signature of a string to sign (HMAC-SHA256 under the signing key)."""
        mac = self._hmac
        if mac is None:
            mac = self._hmac = _KeyedHmac(self.signing_key())
        return mac.hexdigest(string_to_sign.encode("utf-8"))

    def __repr__(self) -> str:
        return (
            f"SigV4Context(access_key={self.access_key!r}, region={self.region!r}, "
            f"service={self.service!r}, amz_date={self.amz_date!r})"
        )


class SignedV4(NamedTuple):
    """Intermediate results of a SigV4 signature, kept for tests and for chunk signing."""

    canonical_request: str
    string_to_sign: str
    signature: str
    signed_headers: str


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: Mapping[str, str] | Sequence[tuple[str, str]],
    payload_hash: str,
) -> tuple[str, str]:
    """(canonical request, signed header list). `uri` is already canonical (`canonical_uri`),
    `query` already canonical (`canonical_query`); repeated headers may be given as pairs."""
    block, signed = _canonical_headers(headers)
    return f"{method}\n{uri}\n{query}\n{block}\n{signed}\n{payload_hash}", signed


def string_to_sign(ctx: SigV4Context, creq: str) -> str:
    """The SigV4 string to sign for a canonical request."""
    digest = hashlib.sha256(creq.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{ctx.amz_date}\n{ctx.scope}\n{digest}"


def _sign_string(ctx: SigV4Context, creq: str, signed_headers: str) -> SignedV4:
    sts = string_to_sign(ctx, creq)
    signature = ctx.sign(sts)
    return SignedV4(creq, sts, signature, signed_headers)


def sign_v4(
    ctx: SigV4Context,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    payload_hash: str,
    *,
    s3: bool = True,
    normalize: bool = True,
    add_content_sha256: bool = True,
    sign_session_token: bool = True,
) -> SignedV4:
    """Sign a request with SigV4 header auth, adding the auth headers to `headers` in place.

    `path` is the encoded path as sent, `query` the canonical query string (see
    `canonical_query`), `headers` must include `Host`. Adds `X-Amz-Date`, the session token,
    `X-Amz-Content-SHA256` (S3) and `Authorization`.
    """
    headers["X-Amz-Date"] = ctx.amz_date
    if ctx.session_token and sign_session_token:
        headers["X-Amz-Security-Token"] = ctx.session_token
    if add_content_sha256:
        headers["X-Amz-Content-SHA256"] = payload_hash
    uri = canonical_uri(path, s3=s3, normalize=normalize)
    creq, signed = canonical_request(method, uri, query, headers, payload_hash)
    result = _sign_string(ctx, creq, signed)
    headers["Authorization"] = f"{ctx._authorization}{signed}, Signature={result.signature}"
    if ctx.session_token and not sign_session_token:
        headers["X-Amz-Security-Token"] = ctx.session_token
    return result


def presign_v4(
    ctx: SigV4Context,
    method: str,
    scheme: str,
    host: str,
    path: str,
    params: Sequence[tuple[str, str]],
    expires_in: int,
    *,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    payload_hash: str = UNSIGNED_PAYLOAD,
    s3: bool = True,
    normalize: bool = True,
    sign_session_token: bool = True,
) -> tuple[str, SignedV4]:
    """A presigned URL (SigV4 query auth) valid for `expires_in` seconds (1 s .. 7 days).

    `params` are the request's own query parameters (unencoded); `headers` are extra headers
    the holder of the URL must send (signed, `host` is always signed).
    """
    if not isinstance(expires_in, int) or isinstance(expires_in, bool):
        raise TypeError("expires_in must be an int number of seconds")
    if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
        raise ValueError(
            f"expires_in must be between 1 and {MAX_PRESIGN_SECONDS} seconds (7 days), "
            f"got {expires_in}"
        )
    items = headers.items() if isinstance(headers, Mapping) else headers or ()
    sign_headers = [("host", host), *((n, v) for n, v in items if n.lower() != "host")]
    signed = ";".join(sorted({n.lower() for n, _ in sign_headers} - _UNSIGNED_HEADERS))
    auth_params = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{ctx.access_key}/{ctx.scope}"),
        ("X-Amz-Date", ctx.amz_date),
        ("X-Amz-Expires", str(expires_in)),
        ("X-Amz-SignedHeaders", signed),
    ]
    if ctx.session_token and sign_session_token:
        auth_params.append(("X-Amz-Security-Token", ctx.session_token))
    query = canonical_query([*params, *auth_params])
    uri = canonical_uri(path, s3=s3, normalize=normalize)
    creq, signed = canonical_request(method, uri, query, sign_headers, payload_hash)
    result = _sign_string(ctx, creq, signed)
    url = f"{scheme}://{host}{uri if not s3 else path}?{query}"
    if ctx.session_token and not sign_session_token:
        url += "&X-Amz-Security-Token=" + quote(ctx.session_token, safe="-_.~")
    return url + f"&X-Amz-Signature={result.signature}", result


# --- aws-chunked streaming uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) ----------------------


def _chunk_header_len(size: int) -> int:
    # "<hex size>;chunk-signature=<64 hex>\r\n" + data + "\r\n"
    return len(f"{size:x}") + len(";chunk-signature=") + 64 + 2 + 2


def aws_chunked_length(decoded_length: int, chunk_size: int) -> int:
    """The Content-Length of an aws-chunked body for `decoded_length` payload bytes."""
    if chunk_size < 8192:
        raise ValueError("aws-chunked chunks must be at least 8 KiB")
    full, rest = divmod(decoded_length, chunk_size)
    total = full * (_chunk_header_len(chunk_size) + chunk_size)
    if rest:
        total += _chunk_header_len(rest) + rest
    return total + _chunk_header_len(0)


class ChunkSigner:
    """Frames a payload as aws-chunked, each chunk signed with the previous signature.

    Start with the seed signature (the request's own SigV4 signature).
    """

    def __init__(self, ctx: SigV4Context, seed_signature: str) -> None:
        self._key = ctx.signing_key()
        self._prefix = f"AWS4-HMAC-SHA256-PAYLOAD\n{ctx.amz_date}\n{ctx.scope}\n"
        self.previous = seed_signature

    def sign_chunk(self, data: bytes | memoryview) -> str:
        sts = f"{self._prefix}{self.previous}\n{EMPTY_SHA256}\n{hashlib.sha256(data).hexdigest()}"
        self.previous = _hmac(self._key, sts.encode()).hex()
        return self.previous

    def frame(self, data: bytes | memoryview) -> bytes:
        """One chunk on the wire: header line, data, CRLF."""
        signature = self.sign_chunk(data)
        return b"".join((f"{len(data):x};chunk-signature={signature}\r\n".encode(), data, b"\r\n"))

    def frames(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Frame every non-empty chunk, then the final empty chunk."""
        for chunk in chunks:
            if chunk:
                yield self.frame(chunk)
        yield self.frame(b"")


# --- Signature Version 2 -----------------------------------------------------------------------

#: Query parameters that are part of the SigV2 CanonicalizedResource.
_V2_SUBRESOURCES = frozenset(
    {
        "acl", "cors", "delete", "lifecycle", "location", "logging", "notification",
        "partNumber", "policy", "requestPayment", "restore", "tagging", "torrent", "uploadId",
        "uploads", "versionId", "versioning", "versions", "website", "object-lock", "retention",
        "legal-hold", "response-cache-control", "response-content-disposition",
        "response-content-encoding", "response-content-language", "response-content-type",
        "response-expires",
    }
)  # fmt: skip


def _v2_resource(resource_path: str, params: Sequence[tuple[str, str]]) -> str:
    sub = sorted((k, v) for k, v in params if k in _V2_SUBRESOURCES)
    if not sub:
        return resource_path
    return resource_path + "?" + "&".join(f"{k}={v}" if v else k for k, v in sub)


def _v2_string_to_sign(
    method: str,
    headers: Mapping[str, str] | Sequence[tuple[str, str]],
    resource: str,
    date_or_expires: str | None,
) -> str:
    items = list(headers.items() if isinstance(headers, Mapping) else headers)
    lower = {}
    amz: dict[str, list[str]] = {}
    for name, value in items:
        lname = name.lower()
        if lname.startswith("x-amz-"):
            amz.setdefault(lname, []).append(" ".join(value.split()))
        else:
            lower[lname] = value
    if date_or_expires is None:
        # With x-amz-date present the Date line is empty; x-amz-date is signed as an amz header.
        date_or_expires = "" if "x-amz-date" in amz else lower.get("date", "")
    amz_block = "".join(f"{n}:{','.join(amz[n])}\n" for n in sorted(amz))
    return (
        f"{method}\n{lower.get('content-md5', '')}\n{lower.get('content-type', '')}\n"
        f"{date_or_expires}\n{amz_block}{resource}"
    )


def _v2_signature(secret_key: str, string_to_sign: str) -> str:
    digest = hmac.digest(secret_key.encode(), string_to_sign.encode("utf-8"), "sha1")
    return base64.b64encode(digest).decode()


def sign_v2(
    access_key: str,
    secret_key: str,
    method: str,
    resource_path: str,
    params: Sequence[tuple[str, str]],
    headers: dict[str, str],
    *,
    session_token: str | None = None,
) -> str:
    """Sign with SigV2 header auth (`Authorization: AWS key:sig`), in place; returns the
    string to sign. `resource_path` is `/bucket/key` as encoded on the wire."""
    if session_token:
        headers["x-amz-security-token"] = session_token
    if not any(k.lower() in ("date", "x-amz-date") for k in headers):
        headers["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    sts = _v2_string_to_sign(method, headers, _v2_resource(resource_path, params), None)
    headers["Authorization"] = f"AWS {access_key}:{_v2_signature(secret_key, sts)}"
    return sts


def presign_v2(
    access_key: str,
    secret_key: str,
    method: str,
    scheme: str,
    host: str,
    path: str,
    resource_path: str,
    params: Sequence[tuple[str, str]],
    expires_at: int,
    *,
    session_token: str | None = None,
) -> str:
    """A SigV2 presigned URL (`AWSAccessKeyId`, `Expires`, `Signature` query parameters)."""
    amz = [("x-amz-security-token", session_token)] if session_token else []
    sts = _v2_string_to_sign(method, amz, _v2_resource(resource_path, params), str(expires_at))
    query = [
        *params,
        ("AWSAccessKeyId", access_key),
        ("Expires", str(expires_at)),
        ("Signature", _v2_signature(secret_key, sts)),
    ]
    if session_token:
        query.append(("x-amz-security-token", session_token))
    return f"{scheme}://{host}{path}?{canonical_query(query)}"


# --- Auth adapters: sign each transport attempt with the current credentials ---------------


class Keys(Protocol):
    """What signing needs of credentials (`s3lite.credentials.Credentials` is one)."""

    @property
    def access_key(self) -> str: ...

    @property
    def secret_key(self) -> str: ...

    @property
    def token(self) -> str | None: ...


class KeysProvider(Protocol):
    """Hands out the current keys, or None for anonymous requests (every credentials provider
    of `s3lite.credentials` is one)."""

    def get(self) -> Keys | None: ...


#: Payload bytes per aws-chunked chunk (AWS requires at least 8 KiB for all but the last).
STREAMING_CHUNK = 512 * 1024


def rechunk(source: bytes | memoryview | Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut a body into chunks of exactly `size` bytes (the last one may be shorter)."""
    if isinstance(source, (bytes, memoryview)):
        view = memoryview(source)
        for i in range(0, len(view), size):
            yield bytes(view[i : i + size])
        return
    buf = bytearray()
    for piece in source:
        if not buf and len(piece) == size:
            yield piece
            continue
        buf += piece
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    if buf:
        yield bytes(buf)


class SigV4Auth:
    """Signs each attempt with SigV4 (headers; aws-chunked framing for streaming payloads)."""

    def __init__(self, credentials: KeysProvider, region: str, service: str = "s3") -> None:
        self.credentials = credentials
        self.region = region
        self.service = service
        # The context of the latest second signed in, with the credentials it was made for:
        # requests within one second share its date, scope and signing key.
        self._latest: tuple[int, Keys, SigV4Context] | None = None

    def context(self, now: float) -> SigV4Context | None:
        creds = self.credentials.get()
        if creds is None:
            return None
        second = int(now)
        latest = self._latest  # one read: other threads may replace it meanwhile
        if latest is not None and latest[0] == second:
            held = latest[1]
            if held is creds or held == creds:
                ctx = latest[2]
                if ctx.region == self.region and ctx.service == self.service:
                    return ctx
        ctx = SigV4Context(
            creds.access_key, creds.secret_key, self.region, self.service, amz_date(now),
            creds.token,
        )  # fmt: skip
        self._latest = (second, creds, ctx)
        return ctx

    def sign(self, attempt: Attempt) -> None:
        ctx = self.context(attempt.now)
        if ctx is None:
            return  # anonymous: unsigned request
        req = attempt.request
        headers = attempt.headers
        payload = req.payload_hash or UNSIGNED_PAYLOAD
        s3 = self.service == "s3"
        if payload == STREAMING_PAYLOAD:
            decoded = req.body.length
            if decoded is None:
                raise ValueError("a streaming-signed upload needs a known body length")
            encoding = headers.get("Content-Encoding")
            headers["Content-Encoding"] = f"aws-chunked,{encoding}" if encoding else "aws-chunked"
            headers["X-Amz-Decoded-Content-Length"] = str(decoded)
            headers["Content-Length"] = str(aws_chunked_length(decoded, STREAMING_CHUNK))
            seed = sign_v4(ctx, req.method, req.path, req.query, headers, payload)
            attempt.body = ChunkSigner(ctx, seed.signature).frames(
                rechunk(attempt.body, STREAMING_CHUNK)
            )
            return
        sign_v4(
            ctx, req.method, req.path, req.query, headers, payload, s3=s3, add_content_sha256=s3
        )

    def refresh(self, error: ClientError) -> bool:
        return _refresh_credentials(self.credentials, error)

    def __repr__(self) -> str:
        return f"SigV4Auth(region={self.region!r}, service={self.service!r})"


class SigV2Auth:
    """Signs each attempt with SigV2 (`Authorization: AWS key:signature`)."""

    def __init__(self, credentials: KeysProvider) -> None:
        self.credentials = credentials

    def sign(self, attempt: Attempt) -> None:
        creds = self.credentials.get()
        if creds is None:
            return
        req = attempt.request
        attempt.headers["Date"] = time.strftime(
            "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(attempt.now)
        )
        sign_v2(
            creds.access_key, creds.secret_key, req.method, req.resource, req.params,
            attempt.headers, session_token=creds.token,
        )  # fmt: skip

    def refresh(self, error: ClientError) -> bool:
        return _refresh_credentials(self.credentials, error)

    def __repr__(self) -> str:
        return "SigV2Auth()"


_EXPIRED_CODES = frozenset(
    {"ExpiredToken", "InvalidToken", "TokenRefreshRequired", "ExpiredTokenException"}
)


def _refresh_credentials(provider: KeysProvider, error: ClientError) -> bool:
    """Renew temporary credentials the server called expired; True if worth a retry."""
    refresh = getattr(provider, "refresh", None)
    if error.code in _EXPIRED_CODES and callable(refresh):
        refresh()
        return True
    return False
