"""Where an S3 session's requests go and how they are put together, decided once per session.

`S3Endpoint` holds what does not change between requests (scheme, host, base path,
addressing style, payload signing) and builds unsigned `Request`s from a bucket, a key and
the rest; the name checks and header helpers that every S3 operation shares live here too.
Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Literal
from urllib.parse import quote, urlsplit

from .arguments import netloc_key
from .operation import Call
from .response import encode_rfc2047
from .signing import EMPTY_SHA256, STREAMING_PAYLOAD, UNSIGNED_PAYLOAD, canonical_query
from .transport import Body, BodyLike, Request

__all__ = [
    "MAX_XML_BYTES",
    "AddressingStyle",
    "PayloadSigning",
    "S3Endpoint",
    "SignatureVersion",
    "content_md5",
    "document_call",
    "guess_type",
    "metadata_headers",
    "ok_get",
    "sse_customer_headers",
    "validate_bucket",
    "validate_key",
]

AddressingStyle = Literal["auto", "path", "virtual"]
SignatureVersion = Literal["s3v4", "s3"]
PayloadSigning = Literal["auto", "signed", "unsigned", "streaming"]

MAX_KEY_BYTES = 1024
#: Largest XML document accepted (a 1000-key page with 1 KiB keys is about 1.5 MiB): answers
#: read whole are refused above it, while they are read (`document_call`) and when parsed.
MAX_XML_BYTES = 32 * 1024 * 1024
#: Buckets whose addressing is remembered per endpoint (beyond it, computed afresh).
_PLACES_MAX = 256
# Patterns, compiled on first use by `re`'s own cache (compiling them here would cost import
# time that a session may never need); a bucket is checked once per endpoint.
_BUCKET_RE = r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9]$"
_DNS_BUCKET_RE = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_IP_RE = r"^\d+\.\d+\.\d+\.\d+$"
TOKEN_RE = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"  # noqa: S105 - an HTTP token pattern

_SSE_C = "x-amz-server-side-encryption-customer-"
_COPY_SSE_C = "x-amz-copy-source-server-side-encryption-customer-"
#: The header naming the SSE-C algorithm of a request (its presence means SSE-C).
SSE_C_ALGORITHM = _SSE_C + "algorithm"


def ok_get(status: int) -> bool:
    """The statuses a GET answers with: 200, or 206 for a range."""
    return status in (200, 206)


def validate_key(key: object) -> str:
    """A non-empty str of at most 1024 UTF-8 bytes, or ValueError/TypeError naming the problem."""
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("key must not be empty")
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise ValueError(f"key is {size} bytes in UTF-8; S3 allows at most {MAX_KEY_BYTES}")
    return key


def validate_bucket(bucket: object) -> str:
    """A bucket name S3 can address (3-63 characters: letters, digits, '.', '-', '_')."""
    if not isinstance(bucket, str):
        raise TypeError(f"bucket must be a str, not {type(bucket).__name__}")
    if not re.match(_BUCKET_RE, bucket) or ".." in bucket or re.match(_IP_RE, bucket):
        raise ValueError(
            f"invalid bucket name {bucket!r}: use 3-63 characters, letters, digits, '.', '-' "
            "(and '_' on some servers), starting and ending with a letter or digit"
        )
    return bucket


def metadata_headers(metadata: Mapping[str, str] | None, headers: dict[str, str]) -> None:
    """Add user metadata to `headers` as `x-amz-meta-*` (values RFC 2047-encoded as needed)."""
    for name, value in (metadata or {}).items():
        if not isinstance(name, str) or not re.match(TOKEN_RE, name):
            raise ValueError(f"metadata name {name!r} is not a valid HTTP header token")
        if not isinstance(value, str):
            raise TypeError(
                f"metadata value for {name!r} must be a str, not {type(value).__name__}"
            )
        if "\r" in value or "\n" in value:
            raise ValueError(f"metadata value for {name!r} contains a line break")
        headers["x-amz-meta-" + name.lower()] = encode_rfc2047(value)


def sse_customer_headers(key: bytes | str | None, *, copy_source: bool = False) -> dict[str, str]:
    """The SSE-C headers (algorithm AES256, the key and its MD5, base64) for a 32-byte
    customer key; with `copy_source`, the `x-amz-copy-source-` ones. {} for None.

    A str key is its UTF-8 bytes (as boto3 takes it). Errors never show the key."""
    if key is None:
        return {}
    name = "copy_source_sse_customer_key" if copy_source else "sse_customer_key"
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be 32 bytes (bytes or str), not {type(key).__name__}")
    raw = bytes(key)
    if len(raw) != 32:
        raise ValueError(f"{name} must be 32 bytes (an AES-256 key), got {len(raw)} bytes")
    import base64

    prefix = _COPY_SSE_C if copy_source else _SSE_C
    return {
        prefix + "algorithm": "AES256",
        prefix + "key": base64.b64encode(raw).decode("ascii"),
        prefix + "key-MD5": base64.b64encode(hashlib.md5(raw).digest()).decode("ascii"),  # noqa: S324
    }


_TYPES_BY_SUFFIX: dict[str, str] = {}


def guess_type(key: str) -> str:
    """The Content-Type an object named `key` gets when none is given (from its suffix,
    remembered per suffix: the mimetypes lookup costs more than the rest of a small PUT)."""
    import mimetypes

    name = key[key.rfind("/") + 1 :].lstrip(".")  # leading dots are no suffix
    dot = name.find(".")
    if ":" in key or dot < 0:  # a URL-like key is mimetypes' own case; no suffix is one type
        return mimetypes.guess_type(key, strict=False)[0] or "application/octet-stream"
    suffix = name[dot:]  # all the suffixes: '.tar.gz' is not '.gz'
    found = _TYPES_BY_SUFFIX.get(suffix)
    if found is None:
        found = mimetypes.guess_type("x" + suffix, strict=False)[0] or "application/octet-stream"
        if len(_TYPES_BY_SUFFIX) < 1024:
            _TYPES_BY_SUFFIX[suffix] = found
    return found


def content_md5(body: bytes) -> str:
    """The Content-MD5 header of `body` (base64), which several S3 calls require."""
    import base64

    return base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324


def document_call(
    request: Request,
    *,
    ok: Callable[[int], bool] | None = None,
    max_body: int | None = MAX_XML_BYTES,
) -> Call:
    """A call whose answer is read whole, up to the size of the largest XML document."""
    return Call(request, max_body=max_body, ok=ok)


class S3Endpoint:
    """One S3-compatible service as a session addresses it: computed once, then used by every
    request built (`build`) or located (`locate`).

    `bucket` is the default bucket; `addressing_style` and `payload_signing` may be changed
    later (the session's attributes of those names set them here).
    """

    __slots__ = (
        "_addressing_style", "_places", "aws", "base_path", "bucket", "endpoint_url",
        "netloc", "payload_signing", "region", "scheme", "signature_version",
    )  # fmt: skip

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        *,
        bucket: str | None = None,
        addressing_style: AddressingStyle = "auto",
        signature_version: SignatureVersion = "s3v4",
        payload_signing: PayloadSigning = "auto",
    ) -> None:
        parts = urlsplit(endpoint_url if "://" in endpoint_url else "https://" + endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"endpoint_url must be http(s)://host[:port], got {endpoint_url!r}")
        if parts.query or parts.fragment:
            raise ValueError("endpoint_url must not have a query or fragment")
        if signature_version not in ("s3v4", "s3"):
            raise ValueError(f"signature_version must be 's3v4' or 's3', got {signature_version!r}")
        if payload_signing not in ("auto", "signed", "unsigned", "streaming"):
            raise ValueError(f"unknown payload_signing {payload_signing!r}")
        if bucket is not None:
            validate_bucket(bucket)
        self.endpoint_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.scheme = parts.scheme
        self.netloc = parts.netloc.lower()
        self.base_path = quote(parts.path.rstrip("/"), safe="/")
        self.aws = (parts.hostname or "").endswith(".amazonaws.com")
        self.region = region
        self.bucket = bucket
        self.signature_version: SignatureVersion = signature_version
        self.payload_signing: PayloadSigning = payload_signing
        #: bucket -> (host, path prefix, virtual-host style): checked and placed once.
        self._places: dict[str, tuple[str, str, bool]] = {}
        self._addressing_style: AddressingStyle = "auto"
        self.addressing_style = addressing_style

    @property
    def addressing_style(self) -> AddressingStyle:
        """'auto' (virtual-host on AWS, path elsewhere), 'path' or 'virtual'."""
        return self._addressing_style

    @addressing_style.setter
    def addressing_style(self, style: AddressingStyle) -> None:
        if style not in ("auto", "path", "virtual"):
            raise ValueError(f"addressing_style must be 'auto', 'path' or 'virtual', got {style!r}")
        self._addressing_style = style
        self._places = {}

    def resolve_bucket(self, bucket: str | None) -> str:
        """`bucket`, checked, or the default bucket (ValueError when there is none)."""
        if bucket is None:
            if self.bucket is None:
                raise ValueError("no bucket given and the session has no default bucket")
            return self.bucket
        if bucket in self._places:
            return bucket
        return validate_bucket(bucket)

    def virtual(self, bucket: str) -> bool:
        """Whether requests for `bucket` name it in the host (virtual-host style)."""
        if self._addressing_style == "path":
            return False
        dns_ok = bool(re.match(_DNS_BUCKET_RE, bucket)) and not (
            self.scheme == "https" and "." in bucket
        )
        if self._addressing_style == "virtual":
            if not dns_ok:
                raise ValueError(
                    f"bucket {bucket!r} cannot be addressed virtual-host style; "
                    "use addressing_style='path'"
                )
            return True
        return self.aws and dns_ok

    def _place(self, bucket: str) -> tuple[str, str, bool]:
        place = self._places.get(bucket)
        if place is None:
            validate_bucket(bucket)
            if self.virtual(bucket):
                place = (f"{bucket}.{self.netloc}", self.base_path, True)
            else:
                place = (self.netloc, f"{self.base_path}/{bucket}", False)
            if len(self._places) < _PLACES_MAX:
                self._places[bucket] = place
        return place

    def locate(self, bucket: str | None, key: str | None) -> tuple[str, str, str]:
        """(host, encoded path, SigV2 resource path) of a bucket/key (None: the service)."""
        if bucket is None:
            return self.netloc, self.base_path + "/", "/"
        host, prefix, virtual = self._place(bucket)
        if key is not None:
            encoded = quote(key, safe="/~")
            return host, f"{prefix}/{encoded}", f"/{bucket}/{encoded}"
        # SigV2 signs the path as sent: a path-style bucket request has no trailing slash.
        if virtual:
            return host, prefix + "/", f"/{bucket}/"
        return host, prefix, f"/{bucket}"

    def build(
        self,
        method: str,
        bucket: str | None,
        key: str | None = None,
        params: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        body: BodyLike | Body = None,
        *,
        payload_hash: str | None = None,
        length: int | None = None,
    ) -> Request:
        """An unsigned request for `bucket`/`key` (bucket already resolved). `headers` is
        taken over (not copied); `payload_hash` defaults to the SHA-256 of a bytes body, or the
        streaming mode of a stream (see `stream_payload_mode`)."""
        host, path, resource = self.locate(bucket, key)
        if headers is None:
            headers = {"Host": host}
        else:
            headers["Host"] = host
        request_body = body if isinstance(body, Body) else Body(body, length)
        if method in {"PUT", "POST"}:
            if request_body.length is None:
                raise ValueError("request body length unknown")
            headers["Content-Length"] = str(request_body.length)
        if payload_hash is None:
            if request_body.is_bytes:
                data = request_body.data
                if not data:
                    payload_hash = EMPTY_SHA256
                elif self.payload_signing == "unsigned":
                    payload_hash = UNSIGNED_PAYLOAD
                else:
                    payload_hash = hashlib.sha256(data).hexdigest()
            else:
                payload_hash = self.stream_payload_mode()
        return Request(
            method,
            self.scheme,
            host,
            path,
            canonical_query(params) if params else "",
            headers,
            request_body,
            payload_hash,
            resource,
            params,
        )

    def stream_payload_mode(self) -> str:
        """How to sign a streamed body: aws-chunked signatures, or unsigned over TLS."""
        mode = self.payload_signing
        if mode == "unsigned" or (mode == "auto" and self.scheme == "https"):
            return UNSIGNED_PAYLOAD
        if self.signature_version == "s3":
            return UNSIGNED_PAYLOAD  # SigV2 does not cover the payload
        return STREAMING_PAYLOAD

    def object_url(self, bucket: str | None, key: str) -> str:
        """The plain (unsigned) URL of an object, e.g. for public-read objects."""
        host, path, _ = self.locate(self.resolve_bucket(bucket), validate_key(key))
        return f"{self.scheme}://{host}{path}"

    def own_url(self, url: str) -> tuple[str | None, str | None, list[tuple[str, str]]]:
        """(bucket, key, query) of a URL on this endpoint; ValueError for any other host,
        scheme or port, so that signed requests never leave the endpoint."""
        from urllib.parse import parse_qsl, unquote

        parts = urlsplit(url)
        if parts.fragment or parts.username is not None or parts.password is not None:
            raise ValueError("the URL must not carry a fragment or user info")
        scheme = parts.scheme.lower()
        host = netloc_key(scheme, parts.netloc.lower())
        own = netloc_key(self.scheme, self.netloc)
        base = self.base_path
        path = parts.path or "/"
        bucket: str | None
        if scheme == self.scheme and host == own:
            if path != base and not path.startswith(base + "/"):
                raise ValueError(f"URL path {path!r} is outside the endpoint {self.endpoint_url}")
            name, _, rest = path[len(base) :].lstrip("/").partition("/")
            bucket = validate_bucket(unquote(name)) if name else None
        elif scheme == self.scheme and host.endswith("." + own):
            bucket = validate_bucket(host[: -len(own) - 1])
            if not path.startswith(base + "/"):
                raise ValueError(f"URL path {path!r} is outside the endpoint {self.endpoint_url}")
            rest = path[len(base) + 1 :]
        else:
            raise ValueError(
                f"refusing to sign a request for {parts.scheme}://{parts.hostname}: it is not "
                f"this session's endpoint ({self.endpoint_url}), and credentials go nowhere else"
            )
        key = validate_key(unquote(rest)) if rest and bucket is not None else None
        return bucket, key, parse_qsl(parts.query, keep_blank_values=True)

    def __repr__(self) -> str:
        return f"S3Endpoint({self.endpoint_url!r}, addressing_style={self._addressing_style!r})"
