"""Typed errors shared by every backend (S3 and B2).

`ClientError` subclasses are picked by the service's error code, so callers catch
`NoSuchKey` rather than compare strings, or a whole family: `NotFound`, `Forbidden`,
`Throttled`, `Conflict`. Network failures are `TransportError`s; those that are a failed or
broken connection are also `ConnectionError`s, and timeouts `TimeoutError`s.
Messages never contain credentials.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "BadDigest",
    "BucketAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketNotEmpty",
    "ChecksumMismatch",
    "ClientError",
    "ConditionalRequestConflict",
    "Conflict",
    "ConnectionFailed",
    "EntityTooLarge",
    "EntityTooSmall",
    "ExpiredToken",
    "Forbidden",
    "InternalError",
    "InvalidAccessKeyId",
    "InvalidArgument",
    "InvalidBucketName",
    "InvalidDigest",
    "InvalidPart",
    "InvalidPartOrder",
    "InvalidRange",
    "InvalidRequest",
    "LockError",
    "LockLost",
    "MalformedResponse",
    "MethodNotAllowed",
    "NoCredentialsError",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "NoSuchVersion",
    "NotFound",
    "NotImplementedByServer",
    "NotModified",
    "ObjectChanged",
    "PreconditionFailed",
    "RequestTimeTooSkewed",
    "RequestTimeout",
    "S3LiteError",
    "ServiceUnavailable",
    "SignatureDoesNotMatch",
    "SlowDown",
    "Throttled",
    "TooManyRequests",
    "TransportError",
    "TransportTimeout",
    "Unauthorized",
    "error_class_for",
    "transport_error_class",
]


class S3LiteError(Exception):
    """Base class of every error s3lite raises (besides `ValueError`/`TypeError` for bad input)."""


class ClientError(S3LiteError):
    """The service answered with an error status.

    `status` is the HTTP status, `code` the service's error code (S3 `<Code>` or B2 `code`),
    `message` its text, `request_id` and `resource` where the service gave them.
    """

    #: Whether a fresh attempt of the same request may succeed.
    retryable: bool = False
    #: Whether the error means "slow down" (feeds the adaptive rate limiter).
    throttling: bool = False
    #: How many times the request was sent before this answer (set by the transport).
    attempts: int = 1

    def __init__(
        self,
        status: int,
        code: str,
        message: str = "",
        *,
        request_id: str | None = None,
        resource: str | None = None,
        host_id: str | None = None,
        retry_after: float | None = None,
        server_date: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.resource = resource
        self.host_id = host_id
        self.retry_after = retry_after
        self.server_date = server_date
        super().__init__(self._text())

    def _text(self) -> str:
        text = f"{self.code} ({self.status})"
        if self.message:
            text += f": {self.message}"
        if self.resource:
            text += f" [resource: {self.resource}]"
        if self.request_id:
            text += f" [request id: {self.request_id}]"
        return text

    def __reduce__(self) -> tuple[object, ...]:
        kwargs = {
            "request_id": self.request_id,
            "resource": self.resource,
            "host_id": self.host_id,
            "retry_after": self.retry_after,
            "server_date": self.server_date,
        }
        return (_rebuild_client_error, (type(self), self.status, self.code, self.message, kwargs))


def _rebuild_client_error(
    cls: type[ClientError], status: int, code: str, message: str, kwargs: dict[str, object]
) -> ClientError:
    return cls(status, code, message, **kwargs)  # type: ignore[arg-type]


# --- Not found -----------------------------------------------------------------------------
class NotFound(ClientError):
    """Something named by the request does not exist: key, bucket, upload or version."""


class NoSuchKey(NotFound):
    """The object (or B2 file) does not exist."""


class NoSuchBucket(NotFound):
    """The bucket does not exist."""


class NoSuchUpload(NotFound):
    """The multipart upload (or B2 large file) does not exist: completed or aborted."""


class NoSuchVersion(NotFound):
    """The requested version id does not exist."""


# --- Auth ----------------------------------------------------------------------------------
class Forbidden(ClientError):
    """The request was refused for its credentials: unknown key id, wrong secret (a signature
    mismatch), expired token, or a key without the permission. Which code a server sends for
    a wrong secret differs (GET: SignatureDoesNotMatch, HEAD: AccessDenied), so catch this."""


class AccessDenied(Forbidden):
    """The credentials are valid but not allowed to do this."""


class InvalidAccessKeyId(Forbidden):
    """The access key id is unknown to the server."""


class SignatureDoesNotMatch(Forbidden):
    """The server computed another signature: wrong secret, or a signing bug."""


class ExpiredToken(Forbidden):
    """Temporary credentials (or a B2 auth token) expired."""


class Unauthorized(Forbidden):
    """B2: the key lacks a capability, or the bucket/prefix is outside its restriction."""


class RequestTimeTooSkewed(ClientError):
    """The local clock differs too much from the server's; retried after correcting it."""

    retryable = True


