"""fsspec filesystems over s3lite: pandas, pyarrow, DuckDB and Dask read and write through them.

`S3LiteFileSystem` (protocol ``s3lite``) serves any S3-compatible service through `S3Session`,
`B2LiteFileSystem` (protocol ``b2lite``) serves Backblaze B2 through `B2Session`. Both take
s3fs's storage options (``key``, ``secret``, ``token``, ``endpoint_url``, ``anon``,
``client_kwargs``, ``default_block_size``, ``version_aware``), so code moving from s3fs changes
only the protocol; `register_s3()` makes s3lite serve plain ``s3://`` URLs in this process.

Needs the ``fsspec`` extra (``pip install s3lite[fsspec]``); `import s3lite` never imports it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from fsspec.caching import BaseCache, register_cache  # type: ignore[import-untyped]
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem  # type: ignore[import-untyped]
from fsspec.utils import isfilelike  # type: ignore[import-untyped]

from .errors import (
    AccessDenied,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    ClientError,
    ExpiredToken,
    InvalidAccessKeyId,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NoSuchVersion,
    PreconditionFailed,
    SignatureDoesNotMatch,
    Unauthorized,
)

if TYPE_CHECKING:
    import datetime as _dt
    from concurrent.futures import ThreadPoolExecutor

    from .b2 import B2Session
    from .multipart import MultipartUpload

__all__ = ["B2LiteFileSystem", "S3LiteFile", "S3LiteFileSystem", "register_s3"]

#: Bytes per read-ahead block of `open(..., "rb")` and per part written by `open(..., "wb")`.
#: Reads of a block are split into parallel GETs, so a large block costs little latency.
DEFAULT_BLOCK_SIZE = 16 * 1024 * 1024

#: Objects up to this size are written with one PUT by `pipe_file`; larger ones in parts.
_PIPE_SINGLE_PUT = 64 * 1024 * 1024


@contextlib.contextmanager
def _translated(path: str) -> Iterator[None]:
    """Raise the OSError subclasses fsspec callers expect instead of s3lite's client errors."""
    try:
        yield
    except (NoSuchKey, NoSuchBucket, NoSuchVersion, NoSuchUpload) as exc:
        raise FileNotFoundError(
            errno.ENOENT, f"no such object or bucket: {exc.code}", path
        ) from exc
    except (
        AccessDenied,
        InvalidAccessKeyId,
        SignatureDoesNotMatch,
        ExpiredToken,
        Unauthorized,
    ) as exc:
        raise PermissionError(errno.EACCES, f"access denied: {exc.code}", path) from exc
    except BucketNotEmpty as exc:
        raise OSError(errno.ENOTEMPTY, "bucket is not empty", path) from exc
    except (BucketAlreadyOwnedByYou, BucketAlreadyExists) as exc:
        raise FileExistsError(errno.EEXIST, f"bucket exists: {exc.code}", path) from exc
    except ClientError as exc:
        if exc.status == 404:
            raise FileNotFoundError(errno.ENOENT, "not found", path) from exc
        if exc.status == 403:
            raise PermissionError(errno.EACCES, "access denied", path) from exc
        raise


def _file_entry(
    name: str,
    size: int,
    etag: str | None,
    modified: _dt.datetime | None,
    storage_class: str | None = None,
    version_id: str | None = None,
    content_type: str | None = None,
) -> dict[str, Any]:
    """An fsspec info dict for an object, with s3fs's extra keys."""
    entry: dict[str, Any] = {
        "name": name,
        "size": size,
        "type": "file",
        "Key": name,
        "Size": size,
        "ETag": etag,
        "LastModified": modified,
        "StorageClass": storage_class or "STANDARD",
    }
    if version_id is not None:
        entry["VersionId"] = version_id
    if content_type is not None:
        entry["ContentType"] = content_type
    return entry


def _dir_entry(name: str) -> dict[str, Any]:
    """An fsspec info dict for a bucket or a prefix with objects under it."""
    return {
        "name": name,
        "size": 0,
        "type": "directory",
        "Key": name,
        "Size": 0,
        "StorageClass": "DIRECTORY",
    }


class ReadAheadOrExactCache(BaseCache):  # type: ignore[misc]
    """fsspec's read-ahead cache, except that a read of a block or more fetches just what was
    asked: small sequential reads (CSV, JSON) get a block ahead, while the large coalesced reads
    of pyarrow and Dask do not drag an unused block along."""

    name = "readahead-or-exact"

    def __init__(self, blocksize: int, fetcher: Callable[[int, int], bytes], size: int) -> None:
        super().__init__(blocksize, fetcher, size)
        self.cache = b""
        self.start = 0
        self.end = 0

    def _fetch(self, start: int | None, end: int | None) -> bytes:
        start = 0 if start is None else start
        end = self.size if end is None or end > self.size else end
        if start >= self.size or start >= end:
            return b""
        if self.start <= start and end <= self.end:
            self.hit_count += 1
            return self.cache[start - self.start : end - self.start]
        head = b""
        if self.start <= start < self.end:  # the start is cached: keep it, fetch the rest
            head = self.cache[start - self.start :]
            start = self.end
        self.miss_count += 1
        stop = min(self.size, max(end, start + self.blocksize))
        self.cache = self.fetcher(start, stop)
        self.total_requested_bytes += stop - start
        self.start, self.end = start, start + len(self.cache)
        return head + self.cache[: end - start]


