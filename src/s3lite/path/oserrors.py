"""pathlib's errors for paths of buckets: service errors raised as `FileNotFoundError`,
`PermissionError`... (the service error as their cause), and what S3 has no notion of."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from typing import NoReturn

from ..errors import (
    AccessDenied,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    ClientError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
    Unauthorized,
)

__all__ = ["OwnerNotFound", "os_error", "pathlib_error", "pathlib_errors", "unsupported"]


def pathlib_error(err: BaseException, path: object) -> OSError | None:
    """pathlib's exception for a service error, or None when pathlib has none."""
    if isinstance(err, (NoSuchKey, NoSuchBucket, NoSuchVersion)):
        cls: type[OSError] = FileNotFoundError
        code = errno.ENOENT
    elif isinstance(err, (AccessDenied, Unauthorized)):
        cls, code = PermissionError, errno.EACCES
    elif isinstance(err, BucketNotEmpty):
        cls, code = OSError, errno.ENOTEMPTY
    elif isinstance(err, (BucketAlreadyExists, BucketAlreadyOwnedByYou)):
        cls, code = FileExistsError, errno.EEXIST
    else:
        return None
    return cls(code, f"{os.strerror(code)} ({err})", str(path))


@contextlib.contextmanager
def pathlib_errors(path: object) -> Iterator[None]:
    """Raise service errors as pathlib's (FileNotFoundError...), the service error as the
    cause; errors pathlib has no name for pass unchanged."""
    try:
        yield
    except ClientError as err:
        exc = pathlib_error(err, path)
        if exc is None:
            raise
        raise exc from err


def os_error(cls: type[OSError], code: int, path: object, cause: str = "") -> OSError:
    """An OSError of class `cls` for `path`: errno `code`, its text and the `cause`."""
    text = os.strerror(code) + (f" ({cause})" if cause else "")
    return cls(code, text, str(path))


class OwnerNotFound(FileNotFoundError, KeyError):
    """owner() of what is not an object: pathlib's FileNotFoundError, s3path's KeyError."""

    def __str__(self) -> str:
        return FileNotFoundError.__str__(self)


def unsupported(method: str) -> NoReturn:
    """Refuse `method`: s3path's NotImplementedError, never a made-up answer."""
    raise NotImplementedError(f"{method} is unsupported on S3 service (S3 has no such notion)")
