"""B2 buckets, application keys, shared download URLs and any other native API call.

Operations (no I/O) and `B2BucketsMixin`, the `B2Session` methods that drive them.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .b2_calls import B2Context, api, bucket_id, find_bucket
from .b2_driver import B2Driver
from .b2_requests import json_list, json_str, millis_datetime, validate_bucket, validate_key
from .errors import BucketAlreadyExists, BucketAlreadyOwnedByYou, NoSuchBucket
from .operation import Operation
from .response import Response

__all__ = [
    "B2AppKey",
    "B2BucketsMixin",
    "call_api",
    "create_bucket",
    "create_key",
    "delete_bucket",
    "delete_key",
    "download_authorization",
    "key_params",
    "list_buckets",
    "shared_url",
]

_CAPABILITY_RE = re.compile(r"^[A-Za-z]{1,64}$")
_KEY_NAME_RE = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_API_NAME_RE = re.compile(r"^b2_[a-z0-9_]+$")


@dataclass(frozen=True)
class B2AppKey:
    """A new application key (`create_app_key`); the secret is left out of repr."""

    application_key_id: str
    application_key: str = field(repr=False)
    key_name: str
    capabilities: tuple[str, ...]
    bucket_id: str | None = None
    name_prefix: str | None = None
    expires: _dt.datetime | None = None

    def __str__(self) -> str:
        return repr(self)


# --- operations ----------------------------------------------------------------------------------


def list_buckets(ctx: B2Context) -> Operation[list[dict[str, Any]]]:
    """b2_list_buckets: the buckets the key can see (their ids are cached on the way)."""
    account = ctx.account
    params: dict[str, Any] = {"accountId": account.account_id}
    if account.allowed_bucket_id:
        params["bucketId"] = account.allowed_bucket_id
    _, obj = yield from api(ctx, "b2_list_buckets", params)
    buckets = []
    for entry in json_list(obj, "buckets"):
        if isinstance(entry, dict) and entry.get("accountId", account.account_id) == (
            account.account_id
        ):
            name, known = json_str(entry, "bucketName"), json_str(entry, "bucketId")
            ctx.slot.bucket_ids[name] = known
            buckets.append(
                {"name": name, "creation_date": None, "bucket_id": known,
                 "bucket_type": entry.get("bucketType")}
            )  # fmt: skip
    return buckets


def create_bucket(
    ctx: B2Context, bucket: str, bucket_type: str, object_lock: bool = False
) -> Operation[Response]:
    """b2_create_bucket; a name taken by this account is `BucketAlreadyOwnedByYou`."""
    params: dict[str, Any] = {
        "accountId": ctx.account.account_id, "bucketName": bucket, "bucketType": bucket_type,
    }  # fmt: skip
    if object_lock:
        params["fileLockEnabled"] = True
    try:
        response, obj = yield from api(ctx, "b2_create_bucket", params)
    except BucketAlreadyExists as exc:
        owned = True
        try:
            yield from find_bucket(ctx, bucket)
        except NoSuchBucket:
            owned = False
        if owned:
            raise BucketAlreadyOwnedByYou(
                exc.status, exc.code, exc.message, request_id=exc.request_id, resource=bucket,
            ) from None  # fmt: skip
        raise
    ctx.slot.bucket_ids[bucket] = json_str(obj, "bucketId")
    return response


def delete_bucket(ctx: B2Context, bucket: str) -> Operation[Response]:
    """b2_delete_bucket; the bucket's id is forgotten whatever the outcome."""
    known = yield from bucket_id(ctx, bucket)
    try:
        response, _ = yield from api(
            ctx, "b2_delete_bucket", {"accountId": ctx.account.account_id, "bucketId": known}
        )
    finally:
        ctx.slot.forget_bucket_id(known)
    return response


def key_params(
    capabilities: Iterable[str] | str,
    key_name: str,
    duration: int | None,
    bucket: str | None,
    prefix: str | None,
) -> dict[str, Any]:
    """b2_create_key's parameters but the account and bucket ids, checked."""
    caps = [capabilities] if isinstance(capabilities, str) else list(capabilities)
    if not caps or not all(isinstance(c, str) and _CAPABILITY_RE.match(c) for c in caps):
        raise ValueError(f"capabilities must be a non-empty list of names, got {caps!r}")
    if not isinstance(key_name, str) or not _KEY_NAME_RE.match(key_name):
        raise ValueError("key_name must be 1-100 letters, digits and '-'")
    if duration is not None and (
        not isinstance(duration, int) or not 1 <= duration <= 1000 * 24 * 3600
    ):
        raise ValueError("duration must be between 1 and 86400000 seconds")
    if prefix is not None and bucket is None:
        raise ValueError("a name prefix needs a bucket")
    if bucket is not None:
        validate_bucket(bucket)
    params: dict[str, Any] = {"capabilities": caps, "keyName": key_name}
    if duration is not None:
        params["validDurationInSeconds"] = duration
    if prefix is not None:
        params["namePrefix"] = prefix
    return params


