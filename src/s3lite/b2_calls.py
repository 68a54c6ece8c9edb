"""How B2 operations address the service: the building blocks every operation is made of.

A `B2Context` is what an operation needs to address B2 (the account's authorization, the
key's caches, a download host override); `api` is one JSON API call, `bucket_id` the name ->
id lookup every bucket-scoped call starts with, `send_upload` an upload on a pooled upload
URL, `download_request` a download by name or by file id. All are operations (generators
yielding `Call`s) or pure functions: no I/O, whichever driver runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .b2_auth import AuthSlot, UploadAuth, UploadTarget, parse_upload_target
from .b2_requests import (
    API_VERSION,
    MAX_JSON_BYTES,
    Account,
    api_call,
    json_list,
    json_str,
    no_such_upload,
    read_json,
)
from .errors import ClientError, InvalidRequest, NoSuchBucket
from .operation import Call, Operation
from .response import Response
from .transport import Request

__all__ = [
    "B2Context",
    "api",
    "bucket_id",
    "download_request",
    "find_bucket",
    "get_upload_part_url",
    "get_upload_url",
    "send_upload",
]


@dataclass(frozen=True)
class B2Context:
    """What an operation needs to address B2: the account's authorization, the key's
    process-wide caches (bucket ids, upload URLs) and a download host to use instead of the
    account's (scheme, host, base path), if any."""

    account: Account
    slot: AuthSlot
    download: tuple[str, str, str] | None = None


def api(
    ctx: B2Context, name: str, params: Mapping[str, Any]
) -> Operation[tuple[Response, dict[str, Any]]]:
    """One JSON API call: its response and JSON object. A bucket id the service no longer
    knows (NoSuchBucket) is forgotten, so the next call looks the name up again."""
    try:
        response = yield api_call(ctx.account, name, params)
    except NoSuchBucket:
        known = params.get("bucketId")
        if isinstance(known, str):
            ctx.slot.forget_bucket_id(known)
        raise
    return response, read_json(response)


def bucket_id(ctx: B2Context, bucket: str) -> Operation[str]:
    """The id of a bucket name: cached per key, else looked up (b2_list_buckets)."""
    known = ctx.slot.bucket_ids.get(bucket)
    if known is not None:
        return known
    yield from find_bucket(ctx, bucket)
    return ctx.slot.bucket_ids[bucket]


def find_bucket(ctx: B2Context, bucket: str) -> Operation[Response]:
    """b2_list_buckets for one name; caches its id, or raises NoSuchBucket."""
    account = ctx.account
    response, obj = yield from api(
        ctx, "b2_list_buckets", {"accountId": account.account_id, "bucketName": bucket}
    )
    for entry in json_list(obj, "buckets"):
        if (
            isinstance(entry, dict)
            and entry.get("bucketName") == bucket
            and entry.get("accountId", account.account_id) == account.account_id
        ):
            ctx.slot.bucket_ids[bucket] = json_str(entry, "bucketId")
            return response
    raise NoSuchBucket(
        404, "NoSuchBucket", "The specified bucket does not exist (or the key cannot see it)",
        resource=bucket,
    )  # fmt: skip


def get_upload_url(ctx: B2Context, bucket_id: str) -> Operation[UploadTarget]:
    """b2_get_upload_url: a fresh upload URL (and its token) for the bucket."""
    _, obj = yield from api(ctx, "b2_get_upload_url", {"bucketId": bucket_id})
    return parse_upload_target(obj)


def get_upload_part_url(ctx: B2Context, file_id: str) -> Operation[UploadTarget]:
    """b2_get_upload_part_url: a fresh part upload URL for the large file."""
    try:
        _, obj = yield from api(ctx, "b2_get_upload_part_url", {"fileId": file_id})
    except InvalidRequest as exc:
        raise no_such_upload(exc, file_id) from None
    return parse_upload_target(obj)


def send_upload(
    ctx: B2Context,
    request: Request,
    pool: str,
    fetch: Callable[[], Operation[UploadTarget]],
) -> Operation[tuple[Response, dict[str, Any]]]:
    """Send an upload on a pooled upload URL of `pool` (fresh ones, from `fetch`, on
    retries); the URL that worked goes back to the pool."""
    target = ctx.slot.take_upload(pool)
    if target is None:
        target = yield from fetch()
    auth = UploadAuth(target, fetch)
    request.scheme, request.host, request.path = target.scheme, target.host, target.path
    try:
        response = yield Call(request, max_body=MAX_JSON_BYTES, auth=auth)
        obj = read_json(response)
    except ClientError as exc:
        # A plain refusal of the one upload attempt (bad name, no capability...): the URL
        # itself is fine. After a retry the error may be about fetching a new URL.
        if auth.attempts == 1 and exc.status < 500 and exc.status not in (401, 408, 429):
            ctx.slot.give_upload(pool, auth.target)
        raise
    ctx.slot.give_upload(pool, auth.target)
    return response, obj


def download_request(
    ctx: B2Context,
    method: str,
    bucket: str,
    key: str,
    version_id: str | None,
    headers: dict[str, str],
) -> Request:
    """A download (GET or HEAD) of a file by name, or by file id with `version_id`."""
    account = ctx.account
    if version_id:
        if not isinstance(version_id, str):
            raise TypeError("version_id must be a str (a B2 file id)")
        path = f"{account.download_base}/b2api/{API_VERSION}/b2_download_file_by_id"
        query = "fileId=" + quote(version_id, safe="")
    else:
        path = f"{account.download_base}/file/{bucket}/{quote(key, safe='/')}"
        query = ""
    if ctx.download is not None:
        scheme, host, base = ctx.download
        path = base + path[len(account.download_base) :]
        return Request(method, scheme, host, path, query, headers)
    return Request(method, account.download_scheme, account.download_host, path, query, headers)