register_cache(ReadAheadOrExactCache, clobber=True)


def _progress_for(callback: Any) -> Callable[[int, int | None], None] | None:
    """s3lite's progress(done, total) reported to an fsspec Callback (None: no reporting)."""
    if callback is None:
        return None

    def progress(done: int, total: int | None) -> None:
        if total is not None:
            callback.set_size(total)
        callback.absolute_update(done)

    return progress


class S3LiteFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """An fsspec filesystem over an `S3Session`: paths are ``bucket/key``.

    Directories are the prefixes that have objects under them (and buckets); nothing is
    written for `mkdir` inside a bucket. Listings are cached until a write through this
    instance touches them (or `invalidate_cache`, or ``ls(..., refresh=True)``).
    """

    protocol: ClassVar[str | tuple[str, ...]] = ("s3lite",)
    root_marker = ""
    #: Secrets are stored only in `storage_options` (which fsspec pickles so that Dask workers can
    #: rebuild the session); they are left out of `to_dict(include_password=False)`.
    _secret_options: ClassVar[tuple[str, ...]] = ("secret", "token", "password")
    #: `cat_ranges` merges ranges of one object this close into one GET (a request costs about
    #: as much as this many bytes), up to `cat_ranges_max_block` bytes per GET.
    cat_ranges_gap: ClassVar[int] = 128 * 1024
    cat_ranges_max_block: ClassVar[int] = 8 * 1024 * 1024
    #: Reads through open() larger than this are split into parallel ranged GETs.
    parallel_read_part: ClassVar[int] = 8 * 1024 * 1024
    #: Whether keys may end in "/" (folder objects); B2 file names cannot.
    _folder_markers: ClassVar[bool] = True

    def __init__(
        self,
        key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        endpoint_url: str | None = None,
        anon: bool = False,
        client_kwargs: dict[str, Any] | None = None,
        config_kwargs: dict[str, Any] | None = None,
        default_block_size: int | None = None,
        default_cache_type: str = ReadAheadOrExactCache.name,
        version_aware: bool = False,
        profile: str | None = None,
        max_concurrency: int = 10,
        session_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Configure the filesystem; the session is made on first use (and again after
        unpickling, credentials re-resolved there).

        `key`, `secret`, `token`: credentials (without them: the AWS chain; `anon`: unsigned).
        `endpoint_url` (or ``client_kwargs["endpoint_url"]``), ``client_kwargs["region_name"]``,
        ``client_kwargs["verify"]``: where and how to connect. `config_kwargs`: botocore-style
        ``connect_timeout``, ``read_timeout``, ``max_pool_connections``,
        ``retries={"max_attempts"}``, ``s3={"addressing_style"}``. `default_block_size`: bytes
        per read-ahead block and per written part (default 16 MiB); `default_cache_type`: fsspec's
        cache for `open(..., "rb")` (default: read-ahead for small reads, exact for large
        ones). `version_aware`: paths may end in ``?versionId=...``.
        `profile`: the ~/.aws profile. `max_concurrency`: requests in flight for `cat_ranges`,
        `cat`, `rm`, and transfers. `session_options`: any further `S3Session` keywords.
        Other keywords go to fsspec (``use_listings_cache``, ``listings_expiry_time``, ...).
        """
        super().__init__(**kwargs)
        if (key is None) != (secret is None) and not anon:
            raise ValueError("pass both key and secret, or neither (then the AWS chain is used)")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
        if default_block_size is not None and (
            not isinstance(default_block_size, int) or default_block_size < 1
        ):
            raise ValueError(f"default_block_size must be a positive int: {default_block_size!r}")
        self.key = key
        self._secret = secret
        self._token = token
        self.anon = anon
        client_kwargs = dict(client_kwargs or {})
        self.endpoint_url = endpoint_url or client_kwargs.pop("endpoint_url", None)
        self.region_name: str | None = client_kwargs.pop("region_name", None)
        self.verify: bool | str | None = client_kwargs.pop("verify", None)
        if client_kwargs:
            raise TypeError(f"unsupported client_kwargs: {sorted(client_kwargs)}")
        self.config_kwargs = dict(config_kwargs or {})
        self.blocksize = default_block_size or DEFAULT_BLOCK_SIZE
        self.default_block_size = self.blocksize
        self.default_cache_type = default_cache_type
        self.version_aware = version_aware
        self.profile = profile
        self.max_concurrency = max_concurrency
        self.session_options = dict(session_options or {})
        self._session: Any = None
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    # --- session -------------------------------------------------------------------------------
    def _connection_options(self) -> dict[str, Any]:
        """Session keywords both backends take, from s3fs-style `config_kwargs`: timeouts,
        pool size (at least `max_concurrency`), attempts, and `verify`."""
        options: dict[str, Any] = {}
        cfg = self.config_kwargs
        for name in ("connect_timeout", "read_timeout"):
            if name in cfg:
                options[name] = cfg[name]
        options["max_pool_connections"] = max(
            int(cfg.get("max_pool_connections", 10)), self.max_concurrency
        )
        retries = cfg.get("retries") or {}
        if "max_attempts" in retries:
            options["max_attempts"] = retries["max_attempts"]
        if self.verify is not None:
            options["verify"] = self.verify
        return options

    def _make_session(self) -> Any:
        """A new `S3Session` from the storage options (keywords only: positions may change)."""
        from .s3 import S3Session

        options = self._connection_options()
        cfg = self.config_kwargs
        retries = cfg.get("retries") or {}
        if "mode" in retries and retries["mode"] in ("standard", "adaptive"):
            options["retry_mode"] = retries["mode"]
        style = (cfg.get("s3") or {}).get("addressing_style")
        if style is not None:
            options["addressing_style"] = style
        if cfg.get("signature_version") in ("s3", "s3v4"):
            options["signature_version"] = cfg["signature_version"]
        if self.key is not None and self._secret is not None and not self.anon:
            options.update(
                access_key_id=self.key, access_key=self._secret, session_token=self._token
            )
        options.update(self.session_options)
        return S3Session(
            endpoint_url=self.endpoint_url,
            region=self.region_name,
            anonymous=self.anon,
            profile=self.profile,
            **options,
        )

    @property
    def session(self) -> Any:
        """The s3lite session behind this filesystem (made on first use)."""
        session = self._session
        if session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._make_session()
                session = self._session
        return session

    def _pool(self, name: str = "calls") -> ThreadPoolExecutor:
        """A thread pool of `max_concurrency` threads: "calls" for whole operations, "parts" for
        the pieces one file read is split into (separate, so neither waits on the other)."""
        from concurrent.futures import ThreadPoolExecutor

        with self._lock:
            pool = self._executors.get(name)
            if pool is None:
                pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="s3lite-fs")
                self._executors[name] = pool
            return pool

    def _map(self, func: Callable[[Any], Any], items: list[Any], pool: str = "calls") -> list[Any]:
        """`func` over `items` on a thread pool, in order (inline for one item)."""
        if len(items) <= 1:
            return [func(item) for item in items]
        return list(self._pool(pool).map(func, items))

    # --- paths ---------------------------------------------------------------------------------
    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(os.fspath(path)) if not isinstance(path, str) else path
        protocols = (cls.protocol,) if isinstance(cls.protocol, str) else cls.protocol
        for protocol in (*protocols, "s3lite", "s3", "s3a", "b2lite"):
            if path.startswith(protocol + "://"):
                path = path[len(protocol) + 3 :]
                break
            if path.startswith(protocol + "::"):
                path = path[len(protocol) + 2 :]
                break
        return path.rstrip("/").lstrip("/")

    def unstrip_protocol(self, name: str) -> str:
        """The full URL of `name` (``s3lite://bucket/key``)."""
        protocol = self.protocol if isinstance(self.protocol, str) else self.protocol[0]
        return f"{protocol}://{self._strip_protocol(name)}"

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        return {}

    def split_path(self, path: str) -> tuple[str, str, str | None]:
        """(bucket, key, version id) of a path; the key is '' for a bucket."""
        path = self._strip_protocol(path)
        version: str | None = None
        if "?" in path:
            path, _, query = path.partition("?")
            for part in query.split("&"):
                name, _, value = part.partition("=")
                if name == "versionId":
                    version = value
            if version is not None and not self.version_aware:
                raise ValueError("version ids in paths need version_aware=True")
        bucket, _, key = path.partition("/")
        return bucket, key, version

    # --- info and listings ---------------------------------------------------------------------
    def _listing(
        self, bucket: str, prefix: str, delimiter: str | None = None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Every object and common prefix under `prefix` (one paginated ListObjects)."""
        items: list[dict[str, Any]] = []
        prefixes: list[str] = []
        with _translated(f"{bucket}/{prefix}"):
            for page in self.session.list_objects(
                prefix, bucket=bucket, delimiter=delimiter
            ).pages():
                items.extend(page.items)
                prefixes.extend(page.prefixes)
        return items, prefixes

    @staticmethod
    def _entry_from_item(bucket: str, item: dict[str, Any]) -> dict[str, Any]:
        return _file_entry(
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
        entries.extend(_dir_entry(f"{bucket}/{p.rstrip('/')}") for p in prefixes)
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
        with _translated(""):
            buckets = self.session.list_buckets()
        entries = [_dir_entry(b["name"]) for b in buckets]
        entries.sort(key=lambda e: e["name"])
        self.dircache[""] = entries
        return entries

    def _bucket_info(self, bucket: str) -> dict[str, Any]:
        with _translated(bucket):
            self.session.head_bucket(bucket)
        return _dir_entry(bucket)

    def _head_kwargs(self, version: str | None) -> dict[str, Any]:
        return {"version_id": version} if version else {}

    def _head(self, path: str, version: str | None = None) -> dict[str, Any] | None:
        """The info of the object at `path`, or None if there is none."""
        bucket, key, path_version = self.split_path(path)
        version = version or path_version
        if not key:
            return None
        try:
            with _translated(path):
                head = self.session.head_object(key, bucket=bucket, **self._head_kwargs(version))
        except FileNotFoundError:
            if version:
                raise
            return None
        return _file_entry(
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
            return _dir_entry("")
        if not version:
            cached = self._ls_from_cache(path)  # FileNotFoundError if the parent is cached
            if cached is not None:
                if path in self.dircache:
                    return _dir_entry(path)
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
            return _dir_entry(path)
        raise FileNotFoundError(errno.ENOENT, "no such file or directory", path)

    def _listing_one(self, bucket: str, prefix: str) -> tuple[list[Any], list[Any]]:
        """What is under `prefix` (at most two keys): a folder object named by the prefix
        itself (a "dir/" marker, or an emptied SeaweedFS folder) does not count."""
        with _translated(f"{bucket}/{prefix}"):
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
                        out.setdefault(dname, _dir_entry(dname))
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
                listed.setdefault(above, {}).setdefault(parent, _dir_entry(parent))
                parent = above
        if not items:
            if key:
                found = self._head(path)
                if found is not None:
                    out[path] = found
            else:
                self._bucket_info(bucket)
        elif withdirs:
            out[path] = _dir_entry(path)
        for directory, entries in listed.items():
            self.dircache[directory] = sorted(entries.values(), key=lambda e: e["name"])
        names = sorted(out)
        if detail:
            return {name: out[name] for name in names}
        return names

    # --- reading -------------------------------------------------------------------------------
    def _get_kwargs(self, version: str | None, etag: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if version:
            kwargs["version_id"] = version
        if etag:
            kwargs["if_match"] = etag
        return kwargs

    def _read_range(
        self,
        path: str,
        start: int | None,
        end: int | None,
        version: str | None = None,
        etag: str | None = None,
    ) -> bytes:
        """Bytes `start` to `end` (exclusive, Python-style, negatives from the end)."""
        bucket, key, path_version = self.split_path(path)
        version = version or path_version
        if not key:
            raise IsADirectoryError(errno.EISDIR, "a bucket is not a file", path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = self.info(path, version_id=version)["size"]
            if start is not None and start < 0:
                start = max(0, size + start)
            if end is not None and end < 0:
                end = max(0, size + end)
        if start == 0:
            start = None
        if end is not None and end <= (start or 0):
            return b""
        options = self._get_kwargs(version, etag)
        try:
            with _translated(path):
                response = self.session.get_object(
                    key,
                    bucket=bucket,
                    range_start=start,
                    range_end=None if end is None else end - 1,
                    stream=False,
                    **options,
                )
        except InvalidRange:
            return b""  # the range starts at or after the end of the object
        except FileNotFoundError:
            if start is None and end is None and not version and self.isdir(path):
                raise IsADirectoryError(errno.EISDIR, "is a directory", path) from None
            raise
        return response.data  # type: ignore[no-any-return]

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The bytes of a file, or of `start`..`end` (one ranged GET)."""
        return self._read_range(
            self._strip_protocol(path), start, end, version=kwargs.get("version_id")
        )

    def cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int] | None,
        ends: int | list[int] | None,
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        """Byte ranges of many files, fetched in parallel (`max_concurrency` at a time); ranges
        of one object at most `max_gap` bytes apart (default `cat_ranges_gap`) share a GET."""
        if max_gap is not None and (not isinstance(max_gap, int) or max_gap < 0):
            raise ValueError(f"max_gap must be a non-negative int, got {max_gap!r}")
        if not isinstance(paths, list):
            raise TypeError("paths must be a list")
        starts_list = starts if isinstance(starts, list) else [starts] * len(paths)
        ends_list = ends if isinstance(ends, list) else [ends] * len(paths)
        if len(starts_list) != len(paths) or len(ends_list) != len(paths):
            raise ValueError("paths, starts and ends must have the same length")

        gap = self.cat_ranges_gap if max_gap is None else max_gap
        simple = all(isinstance(x, int) and x >= 0 for x in (*starts_list, *ends_list))
        blocks: list[Any]
        if not simple:  # open-ended or negative ranges: one request each
            blocks = [
                (p, s, e, [n])
                for n, (p, s, e) in enumerate(zip(paths, starts_list, ends_list, strict=True))
            ]
        else:
            blocks = self._coalesce(paths, starts_list, ends_list, gap)  # type: ignore[arg-type]

        def fetch(block: Any) -> Any:
            try:
                return self.cat_file(block[0], block[1], block[2], **kwargs)
            except Exception as exc:
                if on_error == "return":
                    return exc
                raise

        out: list[Any] = [None] * len(paths)
        for (_, start, _, members), data in zip(blocks, self._map(fetch, blocks), strict=True):
            for n in members:
                if isinstance(data, Exception) or not simple:
                    out[n] = data
                else:
                    offset = starts_list[n] - start
                    out[n] = data[offset : offset + ends_list[n] - starts_list[n]]
        return out

    def _coalesce(
        self, paths: list[str], starts: list[int], ends: list[int], gap: int
    ) -> list[tuple[str, int, int, list[int]]]:
        """Ranges of one object at most `gap` bytes apart merged into one request (up to
        `cat_ranges_max_block` bytes), each with the indices of the ranges it serves."""
        order = sorted(range(len(paths)), key=lambda n: (paths[n], starts[n]))
        blocks: list[tuple[str, int, int, list[int]]] = []
        for n in order:
            path, start, end = paths[n], starts[n], max(ends[n], starts[n])
            if blocks:
                bpath, bstart, bend, members = blocks[-1]
                if (
                    bpath == path
                    and start - bend <= gap
                    and max(end, bend) - bstart <= self.cat_ranges_max_block
                ):
                    blocks[-1] = (bpath, bstart, max(end, bend), [*members, n])
                    continue
            blocks.append((path, start, end, [n]))
        return blocks

    def cat(
        self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any
    ) -> Any:
        """Like fsspec's `cat`, with the files fetched in parallel."""
        paths = self.expand_path(path, recursive=recursive)
        if len(paths) > 1 or isinstance(path, list) or paths[0] != self._strip_protocol(path):

            def one(p: str) -> Any:
                try:
                    return self.cat_file(p, **kwargs)
                except Exception as exc:
                    if on_error == "raise":
                        raise
                    return exc

            out = dict(zip(paths, self._map(one, paths), strict=True))
            if on_error == "omit":
                out = {k: v for k, v in out.items() if not isinstance(v, Exception)}
            return out
        return self.cat_file(paths[0], **kwargs)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> S3LiteFile:
        if "a" in mode:
            raise NotImplementedError("append mode is not supported on object storage")
        cache_type = kwargs.pop("cache_type", None) or self.default_cache_type
        return S3LiteFile(
            self,
            path,
            mode,
            block_size=block_size or self.blocksize,
            autocommit=autocommit,
            cache_type=cache_type,
            cache_options=cache_options,
            **kwargs,
        )

    def get_file(self, rpath: str, lpath: Any, callback: Any = None, **kwargs: Any) -> None:
        """Download one object (parallel ranged GETs above 8 MiB, written atomically)."""
        rpath = self._strip_protocol(rpath)
        bucket, key, version = self.split_path(rpath)
        if not key:
            os.makedirs(lpath, exist_ok=True)
            return
        if not isfilelike(lpath):
            parent = os.path.dirname(os.path.abspath(lpath))
            os.makedirs(parent, exist_ok=True)

        progress = _progress_for(callback)
        try:
            with _translated(rpath):
                self.session.download_file(
                    key,
                    lpath,
                    bucket=bucket,
                    concurrency=self.max_concurrency,
                    progress=progress,
                    **self._head_kwargs(version or kwargs.get("version_id")),
                )
        except FileNotFoundError:
            if not isfilelike(lpath) and self.isdir(rpath):
                os.makedirs(lpath, exist_ok=True)  # a directory (as `get` passes them)
                return
            raise

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

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        """A presigned GET URL valid for `expiration` seconds."""
        bucket, key, version = self.split_path(path)
        if not key:
            raise ValueError(f"sign needs an object path, got {path!r}")
        options = {"version_id": version} if version else {}
        return self.session.presign(  # type: ignore[no-any-return]
            "GET", key, expires_in=int(expiration), bucket=bucket, **options
        )

    def object_version_info(self, path: str) -> list[dict[str, Any]]:
        """Every version of the object at `path` (needs a versioned bucket)."""
        bucket, key, _ = self.split_path(path)
        with _translated(path):
            return [
                item
                for item in self.session.list_object_versions(key, bucket=bucket)
                if item["key"] == key
            ]

    # --- writing -------------------------------------------------------------------------------
    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget cached listings: all, or those of `path` and every directory above it."""
        if path is None:
            self.dircache.clear()
            return
        path = self._strip_protocol(path)
        self.dircache.pop(path, None)
        while path:
            path = self._parent(path)
            self.dircache.pop(path, None)

    def _put_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if kwargs.get("ContentType"):
            options["content_type"] = kwargs["ContentType"]
        if kwargs.get("content_type"):
            options["content_type"] = kwargs["content_type"]
        if kwargs.get("Metadata"):
            options["metadata"] = kwargs["Metadata"]
        if kwargs.get("metadata"):
            options["metadata"] = kwargs["metadata"]
        return options

    def _put_bytes(self, path: str, data: bytes, exclusive: bool, **options: Any) -> None:
        """Write a whole object in one PUT (if absent only, when `exclusive`)."""
        bucket, key, _ = self.split_path(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "cannot write to a bucket", path)
        try:
            with _translated(path):
                if exclusive:
                    options["if_none_match"] = "*"
                self.session.put_object(key, data, bucket=bucket, **options)
        except PreconditionFailed as exc:
            raise FileExistsError(errno.EEXIST, "object exists", path) from exc
        finally:
            self.invalidate_cache(path)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Write `value` as the object (`mode='create'`: only if it does not exist yet)."""
        path = self._strip_protocol(path)
        if mode not in ("overwrite", "create"):
            raise ValueError(f"mode must be 'overwrite' or 'create', got {mode!r}")
        data = bytes(value)
        options = self._put_kwargs(kwargs)
        if mode == "create" or len(data) <= _PIPE_SINGLE_PUT:
            if mode == "create" and self._head(path) is not None:
                raise FileExistsError(errno.EEXIST, "object exists", path)
            self._put_bytes(path, data, mode == "create", **options)
            return
        bucket, key, _ = self.split_path(path)
        try:
            with _translated(path):
                self.session.upload_file(
                    io.BytesIO(data),
                    key,
                    bucket=bucket,
                    concurrency=self.max_concurrency,
                    **options,
                )
        finally:
            self.invalidate_cache(path)

    def put_file(
        self,
        lpath: Any,
        rpath: str,
        callback: Any = None,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        """Upload one local file (parallel multipart above 8 MiB)."""
        rpath = self._strip_protocol(rpath)
        if not isfilelike(lpath) and os.path.isdir(lpath):
            bucket, key, _ = self.split_path(rpath)
            if not key:
                self.makedirs(bucket, exist_ok=True)
            return  # directories exist implicitly
        if mode == "create" and self._head(rpath) is not None:
            raise FileExistsError(errno.EEXIST, "object exists", rpath)
        bucket, key, _ = self.split_path(rpath)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "cannot write a file as a bucket", rpath)

        progress = _progress_for(callback)
        try:
            with _translated(rpath):
                self.session.upload_file(
                    lpath,
                    key,
                    bucket=bucket,
                    concurrency=self.max_concurrency,
                    progress=progress,
                    **self._put_kwargs(kwargs),
                )
        finally:
            self.invalidate_cache(rpath)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy an object server-side (in parts above the single-copy limit)."""
        path1 = self._strip_protocol(path1)
        path2 = self._strip_protocol(path2)
        b1, k1, v1 = self.split_path(path1)
        b2, k2, _ = self.split_path(path2)
        if not k1 or not k2:
            raise IsADirectoryError(errno.EISDIR, "copy needs object paths", path1)
        options = {"source_version_id": v1} if v1 else {}
        try:
            with _translated(path1):
                self.session.copy_object(k1, k2, source_bucket=b1, dest_bucket=b2, **options)
        except FileNotFoundError:
            if self.isdir(path1):
                return  # a directory: its files are copied one by one by `copy`
            raise
        finally:
            self.invalidate_cache(path2)

    def rm_file(self, path: str) -> None:
        """Delete one object."""
        path = self._strip_protocol(path)
        bucket, key, version = self.split_path(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "use rmdir to delete a bucket", path)
        try:
            self._delete_keys(bucket, [(key, version)])
        finally:
            self.invalidate_cache(path)

    def _delete_keys(self, bucket: str, keys: list[tuple[str, str | None]]) -> None:
        """Delete keys in batches; the first per-key failure is raised as an OSError."""
        if not keys:
            return
        # A plain key (no version) deletes the object as the backend does for a name.
        batch = [key if version is None else (key, version) for key, version in keys]
        with _translated(bucket):
            result = self.session.delete_objects(batch, bucket=bucket, raise_errors=False)
        if result.errors:
            first = result.errors[0]
            raise OSError(
                errno.EIO,
                f"{len(result.errors)} objects were not deleted, e.g. {first.get('key')!r}: "
                f"{first.get('code')} {first.get('message')}",
            )

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete files (and, with `recursive`, everything under directories) in batches of
        1000 keys; a bare bucket given with `recursive` is deleted too."""
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        # Directories are the paths that others are under; servers that keep folders (SeaweedFS)
        # or tools that wrote "dir/" markers have their folder objects deleted after the files.
        dirs = {p for p in paths for q in paths if q.startswith(p + "/")}
        files: dict[str, list[tuple[str, str | None]]] = {}
        markers: dict[str, list[tuple[str, str | None]]] = {}
        buckets: list[str] = []
        for p in paths:
            bucket, key, version = self.split_path(p)
            if not key:
                buckets.append(bucket)
            elif p in dirs:
                if not self._folder_markers:
                    continue
                markers.setdefault(bucket, []).append((key + "/", None))
            else:
                files.setdefault(bucket, []).append((key, version))
        try:
            for bucket, keys in files.items():
                self._delete_keys(bucket, keys)
            for bucket, keys in markers.items():
                keys.sort(key=lambda k: -k[0].count("/"))  # deepest first
                self._delete_keys(bucket, keys)
        finally:
            for p in paths:
                self.invalidate_cache(p)
        if recursive:
            for bucket in buckets:
                with contextlib.suppress(FileNotFoundError):
                    self.rmdir(bucket)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create a bucket; inside a bucket directories need no object, so nothing is sent
        (the bucket is created first if missing and `create_parents`)."""
        path = self._strip_protocol(path)
        bucket, key, _ = self.split_path(path)
        if not bucket:
            raise ValueError("mkdir needs a bucket name")
        if key:
            if create_parents and not self.exists(bucket):
                self.mkdir(bucket)
            elif not create_parents and not self.exists(bucket):
                raise FileNotFoundError(errno.ENOENT, "no such bucket", bucket)
            return
        options = {k: kwargs[k] for k in ("acl", "region") if kwargs.get(k)}
        try:
            with _translated(path):
                self.session.create_bucket(bucket, **options)
        finally:
            self.invalidate_cache("")

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Create the bucket of `path` (if missing); `exist_ok=False` fails on an existing
        bucket given alone."""
        path = self._strip_protocol(path)
        bucket, key, _ = self.split_path(path)
        try:
            self.mkdir(bucket)
        except FileExistsError:
            if not exist_ok and not key:
                raise

    def rmdir(self, path: str) -> None:
        """Delete an empty bucket; a prefix is not a stored thing, so it must just be empty."""
        path = self._strip_protocol(path)
        bucket, key, _ = self.split_path(path)
        if key:
            items, prefixes = self._listing_one(bucket, f"{key}/")
            if items or prefixes:
                raise OSError(errno.ENOTEMPTY, "directory is not empty", path)
            return
        # Checked here too: some servers (SeaweedFS) delete a bucket with everything in it.
        items, prefixes = self._listing_one(bucket, "")
        if items or prefixes:
            raise OSError(errno.ENOTEMPTY, "bucket is not empty", path)
        try:
            with _translated(path):
                self.session.delete_bucket(bucket)
        finally:
            self.invalidate_cache(path)
            self.invalidate_cache("")

    # --- lifecycle and serialisation -----------------------------------------------------------
    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        """fsspec's JSON form; `include_password=False` also leaves out `secret` and `token`."""
        out: dict[str, Any] = super().to_dict(include_password=include_password)
        if not include_password:
            for name in self._secret_options:
                out.pop(name, None)
        return out

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(endpoint_url={self.endpoint_url!r}, "
            f"region={self.region_name!r}, key={'set' if self.key else None}, anon={self.anon})"
        )


class S3LiteFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file of an `S3LiteFileSystem`: `rb` reads with fsspec's block cache and ranged GETs
    pinned to the object first seen; `wb`/`xb` upload in parts of `block_size` (a single PUT if
    it all fits one block), and an exception inside `with` aborts the upload."""

    fs: S3LiteFileSystem

    def __init__(self, fs: S3LiteFileSystem, path: str, mode: str = "rb", **kwargs: Any) -> None:
        version = kwargs.pop("version_id", None)
        bucket, key, path_version = fs.split_path(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "a bucket cannot be opened as a file", path)
        self.version_id: str | None = version or path_version
        self.bucket = bucket
        self.key = key
        self._upload: MultipartUpload | None = None
        self._part_number = 0
        self._pending_final: bytes | None = None
        self._etag: str | None = None
        self._write_options = fs._put_kwargs(kwargs)
        for name in ("ContentType", "content_type", "Metadata", "metadata"):
            kwargs.pop(name, None)
        if mode == "xb" and fs._head(path) is not None:
            raise FileExistsError(errno.EEXIST, "object exists", path)
        if mode == "rb":
            details = fs.info(path, version_id=self.version_id)
            if details["type"] != "file":
                raise IsADirectoryError(errno.EISDIR, "is a directory", path)
            kwargs["size"] = details["size"]
            self._etag = details.get("ETag")
            if fs.version_aware and self.version_id is None:
                self.version_id = details.get("VersionId")
        super().__init__(fs, path, mode, **kwargs)
        if mode == "rb":
            self.details = details

    def _fetch_range(self, start: int, end: int) -> bytes:
        if start >= end:
            return b""
        etag = self._etag if getattr(self.fs.session, "supports_if_match", False) else None
        part = self.fs.parallel_read_part
        if end - start < 2 * part:
            return self.fs._read_range(self.path, start, end, version=self.version_id, etag=etag)
        # A large read (a big block, pyarrow's coalesced column chunks): parallel ranged GETs.
        bounds = [(s, min(s + part, end)) for s in range(start, end, part)]
        chunks = self.fs._map(
            lambda b: self.fs._read_range(self.path, b[0], b[1], self.version_id, etag),
            bounds,
            pool="parts",
        )
        return b"".join(chunks)

    def _min_part(self) -> int:
        return int(getattr(self.fs.session, "multipart_min_part_size", 5 * 1024 * 1024))

    def _initiate_upload(self) -> None:
        # Parts are started lazily in _upload_chunk: a small file is one PUT.
        return None

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        if self._upload is None:
            if final and self.autocommit:
                self.fs._put_bytes(self.path, data, self.mode == "xb", **self._write_options)
                return True
            if final:
                self._pending_final = data
                return True
            if len(data) < self._min_part():
                return False  # keep buffering until a part is big enough
            from .multipart import MultipartUpload

            upload = MultipartUpload(
                self.fs.session,
                key=self.key,
                bucket=self.bucket,
                part_size=max(len(data), self._min_part()),
                content_type=self._write_options.get("content_type"),
                metadata=self._write_options.get("metadata"),
            )
            with _translated(self.path):
                upload.start()
            self._upload = upload
        if data:
            if not final and len(data) < self._min_part():
                return False  # every part but the last must reach the minimum size
            self._part_number += 1
            try:
                with _translated(self.path):
                    self._upload.upload_part(self._part_number, data)
            except BaseException:
                self._abort()
                raise
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        """Make the written object visible (called on close unless in a transaction)."""
        pending = self._pending_final
        if self._upload is None:
            if pending is not None:
                self._pending_final = None
                self.fs._put_bytes(self.path, pending, self.mode == "xb", **self._write_options)
            return
        try:
            with _translated(self.path):
                self._upload.complete()
        except BaseException:
            self._abort()
            raise
        finally:
            self.fs.invalidate_cache(self.path)

    def discard(self) -> None:
        """Drop what was written: the multipart upload is aborted, nothing becomes visible."""
        self._pending_final = None
        self._abort()

    def _abort(self) -> None:
        if self._upload is not None:
            with contextlib.suppress(Exception):
                self._upload.abort()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and self.writable():
            # An error while writing: abort the upload instead of committing half a file.
            self.discard()
            self.closed = True
            return
        self.close()


class B2LiteFileSystem(S3LiteFileSystem):
    """An fsspec filesystem over a `B2Session` (B2's native API): paths are ``bucket/name``.

    `key`/`secret` are the application key id and key (default `B2_APPLICATION_KEY_ID` /
    `B2_APPLICATION_KEY`); `endpoint_url` is where b2_authorize_account is. Deleting a file
    deletes every version of it.
    """

    protocol: ClassVar[str | tuple[str, ...]] = ("b2lite",)
    _folder_markers: ClassVar[bool] = False

    def _make_session(self) -> Any:
        from .b2 import B2Session

        options = self._connection_options()
        if self.endpoint_url:
            options["api_url"] = self.endpoint_url
        if self.key is not None:
            options.update(access_key_id=self.key, access_key=self._secret)
        options.update(self.session_options)
        session: B2Session = B2Session(**options)
        return session

    def _put_bytes(self, path: str, data: bytes, exclusive: bool, **options: Any) -> None:
        # B2 has no conditional upload: `exclusive` is checked before the write.
        bucket, key, _ = self.split_path(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "cannot write to a bucket", path)
        if exclusive and self._head(path) is not None:
            raise FileExistsError(errno.EEXIST, "object exists", path)
        try:
            with _translated(path):
                self.session.put_object(key, data, bucket=bucket, **options)
        finally:
            self.invalidate_cache(path)


class _S3ProtocolFileSystem(S3LiteFileSystem):
    """`S3LiteFileSystem` under the ``s3``/``s3a`` protocols (see `register_s3`)."""

    protocol: ClassVar[str | tuple[str, ...]] = ("s3", "s3a")


def register_s3(clobber: bool = True) -> None:
    """Make s3lite serve ``s3://`` and ``s3a://`` URLs in this process (fsspec, pandas, Dask,
    pyarrow through fsspec), in place of s3fs; storage options are spelt as for s3fs."""
    import fsspec  # type: ignore[import-untyped]

    for protocol in ("s3", "s3a"):
        fsspec.register_implementation(protocol, _S3ProtocolFileSystem, clobber=clobber)
