"""The bucket, key, shared-URL and raw API methods of `AsyncB2Session`: the operations of
`s3lite.b2_buckets`, driven on the loop."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

from ..b2_buckets import (
    B2AppKey,
    B2BucketsMixin,
    call_api,
    create_bucket,
    create_key,
    delete_bucket,
    delete_key,
    download_authorization,
    key_params,
    list_buckets,
    shared_url,
)
from ..b2_calls import find_bucket
from ..b2_requests import validate_key
from .b2_large_files import AsyncB2LargeFilesMixin
from .docs import mirrors
from .response import AsyncResponse

__all__ = ["AsyncB2BucketsMixin"]

_API_NAME = re.compile(r"^b2_[a-z0-9_]+$")


class AsyncB2BucketsMixin(AsyncB2LargeFilesMixin):
    """Buckets, application keys, presigned downloads, any native API call."""

    @mirrors(B2BucketsMixin.create_bucket)
    async def create_bucket(
        self,
        bucket: str | None = None,
        *,
        acl: str | None = None,
        bucket_type: str | None = None,
        object_lock: bool = False,
    ) -> AsyncResponse:
        bucket = await self._resolve_bucket(bucket)
        if bucket_type is None:
            if acl in (None, "private"):
                bucket_type = "allPrivate"
            elif acl == "public-read":
                bucket_type = "allPublic"
            else:
                raise ValueError(f"B2 buckets are private or public-read, not {acl!r}")
        ctx = await self._context()
        response = await self.run(create_bucket(ctx, bucket, bucket_type, object_lock))
        return cast("AsyncResponse", response)

    @mirrors(B2BucketsMixin.delete_bucket)
    async def delete_bucket(self, bucket: str | None = None) -> AsyncResponse:
        bucket = await self._resolve_bucket(bucket)
        response = await self.run(delete_bucket(await self._context(), bucket))
        return cast("AsyncResponse", response)

    @mirrors(B2BucketsMixin.head_bucket)
    async def head_bucket(self, bucket: str | None = None) -> AsyncResponse:
        bucket = await self._resolve_bucket(bucket)
        response = await self.run(find_bucket(await self._context(), bucket))
        return cast("AsyncResponse", response)

    @mirrors(B2BucketsMixin.set_bucket_versioning)
    async def set_bucket_versioning(self, enabled: bool, bucket: str | None = None) -> None:
        await self._resolve_bucket(bucket)
        if not enabled:
            raise ValueError("B2 buckets always keep every version; versioning cannot be suspended")

    @mirrors(B2BucketsMixin.list_buckets)
    async def list_buckets(self) -> list[dict[str, Any]]:
        return await self.run(list_buckets(await self._context()))

    @mirrors(B2BucketsMixin.create_app_key)
    async def create_app_key(
        self,
        capabilities: Iterable[str],
        key_name: str,
        *,
        duration: int | None = None,
        bucket: str | None = None,
        prefix: str | None = None,
    ) -> B2AppKey:
        params = key_params(capabilities, key_name, duration, bucket, prefix)
        return await self.run(create_key(await self._context(), params, bucket))

    @mirrors(B2BucketsMixin.delete_app_key)
    async def delete_app_key(self, application_key_id: str) -> None:
        if not isinstance(application_key_id, str) or not application_key_id:
            raise ValueError("application_key_id must be a non-empty str")
        await self.run(delete_key(await self._context(), application_key_id))

    @mirrors(B2BucketsMixin.presign)
    async def presign(
        self,
        method: str,
        key: str,
        expires_in: int | _dt.timedelta = 3600,
        *,
        bucket: str | None = None,
        prefix: str | None = None,
    ) -> str:
        # B2 has no signed URLs: a download authorization is asked for, so this one awaits.
        method = method.upper()
        if method not in ("GET", "HEAD"):
            raise ValueError(f"B2 presigns downloads only (GET, HEAD), not {method!r}")
        validate_key(key)
        bucket = await self._resolve_bucket(bucket)
        from ..arguments import presign_seconds

        seconds = presign_seconds(expires_in)
        if prefix is None:
            prefix = key
        elif not isinstance(prefix, str) or not key.startswith(prefix):
            raise ValueError("the key must start with prefix")
        ctx = await self._context()
        token = await self.run(download_authorization(ctx, bucket, prefix, seconds))
        return shared_url(self._download_url or ctx.account.download_url, bucket, key, token)

    @mirrors(B2BucketsMixin.request)
    async def request(
        self,
        api_name: str,
        params: Mapping[str, Any] | None = None,
        *,
        bucket: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(api_name, str) or not _API_NAME.match(api_name):
            raise ValueError(
                f"api_name must be a B2 operation such as 'b2_list_buckets', got {api_name!r}"
            )
        if bucket is not None:
            bucket = await self._resolve_bucket(bucket)
        return await self.run(call_api(await self._context(), api_name, params, bucket))

    @property
    def account_id(self) -> str:
        """The account id of this session's key (known once the session has authorized: any
        call does that)."""
        account = self._slot.cached() or self._seen
        if account is None:
            raise RuntimeError("the session has not authorized yet: make a call first")
        return account.account_id