# --- Conflicts and preconditions ----------------------------------------------------------
class Conflict(ClientError):
    """The request conflicts with the current state: a precondition (If-Match,
    If-None-Match...) failed, a concurrent conditional write, or a bucket that exists or is not
    empty. (`NotModified` is not one: it is the answer to a conditional read.)"""


class PreconditionFailed(Conflict):
    """An If-Match / If-None-Match / If-Unmodified-Since condition did not hold (412)."""


class NotModified(ClientError):
    """If-None-Match / If-Modified-Since: the object has not changed (304)."""


class ConditionalRequestConflict(Conflict):
    """A concurrent conditional write is in progress (409); retried."""

    retryable = True


# --- Buckets -------------------------------------------------------------------------------
class BucketAlreadyOwnedByYou(Conflict):
    """create_bucket: you already own this bucket."""


class BucketAlreadyExists(Conflict):
    """create_bucket: the name is taken by someone else."""


class BucketNotEmpty(Conflict):
    """delete_bucket: the bucket still holds objects."""


class InvalidBucketName(ClientError):
    """The server rejected the bucket name."""


# --- Bad requests --------------------------------------------------------------------------
class InvalidRange(ClientError):
    """The requested range is not satisfiable (416)."""


class InvalidArgument(ClientError):
    """The server rejected an argument."""


class InvalidRequest(ClientError):
    """The server rejected the request as malformed."""


class BadDigest(ClientError):
    """The body did not match the checksum sent with it: the bytes were damaged in transit."""


class InvalidDigest(ClientError):
    """The checksum header was malformed."""


class EntityTooLarge(ClientError):
    """The body is larger than the server allows for this operation."""


class EntityTooSmall(ClientError):
    """A multipart part other than the last is smaller than the minimum part size."""


class InvalidPart(ClientError):
    """CompleteMultipartUpload named a part that is missing or whose ETag differs."""


class InvalidPartOrder(ClientError):
    """CompleteMultipartUpload listed parts out of order."""


class MethodNotAllowed(ClientError):
    """The method is not allowed on this resource."""


class NotImplementedByServer(ClientError):
    """The server does not implement this feature (S3 `NotImplemented`)."""


# --- Transient -----------------------------------------------------------------------------
class Throttled(ClientError):
    """The server asks the client to send fewer requests (retried with backoff first)."""

    retryable = True
    throttling = True


class SlowDown(Throttled):
    """The server asks the client to reduce its request rate (503 SlowDown)."""

    retryable = True
    throttling = True


class TooManyRequests(Throttled):
    """429 Too Many Requests (B2 `too_many_requests`, S3-compatible throttling)."""

    retryable = True
    throttling = True


class ServiceUnavailable(ClientError):
    """503: the service is temporarily unavailable."""

    retryable = True


class InternalError(ClientError):
    """500-class server error."""

    retryable = True


class RequestTimeout(ClientError):
    """The server timed out waiting for the request body."""

    retryable = True


# --- Client-side ---------------------------------------------------------------------------
class TransportError(S3LiteError):
    """The request failed on the network (connect, TLS, reset, timeout) after all retries.

    `attempts` says how many attempts were made; the original exception is `__cause__`.
    Raised as `ConnectionFailed` (a `ConnectionError`) or `TransportTimeout` (a
    `TimeoutError`) when it was one of those; plain only for the pool running out of
    connections and a body that could not be sent again.
    """

    def __init__(self, message: str, *, attempts: int = 1, retryable: bool = True) -> None:
        self.attempts = attempts
        self.retryable = retryable
        super().__init__(message)


class ConnectionFailed(TransportError, ConnectionError):
    """No connection could be made (refused, unreachable, DNS, TLS handshake or certificate
    refused, proxy) or it broke (reset, closed mid-response): also a `ConnectionError`."""


class TransportTimeout(TransportError, TimeoutError):
    """Connecting or waiting for the server's response timed out: also a `TimeoutError`."""


def transport_error_class(exc: BaseException) -> type[TransportError]:
    """The `TransportError` class that says honestly what `exc` (a network failure) was.

    Others (no free connection in the pool, a body that cannot be sent again) stay plain
    `TransportError`s."""
    from http.client import HTTPException

    from urllib3.exceptions import NewConnectionError, ProtocolError, ProxyError, SSLError
    from urllib3.exceptions import TimeoutError as U3Timeout

    # urllib3's NewConnectionError (refused, DNS) derives from its timeout class: test it first.
    broken = (NewConnectionError, ProtocolError, ProxyError, SSLError, HTTPException)
    if isinstance(exc, (*broken, ConnectionError)):
        return ConnectionFailed
    if isinstance(exc, (U3Timeout, TimeoutError)):
        return TransportTimeout
    import ssl

    if isinstance(exc, ssl.SSLError):
        return ConnectionFailed
    return TransportError


