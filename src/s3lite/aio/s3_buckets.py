"""AsyncS3Session's bucket-level calls: buckets (create, delete, head, list, versioning), object
tags, bucket policies, lifecycle rules and Object Lock configuration, as coroutines.

Each runs the operation of `s3lite.s3_bucket_requests` the sync method runs; the docstrings
are the sync methods' (`S3BucketsMixin`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from .. import s3_bucket_requests as ops
from ..s3_buckets import S3BucketsMixin
from .docs import mirrors
from .s3_driver import AsyncS3Driver

if TYPE_CHECKING:
    from .response import AsyncResponse

__all__ = ["AsyncS3BucketsMixin"]


class AsyncS3BucketsMixin(AsyncS3Driver):
    """Buckets and their configuration; object tags (awaitable)."""

    @mirrors(S3BucketsMixin.create_bucket)
    async def create_bucket(
        self,
        bucket: str | None = None,
        *,
        region: str | None = None,
        acl: str | None = None,
        object_lock: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncResponse:
        return await self._respond(
            ops.create_bucket(
                self._endpoint, bucket, region=region, acl=acl, object_lock=object_lock,
                headers=headers,
            )
        )  # fmt: skip

    @mirrors(S3BucketsMixin.delete_bucket)
    async def delete_bucket(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> AsyncResponse:
        return await self._respond(ops.delete_bucket(self._endpoint, bucket, headers=headers))

    @mirrors(S3BucketsMixin.head_bucket)
    async def head_bucket(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> AsyncResponse:
        return await self._respond(ops.head_bucket(self._endpoint, bucket, headers=headers))

    @mirrors(S3BucketsMixin.set_bucket_versioning)
    async def set_bucket_versioning(
        self,
        enabled: bool,
        bucket: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncResponse:
        return await self._respond(
            ops.set_bucket_versioning(self._endpoint, enabled, bucket, headers=headers)
        )

    @mirrors(S3BucketsMixin.list_buckets)
    async def list_buckets(
        self, *, headers: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        return await self.run(ops.list_buckets(self._endpoint, headers=headers))

    @mirrors(S3BucketsMixin.put_object_tagging)
    async def put_object_tagging(
        self,
        key: str,
        tags: Mapping[str, str],
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncResponse:
        return await self._respond(
            ops.put_object_tagging(
                self._endpoint, key, tags, bucket=bucket, version_id=version_id, headers=headers
            )
        )

    @mirrors(S3BucketsMixin.get_object_tagging)
    async def get_object_tagging(
        self,
        key: str,
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        return await self.run(
            ops.get_object_tagging(
                self._endpoint, key, bucket=bucket, version_id=version_id, headers=headers
            )
        )

    @mirrors(S3BucketsMixin.delete_object_tagging)
    async def delete_object_tagging(
        self,
        key: str,
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncResponse:
        return await self._respond(
            ops.delete_object_tagging(
                self._endpoint, key, bucket=bucket, version_id=version_id, headers=headers
            )
        )

    @mirrors(S3BucketsMixin.put_bucket_policy)
    async def put_bucket_policy(
        self,
        policy: str | Mapping[str, Any],
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncResponse:
        return await self._respond(
            ops.put_bucket_policy(self._endpoint, policy, bucket=bucket, headers=headers)
        )

    @mirrors(S3BucketsMixin.get_bucket_policy)
    async def get_bucket_policy(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> str | None:
        return await self.run(ops.get_bucket_policy(self._endpoint, bucket, headers=headers))

    @mirrors(S3BucketsMixin.delete_bucket_policy)
    async def delete_bucket_policy(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> AsyncResponse:
        return await self._respond(
            ops.delete_bucket_policy(self._endpoint, bucket, headers=headers)
        )

    @mirrors(S3BucketsMixin.put_bucket_lifecycle_configuration)
    async def put_bucket_lifecycle_configuration(
        self,
        rules: Iterable[Mapping[str, Any]] | Mapping[str, Any],
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncResponse:
        return await self._respond(
            ops.put_bucket_lifecycle_configuration(
                self._endpoint, rules, bucket=bucket, headers=headers
            )
        )

    @mirrors(S3BucketsMixin.get_bucket_lifecycle_configuration)
    async def get_bucket_lifecycle_configuration(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        return await self.run(
            ops.get_bucket_lifecycle_configuration(self._endpoint, bucket, headers=headers)
        )

    @mirrors(S3BucketsMixin.delete_bucket_lifecycle)
    async def delete_bucket_lifecycle(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> AsyncResponse:
        return await self._respond(
            ops.delete_bucket_lifecycle(self._endpoint, bucket, headers=headers)
        )

    @mirrors(S3BucketsMixin.get_object_lock_config)
    async def get_object_lock_config(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        return await self.run(ops.get_object_lock_config(self._endpoint, bucket, headers=headers))

    @mirrors(S3BucketsMixin.put_object_lock_config)
    async def put_object_lock_config(
        self,
        lock: bool = False,
        *,
        mode: Literal["GOVERNANCE", "COMPLIANCE"] | None = None,
        days: int | None = None,
        years: int | None = None,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncResponse:
        return await self._respond(
            ops.put_object_lock_config(
                self._endpoint, lock, mode=mode, days=days, years=years, bucket=bucket,
                headers=headers,
            )
        )  # fmt: skip
