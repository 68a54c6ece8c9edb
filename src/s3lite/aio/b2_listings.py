"""The listings of `AsyncB2Session`: the page operations of `s3lite.b2_listings`, followed
lazily as `AsyncListing`s."""

from __future__ import annotations

from ..b2_listings import (
    B2ListingsMixin,
    list_file_names_page,
    list_file_versions_page,
    list_unfinished_large_files_page,
    listing_params,
)
from ..listing import ListPage, ObjectInfo, UploadInfo, VersionInfo
from .b2_driver import AsyncB2Driver
from .docs import mirrors
from .listing import AsyncListing

__all__ = ["AsyncB2ListingsMixin"]


class AsyncB2ListingsMixin(AsyncB2Driver):
    """`list_objects`, `list_object_versions` and `list_multipart_uploads`."""

    @mirrors(B2ListingsMixin.list_objects)
    def list_objects(
        self,
        prefix: str = "",
        start_after: str | None = None,
        delimiter: str | None = None,
        max_keys: int | None = None,
        *,
        bucket: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> AsyncListing[ObjectInfo]:
        from ..arguments import page_size as listing_page_size

        size = listing_page_size(max_keys, page_size, 10000, default=1000)
        base = listing_params(prefix, delimiter, size, limit)
        name = self._bucket_if_known(bucket)

        async def fetch(marker: str | None, _unused: str | None) -> ListPage[ObjectInfo]:
            where = await self._resolve_bucket(name)
            ctx = await self._context()
            return await self.run(list_file_names_page(ctx, where, base, marker, start_after))

        return AsyncListing(fetch, limit)

    @mirrors(B2ListingsMixin.list_object_versions)
    def list_object_versions(
        self,
        prefix: str = "",
        key_marker: str | None = None,
        delimiter: str | None = None,
        max_keys: int | None = None,
        *,
        bucket: str | None = None,
        version_id_marker: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> AsyncListing[VersionInfo]:
        from ..arguments import page_size as listing_page_size

        size = listing_page_size(max_keys, page_size, 10000, default=1000)
        base = listing_params(prefix, delimiter, size, limit)
        name = self._bucket_if_known(bucket)
        # The name each page ended with, by the markers of the page that follows it (the
        # first version of a name is its latest): iterations in several tasks at once agree.
        last: dict[tuple[str | None, str | None], str | None] = {}

        async def fetch(marker: str | None, version_marker: str | None) -> ListPage[VersionInfo]:
            where = await self._resolve_bucket(name)
            page, ended = await self.run(
                list_file_versions_page(
                    await self._context(), where, base, marker, version_marker,
                    key_marker=key_marker, version_id_marker=version_id_marker,
                    last=last.get((marker, version_marker)),
                )
            )  # fmt: skip
            last[(page.next_marker, page.next_version_marker)] = ended
            return page

        return AsyncListing(fetch, limit)

    @mirrors(B2ListingsMixin.list_multipart_uploads)
    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> AsyncListing[UploadInfo]:
        name = self._bucket_if_known(bucket)

        async def fetch(_unused: str | None, start_id: str | None) -> ListPage[UploadInfo]:
            where = await self._resolve_bucket(name)
            ctx = await self._context()
            return await self.run(list_unfinished_large_files_page(ctx, where, prefix, start_id))

        return AsyncListing(fetch)
