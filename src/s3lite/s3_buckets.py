"""S3Session's bucket-level calls: buckets (create, delete, head, list, versioning), object
tags, bucket policies, lifecycle rules and Object Lock configuration.

Each is one operation of `s3lite.s3_bucket_requests` run by the session's driver,
imported on first use (object reads and writes never load it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from .s3_driver import S3Driver

if TYPE_CHECKING:
    from .response import Response

__all__ = ["S3BucketsMixin"]


class S3BucketsMixin(S3Driver):
    """Buckets and their configuration; object tags."""

    def create_bucket(
        self,
        bucket: str | None = None,
        *,
        region: str | None = None,
        acl: str | None = None,
        object_lock: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Create a bucket (in `region`, default the session's).

        `bucket`: its name (default the session's bucket); `acl`: a canned ACL such as 'private' or
        'public-read'; `object_lock`: enable Object Lock on it (S3 then keeps versions).
        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(
            ops.create_bucket(
                self._endpoint, bucket, region=region, acl=acl, object_lock=object_lock,
                headers=headers,
            )
        )  # fmt: skip

    def delete_bucket(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Delete an (empty) bucket.

        `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(ops.delete_bucket(self._endpoint, bucket, headers=headers))

    def head_bucket(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Check that a bucket exists and is accessible (`NoSuchBucket` otherwise).

        `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(ops.head_bucket(self._endpoint, bucket, headers=headers))

    def set_bucket_versioning(
        self,
        enabled: bool,
        bucket: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Turn versioning on (or suspend it) for a bucket.

        `enabled`: True to turn versioning on, False to suspend it. `bucket`: the bucket (default
        the session's).
        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(ops.set_bucket_versioning(self._endpoint, enabled, bucket, headers=headers))

    def list_buckets(self, *, headers: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every bucket the credentials own, as dicts with name and creation_date.

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(ops.list_buckets(self._endpoint, headers=headers))

    def put_object_tagging(
        self,
        key: str,
        tags: Mapping[str, str],
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Replace the tags of object `key` (or of one version, `version_id`) in `bucket`
        with `tags`, a dict of str to str (S3 allows up to 10).

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(
            ops.put_object_tagging(
                self._endpoint, key, tags, bucket=bucket, version_id=version_id, headers=headers
            )
        )

    def get_object_tagging(
        self,
        key: str,
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The tags of object `key` (or of one version, `version_id`) in `bucket`, as a
        dict ({} when it has none).

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(
            ops.get_object_tagging(
                self._endpoint, key, bucket=bucket, version_id=version_id, headers=headers
            )
        )

    def delete_object_tagging(
        self,
        key: str,
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Remove every tag from object `key` (or from one version, `version_id`).

        `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(
            ops.delete_object_tagging(
                self._endpoint, key, bucket=bucket, version_id=version_id, headers=headers
            )
        )

    def put_bucket_policy(
        self,
        policy: str | Mapping[str, Any],
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Set the bucket policy of `bucket`: `policy` is the JSON text or a dict.

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(
            ops.put_bucket_policy(self._endpoint, policy, bucket=bucket, headers=headers)
        )

    def get_bucket_policy(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> str | None:
        """The bucket policy of `bucket` as JSON text (`json.loads` it), or None when the
        bucket has none.

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(ops.get_bucket_policy(self._endpoint, bucket, headers=headers))

    def delete_bucket_policy(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Remove the bucket policy of `bucket` (succeeds when there is none).

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(ops.delete_bucket_policy(self._endpoint, bucket, headers=headers))

    def put_bucket_lifecycle_configuration(
        self,
        rules: Iterable[Mapping[str, Any]] | Mapping[str, Any],
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Replace the lifecycle rules of `bucket`. `rules` is a list of rule dicts in
        boto3's shape, e.g. ``{"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix":
        "tmp/"}, "Expiration": {"Days": 7}}``, or boto3's ``{"Rules": [...]}``.

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(
            ops.put_bucket_lifecycle_configuration(
                self._endpoint, rules, bucket=bucket, headers=headers
            )
        )

    def get_bucket_lifecycle_configuration(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The lifecycle rules of `bucket`, as dicts in boto3's shape ([] when none):
        element names as keys, repeated elements as lists (Rules, Transitions, Tags), days
        and sizes as ints, dates as S3's text.

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(
            ops.get_bucket_lifecycle_configuration(self._endpoint, bucket, headers=headers)
        )

    def delete_bucket_lifecycle(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Remove every lifecycle rule of `bucket`.

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(ops.delete_bucket_lifecycle(self._endpoint, bucket, headers=headers))

    def get_object_lock_config(
        self, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The Object Lock configuration of `bucket` in boto3's shape, e.g.
        ``{"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode":
        "GOVERNANCE", "Days": 1}}}``; {} when Object Lock is not enabled on it.

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(ops.get_object_lock_config(self._endpoint, bucket, headers=headers))

    def put_object_lock_config(
        self,
        lock: bool = False,
        *,
        mode: Literal["GOVERNANCE", "COMPLIANCE"] | None = None,
        days: int | None = None,
        years: int | None = None,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Enable Object Lock on `bucket` (`lock=True`; S3 cannot turn it off again, so
        False is refused) and set or clear its default retention: `mode` ('GOVERNANCE' or
        'COMPLIANCE') with `days` or `years`, or none of them for no default retention.
        S3 requires versioning on the bucket (`set_bucket_versioning(True)`).

        `headers`: extra request headers.
        """
        from . import s3_bucket_requests as ops

        return self.run(
            ops.put_object_lock_config(
                self._endpoint, lock, mode=mode, days=days, years=years, bucket=bucket,
                headers=headers,
            )
        )  # fmt: skip
