"""s3lite: a small, fast client for S3-compatible object storage and Backblaze B2.

`import s3lite` is cheap: every name below is imported on first use (PEP 562). Type checkers
see the same names through the explicit re-exports under `TYPE_CHECKING`.
"""

from __future__ import annotations

# `typing` is not imported at run time: it alone would cost more than the rest of this module.
# Type checkers treat a module-level `TYPE_CHECKING` name as true.
TYPE_CHECKING = False

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "AsyncB2Session",
    "AsyncS3Session",
    "B2Path",
    "B2Session",
    "BadDigest",
    "BodyNotReplayable",
    "BucketAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketNotEmpty",
    "ChecksumMismatch",
    "ClientError",
    "ConditionalRequestConflict",
    "ConfigError",
    "Conflict",
    "Conn",
    "Connection",
    "ConnectionFailed",
    "CredentialSourceError",
    "Credentials",
    "DeadlineExceeded",
    "DeleteObjectsError",
    "DeleteResult",
    "DistributedLock",
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
    "Listing",
    "LocalSeaweedFS",
    "LockError",
    "LockLost",
    "MalformedResponse",
    "MethodNotAllowed",
    "MultipartUpload",
    "NoCredentialsError",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "NoSuchVersion",
    "NotFound",
    "NotImplementedByServer",
    "NotModified",
    "ObjectChanged",
    "ObjectInfo",
    "Pool",
    "PreconditionFailed",
    "PureB2Path",
    "PureS3Path",
    "PureVersionedS3Path",
    "RequestTimeTooSkewed",
    "RequestTimeout",
    "Response",
    "RetryPolicy",
    "S3LiteError",
    "S3Path",
    "S3Session",
    "ServiceUnavailable",
    "SignatureDoesNotMatch",
    "SlowDown",
    "Throttled",
    "TooManyRequests",
    "Transport",
    "TransportError",
    "TransportTimeout",
    "Unauthorized",
    "UploadInfo",
    "VersionInfo",
    "VersionedS3Path",
    "__version__",
    "register_configuration_parameter",
]

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "S3Session": "s3",
    # The asyncio API (the `s3lite[async]` extra): imported only when named.
    "AsyncS3Session": "aio.s3",
    "AsyncB2Session": "aio.b2",
    "DeleteObjectsError": "deletes",
    "DeleteResult": "deletes",
    "B2Session": "b2",
    "Response": "response",
    "Listing": "listing",
    "ObjectInfo": "listing",
    "VersionInfo": "listing",
    "UploadInfo": "listing",
    "Transport": "transport",
    "BodyNotReplayable": "transport",
    "DeadlineExceeded": "transport",
    "RetryPolicy": "retries",
    "Credentials": "credentials",
    "CredentialSourceError": "credentials",
    "ConfigError": "config",
    "LocalSeaweedFS": "devserver",
    "DistributedLock": "lock",
    "S3Path": "path",
    "PureVersionedS3Path": "path",
    "VersionedS3Path": "path",
    "PureS3Path": "path",
    "B2Path": "path",
    "PureB2Path": "path",
    "register_configuration_parameter": "path",
    "MultipartUpload": "multipart",
    "Connection": "compat",
    "Conn": "compat",
    "Pool": "compat",
    "AccessDenied": "errors",
    "BadDigest": "errors",
    "BucketAlreadyExists": "errors",
    "BucketAlreadyOwnedByYou": "errors",
    "BucketNotEmpty": "errors",
    "ChecksumMismatch": "errors",
    "ClientError": "errors",
    "ConditionalRequestConflict": "errors",
    "Conflict": "errors",
    "ConnectionFailed": "errors",
    "EntityTooLarge": "errors",
    "EntityTooSmall": "errors",
    "ExpiredToken": "errors",
    "Forbidden": "errors",
    "InternalError": "errors",
    "InvalidAccessKeyId": "errors",
    "InvalidArgument": "errors",
    "InvalidBucketName": "errors",
    "InvalidDigest": "errors",
    "InvalidPart": "errors",
    "InvalidPartOrder": "errors",
    "InvalidRange": "errors",
    "InvalidRequest": "errors",
    "LockError": "errors",
    "LockLost": "errors",
    "MalformedResponse": "errors",
    "MethodNotAllowed": "errors",
    "NoCredentialsError": "errors",
    "NoSuchBucket": "errors",
    "NoSuchKey": "errors",
    "NoSuchUpload": "errors",
    "NoSuchVersion": "errors",
    "NotFound": "errors",
    "NotImplementedByServer": "errors",
    "NotModified": "errors",
    "ObjectChanged": "errors",
    "PreconditionFailed": "errors",
    "RequestTimeTooSkewed": "errors",
    "RequestTimeout": "errors",
    "S3LiteError": "errors",
    "ServiceUnavailable": "errors",
    "SignatureDoesNotMatch": "errors",
    "SlowDown": "errors",
    "Throttled": "errors",
    "TooManyRequests": "errors",
    "TransportError": "errors",
    "TransportTimeout": "errors",
    "Unauthorized": "errors",
}

