"""Placeholder of the async listing (the real one comes with the async S3 session): every
page of a listing followed lazily, as an async iterator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

from ..errors import MalformedResponse
from ..listing import ListPage

__all__ = ["AsyncListing"]

ItemT = TypeVar("ItemT")

#: Fetches the page that starts at (marker, version marker); None, None is the first page.
AsyncPageFetcher = Callable[[str | None, str | None], Awaitable[ListPage[ItemT]]]


class AsyncListing(Generic[ItemT]):
    """`Listing` on the loop: `async for item in listing`, `iter_objects()`, `iter_prefixes()`."""

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
            if self._max_keys is not None and seen + len(page.items) >= self._max_keys:
                page.items = page.items[: self._max_keys - seen]
                yield page
                return
            seen += len(page.items)
            yield page
            if not page.truncated:
                return
            if not page.next_marker and not page.next_version_marker:
                raise MalformedResponse("listing is truncated but names no next marker")
            if (page.next_marker, page.next_version_marker) == (marker, version_marker):
                raise MalformedResponse("listing repeated the same page marker")
            marker, version_marker = page.next_marker, page.next_version_marker

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
