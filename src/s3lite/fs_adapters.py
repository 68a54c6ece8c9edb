"""s3lite spelt the way fsspec callers expect: its errors as OSErrors, objects and
directories as fsspec info dicts (with s3fs's extra keys), progress as an fsspec Callback."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .errors import (
    AccessDenied,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    ClientError,
    ExpiredToken,
    InvalidAccessKeyId,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NoSuchVersion,
    SignatureDoesNotMatch,
    Unauthorized,
)

if TYPE_CHECKING:
    import datetime as _dt

__all__ = ["callback_progress", "dir_entry", "file_entry", "translated_errors"]


@contextlib.contextmanager
def translated_errors(path: str) -> Iterator[None]:
    """Raise the OSError subclasses fsspec callers expect instead of s3lite's client errors."""
    try:
        yield
    except (NoSuchKey, NoSuchBucket, NoSuchVersion, NoSuchUpload) as exc:
        raise FileNotFoundError(
            errno.ENOENT, f"no such object or bucket: {exc.code}", path
        ) from exc
    except (
        AccessDenied,
        InvalidAccessKeyId,
        SignatureDoesNotMatch,
        ExpiredToken,
        Unauthorized,
    ) as exc:
        raise PermissionError(errno.EACCES, f"access denied: {exc.code}", path) from exc
    except BucketNotEmpty as exc:
        raise OSError(errno.ENOTEMPTY, "bucket is not empty", path) from exc
    except (BucketAlreadyOwnedByYou, BucketAlreadyExists) as exc:
        raise FileExistsError(errno.EEXIST, f"bucket exists: {exc.code}", path) from exc
    except ClientError as exc:
        if exc.status == 404:
            raise FileNotFoundError(errno.ENOENT, "not found", path) from exc
        if exc.status == 403:
            raise PermissionError(errno.EACCES, "access denied", path) from exc
        raise


def file_entry(
    name: str,
    size: int,
    etag: str | None,
    modified: _dt.datetime | None,
    storage_class: str | None = None,
    version_id: str | None = None,
    content_type: str | None = None,
) -> dict[str, Any]:
    """An fsspec info dict for an object, with s3fs's extra keys."""
    entry: dict[str, Any] = {
        "name": name,
        "size": size,
        "type": "file",
        "Key": name,
        "Size": size,
        "ETag": etag,
        "LastModified": modified,
        "StorageClass": storage_class or "STANDARD",
    }
    if version_id is not None:
        entry["VersionId"] = version_id
    if content_type is not None:
        entry["ContentType"] = content_type
    return entry


def dir_entry(name: str) -> dict[str, Any]:
    """An fsspec info dict for a bucket or a prefix with objects under it."""
    return {
        "name": name,
        "size": 0,
        "type": "directory",
        "Key": name,
        "Size": 0,
        "StorageClass": "DIRECTORY",
    }


def callback_progress(callback: Any) -> Callable[[int, int | None], None] | None:
    """s3lite's progress(done, total) reported to an fsspec Callback (None: no reporting)."""
    if callback is None:
        return None

    def progress(done: int, total: int | None) -> None:
        if total is not None:
            callback.set_size(total)
        callback.absolute_update(done)

    return progress
