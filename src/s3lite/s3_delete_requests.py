"""DeleteObjects as an operation: many keys (or every key under a prefix, with every version
when purging) deleted in batches of 1000, each batch's failures collected, not raised.

Apart from `s3_requests` (one object at a time) so that a session loads it, with the
listings it walks, only when it first deletes many keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import s3xml
from .deletes import DeleteResult, delete_entries
from .errors import ClientError, MalformedResponse, NoSuchBucket, TransportError
from .s3_endpoint import S3Endpoint, content_md5, document_call, validate_key
from .s3_listing_requests import Pages, list_object_versions, list_objects, next_markers

if TYPE_CHECKING:
    from .operation import Operation

__all__ = ["delete_objects"]


class _Batches:
    """Keys to delete, sent in DeleteObjects batches of 1000 as they fill up."""

    def __init__(
        self, endpoint: S3Endpoint, bucket: str, headers: Mapping[str, str] | None
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.headers = headers
        self.batch: list[tuple[str, str | None]] = []
        self.result = DeleteResult()

    def add(self, key: str, version: str | None) -> Operation[None]:
        self.batch.append((key, version))
        if len(self.batch) == 1000:
            yield from self.flush()

    def flush(self) -> Operation[None]:
        if self.batch:
            batch, self.batch = self.batch, []
            yield from _delete_batch(self.endpoint, self.bucket, batch, self.result, self.headers)


def _delete_batch(
    endpoint: S3Endpoint,
    bucket: str,
    batch: list[tuple[str, str | None]],
    result: DeleteResult,
    headers: Mapping[str, str] | None,
) -> Operation[None]:
    body = s3xml.delete_objects_body(batch, quiet=False)
    hdrs = {"Content-Type": "application/xml", "Content-MD5": content_md5(body)}
    if headers:
        hdrs.update(headers)
    try:
        response = yield document_call(
            endpoint.build("POST", bucket, None, [("delete", "")], hdrs, body)
        )
        deleted, errors = s3xml.parse_delete_result(response.data)
    except (ClientError, TransportError, MalformedResponse) as exc:
        # The whole batch failed: go on with the next, report it (its error is the cause of
        # the DeleteObjectsError). A missing bucket has nothing to go on with.
        if isinstance(exc, NoSuchBucket):
            raise
        result.fail_batch(batch, exc)
        return
    result.deleted.extend(deleted)
    result.errors.extend(errors)


def _delete_listed(
    pages: Pages[Any], prefix: str, exact: bool, versions: bool, batches: _Batches
) -> Operation[bool]:
    """Queue every listed key (exactly `prefix` when `exact`) for deletion, with its version
    id when `versions`; whether any was found."""
    found = False
    marker: str | None = None
    version_marker: str | None = None
    while True:
        page = yield from pages.page(marker, version_marker)
        for item in page.items:
            if not exact or item["key"] == prefix:
                found = True
                yield from batches.add(item["key"], item.get("version_id") if versions else None)
        following = next_markers(page, marker, version_marker)
        if following is None:
            return found
        marker, version_marker = following


def _delete_versions(
    endpoint: S3Endpoint, bucket: str, prefix: str, exact: bool, batches: _Batches
) -> Operation[bool]:
    """Queue every version and delete marker under `prefix` (or of exactly that key); plain
    keys on a server without versioning. Whether any was found."""
    try:
        return (
            yield from _delete_listed(
                list_object_versions(endpoint, prefix, bucket=bucket), prefix, exact, True, batches
            )
        )
    except ClientError as exc:
        if exc.status not in (400, 404, 405, 501) or isinstance(exc, NoSuchBucket):
            raise
    plain = list_objects(endpoint, prefix, bucket=bucket)
    return (yield from _delete_listed(plain, prefix, exact, False, batches))


def delete_objects(
    endpoint: S3Endpoint,
    keys: Iterable[str | tuple[str, str | None] | Mapping[str, Any]] | None = None,
    prefix: str | None = None,
    purge: bool = False,
    *,
    bucket: str | None = None,
    raise_errors: bool = True,
    headers: Mapping[str, str] | None = None,
) -> Operation[DeleteResult]:
    """DeleteObjects in batches of 1000, of `keys` or of every key under `prefix`, with
    every version when `purge` (see `S3Session.delete_objects`)."""
    if (keys is None) == (prefix is None):
        raise ValueError("pass either keys or prefix")
    bucket = endpoint.resolve_bucket(bucket)
    batches = _Batches(endpoint, bucket, headers)
    if prefix is not None:
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        if purge:
            yield from _delete_versions(endpoint, bucket, prefix, False, batches)
        else:
            pages = list_objects(endpoint, prefix, bucket=bucket)
            yield from _delete_listed(pages, prefix, False, False, batches)
    else:
        for key, version in delete_entries(keys, validate_key):
            if purge and version is None:
                found = yield from _delete_versions(endpoint, bucket, key, True, batches)
                if not found:
                    yield from batches.add(key, None)
            else:
                yield from batches.add(key, version)
    yield from batches.flush()
    result = batches.result
    return result.raise_errors() if raise_errors else result
