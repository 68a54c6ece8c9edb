"""Lazy, paginated listings shared by the backends: pages are fetched as you iterate."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Generic, TypedDict, TypeVar

from .errors import MalformedResponse

__all__ = [
    "ListPage", "Listing", "ObjectInfo", "UploadInfo", "VersionInfo", "limit_reached",
    "next_markers",
]  # fmt: skip


class ObjectInfo(TypedDict):
    """One object of `list_objects()`, the same on S3 and B2 (and in the CLI's `ls --json`)."""

    key: str
    #: Size in bytes.
    content_length: int
    #: S3: the ETag without quotes; B2: the content SHA-1 in hex (a large file's
    #: `large_file_sha1` when its uploader recorded one, else None).
    etag: str | None
    #: Last-Modified (S3) or upload time (B2), timezone-aware UTC.
    upload_timestamp: datetime.datetime | None
    #: S3 storage class; None on B2.
    storage_class: str | None


class VersionInfo(ObjectInfo):
    """One version or delete marker of `list_object_versions()`."""

    #: The version id (B2: the file id).
    version_id: str | None
    is_latest: bool
    #: True for a delete marker (B2: a hide marker); its size is 0 and etag None.
    delete_marker: bool


class UploadInfo(TypedDict):
    """One unfinished multipart upload (B2: large file) of `list_multipart_uploads()`."""

    key: str
    #: The upload id (B2: the large file's id).
    upload_id: str
    initiated: datetime.datetime | None
    storage_class: str | None


ItemT = TypeVar("ItemT")


class ListPage(Generic[ItemT]):
    """One page of a listing: items, common prefixes and where the next page starts."""

    __slots__ = ("items", "next_marker", "next_version_marker", "prefixes", "truncated")

    def __init__(
        self,
        items: list[ItemT],
        prefixes: list[str],
        truncated: bool,
        next_marker: str | None,
        next_version_marker: str | None = None,
    ) -> None:
        self.items = items
        self.prefixes = prefixes
        self.truncated = truncated
        self.next_marker = next_marker
        self.next_version_marker = next_version_marker


def limit_reached(page: ListPage[ItemT], seen: int, max_keys: int | None) -> bool:
    """Whether `page`, after `seen` items, reaches the listing's cap (then its items are cut
    to it and it is the last page)."""
    if max_keys is not None and seen + len(page.items) >= max_keys:
        page.items = page.items[: max_keys - seen]
        return True
    return False


def next_markers(
    page: ListPage[ItemT], marker: str | None, version_marker: str | None
) -> tuple[str | None, str | None] | None:
    """Where the page after `page` (fetched at `marker`, `version_marker`) starts; None when
    it is the last. A truncated page that names no new marker is `MalformedResponse`."""
    if not page.truncated:
        return None
    if not page.next_marker and not page.next_version_marker:
        raise MalformedResponse("listing is truncated but names no next marker")
    if (page.next_marker, page.next_version_marker) == (marker, version_marker):
        raise MalformedResponse("listing repeated the same page marker")
    return page.next_marker, page.next_version_marker


#: Fetches the page that starts at (marker, version marker); None, None is the first page.
PageFetcher = Callable[[str | None, str | None], ListPage[ItemT]]


class Listing(Generic[ItemT]):
    """Every page of a listing, followed lazily: nothing is requested until you iterate.

    `iter_objects()` yields the items (`ObjectInfo`, `VersionInfo` or `UploadInfo` dicts),
    `iter_prefixes()` the common prefixes ("folders") when a delimiter was given. Each
    iteration lists afresh from the first page.
    """

    #: s3func's listing responses had these; s3lite raises typed errors while iterating.
    status = 200
    error = None

    def __init__(self, fetch: PageFetcher[ItemT], max_keys: int | None = None) -> None:
        if max_keys is not None and (not isinstance(max_keys, int) or max_keys < 0):
            raise ValueError(f"limit must be a non-negative int, got {max_keys!r}")
        self._fetch = fetch
        self._max_keys = max_keys

    def pages(self) -> Iterator[ListPage[ItemT]]:
        """Yield each page in order, following continuation markers to the end."""
        marker: str | None = None
        version_marker: str | None = None
        seen = 0
        while True:
            page = self._fetch(marker, version_marker)
            if limit_reached(page, seen, self._max_keys):
                yield page
                return
            seen += len(page.items)
            yield page
            following = next_markers(page, marker, version_marker)
            if following is None:
                return
            marker, version_marker = following

    def iter_objects(self) -> Iterator[ItemT]:
        """Yield every object (or version, or upload) as a dict, across all pages."""
        for page in self.pages():
            yield from page.items

    def iter_prefixes(self) -> Iterator[str]:
        """Yield every common prefix, across all pages."""
        for page in self.pages():
            yield from page.prefixes

    def __iter__(self) -> Iterator[ItemT]:
        return self.iter_objects()

    def __repr__(self) -> str:
        return f"<Listing max_keys={self._max_keys}>"
