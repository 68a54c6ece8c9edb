"""S3 bucket operations and sub-resources without I/O: buckets (create, delete, head, list,
versioning), object tags, bucket policies, lifecycle rules and Object Lock configuration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from . import s3xml
from .errors import ClientError, NoSuchBucket, NoSuchKey
from .operation import Operation
from .s3_endpoint import S3Endpoint, content_md5, document_call, validate_key
from .signing import EMPTY_SHA256

if TYPE_CHECKING:
    from .response import Response

__all__ = [
    "create_bucket",
    "delete_bucket",
    "delete_bucket_lifecycle",
    "delete_bucket_policy",
    "delete_object_tagging",
    "get_bucket_lifecycle_configuration",
    "get_bucket_policy",
    "get_object_lock_config",
    "get_object_tagging",
    "head_bucket",
    "list_buckets",
    "put_bucket_lifecycle_configuration",
    "put_bucket_policy",
    "put_object_lock_config",
    "put_object_tagging",
    "set_bucket_versioning",
    "subresource",
]


def _headers(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    return dict(headers) if headers else None


# --- buckets -----------------------------------------------------------------------------------
def create_bucket(
    endpoint: S3Endpoint,
    bucket: str | None = None,
    *,
    region: str | None = None,
    acl: str | None = None,
    object_lock: bool = False,
    headers: Mapping[str, str] | None = None,
) -> Operation[Response]:
    """CreateBucket (see `S3Session.create_bucket`); the region goes in the body on AWS."""
    bucket = endpoint.resolve_bucket(bucket)
    hdrs: dict[str, str] = dict(headers or {})
    if acl:
        hdrs["x-amz-acl"] = acl
    if object_lock:
        hdrs["x-amz-bucket-object-lock-enabled"] = "true"
    region = region or endpoint.region
    body = b"" if region == "us-east-1" or not endpoint.aws else s3xml.create_bucket_body(region)
    if body:
        hdrs["Content-Type"] = "application/xml"
    response: Response = yield document_call(endpoint.build("PUT", bucket, None, None, hdrs, body))
    return response


def delete_bucket(
    endpoint: S3Endpoint, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
) -> Operation[Response]:
    """DeleteBucket (of an empty bucket)."""
    bucket = endpoint.resolve_bucket(bucket)
    request = endpoint.build(
        "DELETE", bucket, None, None, _headers(headers), payload_hash=EMPTY_SHA256
    )
    response: Response = yield document_call(request)
    return response


def head_bucket(
    endpoint: S3Endpoint, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
) -> Operation[Response]:
    """HeadBucket; a 404 is `NoSuchBucket` (HEAD answers have no body to say so)."""
    bucket = endpoint.resolve_bucket(bucket)
    request = endpoint.build(
        "HEAD", bucket, None, None, _headers(headers), payload_hash=EMPTY_SHA256
    )
    try:
        response: Response = yield document_call(request)
    except NoSuchKey as exc:
        raise NoSuchBucket(
            exc.status, "NoSuchBucket", "The specified bucket does not exist",
            request_id=exc.request_id, resource=bucket,
        ) from None  # fmt: skip
    return response


def set_bucket_versioning(
    endpoint: S3Endpoint,
    enabled: bool,
    bucket: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> Operation[Response]:
    """PutBucketVersioning: Enabled, or Suspended."""
    bucket = endpoint.resolve_bucket(bucket)
    body = s3xml.versioning_body("Enabled" if enabled else "Suspended")
    hdrs = {"Content-Type": "application/xml"}
    if headers:
        hdrs.update(headers)
    request = endpoint.build("PUT", bucket, None, [("versioning", "")], hdrs, body)
    response: Response = yield document_call(request)
    return response


def list_buckets(
    endpoint: S3Endpoint, *, headers: Mapping[str, str] | None = None
) -> Operation[list[dict[str, Any]]]:
    """ListBuckets: dicts with name and creation_date."""
    request = endpoint.build("GET", None, None, None, _headers(headers), payload_hash=EMPTY_SHA256)
    response = yield document_call(request)
    return s3xml.parse_list_buckets(response.data)


# --- sub-resources -----------------------------------------------------------------------------
def subresource(
    endpoint: S3Endpoint,
    method: str,
    name: str,
    bucket: str | None,
    key: str | None = None,
    body: bytes | None = None,
    version_id: str | None = None,
    content_type: str = "application/xml",
    headers: Mapping[str, str] | None = None,
) -> Operation[Response]:
    """One request on a sub-resource (`?tagging`, `?policy`, ...), with Content-MD5 on bodies
    (S3 requires it for several of them)."""
    if key is not None:
        validate_key(key)
    params = [(name, "")]
    if version_id:
        params.append(("versionId", version_id))
    hdrs: dict[str, str] = dict(headers or {})
    if body is not None:
        hdrs["Content-Type"] = content_type
        hdrs["Content-MD5"] = content_md5(body)
    request = endpoint.build(
        method, endpoint.resolve_bucket(bucket), key, params, hdrs, body,
        payload_hash=None if body else EMPTY_SHA256,
    )  # fmt: skip
    response: Response = yield document_call(request)
    return response


def _absent(code: str, op: Operation[Response]) -> Operation[Response | None]:
    """`op`'s response, or None when it fails with the error `code` (nothing configured)."""
    try:
        return (yield from op)
    except ClientError as exc:
        if exc.code == code:
            return None
        raise