if TYPE_CHECKING:
    from .aio.b2 import AsyncB2Session as AsyncB2Session
    from .aio.s3 import AsyncS3Session as AsyncS3Session
    from .b2 import B2Session as B2Session
    from .compat import Conn as Conn
    from .compat import Connection as Connection
    from .compat import Pool as Pool
    from .config import ConfigError as ConfigError
    from .credentials import Credentials as Credentials
    from .credentials import CredentialSourceError as CredentialSourceError
    from .deletes import DeleteObjectsError as DeleteObjectsError
    from .deletes import DeleteResult as DeleteResult
    from .devserver import LocalSeaweedFS as LocalSeaweedFS
    from .errors import AccessDenied as AccessDenied
    from .errors import BadDigest as BadDigest
    from .errors import BucketAlreadyExists as BucketAlreadyExists
    from .errors import BucketAlreadyOwnedByYou as BucketAlreadyOwnedByYou
    from .errors import BucketNotEmpty as BucketNotEmpty
    from .errors import ChecksumMismatch as ChecksumMismatch
    from .errors import ClientError as ClientError
    from .errors import ConditionalRequestConflict as ConditionalRequestConflict
    from .errors import Conflict as Conflict
    from .errors import ConnectionFailed as ConnectionFailed
    from .errors import EntityTooLarge as EntityTooLarge
    from .errors import EntityTooSmall as EntityTooSmall
    from .errors import ExpiredToken as ExpiredToken
    from .errors import Forbidden as Forbidden
    from .errors import InternalError as InternalError
    from .errors import InvalidAccessKeyId as InvalidAccessKeyId
    from .errors import InvalidArgument as InvalidArgument
    from .errors import InvalidBucketName as InvalidBucketName
    from .errors import InvalidDigest as InvalidDigest
    from .errors import InvalidPart as InvalidPart
    from .errors import InvalidPartOrder as InvalidPartOrder
    from .errors import InvalidRange as InvalidRange
    from .errors import InvalidRequest as InvalidRequest
    from .errors import LockError as LockError
    from .errors import LockLost as LockLost
    from .errors import MalformedResponse as MalformedResponse
    from .errors import MethodNotAllowed as MethodNotAllowed
    from .errors import NoCredentialsError as NoCredentialsError
    from .errors import NoSuchBucket as NoSuchBucket
    from .errors import NoSuchKey as NoSuchKey
    from .errors import NoSuchUpload as NoSuchUpload
    from .errors import NoSuchVersion as NoSuchVersion
    from .errors import NotFound as NotFound
    from .errors import NotImplementedByServer as NotImplementedByServer
    from .errors import NotModified as NotModified
    from .errors import ObjectChanged as ObjectChanged
    from .errors import PreconditionFailed as PreconditionFailed
    from .errors import RequestTimeout as RequestTimeout
    from .errors import RequestTimeTooSkewed as RequestTimeTooSkewed
    from .errors import S3LiteError as S3LiteError
    from .errors import ServiceUnavailable as ServiceUnavailable
    from .errors import SignatureDoesNotMatch as SignatureDoesNotMatch
    from .errors import SlowDown as SlowDown
    from .errors import Throttled as Throttled
    from .errors import TooManyRequests as TooManyRequests
    from .errors import TransportError as TransportError
    from .errors import TransportTimeout as TransportTimeout
    from .errors import Unauthorized as Unauthorized
    from .listing import Listing as Listing
    from .listing import ObjectInfo as ObjectInfo
    from .listing import UploadInfo as UploadInfo
    from .listing import VersionInfo as VersionInfo
    from .lock import DistributedLock as DistributedLock
    from .multipart import MultipartUpload as MultipartUpload
    from .path import B2Path as B2Path
    from .path import PureB2Path as PureB2Path
    from .path import PureS3Path as PureS3Path
    from .path import PureVersionedS3Path as PureVersionedS3Path
    from .path import S3Path as S3Path
    from .path import VersionedS3Path as VersionedS3Path
    from .path import register_configuration_parameter as register_configuration_parameter
    from .response import Response as Response
    from .retries import RetryPolicy as RetryPolicy
    from .s3 import S3Session as S3Session
    from .transport import BodyNotReplayable as BodyNotReplayable
    from .transport import DeadlineExceeded as DeadlineExceeded
    from .transport import Transport as Transport
else:
    # Hidden from type checkers: for them a module `__getattr__` would make any misspelt name
    # an `Any` instead of an error.

    def __getattr__(name: str) -> object:
        """Import a public name's module on first use and cache the name here."""
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 's3lite' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        """The public names, imported or not."""
        return list(__all__)
