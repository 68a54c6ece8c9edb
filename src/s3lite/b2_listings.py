"""B2 listings: file names, file versions and unfinished large files, page by page.

Each page is one operation (`list_file_names_page`, `list_file_versions_page`,
`list_unfinished_large_files_page`); `B2ListingsMixin` follows the pages lazily as a
`Listing`, as `S3Session` does.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .b2_calls import B2Context, api, bucket_id
from .b2_driver import B2Driver
from .b2_requests import json_list, json_str, list_item, millis_datetime
from .operation import Operation

if TYPE_CHECKING:
    from .listing import Listing, ListPage, ObjectInfo, UploadInfo, VersionInfo

__all__ = [
    "B2ListingsMixin",
    "list_file_names_page",
    "list_file_versions_page",
    "list_unfinished_large_files_page",
    "listing_params",
]


def listing_params(
    prefix: str, delimiter: str | None, page_size: int, limit: int | None
) -> dict[str, Any]:
    """The parameters every page of a name or version listing shares."""
    base: dict[str, Any] = {"maxFileCount": min(page_size, limit) if limit else page_size}
    if prefix:
        base["prefix"] = prefix
    if delimiter:
        base["delimiter"] = delimiter
    return base


def list_file_names_page(
    ctx: B2Context,
    bucket: str,
    base: dict[str, Any],
    marker: str | None,
    start_after: str | None = None,
) -> Operation[ListPage[ObjectInfo]]:
    """One page of b2_list_file_names (hidden names left out), from `marker` (the next
    name B2 gave), else after `start_after`."""
    from .listing import ListPage

    params = {"bucketId": (yield from bucket_id(ctx, bucket)), **base}
    skip = None
    if marker is not None:
        params["startFileName"] = marker
    elif start_after:
        params["startFileName"] = skip = start_after  # B2 starts at it, S3 after it
    _, obj = yield from api(ctx, "b2_list_file_names", params)
    items: list[ObjectInfo] = []
    prefixes: list[str] = []
    for entry in json_list(obj, "files"):
        if not isinstance(entry, dict):
            continue
        action = entry.get("action")
        if action == "folder":
            prefixes.append(json_str(entry, "fileName"))
        elif action == "upload" and entry.get("fileName") != skip:
            items.append(list_item(entry))
    next_name = obj.get("nextFileName")
    next_name = next_name if isinstance(next_name, str) and next_name else None
    return ListPage(items, prefixes, next_name is not None, next_name)


def list_file_versions_page(
    ctx: B2Context,
    bucket: str,
    base: dict[str, Any],
    marker: str | None,
    version_marker: str | None,
    *,
    key_marker: str | None = None,
    version_id_marker: str | None = None,
    last: str | None = None,
) -> Operation[tuple[ListPage[VersionInfo], str | None]]:
    """One page of b2_list_file_versions (hide markers as delete markers) and the name
    listed last. A first page (no markers) starts after `key_marker` / `version_id_marker`;
    `last` is the name the previous page ended with (its first version here is not latest).
    """
    from .listing import ListPage

    params = {"bucketId": (yield from bucket_id(ctx, bucket)), **base}
    skip_name = skip_id = None
    if marker is None and version_marker is None:
        # A fresh pass over the listing: start from the caller's markers, if any.
        last = key_marker if version_id_marker else None
        if key_marker:
            params["startFileName"] = key_marker
            if version_id_marker:
                params["startFileId"] = skip_id = version_id_marker
            else:
                skip_name = key_marker
    else:
        if marker is not None:
            params["startFileName"] = marker
        if version_marker is not None:
            params["startFileId"] = version_marker
    _, obj = yield from api(ctx, "b2_list_file_versions", params)
    items: list[VersionInfo] = []
    prefixes: list[str] = []
    for entry in json_list(obj, "files"):
        if not isinstance(entry, dict):
            continue
        action = entry.get("action")
        name = entry.get("fileName")
        if action == "folder":
            prefixes.append(json_str(entry, "fileName"))
            continue
        if action not in ("upload", "hide") or name == skip_name:
            continue
        if skip_id is not None and entry.get("fileId") == skip_id:
            continue
        item: VersionInfo = {
            **list_item(entry),
            "version_id": json_str(entry, "fileId"),
            "is_latest": name != last,
            "delete_marker": action == "hide",
        }
        if action == "hide":
            item["etag"] = None
        last = name
        items.append(item)
    next_name, next_id = obj.get("nextFileName"), obj.get("nextFileId")
    next_name = next_name if isinstance(next_name, str) and next_name else None
    next_id = next_id if isinstance(next_id, str) and next_id else None
    return ListPage(items, prefixes, next_name is not None, next_name, next_id), last


def list_unfinished_large_files_page(
    ctx: B2Context, bucket: str, prefix: str, start_id: str | None
) -> Operation[ListPage[UploadInfo]]:
    """One page of b2_list_unfinished_large_files, from the large file id `start_id`."""
    from .listing import ListPage

    params: dict[str, Any] = {"bucketId": (yield from bucket_id(ctx, bucket)), "maxFileCount": 100}
    if prefix:
        params["namePrefix"] = prefix
    if start_id:
        params["startFileId"] = start_id
    _, obj = yield from api(ctx, "b2_list_unfinished_large_files", params)
    items: list[UploadInfo] = [
        {
            "key": json_str(entry, "fileName"),
            "upload_id": json_str(entry, "fileId"),
            "initiated": millis_datetime(entry.get("uploadTimestamp")),
            "storage_class": None,
        }
        for entry in json_list(obj, "files")
        if isinstance(entry, dict)
    ]
    next_id = obj.get("nextFileId")
    next_id = next_id if isinstance(next_id, str) and next_id else None
    return ListPage(items, [], next_id is not None, None, next_id)


class B2ListingsMixin(B2Driver):
    """`list_objects`, `list_object_versions` and `list_multipart_uploads` of `B2Session`."""

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
    ) -> Listing[ObjectInfo]:
        """List file names (b2_list_file_names; hidden ones are left out), following every
        page lazily. Items are dicts with key, content_length, etag (the SHA-1),
        upload_timestamp and storage_class (None on B2); `iter_prefixes()` gives the "folders"
        when `delimiter` is given.

        `prefix`: only names starting with it. `start_after`: begin after this name.
        `delimiter`: group names into common prefixes. `max_keys` (alias `page_size`): names
        per API call (default 1000, at most 10,000), as in s3func: every name is still listed.
        `limit`: the most items in all. `bucket`: the bucket (default the session's).
        """
        from .arguments import page_size as listing_page_size
        from .listing import Listing

        bucket = self._bucket(bucket)
        size = listing_page_size(max_keys, page_size, 10000, default=1000)
        base = listing_params(prefix, delimiter, size, limit)

        def fetch(marker: str | None, _unused: str | None) -> ListPage[ObjectInfo]:
            return self.run(
                list_file_names_page(self._context(), bucket, base, marker, start_after)
            )

        return Listing(fetch, limit)

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
    ) -> Listing[VersionInfo]:
        """List every version (b2_list_file_versions), newest first within a name; hide
        markers are items with `delete_marker=True`. Items add version_id (the file id),
        is_latest and delete_marker. `key_marker` (with `version_id_marker`) starts after
        that key (version), as on S3.

        `prefix`: only names starting with it. `delimiter`: group names into common prefixes
        (`iter_prefixes()`). `max_keys` (alias `page_size`): items per API call (default 1000,
        at most 10,000); `limit`: stop after this many items. `bucket`: the bucket (default the
        session's).
        """
        from .arguments import page_size as listing_page_size
        from .listing import Listing

        bucket = self._bucket(bucket)
        size = listing_page_size(max_keys, page_size, 10000, default=1000)
        base = listing_params(prefix, delimiter, size, limit)
        # The name of the version listed last: the first version of a name is its latest.
        # Per thread, so that two threads may iterate the same Listing.
        state = threading.local()

        def fetch(marker: str | None, version_marker: str | None) -> ListPage[VersionInfo]:
            page, state.last = self.run(
                list_file_versions_page(
                    self._context(), bucket, base, marker, version_marker,
                    key_marker=key_marker, version_id_marker=version_id_marker,
                    last=getattr(state, "last", None),
                )
            )  # fmt: skip
            return page

        return Listing(fetch, limit)

    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> Listing[UploadInfo]:
        """Unfinished large files (b2_list_unfinished_large_files) as dicts with key,
        upload_id (the large file's id) and initiated.

        `prefix`: only names starting with it. `bucket`: the bucket (default the session's).
        """
        from .listing import Listing

        bucket = self._bucket(bucket)

        def fetch(_unused: str | None, start_id: str | None) -> ListPage[UploadInfo]:
            return self.run(
                list_unfinished_large_files_page(self._context(), bucket, prefix, start_id)
            )

        return Listing(fetch)