def put_object_tagging(
    endpoint: S3Endpoint,
    key: str,
    tags: Mapping[str, str],
    *,
    bucket: str | None = None,
    version_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[Response]:
    """PutObjectTagging: replace an object's tags."""
    if not isinstance(tags, Mapping):
        raise TypeError(f"tags must be a dict of str to str, not {type(tags).__name__}")
    body = s3xml.tagging_body(dict(tags))
    return subresource(endpoint, "PUT", "tagging", bucket, key, body, version_id, headers=headers)


def get_object_tagging(
    endpoint: S3Endpoint,
    key: str,
    *,
    bucket: str | None = None,
    version_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[dict[str, str]]:
    """GetObjectTagging: the tags as a dict."""
    response = yield from subresource(
        endpoint, "GET", "tagging", bucket, key, version_id=version_id, headers=headers
    )
    return s3xml.parse_tagging(response.data)


def delete_object_tagging(
    endpoint: S3Endpoint,
    key: str,
    *,
    bucket: str | None = None,
    version_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[Response]:
    """DeleteObjectTagging."""
    return subresource(
        endpoint, "DELETE", "tagging", bucket, key, version_id=version_id, headers=headers
    )


def put_bucket_policy(
    endpoint: S3Endpoint,
    policy: str | Mapping[str, Any],
    *,
    bucket: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[Response]:
    """PutBucketPolicy of JSON text or a dict."""
    import json

    text = policy if isinstance(policy, str) else json.dumps(policy)
    return subresource(
        endpoint, "PUT", "policy", bucket, body=text.encode("utf-8"),
        content_type="application/json", headers=headers,
    )  # fmt: skip


def get_bucket_policy(
    endpoint: S3Endpoint, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
) -> Operation[str | None]:
    """GetBucketPolicy: the JSON text, or None when the bucket has none."""
    response = yield from _absent(
        "NoSuchBucketPolicy", subresource(endpoint, "GET", "policy", bucket, headers=headers)
    )
    return None if response is None else response.data.decode("utf-8")


def delete_bucket_policy(
    endpoint: S3Endpoint, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
) -> Operation[Response]:
    """DeleteBucketPolicy."""
    return subresource(endpoint, "DELETE", "policy", bucket, headers=headers)


def put_bucket_lifecycle_configuration(
    endpoint: S3Endpoint,
    rules: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    *,
    bucket: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[Response]:
    """PutBucketLifecycleConfiguration of rule dicts in boto3's shape (or {"Rules": [...]})."""
    given: Any = rules
    if isinstance(given, Mapping):
        if set(given) != {"Rules"}:
            raise ValueError("pass a list of rules, or a dict with the single key 'Rules'")
        given = given["Rules"]
    if isinstance(given, (str, bytes)):
        raise TypeError("rules must be a list of dicts")
    given = list(given)
    if not all(isinstance(rule, Mapping) for rule in given):
        raise TypeError("rules must be a list of dicts")
    listed = [dict(rule) for rule in given]
    if not listed:
        raise ValueError("pass at least one rule (delete_bucket_lifecycle removes them all)")
    body = s3xml.config_body("LifecycleConfiguration", {"Rules": listed})
    return subresource(endpoint, "PUT", "lifecycle", bucket, body=body, headers=headers)


def get_bucket_lifecycle_configuration(
    endpoint: S3Endpoint, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
) -> Operation[list[dict[str, Any]]]:
    """GetBucketLifecycleConfiguration: the rules in boto3's shape ([] when none)."""
    response = yield from _absent(
        "NoSuchLifecycleConfiguration",
        subresource(endpoint, "GET", "lifecycle", bucket, headers=headers),
    )
    if response is None:
        return []
    rules: list[dict[str, Any]] = s3xml.parse_config(response.data, "LifecycleConfiguration").get(
        "Rules", []
    )
    return rules


def delete_bucket_lifecycle(
    endpoint: S3Endpoint, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
) -> Operation[Response]:
    """DeleteBucketLifecycle."""
    return subresource(endpoint, "DELETE", "lifecycle", bucket, headers=headers)


def get_object_lock_config(
    endpoint: S3Endpoint, bucket: str | None = None, *, headers: Mapping[str, str] | None = None
) -> Operation[dict[str, Any]]:
    """GetObjectLockConfiguration in boto3's shape ({} when Object Lock is not enabled)."""
    response = yield from _absent(
        "ObjectLockConfigurationNotFoundError",
        subresource(endpoint, "GET", "object-lock", bucket, headers=headers),
    )
    if response is None:
        return {}
    return s3xml.parse_config(response.data, "ObjectLockConfiguration")


def put_object_lock_config(
    endpoint: S3Endpoint,
    lock: bool = False,
    *,
    mode: Literal["GOVERNANCE", "COMPLIANCE"] | None = None,
    days: int | None = None,
    years: int | None = None,
    bucket: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[Response]:
    """PutObjectLockConfiguration: enable Object Lock (`lock` must be True), with a default
    retention (`mode` and `days` or `years`) or none."""
    if not lock:
        raise ValueError("S3 cannot disable Object Lock once enabled; pass lock=True to enable it")
    config: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
    if mode is not None or days is not None or years is not None:
        if mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise ValueError(f"mode must be 'GOVERNANCE' or 'COMPLIANCE', got {mode!r}")
        if (days is None) == (years is None):
            raise ValueError("give a default retention as days or years (one of them)")
        period = days if days is not None else years
        if not isinstance(period, int) or isinstance(period, bool) or period < 1:
            raise ValueError(f"the retention period must be a positive int, got {period!r}")
        unit = "Days" if days is not None else "Years"
        config["Rule"] = {"DefaultRetention": {"Mode": mode, unit: period}}
    body = s3xml.config_body("ObjectLockConfiguration", config)
    return subresource(endpoint, "PUT", "object-lock", bucket, body=body, headers=headers)
