"""S3 listings as operations: each page is one request (`Pages.page`), parsed without I/O.

A `Pages` holds what every page of one listing shares (bucket, query, headers, parser); a
driver asks for the page after given markers, as `listing.Listing` does lazily, or walks
them all (`all_items`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from . import s3xml
from .arguments import page_size as listing_page_size
from .errors import MalformedResponse
from .listing import ListPage, ObjectInfo, UploadInfo, VersionInfo
from .operation import Operation
from .s3_endpoint import S3Endpoint, document_call

__all__ = [
    "Pages",
    "all_items",
    "list_multipart_uploads",
    "list_object_versions",
    "list_objects",
    "next_markers",
]

ItemT = TypeVar("ItemT")


class Pages(Generic[ItemT]):
    """The pages of one listing: `page(marker, version_marker)` is the operation that fetches
    the page starting there (None, None: the first). `limit` caps the items listed."""

    __slots__ = ("bucket", "endpoint", "first", "headers", "limit", "markers", "params", "parse")

    def __init__(
        self,
        endpoint: S3Endpoint,
        bucket: str,
        params: list[tuple[str, str]],
        markers: tuple[str, str | None],
        parse: Callable[[bytes], ListPage[ItemT]],
        *,
        headers: Mapping[str, str] | None = None,
        first: tuple[str | None, str | None] = (None, None),
        limit: int | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.params = params
        self.markers = markers
        self.parse = parse
        self.headers = headers
        self.first = first
        self.limit = limit

    def page(self, marker: str | None, version_marker: str | None) -> Operation[ListPage[ItemT]]:
        """The operation fetching the page that starts after (`marker`, `version_marker`)."""
        if marker is None and version_marker is None:
            marker, version_marker = self.first
        params = list(self.params)
        name, version_name = self.markers
        if marker:
            params.append((name, marker))
        if version_marker and version_name:
            params.append((version_name, version_marker))
        headers = dict(self.headers) if self.headers else None
        request = self.endpoint.build("GET", self.bucket, None, params, headers)
        response = yield document_call(request)
        return self.parse(response.data)


def next_markers(
    page: ListPage[ItemT], marker: str | None, version_marker: str | None
) -> tuple[str | None, str | None] | None:
    """Where the page after `page` (fetched at `marker`, `version_marker`) starts, or None
    after the last; MalformedResponse for a truncated page without a new marker."""
    if not page.truncated:
        return None
    if not page.next_marker and not page.next_version_marker:
        raise MalformedResponse("listing is truncated but names no next marker")
    if (page.next_marker, page.next_version_marker) == (marker, version_marker):
        raise MalformedResponse("listing repeated the same page marker")
    return page.next_marker, page.next_version_marker


def all_items(pages: Pages[ItemT]) -> Operation[list[ItemT]]:
    """Every item of a listing, page after page (for listings known to be short)."""
    items: list[ItemT] = []
    marker: str | None = None
    version_marker: str | None = None
    while True:
        page = yield from pages.page(marker, version_marker)
        items.extend(page.items)
        following = next_markers(page, marker, version_marker)
        if following is None:
            return items
        marker, version_marker = following


def list_objects(
    endpoint: S3Endpoint,
    prefix: str = "",
    start_after: str | None = None,
    delimiter: str | None = None,
    max_keys: int | None = None,
    *,
    bucket: str | None = None,
    limit: int | None = None,
    page_size: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Pages[ObjectInfo]:
    """The pages of ListObjectsV2 (see `S3Session.list_objects`)."""
    bucket = endpoint.resolve_bucket(bucket)
    size = listing_page_size(max_keys, page_size, 1000)
    params = [("list-type", "2"), ("encoding-type", "url")]
    if prefix:
        params.append(("prefix", prefix))
    if delimiter:
        params.append(("delimiter", delimiter))
    if start_after:
        params.append(("start-after", start_after))
    params.append(("max-keys", str(min(size, limit) if limit else size)))
    return Pages(
        endpoint, bucket, params, ("continuation-token", None), s3xml.parse_list_objects,
        headers=headers, limit=limit,
    )  # fmt: skip


def list_object_versions(
    endpoint: S3Endpoint,
    prefix: str = "",
    key_marker: str | None = None,
    delimiter: str | None = None,
    max_keys: int | None = None,
    *,
    bucket: str | None = None,
    version_id_marker: str | None = None,
    limit: int | None = None,
    page_size: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Pages[VersionInfo]:
    """The pages of ListObjectVersions (see `S3Session.list_object_versions`)."""
    bucket = endpoint.resolve_bucket(bucket)
    size = listing_page_size(max_keys, page_size, 1000)
    params = [("versions", ""), ("encoding-type", "url")]
    if prefix:
        params.append(("prefix", prefix))
    if delimiter:
        params.append(("delimiter", delimiter))
    params.append(("max-keys", str(min(size, limit) if limit else size)))
    return Pages(
        endpoint, bucket, params, ("key-marker", "version-id-marker"),
        s3xml.parse_list_versions, headers=headers, first=(key_marker, version_id_marker),
        limit=limit,
    )  # fmt: skip


def list_multipart_uploads(
    endpoint: S3Endpoint,
    prefix: str = "",
    *,
    bucket: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Pages[UploadInfo]:
    """The pages of ListMultipartUploads (see `S3Session.list_multipart_uploads`)."""
    bucket = endpoint.resolve_bucket(bucket)
    params = [("uploads", ""), ("encoding-type", "url"), ("max-uploads", "1000")]
    if prefix:
        params.append(("prefix", prefix))
    return Pages(
        endpoint, bucket, params, ("key-marker", "upload-id-marker"),
        s3xml.parse_list_multipart_uploads, headers=headers,
    )  # fmt: skip