def create_key(
    ctx: B2Context, params: Mapping[str, Any], bucket: str | None = None
) -> Operation[B2AppKey]:
    """b2_create_key with `key_params`, restricted to `bucket` if given."""
    body = {"accountId": ctx.account.account_id, **params}
    if bucket is not None:
        body["bucketId"] = yield from bucket_id(ctx, bucket)
    _, obj = yield from api(ctx, "b2_create_key", body)
    bucket_ids = obj.get("bucketIds")
    restricted = obj.get("bucketId")
    if restricted is None and isinstance(bucket_ids, list) and bucket_ids:
        restricted = bucket_ids[0]
    return B2AppKey(
        application_key_id=json_str(obj, "applicationKeyId"),
        application_key=json_str(obj, "applicationKey"),
        key_name=json_str(obj, "keyName"),
        capabilities=tuple(c for c in obj.get("capabilities") or () if isinstance(c, str)),
        bucket_id=restricted if isinstance(restricted, str) else None,
        name_prefix=obj.get("namePrefix") if isinstance(obj.get("namePrefix"), str) else None,
        expires=millis_datetime(obj.get("expirationTimestamp")),
    )


def delete_key(ctx: B2Context, application_key_id: str) -> Operation[None]:
    """b2_delete_key."""
    if not isinstance(application_key_id, str) or not application_key_id:
        raise ValueError("application_key_id must be a non-empty str")
    yield from api(ctx, "b2_delete_key", {"applicationKeyId": application_key_id})


def download_authorization(
    ctx: B2Context, bucket: str, prefix: str, seconds: int
) -> Operation[str]:
    """b2_get_download_authorization: a token for names starting with `prefix`, good for
    `seconds`."""
    params = {
        "bucketId": (yield from bucket_id(ctx, bucket)), "fileNamePrefix": prefix,
        "validDurationInSeconds": seconds,
    }  # fmt: skip
    _, obj = yield from api(ctx, "b2_get_download_authorization", params)
    return json_str(obj, "authorizationToken")


def shared_url(download_url: str, bucket: str, key: str, token: str) -> str:
    """The URL of `key` on the download host `download_url`, with a download token."""
    return (
        f"{download_url}/file/{bucket}/{quote(key, safe='/')}?Authorization={quote(token, safe='')}"
    )


def call_api(
    ctx: B2Context, api_name: str, params: Mapping[str, Any] | None, bucket: str | None = None
) -> Operation[dict[str, Any]]:
    """Any native API call by name; `bucket`'s id is added as `bucketId` unless given."""
    if not isinstance(api_name, str) or not _API_NAME_RE.match(api_name):
        raise ValueError(
            f"api_name must be a B2 operation such as 'b2_list_buckets', got {api_name!r}"
        )
    payload = dict(params or {})
    if bucket is not None and "bucketId" not in payload:
        payload["bucketId"] = yield from bucket_id(ctx, bucket)
    _, obj = yield from api(ctx, api_name, payload)
    return obj


# --- the sync driver -----------------------------------------------------------------------------


