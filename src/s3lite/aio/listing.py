"""Listings on the async API: every page followed lazily, as `s3lite.listing.Listing` does,
with each page fetched by an awaited operation (`async for item in session.list_objects()`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

from ..listing import ListPage, limit_reached, next_markers

__all__ = ["AsyncListing", "AsyncPageFetcher"]

ItemT = TypeVar("ItemT")

#: Fetches the page that starts at (marker, version marker); None, None is the first page.
AsyncPageFetcher = Callable[[str | None, str | None], Awaitable[ListPage[ItemT]]]


class AsyncListing(Generic[ItemT]):
    """Every page of a listing, followed lazily: nothing is requested until you iterate.

    `async for item in listing` (or `iter_objects()`) yields the items (`ObjectInfo`,
    `VersionInfo` or `UploadInfo` dicts), `iter_prefixes()` the common prefixes when a
    delimiter was given, `pages()` the pages. Each iteration lists afresh from the first page.
    """

    #: As on `Listing` (s3func's listing responses had these).
    status = 200
    error = None

    def __init__(self, fetch: AsyncPageFetcher[ItemT], max_keys: int | None = None) -> None:
        if max_keys is not None and (not isinstance(max_keys, int) or max_keys < 0):
            raise ValueError(f"limit must be a non-negative int, got {max_keys!r}")
        self._fetch = fetch
        self._max_keys = max_keys

    async def pages(self) -> AsyncIterator[ListPage[ItemT]]:
        """Yield each page in order, following continuation markers to the end."""
        marker: str | None = None
        version_marker: str | None = None
        seen = 0
        while True:
            page = await self._fetch(marker, version_marker)
            if limit_reached(page, seen, self._max_keys):
                yield page
                return
            seen += len(page.items)
            yield page
            following = next_markers(page, marker, version_marker)
            if following is None:
                return
            marker, version_marker = following

    async def iter_objects(self) -> AsyncIterator[ItemT]:
        """Yield every object (or version, or upload) as a dict, across all pages."""
        async for page in self.pages():
            for item in page.items:
                yield item

    async def iter_prefixes(self) -> AsyncIterator[str]:
        """Yield every common prefix, across all pages."""
        async for page in self.pages():
            for prefix in page.prefixes:
                yield prefix

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self.iter_objects()

    async def to_list(self) -> list[ItemT]:
        """Every item, in a list (the whole listing is fetched)."""
        return [item async for item in self.iter_objects()]

    def __repr__(self) -> str:
        return f"<AsyncListing max_keys={self._max_keys}>"
