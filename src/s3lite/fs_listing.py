"""What the fsspec filesystems know without reading a byte: listings (`ls`, `find`), the
info of files, directories and buckets (`info`, `modified`, `ukey`), and object versions."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from .fs_adapters import dir_entry, file_entry, translated_errors
from .fs_base import S3LiteFileSystemBase

if TYPE_CHECKING:
    import datetime as _dt

__all__ = ["FileSystemListing"]


class FileSystemListing(S3LiteFileSystemBase):
    """`S3LiteFileSystem`'s listings and info: `ls`, `info`, `find`, `modified`, `checksum`,
    `ukey`, `object_version_info`."""

    def _listing(
        self, bucket: str, prefix: str, delimiter: str | None = None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Every object and common prefix under `prefix` (one paginated ListObjects)."""
        items: list[dict[str, Any]] = []
        prefixes: list[str] = []
        with translated_errors(f"{bucket}/{prefix}"):
            for page in self.session.list_objects(
                prefix, bucket=bucket, delimiter=delimiter
            ).pages():
                items.extend(page.items)
                prefixes.extend(page.prefixes)
        return items, prefixes

    @staticmethod
    def _entry_from_item(bucket: str, item: dict[str, Any]) -> dict[str, Any]:
        return file_entry(
            f"{bucket}/{item['key']}",
            int(item.get("content_length") or 0),
            item.get("etag"),
            item.get("upload_timestamp"),
            item.get("storage_class"),
        )

    def _lsdir(self, path: str, refresh: bool = False) -> list[dict[str, Any]]:
        """The entries directly under a bucket or prefix (cached); [] if there are none."""
        if not refresh and path in self.dircache:
            return list(self.dircache[path])
        bucket, key, _ = self.split_path(path)
        prefix = f"{key}/" if key else ""
        items, prefixes = self._listing(bucket, prefix, delimiter="/")
        entries = [
            self._entry_from_item(bucket, item)
            for item in items
            if item["key"] != prefix  # a directory marker is the directory itself
        ]
        entries.extend(dir_entry(f"{bucket}/{p.rstrip('/')}") for p in prefixes)
        entries.sort(key=lambda e: e["name"])
        if entries or not key:
            self.dircache[path] = entries
        return entries

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """The entries under a bucket or prefix; a file lists as itself; '' lists buckets."""
        path = self._strip_protocol(path)
        refresh = bool(kwargs.get("refresh", False))
        if not path:
            entries = self._buckets(refresh)
        else:
            bucket, key, _ = self.split_path(path)
            entries = self._lsdir(path, refresh)
            if not entries:
                if key:
                    info = self._head(path)
                    if info is None:
                        raise FileNotFoundError(errno.ENOENT, "no such file or directory", path)
                    entries = [info]
                else:
                    self._bucket_info(bucket)  # FileNotFoundError if it does not exist
        return entries if detail else [e["name"] for e in entries]

    def _buckets(self, refresh: bool) -> list[dict[str, Any]]:
        if not refresh and "" in self.dircache:
            return list(self.dircache[""])
        with translated_errors(""):
            buckets = self.session.list_buckets()
        entries = [dir_entry(b["name"]) for b in buckets]
        entries.sort(key=lambda e: e["name"])
        self.dircache[""] = entries
        return entries

    def _bucket_info(self, bucket: str) -> dict[str, Any]:
        with translated_errors(bucket):
            self.session.head_bucket(bucket)
        return dir_entry(bucket)

    def _head_kwargs(self, version: str | None) -> dict[str, Any]:
        return {"version_id": version} if version else {}

    def _head(self, path: str, version: str | None = None) -> dict[str, Any] | None:
        """The info of the object at `path`, or None if there is none."""
        bucket, key, path_version = self.split_path(path)
        version = version or path_version
        if not key:
            return None
        try:
            with translated_errors(path):
                head = self.session.head_object(key, bucket=bucket, **self._head_kwargs(version))
        except FileNotFoundError:
            if version:
                raise
            return None
        return file_entry(
            f"{bucket}/{key}",
            head.content_length or 0,
            head.etag,
            head.last_modified,
            head.headers.get("x-amz-storage-class"),
            head.version_id,
            head.content_type,
        )

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """The info dict of a file, a directory (a prefix with objects under it) or a bucket."""
        path = self._strip_protocol(path)
        bucket, key, version = self.split_path(path)
        version = kwargs.get("version_id") or version
        if not bucket:
            return dir_entry("")
        if not version:
            cached = self._ls_from_cache(path)  # FileNotFoundError if the parent is cached
            if cached is not None:
                if path in self.dircache:
                    return dir_entry(path)
                for entry in cached:
                    if entry["name"] == path:
                        return dict(entry)
        if not key:
            return self._bucket_info(bucket)
        found = self._head(path, version)
        if found is not None:
            return found
        items, prefixes = self._listing_one(bucket, f"{key}/")
        if items or prefixes:
            return dir_entry(path)
        raise FileNotFoundError(errno.ENOENT, "no such file or directory", path)

    def _listing_one(self, bucket: str, prefix: str) -> tuple[list[Any], list[Any]]:
        """What is under `prefix` (at most two keys): a folder object named by the prefix
        itself (a "dir/" marker, or an emptied SeaweedFS folder) does not count."""
        with translated_errors(f"{bucket}/{prefix}"):
            page = next(
                self.session.list_objects(prefix, bucket=bucket, delimiter="/", limit=2).pages()
            )
        return [i for i in page.items if i["key"] != prefix], page.prefixes

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Every file under `path` from one flat listing (directories too with `withdirs`)."""
        path = self._strip_protocol(path)
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        bucket, key, _ = self.split_path(path)
        if not bucket:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        prefix = f"{key}/" if key else ""
        items, _ = self._listing(bucket, prefix)
        out: dict[str, dict[str, Any]] = {}
        listed: dict[str, dict[str, dict[str, Any]]] = {}
        base = f"{bucket}/{prefix}"
        for item in items:
            name = f"{bucket}/{item['key']}"
            rel = name[len(base) :]
            parts = rel.split("/")
            is_marker = rel.endswith("/")
            if is_marker:
                parts = parts[:-1]
            # every directory between `path` and the object
            if withdirs:
                for depth in range(1, len(parts) if not is_marker else len(parts) + 1):
                    if maxdepth is None or depth <= maxdepth:
                        dname = base + "/".join(parts[:depth])
                        out.setdefault(dname, dir_entry(dname))
            if is_marker or not rel:
                continue
            entry = self._entry_from_item(bucket, item)
            if maxdepth is None or len(parts) <= maxdepth:
                out[name] = entry
            # the listing of every directory under `path`, for the listings cache
            parent = self._parent(name)
            listed.setdefault(parent, {})[name] = entry
            while len(parent) > len(path):
                above = self._parent(parent)
                listed.setdefault(above, {}).setdefault(parent, dir_entry(parent))
                parent = above
        if not items:
            if key:
                found = self._head(path)
                if found is not None:
                    out[path] = found
            else:
                self._bucket_info(bucket)
        elif withdirs:
            out[path] = dir_entry(path)
        for directory, entries in listed.items():
            self.dircache[directory] = sorted(entries.values(), key=lambda e: e["name"])
        names = sorted(out)
        if detail:
            return {name: out[name] for name in names}
        return names

    def modified(self, path: str) -> _dt.datetime:
        """When the object was last written (timezone-aware)."""
        info = self.info(path)
        if info["type"] != "file" or info.get("LastModified") is None:
            raise IsADirectoryError(errno.EISDIR, "directories have no modification time", path)
        return info["LastModified"]  # type: ignore[no-any-return]

    def checksum(self, path: str) -> int:
        """An integer that changes when the object changes (from its ETag and size)."""
        return int(self.ukey(path)[:16], 16)

    def ukey(self, path: str) -> str:
        """A hex digest of the object's identity (ETag, size, version)."""
        import hashlib

        info = self.info(path)
        ident = f"{info.get('ETag')}|{info['size']}|{info.get('VersionId')}|{info['name']}"
        return hashlib.sha256(ident.encode()).hexdigest()

    def object_version_info(self, path: str) -> list[dict[str, Any]]:
        """Every version of the object at `path` (needs a versioned bucket)."""
        bucket, key, _ = self.split_path(path)
        with translated_errors(path):
            return [
                item
                for item in self.session.list_object_versions(key, bucket=bucket)
                if item["key"] == key
            ]