class B2BucketsMixin(B2Driver):
    """The bucket, key and shared-URL methods of `B2Session`."""

    def create_bucket(
        self,
        bucket: str | None = None,
        *,
        acl: str | None = None,
        bucket_type: str | None = None,
        object_lock: bool = False,
    ) -> Response:
        """Create a bucket: private unless `bucket_type='allPublic'` (or `acl='public-read'`).

        `bucket`: its name (default the session's bucket); `acl`: 'public-read' or 'private';
        `bucket_type`: B2's 'allPrivate' or 'allPublic'; `object_lock`: enable Object Lock (file
        retention) on it.
        """
        bucket = self._bucket(bucket)
        if bucket_type is None:
            if acl in (None, "private"):
                bucket_type = "allPrivate"
            elif acl == "public-read":
                bucket_type = "allPublic"
            else:
                raise ValueError(f"B2 buckets are private or public-read, not {acl!r}")
        return self.run(create_bucket(self._context(), bucket, bucket_type, object_lock))

    def delete_bucket(self, bucket: str | None = None) -> Response:
        """Delete an empty bucket (`BucketNotEmpty` while it holds any file version).

        `bucket`: the bucket (default the session's).
        """
        bucket = self._bucket(bucket)
        return self.run(delete_bucket(self._context(), bucket))

    def head_bucket(self, bucket: str | None = None) -> Response:
        """Check that a bucket exists and the key can see it (`NoSuchBucket` otherwise).

        `bucket`: the bucket (default the session's).
        """
        bucket = self._bucket(bucket)
        return self.run(find_bucket(self._context(), bucket))

    def set_bucket_versioning(self, enabled: bool, bucket: str | None = None) -> None:
        """B2 buckets always keep versions: `True` is accepted (nothing to do); turning it off
        is not possible (use lifecycle rules to expire old versions).

        `enabled`: must be True on B2. `bucket`: the bucket (default the session's).
        """
        self._bucket(bucket)
        if not enabled:
            raise ValueError("B2 buckets always keep every version; versioning cannot be suspended")

    def list_buckets(self) -> list[dict[str, Any]]:
        """The buckets the key can see, as dicts with name, creation_date (None: B2 does not
        say), bucket_id and bucket_type."""
        return self.run(list_buckets(self._context()))

    def create_app_key(
        self,
        capabilities: Iterable[str],
        key_name: str,
        *,
        duration: int | None = None,
        bucket: str | None = None,
        prefix: str | None = None,
    ) -> B2AppKey:
        """Create an application key (b2_create_key) with these capabilities, optionally
        restricted to one bucket (and a file name prefix in it) and expiring after `duration`
        seconds.

        `capabilities`: B2 capability names such as 'listFiles', 'readFiles'; `key_name`: the key's
        name; `duration`: seconds until it expires (default never); `bucket`: restrict it to this
        bucket; `prefix`: and to names starting with this.
        """
        params = key_params(capabilities, key_name, duration, bucket, prefix)
        return self.run(create_key(self._context(), params, bucket))

    def delete_app_key(self, application_key_id: str) -> None:
        """Delete an application key (b2_delete_key).

        `application_key_id`: the id of the key to delete.
        """
        if not isinstance(application_key_id, str) or not application_key_id:
            raise ValueError("application_key_id must be a non-empty str")
        self.run(delete_key(self._context(), application_key_id))

    def presign(
        self,
        method: str,
        key: str,
        expires_in: int | _dt.timedelta = 3600,
        *,
        bucket: str | None = None,
        prefix: str | None = None,
    ) -> str:
        """A download URL for `key` that works without credentials for `expires_in` (seconds
        or a timedelta, 1 s .. 7 days): the file's URL with a download-authorization token
        (b2_get_download_authorization) for the name prefix `prefix` (default: the key itself,
        so it also opens names that start with the key). GET and HEAD only.

        `method`: 'GET' or 'HEAD'. `bucket`: the bucket (default the session's).
        """
        method = method.upper()
        if method not in ("GET", "HEAD"):
            raise ValueError(f"B2 presigns downloads only (GET, HEAD), not {method!r}")
        validate_key(key)
        bucket = self._bucket(bucket)
        from .arguments import presign_seconds

        seconds = presign_seconds(expires_in)
        if prefix is None:
            prefix = key
        elif not isinstance(prefix, str) or not key.startswith(prefix):
            raise ValueError("the key must start with prefix")
        ctx = self._context()
        token = self.run(download_authorization(ctx, bucket, prefix, seconds))
        return shared_url(self._download_url or ctx.account.download_url, bucket, key, token)

    def request(
        self,
        api_name: str,
        params: Mapping[str, Any] | None = None,
        *,
        bucket: str | None = None,
    ) -> dict[str, Any]:
        """Call any B2 native API operation that s3lite does not wrap and return its JSON
        reply as a dict; errors are typed as for every other call.

        `api_name`: the operation, e.g. ``"b2_get_bucket_notification_rules"`` (sent to the
        API URL of this account's authorization, with its token). `params`: the JSON
        parameters. `bucket`: a bucket name whose id is added as ``bucketId`` (the one
        most operations need); `session.account_id` gives ``accountId``.
        """
        if not isinstance(api_name, str) or not _API_NAME_RE.match(api_name):
            raise ValueError(
                f"api_name must be a B2 operation such as 'b2_list_buckets', got {api_name!r}"
            )
        if bucket is not None:
            bucket = self._bucket(bucket)
        return self.run(call_api(self._context(), api_name, params, bucket))

    @property
    def account_id(self) -> str:
        """The account id of this session's key (from b2_authorize_account)."""
        return self._account().account_id
