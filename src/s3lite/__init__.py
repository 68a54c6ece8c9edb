"""s3lite: a small, fast client for S3-compatible object storage and Backblaze B2.

`import s3lite` is cheap: every name below is imported on first use (PEP 562).
"""

from __future__ import annotations

from importlib import import_module

# `typing` is not imported at run time: it alone would cost more than the rest of this module.
TYPE_CHECKING = False

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "S3Session": "s3",
    "B2Session": "b2",
    "DeleteResult": "s3",
    "Response": "response",
    "Listing": "listing",
    "Transport": "transport",
    "RetryPolicy": "retries",
    "Credentials": "credentials",
    "LocalSeaweedFS": "devserver",
    "DistributedLock": "lock",
    # pathlib for buckets
    "S3Path": "path",
    "PureS3Path": "path",
    "B2Path": "path",
    "PureB2Path": "path",
    "register_configuration_parameter": "path",
    "MultipartUpload": "multipart",
    # tinys3 / minis3 compatibility
    "Connection": "compat",
    "Pool": "compat",
    # errors
    "S3LiteError": "errors",
    "ClientError": "errors",
    "TransportError": "errors",
    "NoSuchKey": "errors",
    "NoSuchBucket": "errors",
    "NoSuchUpload": "errors",
    "NoSuchVersion": "errors",
    "AccessDenied": "errors",
    "InvalidAccessKeyId": "errors",
    "SignatureDoesNotMatch": "errors",
    "ExpiredToken": "errors",
    "Unauthorized": "errors",
    "RequestTimeTooSkewed": "errors",
    "PreconditionFailed": "errors",
    "NotModified": "errors",
    "ConditionalRequestConflict": "errors",
    "BucketAlreadyOwnedByYou": "errors",
    "BucketAlreadyExists": "errors",
    "BucketNotEmpty": "errors",
    "InvalidBucketName": "errors",
    "InvalidRange": "errors",
    "InvalidArgument": "errors",
    "InvalidRequest": "errors",
    "BadDigest": "errors",
    "EntityTooLarge": "errors",
    "EntityTooSmall": "errors",
    "InvalidPart": "errors",
    "SlowDown": "errors",
    "TooManyRequests": "errors",
    "ServiceUnavailable": "errors",
    "InternalError": "errors",
    "RequestTimeout": "errors",
    "MalformedResponse": "errors",
    "ChecksumMismatch": "errors",
    "ObjectChanged": "errors",
    "NoCredentialsError": "errors",
    "LockError": "errors",
    "LockLost": "errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 's3lite' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from typing import Any

    from .b2 import B2Session
    from .compat import Connection, Pool
    from .credentials import Credentials
    from .devserver import LocalSeaweedFS
    from .errors import (
        AccessDenied,
        BadDigest,
        BucketAlreadyExists,
        BucketAlreadyOwnedByYou,
        BucketNotEmpty,
        ChecksumMismatch,
        ClientError,
        ConditionalRequestConflict,
        EntityTooLarge,
        EntityTooSmall,
        ExpiredToken,
        InternalError,
        InvalidAccessKeyId,
        InvalidArgument,
        InvalidBucketName,
        InvalidPart,
        InvalidRange,
        InvalidRequest,
        LockError,
        LockLost,
        MalformedResponse,
        NoCredentialsError,
        NoSuchBucket,
        NoSuchKey,
        NoSuchUpload,
        NoSuchVersion,
        NotModified,
        ObjectChanged,
        PreconditionFailed,
        RequestTimeout,
        RequestTimeTooSkewed,
        S3LiteError,
        ServiceUnavailable,
        SignatureDoesNotMatch,
        SlowDown,
        TooManyRequests,
        TransportError,
        Unauthorized,
    )
    from .listing import Listing
    from .lock import DistributedLock
    from .multipart import MultipartUpload
    from .path import B2Path, PureB2Path, PureS3Path, S3Path, register_configuration_parameter
    from .response import Response
    from .retries import RetryPolicy
    from .s3 import DeleteResult, S3Session
    from .transport import Transport