class MalformedResponse(S3LiteError):
    """The service's response could not be parsed (bad XML/JSON, missing fields, too large)."""


class ChecksumMismatch(S3LiteError):
    """Bytes received or stored do not match the checksum, size or ETag they must have."""


class ObjectChanged(S3LiteError):
    """The object changed while it was being read in pieces (its ETag moved): not spliced."""


class NoCredentialsError(S3LiteError, ValueError):
    """No credentials were given and no credential source had any."""


class LockError(S3LiteError):
    """A distributed lock could not be used as asked."""


class LockLost(LockError):
    """The lock was lost (its TTL passed without renewal, or it was broken by another holder)."""


_BY_CODE: dict[str, type[ClientError]] = {
    # S3 codes
    "NoSuchKey": NoSuchKey,
    "NoSuchBucket": NoSuchBucket,
    "NoSuchUpload": NoSuchUpload,
    "NoSuchVersion": NoSuchVersion,
    "AccessDenied": AccessDenied,
    "AllAccessDisabled": AccessDenied,
    "InvalidAccessKeyId": InvalidAccessKeyId,
    "SignatureDoesNotMatch": SignatureDoesNotMatch,
    "ExpiredToken": ExpiredToken,
    "TokenRefreshRequired": ExpiredToken,
    "RequestTimeTooSkewed": RequestTimeTooSkewed,
    "PreconditionFailed": PreconditionFailed,
    "NotModified": NotModified,
    "ConditionalRequestConflict": ConditionalRequestConflict,
    "BucketAlreadyOwnedByYou": BucketAlreadyOwnedByYou,
    "BucketAlreadyExists": BucketAlreadyExists,
    "BucketNotEmpty": BucketNotEmpty,
    "InvalidBucketName": InvalidBucketName,
    "InvalidRange": InvalidRange,
    "InvalidArgument": InvalidArgument,
    "KeyTooLongError": InvalidArgument,
    "InvalidRequest": InvalidRequest,
    "BadDigest": BadDigest,
    "XAmzContentSHA256Mismatch": BadDigest,
    "InvalidDigest": InvalidDigest,
    "EntityTooLarge": EntityTooLarge,
    "EntityTooSmall": EntityTooSmall,
    "InvalidPart": InvalidPart,
    "InvalidPartOrder": InvalidPartOrder,
    "MethodNotAllowed": MethodNotAllowed,
    "NotImplemented": NotImplementedByServer,
    "SlowDown": SlowDown,
    "Throttling": SlowDown,
    "ThrottlingException": SlowDown,
    "RequestThrottled": SlowDown,
    "TooManyRequests": TooManyRequests,
    "ServiceUnavailable": ServiceUnavailable,
    "InternalError": InternalError,
    "RequestTimeout": RequestTimeout,
    # B2 native API codes
    "not_found": NoSuchKey,
    "file_not_present": NoSuchKey,
    "no_such_file": NoSuchKey,
    "bad_bucket_id": NoSuchBucket,
    "bad_auth_token": ExpiredToken,
    "expired_auth_token": ExpiredToken,
    "unauthorized": Unauthorized,
    "access_denied": AccessDenied,
    "range_not_satisfiable": InvalidRange,
    "duplicate_bucket_name": BucketAlreadyExists,
    "too_many_requests": TooManyRequests,
    "service_unavailable": ServiceUnavailable,
    "internal_error": InternalError,
    "request_timeout": RequestTimeout,
    "bad_request": InvalidRequest,
    "invalid_argument": InvalidArgument,
    "missing_part": InvalidPart,
    "part_sha1_mismatch": InvalidPart,
    "cannot_delete_non_empty_bucket": BucketNotEmpty,
    "bad_json": InvalidRequest,
    "source_too_large": EntityTooLarge,
}

_BY_STATUS: dict[int, type[ClientError]] = {
    304: NotModified,
    401: Unauthorized,
    403: AccessDenied,
    404: NoSuchKey,
    408: RequestTimeout,
    409: ConditionalRequestConflict,
    412: PreconditionFailed,
    416: InvalidRange,
    429: TooManyRequests,
    500: InternalError,
    502: InternalError,
    503: ServiceUnavailable,
    504: InternalError,
}


def error_class_for(status: int, code: str | None) -> type[ClientError]:
    """The most specific error class for a status and service error code."""
    if code:
        cls = _BY_CODE.get(code)
        if cls is not None:
            return cls
        if status == 409:  # unknown 409 codes (e.g. OperationAborted) are not conflicts to retry
            return Conflict
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return InternalError
    return ClientError
