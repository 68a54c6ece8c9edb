"""The core of the fsspec filesystems: storage options (s3fs's spelling), the session made
from them on first use, thread pools, path syntax (``bucket/key?versionId=...``) and the
listings cache. The operations are mixins on top of it (fs_listing, fs_reading,
fs_writing), put together in `s3lite.fs`."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from fsspec.spec import AbstractFileSystem  # type: ignore[import-untyped]

from .fs_cache import ReadAheadOrExactCache

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["DEFAULT_BLOCK_SIZE", "S3LiteFileSystemBase"]

#: Bytes per read-ahead block of `open(..., "rb")` and per part written by `open(..., "wb")`.
#: Reads of a block are split into parallel GETs, so a large block costs little latency.
DEFAULT_BLOCK_SIZE = 16 * 1024 * 1024


class S3LiteFileSystemBase(AbstractFileSystem):  # type: ignore[misc]
    """What every part of `S3LiteFileSystem` builds on: the storage options, the session
    made from them, the thread pools, the path syntax and the listings cache."""

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

    # --- listings cache ------------------------------------------------------------------------
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
