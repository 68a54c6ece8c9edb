"""A pathlib for buckets: `PureS3Path`, `S3Path` and `B2Path` on s3lite's sessions.

Paths look like `/bucket/key/parts`: the first part is the bucket, the rest is the key.
The pure logic is `pathlib.PurePosixPath`'s, held by composition (CPython's pathlib internals
changed in 3.12 and 3.13; nothing here depends on them), except that `..` is resolved
lexically (S3 has no symlinks) and `os.fspath()` is refused, so that an object path is never
mistaken for a local file.

A "directory" is a key prefix ending in `/` with at least one object under it (or a bucket,
or `/`, whose entries are the buckets). Objects whose key ends in `/` (folder markers made by
consoles and other tools) count as directories and are never listed as files.

Which session serves a path, and which put/copy options go with its objects, comes from
`register_configuration_parameter` (per `/`, bucket or key prefix; the most specific wins),
else from a default session built lazily from the environment (`S3Session()` for `S3Path`,
`B2Session()` for `B2Path`).
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import stat as _stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import PurePosixPath
from types import TracebackType
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    BinaryIO,
    Literal,
    NamedTuple,
    NoReturn,
    TypeVar,
    overload,
)
from urllib.parse import quote, unquote

from .errors import (
    AccessDenied,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    ClientError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
    ObjectChanged,
    PreconditionFailed,
    TransportError,
    Unauthorized,
)
from .progress import ProgressCallback, ProgressReporter

if TYPE_CHECKING:
    import datetime as _dt

    from .b2 import B2Session
    from .multipart import MultipartUpload
    from .response import Response
    from .s3 import S3Session

__all__ = [
    "B2Path",
    "PureB2Path",
    "PureS3Path",
    "PureVersionedS3Path",
    "S3ObjectReader",
    "S3ObjectWriter",
    "S3Path",
    "StatResult",
    "TransferConfig",
    "VersionedS3Path",
    "clear_configuration",
    "register_configuration_parameter",
]

log = logging.getLogger("s3lite")

MiB = 1024 * 1024
#: Defaults of `TransferConfig` (the same as `upload_file`'s).
DEFAULT_THRESHOLD = 8 * MiB
DEFAULT_CONCURRENCY = 8
#: Buffer of the `io.BufferedReader` that `open('rb')` returns (when `buffering` is -1).
READ_BUFFER = 256 * 1024
#: Ranged reads start with this many bytes and double while the reading stays sequential.
READ_WINDOW_MIN = 1 * MiB
READ_WINDOW_MAX = 32 * MiB
#: A forward seek within the open range reads and drops up to this much instead of
#: starting a new request.
SKIP_LIMIT = 256 * 1024
#: Largest object B2's server-side copy (b2_copy_file) takes; larger ones are streamed.
B2_MAX_COPY = 5_000_000_000

_P = TypeVar("_P", bound="PureS3Path")
_S = TypeVar("_S", bound="S3Path")


# --- transfer settings ---------------------------------------------------------------------


class TransferConfig:
    """Transfer settings for a path, registered as the `transfer` parameter.

    `threshold`: writes up to this many bytes end as one PUT, larger ones stream through a
    multipart upload; `part_size`: size of each part (default: 8 MiB, or the backend's
    minimum); `concurrency`: parts uploaded at once. A field left at None is inherited
    from a less specific registration (or the default), so a prefix can change the part
    size alone. Memory of a write stays within (concurrency + 1) × part_size.
    """

    __slots__ = ("concurrency", "part_size", "threshold")

    def __init__(
        self,
        threshold: int | None = None,
        part_size: int | None = None,
        concurrency: int | None = None,
    ) -> None:
        for name, value in (
            ("threshold", threshold),
            ("part_size", part_size),
            ("concurrency", concurrency),
        ):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise ValueError(f"{name} must be a positive int or None, got {value!r}")
        self.threshold = threshold
        self.part_size = part_size
        self.concurrency = concurrency

    @classmethod
    def from_boto3(cls, config: Any) -> TransferConfig:
        """The same settings from a boto3 `TransferConfig` (or any object with its
        `multipart_threshold`, `multipart_chunksize` and `max_concurrency` attributes), so
        that s3path configurations carry over."""
        return cls(
            getattr(config, "multipart_threshold", None),
            getattr(config, "multipart_chunksize", None),
            getattr(config, "max_concurrency", None),
        )

    def _fields(self) -> dict[str, int]:
        fields = {
            "threshold": self.threshold,
            "part_size": self.part_size,
            "concurrency": self.concurrency,
        }
        return {k: v for k, v in fields.items() if v is not None}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TransferConfig):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((self.threshold, self.part_size, self.concurrency))

    def __repr__(self) -> str:
        return (
            f"TransferConfig(threshold={self.threshold!r}, part_size={self.part_size!r}, "
            f"concurrency={self.concurrency!r})"
        )


# --- stat ----------------------------------------------------------------------------------


class StatResult(NamedTuple):
    """What `S3Path.stat()` returns: `os.stat_result`'s fields that objects have, plus the
    object's own (ETag, version, metadata...).

    Directories (prefixes, buckets, `/`) have `st_mode` S_IFDIR, size 0 and mtime 0.
    """

    st_mode: int
    st_size: int
    st_mtime: float
    etag: str | None = None
    version_id: str | None = None
    last_modified: _dt.datetime | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] | None = None
    storage_class: str | None = None

    @property
    def st_mtime_ns(self) -> int:
        return int(self.st_mtime * 1_000_000_000)

    @property
    def size(self) -> int:
        """s3path's name for `st_size`."""
        return self.st_size

    @property
    def st_version_id(self) -> str | None:
        """s3path's name for `version_id`."""
        return self.version_id

    def __getattr__(self, name: str) -> Any:
        # os.stat_result fields objects do not have (st_ino, st_uid, st_atime, ...): s3path's
        # error, io.UnsupportedOperation, rather than a made-up value.
        if name.startswith("st_") or name in ("n_fields", "n_sequence_fields"):
            raise io.UnsupportedOperation(f"{type(self).__name__} has no {name}: S3 has none")
        raise AttributeError(name)

    @classmethod
    def _for_object(cls, head: Response) -> StatResult:
        modified = head.last_modified
        return cls(
            _stat.S_IFREG | 0o644,
            head.content_length or 0,
            modified.timestamp() if modified is not None else 0.0,
            head.etag,
            head.version_id,
            modified,
            head.content_type,
            dict(head.metadata),
            head.headers.get("x-amz-storage-class"),
        )

    @classmethod
    def _for_directory(cls) -> StatResult:
        return cls(_stat.S_IFDIR | 0o755, 0, 0.0)


# --- configuration -------------------------------------------------------------------------

#: Parameters kept per path, as s3lite's put_object/copy_object spell them.
_OBJECT_PARAMS = (
    "acl",
    "cache_control",
    "content_disposition",
    "content_encoding",
    "content_language",
    "content_type",
    "expires",
    "storage_class",
)
_TRANSFER_PARAMS = ("concurrency", "part_size", "threshold")
_PARAM_NAMES = frozenset(
    (*_OBJECT_PARAMS, *_TRANSFER_PARAMS, "headers", "metadata", "progress", "transfer")
)
#: boto3/s3path spellings (ExtraArgs names) accepted for migration.
_BOTO3_NAMES = {
    "ACL": "acl",
    "CacheControl": "cache_control",
    "ContentDisposition": "content_disposition",
    "ContentEncoding": "content_encoding",
    "ContentLanguage": "content_language",
    "ContentType": "content_type",
    "Expires": "expires",
    "Metadata": "metadata",
    "StorageClass": "storage_class",
    "multipart_threshold": "threshold",
    "multipart_chunksize": "part_size",
    "max_concurrency": "concurrency",
    "transfer_config": "transfer",
    "transfert_config": "transfer",  # s3path's documented spelling
    "callback_class": "progress",
}
#: Parameters that are request headers.
_HEADER_PARAMS = {
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "server_side_encryption": "x-amz-server-side-encryption",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
    "sse_kms_key_id": "x-amz-server-side-encryption-aws-kms-key-id",
    "SSEKMSEncryptionContext": "x-amz-server-side-encryption-context",
    "BucketKeyEnabled": "x-amz-server-side-encryption-bucket-key-enabled",
    "Tagging": "x-amz-tagging",
}


def _normalize_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters checked and spelled the s3lite way: unknown names fail here, at
    registration, rather than at the first write."""
    if not isinstance(parameters, Mapping):
        raise TypeError(f"parameters must be a mapping, not {type(parameters).__name__}")
    out: dict[str, Any] = {}
    headers: dict[str, str] = {}
    for raw_name, value in parameters.items():
        if raw_name in _HEADER_PARAMS:
            text = ("true" if value else "false") if isinstance(value, bool) else value
            if not isinstance(text, str):
                raise TypeError(f"parameter {raw_name!r} must be a str")
            headers[_HEADER_PARAMS[raw_name]] = text
            continue
        name = _BOTO3_NAMES.get(raw_name, raw_name)
        if name not in _PARAM_NAMES:
            raise ValueError(
                f"unknown parameter {raw_name!r}; known: {', '.join(sorted(_PARAM_NAMES))} "
                f"(and boto3's {', '.join(sorted({*_BOTO3_NAMES, *_HEADER_PARAMS}))})"
            )
        if name == "transfer":
            transfer = (
                value if isinstance(value, TransferConfig) else TransferConfig.from_boto3(value)
            )
            out.update(transfer._fields())
        elif name in _TRANSFER_PARAMS:
            out.update(TransferConfig(**{name: value})._fields())
        elif name in ("metadata", "headers"):
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise TypeError(f"parameter {raw_name!r} must be a mapping of str to str")
            if name == "headers":
                headers.update(value)
            else:
                out["metadata"] = dict(value)
        elif name == "progress":
            if not callable(value):
                raise TypeError("parameter 'progress' must be callable (or a class)")
            out["progress"] = value
        elif name == "expires":
            if not isinstance(value, str) and not hasattr(value, "utctimetuple"):
                raise TypeError("parameter 'expires' must be a str or a datetime")
            out["expires"] = value
        else:
            if not isinstance(value, str):
                raise TypeError(f"parameter {raw_name!r} must be a str")
            out[name] = value
    if headers:
        out["headers"] = headers
    return out


class _Entry:
    """What one path was registered with (never changed: a new registration replaces it)."""

    __slots__ = ("parameters", "session")

    def __init__(self, parameters: dict[str, Any] | None, session: Any) -> None:
        self.parameters = parameters
        self.session = session


class _Config:
    """The configuration that applies to one path: its session and merged parameters.
    The default session is only looked up (and built) when a request needs it."""

    __slots__ = ("_flavour", "_session", "params")

    def __init__(self, session: Any, params: dict[str, Any], flavour: str) -> None:
        self._session = session
        self._flavour = flavour
        self.params = params

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = _REGISTRY.default_session(self._flavour)
        return self._session

    @property
    def threshold(self) -> int:
        return int(self.params.get("threshold", DEFAULT_THRESHOLD))

    @property
    def part_size(self) -> int | None:
        value = self.params.get("part_size")
        return int(value) if value is not None else None

    @property
    def concurrency(self) -> int:
        return int(self.params.get("concurrency", DEFAULT_CONCURRENCY))

    def progress_for(self, path: PureS3Path) -> ProgressCallback | None:
        """The progress callback of one transfer; a class is instantiated with the path
        (s3path's `callback_class`), so that it can keep per-transfer state."""
        progress = self.params.get("progress")
        if isinstance(progress, type):
            return progress(path)  # type: ignore[no-any-return]
        return progress

    @property
    def is_b2(self) -> bool:
        return _is_b2(self.session)

    def object_fields(self) -> dict[str, Any]:
        """put_object's keyword arguments (checked against what the backend can store)."""
        fields = {k: self.params[k] for k in _OBJECT_PARAMS if k in self.params}
        if "metadata" in self.params:
            fields["metadata"] = dict(self.params["metadata"])
        headers = dict(self.params.get("headers") or {})
        if self.is_b2:
            for name in ("acl", "storage_class"):
                if name in fields:
                    raise ValueError(f"parameter {name!r} is not supported on B2")
            bad = [h for h in headers if not h.lower().startswith("x-bz-")]
            if bad:
                raise ValueError(f"headers {bad} are not supported on B2 (only X-Bz-* headers)")
        if headers:
            fields["headers"] = headers
        return fields

    def multipart_fields(self) -> tuple[dict[str, str] | None, str | None, dict[str, str]]:
        """(metadata, content_type, headers) for a multipart upload: the engine takes the
        other object fields as headers."""
        fields = self.object_fields()
        headers: dict[str, str] = {}
        names = {
            "cache_control": "Cache-Control",
            "content_disposition": "Content-Disposition",
            "content_encoding": "Content-Encoding",
            "content_language": "Content-Language",
            "acl": "x-amz-acl",
            "storage_class": "x-amz-storage-class",
        }
        for name, header in names.items():
            if name in fields:
                headers[header] = fields[name]
        if "expires" in fields:
            from .arguments import http_date

            headers["Expires"] = http_date(fields["expires"])
        headers.update(fields.get("headers") or {})
        return fields.get("metadata"), fields.get("content_type"), headers

    def copy_fields(self) -> dict[str, Any]:
        """copy_object's keyword arguments for a rename/copy onto a path of this
        configuration: its storage class, ACL and headers (encryption...); the object keeps
        its own metadata and content type."""
        if self.is_b2:
            return {}
        fields = self.object_fields()
        return {k: fields[k] for k in ("acl", "storage_class", "headers") if k in fields}


def _is_b2(session: Any) -> bool:
    module = sys.modules.get("s3lite.b2")
    return module is not None and isinstance(session, module.B2Session)


class _Registry:
    """Registrations per (flavour, path) and the lazily built default sessions; every
    access holds one lock, so threads may register and resolve at any time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._defaults: dict[str, Any] = {}

    def register(
        self, flavour: str, where: str, parameters: dict[str, Any] | None, session: Any
    ) -> None:
        with self._lock:
            old = self._entries.get((flavour, where))
            if old is not None:
                parameters = old.parameters if parameters is None else parameters
                session = old.session if session is None else session
            self._entries[(flavour, where)] = _Entry(parameters, session)

    def clear(self, flavour: str | None = None, where: str | None = None) -> None:
        with self._lock:
            if where is None:
                self._entries = {
                    k: v for k, v in self._entries.items() if flavour not in (None, k[0])
                }
                for name in list(self._defaults):
                    if flavour in (None, name):
                        del self._defaults[name]
            else:
                self._entries.pop((flavour or "s3", where), None)

    def resolve(self, flavour: str, chain: Iterable[str]) -> _Config:
        """Merge the registrations from `/` down to the path: each parameter is taken from
        the most specific registration that sets it (`metadata` and `headers` merge name by
        name), and so is the session."""
        params: dict[str, Any] = {}
        session = None
        with self._lock:
            for where in chain:
                entry = self._entries.get((flavour, where))
                if entry is None:
                    continue
                if entry.session is not None:
                    session = entry.session
                for name, value in (entry.parameters or {}).items():
                    if name in ("metadata", "headers"):
                        merged = dict(params.get(name) or {})
                        merged.update(value)
                        params[name] = merged
                    else:
                        params[name] = value
        return _Config(session, params, flavour)

    def default_session(self, flavour: str) -> Any:
        """The session of paths nothing was registered for, built once from the
        environment (credentials, endpoint, profile) on first use."""
        with self._lock:
            session = self._defaults.get(flavour)
            if session is None:
                if flavour == "b2":
                    from .b2 import B2Session

                    session = B2Session()
                else:
                    from .s3 import S3Session

                    session = S3Session()
                self._defaults[flavour] = session
            return session


_REGISTRY = _Registry()


def register_configuration_parameter(
    path: PureS3Path | str,
    *,
    parameters: Mapping[str, Any] | None = None,
    session: S3Session | B2Session | None = None,
) -> None:
    """Configure every path at or under `path` (`/`, `/bucket` or `/bucket/prefix`).

    `parameters` are the put/copy options of their objects (`storage_class`, `acl`,
    `metadata`, `content_type`, `cache_control`, `headers` such as server-side encryption,
    ...; boto3's `StorageClass`, `ServerSideEncryption`, ... are accepted too), `transfer`
    (a `TransferConfig`) and `progress` (a `progress(done, total)` callable, or a class
    instantiated with the path for each transfer). `session` serves those paths, so that
    one bucket can live on a local server and another on AWS. The most specific
    registration wins, parameter by parameter; registering the same path again replaces
    what it sets. A `B2Path` (or `PureB2Path`) configures B2 paths, anything else S3 paths.
    """
    if parameters is None and session is None:
        raise ValueError("pass parameters, a session, or both")
    pure = _config_path(path)
    if not pure.is_absolute():
        raise ValueError(f"configure an absolute path (/, /bucket or /bucket/prefix), not {pure}")
    if session is not None:
        for method in ("get_object", "put_object", "list_objects", "head_object"):
            if not callable(getattr(session, method, None)):
                raise TypeError(f"session must be an S3Session or B2Session, not {session!r}")
    normalized = _normalize_parameters(parameters) if parameters is not None else None
    _REGISTRY.register(pure._flavour, str(pure), normalized, session)


def clear_configuration(path: PureS3Path | str | None = None) -> None:
    """Forget the registration of `path`, or (no path) every registration and the default
    sessions, which are then built afresh from the environment on next use."""
    if path is None:
        _REGISTRY.clear()
        return
    pure = _config_path(path)
    _REGISTRY.clear(pure._flavour, str(pure))


def _config_path(path: object) -> PureS3Path:
    """An S3/B2 path (or its text), never a local path taken for one (s3path's TypeError)."""
    if isinstance(path, PureS3Path):
        return PureS3Path._wrap(path._p) if isinstance(path, PureVersionedS3Path) else path
    if isinstance(path, str):
        return PureS3Path(path)
    raise TypeError(
        f"path must be an S3Path/PureS3Path (or B2), or its str, not {type(path).__name__}: "
        "a local path is not a bucket"
    )


# --- errors --------------------------------------------------------------------------------


def _os_error(err: BaseException, path: object) -> OSError | None:
    """pathlib's exception for a service error, or None when pathlib has none."""
    if isinstance(err, (NoSuchKey, NoSuchBucket, NoSuchVersion)):
        cls: type[OSError] = FileNotFoundError
        code = errno.ENOENT
    elif isinstance(err, (AccessDenied, Unauthorized)):
        cls, code = PermissionError, errno.EACCES
    elif isinstance(err, BucketNotEmpty):
        cls, code = OSError, errno.ENOTEMPTY
    elif isinstance(err, (BucketAlreadyExists, BucketAlreadyOwnedByYou)):
        cls, code = FileExistsError, errno.EEXIST
    else:
        return None
    return cls(code, f"{os.strerror(code)} ({err})", str(path))


@contextlib.contextmanager
def _mapped(path: object) -> Iterator[None]:
    """Raise service errors as pathlib's (FileNotFoundError...), the service error as the
    cause; errors pathlib has no name for pass unchanged."""
    try:
        yield
    except ClientError as err:
        exc = _os_error(err, path)
        if exc is None:
            raise
        raise exc from err


def _error(cls: type[OSError], code: int, path: object, cause: str = "") -> OSError:
    text = os.strerror(code) + (f" ({cause})" if cause else "")
    return cls(code, text, str(path))


# --- glob patterns -------------------------------------------------------------------------

_WILDCARD = re.compile(r"[*?\[]")
_RECURSIVE = "**"


def _literal_head(component: str) -> str:
    """The characters before the first wildcard (the listing prefix a component allows)."""
    match = _WILDCARD.search(component)
    return component if match is None else component[: match.start()]


_REGEX_CACHE: dict[tuple[str, bool], re.Pattern[str]] = {}


def _component_regex(component: str, case_sensitive: bool) -> re.Pattern[str]:
    key = (component, case_sensitive)
    regex = _REGEX_CACHE.get(key)
    if regex is None:
        import fnmatch

        regex = re.compile(fnmatch.translate(component), 0 if case_sensitive else re.IGNORECASE)
        if len(_REGEX_CACHE) > 1024:
            _REGEX_CACHE.clear()
        _REGEX_CACHE[key] = regex
    return regex


def _match_segments(pattern: Sequence[re.Pattern[str] | None], names: Sequence[str]) -> bool:
    """Whether the path segments `names` match the pattern segments (None: `**`, which
    matches any number of segments): wildcard matching over segments, backtracking to the
    last `**` only, so linear-ish in practice."""
    p = n = 0
    star = -1
    star_n = 0
    while n < len(names):
        if p < len(pattern) and pattern[p] is None:
            star, star_n = p, n
            p += 1
        elif p < len(pattern) and pattern[p].match(names[n]):  # type: ignore[union-attr]
            p += 1
            n += 1
        elif star >= 0:
            p = star + 1
            star_n += 1
            n = star_n
        else:
            return False
    while p < len(pattern) and pattern[p] is None:
        p += 1
    return p == len(pattern)


class _Glob:
    """A parsed glob pattern: its components, whether only directories match (a trailing
    `/`) and whether it recurses (`**`)."""

    def __init__(self, pattern: str, case_sensitive: bool | None) -> None:
        if not isinstance(pattern, str):
            pattern = os.fspath(pattern)
        if not pattern:
            raise ValueError(f"Unacceptable pattern: {pattern!r}")
        if pattern.startswith("/"):
            raise NotImplementedError("Non-relative patterns are unsupported")
        self.case_sensitive = True if case_sensitive is None else bool(case_sensitive)
        self.dir_only = pattern.endswith("/")
        parts = [p for p in pattern.split("/") if p not in ("", ".")]
        if not parts:
            raise ValueError(f"Unacceptable pattern: {pattern!r}")
        if ".." in parts:
            raise ValueError(f"'..' is not supported in S3 glob patterns: {pattern!r}")
        self.parts = parts
        self.recursive = _RECURSIVE in parts
        self.compiled: list[re.Pattern[str] | None] = [
            None if p == _RECURSIVE else _component_regex(p, self.case_sensitive) for p in parts
        ]

    def literal(self, index: int) -> bool:
        """Whether component `index` names exactly one entry (listing can be skipped)."""
        part = self.parts[index]
        return self.case_sensitive and part != _RECURSIVE and not _WILDCARD.search(part)

    def head(self, index: int) -> str:
        """Listing prefix that component `index` allows."""
        if not self.case_sensitive or self.parts[index] == _RECURSIVE:
            return ""
        return _literal_head(self.parts[index])


def _usable(name: str) -> bool:
    """Whether a key segment can be a path component (`a//b`, `.` and `..` cannot)."""
    return name not in ("", ".", "..")


# --- pure paths ----------------------------------------------------------------------------


def _normalized(segments: Sequence[str]) -> PurePosixPath:
    """PurePosixPath of the segments with `..` resolved lexically and `//` roots as `/`."""
    p = PurePosixPath(*segments)
    parts = p.parts
    rooted = bool(parts) and parts[0].startswith("/")
    if not rooted and ".." not in parts:
        return p
    if rooted and parts[0] == "/" and ".." not in parts:
        return p
    body = parts[1:] if rooted else parts
    out: list[str] = []
    for part in body:
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif rooted:
                continue  # '/..' is '/'
            else:
                out.append(part)
        else:
            out.append(part)
    return PurePosixPath("/", *out) if rooted else PurePosixPath(*out)


def _segment(arg: object) -> str:
    if isinstance(arg, PureS3Path):
        return str(arg)
    if isinstance(arg, str):
        return arg
    if isinstance(arg, os.PathLike):
        value = os.fspath(arg)
        if isinstance(value, str):
            return value
    raise TypeError(
        f"argument should be a str, an S3 path or an os.PathLike returning str, "
        f"not {type(arg).__name__!r}"
    )


class PureS3Path:
    """A pure S3 path, `/bucket/key`: path arithmetic only, no I/O.

    Behaves like `pathlib.PurePosixPath` (parts, name, suffix, parent(s), `/`, joinpath,
    relative_to, match, with_*, ordering...) with `bucket` and `key` on top, and
    `from_uri('s3://bucket/key')` / `as_uri()`. Differences: `..` is resolved lexically
    (`/b/a/../c` is `/b/c`), and `os.fspath()` is refused.
    """

    __slots__ = ("_p",)

    #: Paths of different flavours never compare equal and have separate configurations.
    _flavour = "s3"
    uri_scheme = "s3"

    def __init__(self, *pathsegments: str | os.PathLike[str] | PureS3Path) -> None:
        self._p = _normalized([_segment(s) for s in pathsegments])

    @classmethod
    def _wrap(cls: type[_P], p: PurePosixPath) -> _P:
        obj = cls.__new__(cls)
        obj._p = p
        return obj

    def _new(self: _P, p: PurePosixPath) -> _P:
        return type(self)._wrap(p)

    @classmethod
    def from_uri(cls: type[_P], uri: str) -> _P:
        """The path of `s3://bucket/key` (percent-escapes in the key are decoded)."""
        prefix = f"{cls.uri_scheme}://"
        if not isinstance(uri, str) or not uri.startswith(prefix):
            raise ValueError(f"{uri!r} is not a {cls.uri_scheme}:// URI")
        rest = uri[len(prefix) :]
        bucket, _, key = rest.partition("/")
        if not bucket:
            if key:
                raise ValueError(f"{uri!r} has a key but no bucket")
            return cls("/")
        return cls("/" + bucket, *(unquote(part) for part in key.split("/") if part))

    @classmethod
    def from_bucket_key(cls: type[_P], bucket: str, key: str = "") -> _P:
        """The path of `key` in `bucket`."""
        if not bucket or "/" in bucket:
            raise ValueError(f"invalid bucket {bucket!r}")
        return cls("/" + bucket, *(part for part in key.split("/") if part))

    def as_uri(self) -> str:
        """`s3://bucket/key`, the key percent-encoded."""
        if not self.is_absolute():
            raise ValueError("relative path can't be expressed as a URI")
        if not self.bucket:
            return f"{self.uri_scheme}://"
        key = self.key
        return f"{self.uri_scheme}://{self.bucket}/{quote(key, safe='/')}"

    # --- bucket and key ------------------------------------------------------------------
    @property
    def bucket(self) -> str:
        """The bucket name ('' for `/` and for relative paths)."""
        parts = self._p.parts
        if len(parts) < 2 or parts[0] != "/":
            return ""
        return parts[1]

    @property
    def key(self) -> str:
        """The object key, without a trailing '/' ('' for a bucket; the whole path for a
        relative path)."""
        parts = self._p.parts
        if parts and parts[0] == "/":
            return "/".join(parts[2:])
        return "/".join(parts)

    @property
    def is_bucket(self) -> bool:
        """Whether the path is a bucket (`/bucket`)."""
        parts = self._p.parts
        return len(parts) == 2 and parts[0] == "/"

    # --- pathlib's pure API ----------------------------------------------------------------
    @property
    def parts(self) -> tuple[str, ...]:
        return self._p.parts

    @property
    def drive(self) -> str:
        return ""

    @property
    def root(self) -> str:
        return self._p.root

    @property
    def anchor(self) -> str:
        return self._p.anchor

    @property
    def name(self) -> str:
        return self._p.name

    @property
    def suffix(self) -> str:
        return self._p.suffix

    @property
    def suffixes(self) -> list[str]:
        return self._p.suffixes

    @property
    def stem(self) -> str:
        return self._p.stem

    @property
    def parent(self: _P) -> _P:
        return self._new(self._p.parent)

    @property
    def parents(self: _P) -> tuple[_P, ...]:
        """The ancestors, nearest first (a tuple: indexable, sliceable, negative indexes)."""
        return tuple(self._new(p) for p in self._p.parents)

    def is_absolute(self) -> bool:
        return self._p.is_absolute()

    def is_reserved(self) -> bool:
        return False

    def as_posix(self) -> str:
        return str(self._p)

    def joinpath(self: _P, *pathsegments: str | os.PathLike[str] | PureS3Path) -> _P:
        return type(self)(self, *pathsegments)

    def with_segments(self: _P, *pathsegments: str | os.PathLike[str] | PureS3Path) -> _P:
        """A path of the same type from these segments (pathlib 3.12's hook)."""
        return type(self)(*pathsegments)

    def __truediv__(self: _P, other: str | os.PathLike[str] | PureS3Path) -> _P:
        try:
            return self.joinpath(other)
        except TypeError:
            return NotImplemented

    def __rtruediv__(self: _P, other: str | os.PathLike[str]) -> _P:
        try:
            return type(self)(other, self)
        except TypeError:
            return NotImplemented

    def _pure_of(self, other: str | os.PathLike[str] | PureS3Path) -> PurePosixPath:
        return other._p if isinstance(other, PureS3Path) else _normalized([_segment(other)])

    def relative_to(
        self: _P, other: str | os.PathLike[str] | PureS3Path, *, walk_up: bool = False
    ) -> _P:
        """This path relative to `other` (ValueError if it is not under it; with
        `walk_up`, `..` segments climb out, as in pathlib 3.12)."""
        base = self._pure_of(other)
        if not walk_up:
            return self._new(self._p.relative_to(base))
        if self._p.is_absolute() != base.is_absolute():
            raise ValueError(f"{str(self)!r} and {str(base)!r} have different anchors")
        mine, theirs = self._p.parts, base.parts
        common = 0
        while common < min(len(mine), len(theirs)) and mine[common] == theirs[common]:
            common += 1
        if ".." in theirs[common:]:
            raise ValueError(f"'..' segment in {str(base)!r} cannot be walked")
        ups = [".."] * (len(theirs) - common)
        return self._new(PurePosixPath(*ups, *mine[common:]))

    def is_relative_to(self, other: str | os.PathLike[str] | PureS3Path) -> bool:
        try:
            self._p.relative_to(self._pure_of(other))
        except ValueError:
            return False
        return True

    def with_name(self: _P, name: str) -> _P:
        return self._new(self._p.with_name(name))

    def with_stem(self: _P, stem: str) -> _P:
        return self._new(self._p.with_stem(stem))

    def with_suffix(self: _P, suffix: str) -> _P:
        return self._new(self._p.with_suffix(suffix))

    def match(self, path_pattern: str, *, case_sensitive: bool | None = None) -> bool:
        """pathlib's `match`: a relative pattern matches from the right, an absolute one
        the whole path; `*` stays within a segment."""
        sensitive = True if case_sensitive is None else case_sensitive
        pattern = PurePosixPath(path_pattern).parts
        if not pattern:
            raise ValueError("empty pattern")
        parts = self._p.parts
        if pattern[0] == "/":
            if len(pattern) != len(parts) or parts[:1] != ("/",):
                return False
        elif len(pattern) > len(parts):
            return False
        for name, pat in zip(reversed(parts), reversed(pattern), strict=False):
            if pat == "/":
                if name != "/":
                    return False
            elif not _component_regex(pat, sensitive).match(name):
                return False
        return True

    def full_match(self, pattern: str, *, case_sensitive: bool | None = None) -> bool:
        """pathlib 3.13's `full_match`: the pattern must match the whole path; `**`
        matches any number of segments."""
        sensitive = True if case_sensitive is None else case_sensitive
        if not pattern:
            raise ValueError("empty pattern")
        rooted = pattern.startswith("/")
        if rooted != self._p.is_absolute():
            return False
        names = [p for p in pattern.split("/") if p not in ("", ".")]
        compiled = [None if n == _RECURSIVE else _component_regex(n, sensitive) for n in names]
        parts = self._p.parts[1:] if rooted else self._p.parts
        return _match_segments(compiled, parts)

    # --- dunders ---------------------------------------------------------------------------
    def __str__(self) -> str:
        return str(self._p)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._p)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self._p),))

    def __fspath__(self) -> str:
        raise TypeError(
            f"{type(self).__name__} is not a local file path; use str(path) for its text"
        )

    def __bytes__(self) -> bytes:
        raise TypeError(
            f"{type(self).__name__} is not a local file path; use str(path).encode() for bytes"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PureS3Path):
            return NotImplemented
        return self._flavour == other._flavour and self._p == other._p

    def __hash__(self) -> int:
        return hash((self._flavour, self._p))

    def _ordered(self, other: object) -> PurePosixPath:
        if not isinstance(other, PureS3Path) or other._flavour != self._flavour:
            raise TypeError
        return other._p

    def __lt__(self, other: object) -> bool:
        try:
            return self._p < self._ordered(other)
        except TypeError:
            return NotImplemented

    def __le__(self, other: object) -> bool:
        try:
            return self._p <= self._ordered(other)
        except TypeError:
            return NotImplemented

    def __gt__(self, other: object) -> bool:
        try:
            return self._p > self._ordered(other)
        except TypeError:
            return NotImplemented

    def __ge__(self, other: object) -> bool:
        try:
            return self._p >= self._ordered(other)
        except TypeError:
            return NotImplemented


class PureB2Path(PureS3Path):
    """A pure Backblaze B2 path, `/bucket/file/name` (`b2://bucket/file/name`)."""

    __slots__ = ()
    _flavour = "b2"
    uri_scheme = "b2"


# --- concrete paths ------------------------------------------------------------------------

_TEXT_MODES = frozenset({"r", "rt", "tr", "w", "wt", "tw"})
_BINARY_MODES = frozenset({"rb", "br", "wb", "bw"})


class S3Path(PureS3Path):
    """An S3 object, prefix ("directory"), bucket or `/`, with pathlib.Path's I/O.

    The session and the options of new objects come from `register_configuration_parameter`
    (else the default session from the environment). Errors are pathlib's
    (`FileNotFoundError`, `PermissionError`...) with the service error as `__cause__`.
    Operations on relative paths raise ValueError.
    """

    __slots__ = ()

    # --- plumbing ----------------------------------------------------------------------------
    def _config(self) -> _Config:
        self._absolute()
        chain = [str(p) for p in reversed(self._p.parents)]
        chain.append(str(self._p))
        return _REGISTRY.resolve(self._flavour, chain)

    @property
    def session(self) -> S3Session | B2Session:
        """The session that serves this path (registered, or the default one)."""
        return self._config().session  # type: ignore[no-any-return]

    def _absolute(self) -> None:
        if not self._p.is_absolute():
            raise ValueError(
                f"{type(self).__name__} needs an absolute path, /bucket/key; got {str(self)!r}"
            )

    def _child(self: _S, bucket: str, key: str) -> _S:
        """The path of `key` in `bucket` (key segments already checked)."""
        if key:
            return self._wrap(PurePosixPath("/", bucket, *key.split("/")))
        return self._wrap(PurePosixPath("/", bucket))

    @property
    def _dir_prefix(self) -> str:
        """The listing prefix of this directory: 'key/' (or '' for a bucket)."""
        key = self.key
        return key + "/" if key else ""

    def _head(self, config: _Config) -> Response | None:
        """HEAD of the object, or None when there is none."""
        try:
            with _mapped(self):
                return config.session.head_object(  # type: ignore[no-any-return]
                    self.key, bucket=self.bucket, **self._version_args()
                )
        except FileNotFoundError:
            return None

    def _version_args(self) -> dict[str, str]:
        """`version_id=` for the requests of a versioned path; nothing for others."""
        return {}

    def _has_children(self, config: _Config, prefix: str | None = None) -> bool:
        """Whether any object has a key under `prefix` (default: this directory)."""
        listing = config.session.list_objects(
            self._dir_prefix if prefix is None else prefix, bucket=self.bucket, limit=1
        )
        try:
            with _mapped(self):
                return any(True for _ in listing)
        except FileNotFoundError:
            return False

    def _bucket_exists(self, config: _Config) -> bool:
        try:
            with _mapped(self):
                config.session.head_bucket(self.bucket)
        except FileNotFoundError:
            return False
        return True

    # --- queries -------------------------------------------------------------------------
    def exists(self, *, follow_symlinks: bool = True) -> bool:
        """Whether `/`, the bucket, the object or a prefix with objects under it exists."""
        config = self._config()
        if not self.bucket:
            return True
        if not self.key:
            return self._bucket_exists(config)
        return self._head(config) is not None or self._has_children(config)

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        """Whether this is `/`, an existing bucket, or a prefix with objects under it."""
        config = self._config()
        if not self.bucket:
            return True
        if not self.key:
            return self._bucket_exists(config)
        return self._has_children(config)

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        """Whether an object has exactly this key."""
        config = self._config()
        if not self.key:
            return False
        return self._head(config) is not None

    def is_symlink(self) -> bool:
        return False

    def is_mount(self) -> bool:
        return False

    def is_socket(self) -> bool:
        return False

    def is_fifo(self) -> bool:
        return False

    # S3 has no devices, links, modes, users or home: s3path's NotImplementedError, never a
    # made-up answer.
    @classmethod
    def cwd(cls) -> NoReturn:
        _unsupported("cwd")

    @classmethod
    def home(cls) -> NoReturn:
        _unsupported("home")

    def is_block_device(self) -> NoReturn:
        _unsupported("is_block_device")

    def is_char_device(self) -> NoReturn:
        _unsupported("is_char_device")

    def chmod(self, mode: int, *, follow_symlinks: bool = True) -> NoReturn:
        _unsupported("chmod")

    def lchmod(self, mode: int) -> NoReturn:
        _unsupported("lchmod")

    def group(self) -> NoReturn:
        _unsupported("group")

    def readlink(self) -> NoReturn:
        _unsupported("readlink")

    def symlink_to(self, target: object, target_is_directory: bool = False) -> NoReturn:
        _unsupported("symlink_to")

    def hardlink_to(self, target: object) -> NoReturn:
        _unsupported("hardlink_to")

    def owner(self) -> str:
        """The owner of the object: its ACL owner's display name (else id) on S3, the account
        id on B2. Not an object: an error that is both FileNotFoundError and s3path's
        KeyError."""
        config = self._config()
        if not self.key or self._head(config) is None:
            raise _OwnerNotFound(errno.ENOENT, "file not found", str(self))
        session = config.session
        if _is_b2(session):
            return session._account().account_id  # type: ignore[no-any-return]
        from . import s3xml

        params = [("acl", "")] + [
            (k.replace("_id", "Id"), v) for k, v in self._version_args().items()
        ]
        with _mapped(self):
            response = session._send(session._build("GET", self.bucket, self.key, params))
            owner = s3xml._root(response.data).find("Owner")
        name = s3xml._text(owner, "DisplayName") or s3xml._text(owner, "ID")
        if not name:
            raise _error(PermissionError, errno.EACCES, self, "the server names no owner")
        return name

    def absolute(self: _S) -> _S:
        """The path itself: S3 paths are absolute (there is no current directory)."""
        self._absolute()
        return self

    def resolve(self, strict: bool = False) -> NoReturn:
        """Unsupported, as in s3path (`..` is resolved on construction; use the path)."""
        _unsupported("resolve")

    def expanduser(self) -> NoReturn:
        _unsupported("expanduser")

    def stat(self, *, follow_symlinks: bool = True) -> StatResult:
        """Size, mtime, ETag, version, content type and metadata of the object; a
        directory's stat (S_IFDIR, size 0) for prefixes, buckets and `/`."""
        config = self._config()
        if not self.bucket:
            return StatResult._for_directory()
        if not self.key:
            if self._bucket_exists(config):
                return StatResult._for_directory()
            raise _error(FileNotFoundError, errno.ENOENT, self, "no such bucket")
        head = self._head(config)
        if head is not None:
            return StatResult._for_object(head)
        if self._has_children(config):
            return StatResult._for_directory()
        raise _error(FileNotFoundError, errno.ENOENT, self)

    def lstat(self) -> NoReturn:
        _unsupported("lstat")

    def samefile(self, other_path: str | PureS3Path) -> bool:
        """Whether both paths name the same existing object or directory on the same
        session (FileNotFoundError if either is missing)."""
        other = other_path if isinstance(other_path, S3Path) else self.with_segments(other_path)
        self.stat()
        other.stat()
        return self == other and self.session is other.session

    # --- directories -----------------------------------------------------------------------
    def _entries(self, config: _Config) -> Iterator[tuple[str, bool]]:
        """(name, is_dir) of each entry of this directory, one delimited listing; raises
        FileNotFoundError / NotADirectoryError when there is no such directory."""
        if not self.bucket:
            with _mapped(self):
                buckets = config.session.list_buckets()
            for bucket in buckets:
                yield bucket["name"], True
            return
        prefix = self._dir_prefix
        found = False
        with _mapped(self):
            listing = config.session.list_objects(prefix, bucket=self.bucket, delimiter="/")
            for page in listing.pages():
                entries: list[tuple[str, bool]] = []
                for common in page.prefixes:
                    found = True
                    name = common[len(prefix) : -1]
                    if _usable(name):
                        entries.append((name, True))
                for item in page.items:
                    found = True
                    name = item["key"][len(prefix) :]
                    if _usable(name) and "/" not in name:
                        entries.append((name, False))
                entries.sort()
                yield from entries
        if not found and self.key:
            if self._head(config) is not None:
                raise _error(NotADirectoryError, errno.ENOTDIR, self)
            raise _error(FileNotFoundError, errno.ENOENT, self)
        if not found and not self._bucket_exists(config):
            raise _error(FileNotFoundError, errno.ENOENT, self, "no such bucket")

    def iterdir(self: _S) -> Iterator[_S]:
        """The entries of this directory: objects and sub-prefixes one level down (one
        delimited listing), or the buckets for `/`."""
        config = self._config()
        for name, _ in self._entries(config):
            yield self._new(self._p / name)

    def walk(
        self: _S,
        top_down: bool = True,
        on_error: Callable[[OSError], object] | None = None,
        follow_symlinks: bool = False,
    ) -> Iterator[tuple[_S, list[str], list[str]]]:
        """pathlib 3.12's `walk`: (dirpath, dirnames, filenames) for this directory and
        every one below it, one delimited listing each. Top-down, `dirnames` may be edited
        in place to prune the walk; errors go to `on_error` (and are skipped) or are
        ignored, as in pathlib."""
        config = self._config()
        stack: list[Any] = [self]
        while stack:
            top = stack.pop()
            if isinstance(top, tuple):
                yield top
                continue
            dirnames: list[str] = []
            filenames: list[str] = []
            try:
                for name, is_dir in top._entries(config if top is self else top._config()):
                    (dirnames if is_dir else filenames).append(name)
            except OSError as exc:
                if isinstance(exc, TransportError):  # a network failure: never a skipped dir
                    raise
                if on_error is not None:
                    on_error(exc)
                continue
            if top_down:
                yield top, dirnames, filenames
                stack.extend(top._new(top._p / d) for d in reversed(dirnames))
            else:
                stack.append((top, dirnames, filenames))
                stack.extend(top._new(top._p / d) for d in reversed(dirnames))

    def glob(
        self: _S,
        pattern: str,
        *,
        case_sensitive: bool | None = None,
        recurse_symlinks: bool = False,
    ) -> Iterator[_S]:
        """Paths under this directory that match the relative `pattern` (pathlib 3.13's
        semantics: `*`, `?`, `[...]` within a segment, `**` for any number of segments,
        a trailing `/` for directories only).

        Listing starts at the longest literal prefix: `a/b/*.txt` lists prefix `a/b/` with
        delimiter `/`, one level per wildcard segment; patterns with `**` list recursively
        under their literal prefix, never the whole bucket unless the pattern starts with
        `**`. Case-insensitive globbing cannot use prefixes and lists level by level.
        A missing bucket or directory yields nothing.
        """
        glob = _Glob(pattern, case_sensitive)
        config = self._config()
        try:
            if not self.bucket:
                yield from self._glob_root(glob, config)
            else:
                yield from self._glob_from(glob, config)
        except FileNotFoundError:
            return

    def rglob(
        self: _S,
        pattern: str,
        *,
        case_sensitive: bool | None = None,
        recurse_symlinks: bool = False,
    ) -> Iterator[_S]:
        """`glob('**/' + pattern)`: matches at any depth under this directory."""
        return self.glob(f"**/{pattern}", case_sensitive=case_sensitive)

    def _glob_root(self: _S, glob: _Glob, config: _Config) -> Iterator[_S]:
        """Glob from `/`: the first segment names buckets (of the root's session)."""
        with _mapped(self):
            names = [b["name"] for b in config.session.list_buckets()]
        first = glob.compiled[0]
        if first is None:  # `**` first: every bucket, recursively
            if _match_segments(glob.compiled, []):
                yield self
            for bucket in names:
                child = self._child(bucket, "")
                if _match_segments(glob.compiled, [bucket]):
                    yield child
                yield from self._glob_recursive(bucket, "", [bucket], "", glob, child._config())
            return
        rest = glob.parts[1:]
        for bucket in names:
            if not first.match(bucket):
                continue
            child = self._child(bucket, "")
            if not rest:
                yield child
                continue
            sub = _Glob("/".join(rest) + ("/" if glob.dir_only else ""), glob.case_sensitive)
            yield from child._glob_from(sub, child._config())

    def _glob_from(self: _S, glob: _Glob, config: _Config) -> Iterator[_S]:
        """Glob under this bucket or prefix."""
        parts = glob.parts
        # Leading literal segments extend the prefix without any listing.
        i = 0
        while i < len(parts) - 1 and glob.literal(i):
            i += 1
        own = self._dir_prefix
        start = own + "".join(p + "/" for p in parts[:i])
        if not glob.recursive:
            yield from self._glob_levels(start, glob, config, i)
            return
        if _match_segments(glob.compiled, []):  # e.g. '**': the directory itself
            exists = self._has_children(config) if self.key else self._bucket_exists(config)
            if exists:
                yield self
        yield from self._glob_recursive(self.bucket, own, [], start + glob.head(i), glob, config)

    def _glob_levels(
        self: _S, start: str, glob: _Glob, config: _Config, index: int
    ) -> Iterator[_S]:
        """Non-recursive glob: one delimited listing per directory and wildcard segment,
        each narrowed by the segment's literal head."""
        session, bucket = config.session, self.bucket
        dirs = [start]
        last = len(glob.parts) - 1
        for i in range(index, last + 1):
            if i < last and glob.literal(i):
                dirs = [d + glob.parts[i] + "/" for d in dirs]
                continue
            regex = glob.compiled[i]
            assert regex is not None
            head = glob.head(i)
            found: list[str] = []
            for d in dirs:
                with _mapped(self):
                    listing = session.list_objects(d + head, bucket=bucket, delimiter="/")
                    for page in listing.pages():
                        for common in page.prefixes:
                            name = common[len(d) : -1]
                            if _usable(name) and regex.match(name):
                                if i == last:
                                    yield self._child(bucket, d + name)
                                else:
                                    found.append(d + name + "/")
                        if i < last or glob.dir_only:
                            continue
                        for item in page.items:
                            name = item["key"][len(d) :]
                            if _usable(name) and "/" not in name and regex.match(name):
                                yield self._child(bucket, item["key"])
            dirs = found

    def _glob_recursive(
        self: _S,
        bucket: str,
        own: str,
        lead: list[str],
        prefix: str,
        glob: _Glob,
        config: _Config,
    ) -> Iterator[_S]:
        """Recursive glob: one listing of every key under `prefix`, each matched segment
        by segment as `lead` + its key relative to `own` (results are this path joined with
        those segments). Directories are implied by the keys; keys come sorted, so those of
        one directory are contiguous and only the current chain of directories is kept."""
        compiled = glob.compiled
        chain = list(lead)
        with _mapped(self):
            for item in config.session.list_objects(prefix, bucket=bucket):
                rel = item["key"][len(own) :].split("/")
                marker = rel[-1] == ""  # a folder marker: a directory, not a file
                if marker:
                    rel.pop()
                if not rel or not all(_usable(s) for s in rel):
                    continue
                segs = [*lead, *rel]
                dirs = segs if marker else segs[:-1]
                common = len(lead)
                while common < min(len(chain), len(dirs)) and chain[common] == dirs[common]:
                    common += 1
                for depth in range(common + 1, len(dirs) + 1):
                    if _match_segments(compiled, dirs[:depth]):
                        yield self._new(self._p.joinpath(*dirs[:depth]))
                chain = dirs
                if not marker and not glob.dir_only and _match_segments(compiled, segs):
                    yield self._new(self._p.joinpath(*segs))

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        """Create the bucket (`/bucket`); for a prefix, check it could hold objects: its
        bucket exists (created with `parents=True`) and it is no object. Prefixes need no
        creating: they exist once an object is written under them."""
        config = self._config()
        if not self.bucket:
            if not exist_ok:
                raise _error(FileExistsError, errno.EEXIST, self)
            return
        bucket_path = self._child(self.bucket, "")
        if not self.key:
            if self._bucket_exists(config):
                if not exist_ok:
                    raise _error(FileExistsError, errno.EEXIST, self, "bucket exists")
                return
            try:
                with _mapped(self):
                    config.session.create_bucket(self.bucket)
            except FileExistsError:
                if not exist_ok:
                    raise
            return
        bucket_config = bucket_path._config()
        if not bucket_path._bucket_exists(bucket_config):
            if not parents:
                raise _error(FileNotFoundError, errno.ENOENT, self, "no such bucket")
            bucket_path.mkdir(exist_ok=True)
        if self._head(config) is not None:
            raise _error(FileExistsError, errno.EEXIST, self, "an object has this key")
        if not exist_ok and self._has_children(config):
            raise _error(FileExistsError, errno.EEXIST, self)

    def rmdir(self) -> None:
        """Delete the empty bucket, or the folder marker of an empty prefix
        (OSError ENOTEMPTY while objects remain under it)."""
        config = self._config()
        session = config.session
        if not self.bucket:
            raise _error(PermissionError, errno.EPERM, self, "cannot remove /")
        if not self.key:
            if self._has_children(config, ""):
                raise _error(OSError, errno.ENOTEMPTY, self)
            with _mapped(self):
                session.delete_bucket(self.bucket)
            return
        prefix = self._dir_prefix
        with _mapped(self):
            keys = [item["key"] for item in session.list_objects(prefix, bucket=self.bucket,
                                                                 limit=2)]  # fmt: skip
        if not keys:
            if self._head(config) is not None:
                raise _error(NotADirectoryError, errno.ENOTDIR, self)
            raise _error(FileNotFoundError, errno.ENOENT, self)
        if keys != [prefix]:
            raise _error(OSError, errno.ENOTEMPTY, self)
        with _mapped(self):
            session.delete_object(prefix, bucket=self.bucket)

    # --- files ---------------------------------------------------------------------------
    def _not_found(self, config: _Config, cause: BaseException | None = None) -> OSError:
        """IsADirectoryError if this is a directory, else FileNotFoundError."""
        if not self.key or self._has_children(config):
            return _error(IsADirectoryError, errno.EISDIR, self)
        return _error(FileNotFoundError, errno.ENOENT, self)

    def _reader(self, config: _Config) -> S3ObjectReader:
        if not self.key:
            raise _error(IsADirectoryError, errno.EISDIR, self)
        head = self._head(config)
        if head is None:
            raise self._not_found(config)
        return S3ObjectReader(self, config.session, head, config.progress_for(self))

    def _writer(
        self,
        config: _Config,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> S3ObjectWriter:
        if not self.key:
            raise _error(IsADirectoryError, errno.EISDIR, self)
        return S3ObjectWriter(self, config, metadata=metadata, content_type=content_type)

    @overload
    def open(
        self,
        mode: Literal["r", "w", "rt", "wt"] = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> io.TextIOWrapper: ...

    @overload
    def open(
        self,
        mode: Literal["rb", "wb"],
        buffering: int = -1,
        encoding: None = None,
        errors: None = None,
        newline: None = None,
    ) -> BinaryIO: ...

    @overload
    def open(
        self,
        mode: str,
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> IO[Any]: ...

    def open(
        self,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> IO[Any]:
        """Open the object for reading (`r`, `rb`) or writing (`w`, `wb`).

        Reads stream ranged GETs pinned to the version first seen (an `io.RawIOBase` in an
        `io.BufferedReader`, seekable, with read-ahead windows that grow while reading is
        sequential). Writes buffer up to the threshold and end as one PUT; larger ones
        stream through a multipart upload committed on close, and aborted if the `with`
        block raises or a write failed: never an orphan upload or a partial object.
        Text is UTF-8 unless `encoding` says otherwise (objects have no locale).
        `buffering=0` gives the raw binary stream.
        """
        if mode in _TEXT_MODES:
            text = True
        elif mode in _BINARY_MODES:
            text = False
            if encoding is not None or errors is not None or newline is not None:
                raise ValueError("binary mode doesn't take an encoding, errors or newline")
        else:
            raise ValueError(
                f"invalid mode {mode!r}: objects are read or written whole ('r', 'rb', 'w', 'wb')"
            )
        if text and buffering == 0:
            raise ValueError("can't have unbuffered text I/O")
        config = self._config()
        encoding = encoding or "utf-8"
        if "r" in mode:
            raw = self._reader(config)
            if buffering == 0:
                return raw  # type: ignore[return-value]
            size = buffering if buffering > 1 else READ_BUFFER
            buffered = io.BufferedReader(raw, size)
            if not text:
                return buffered
            reader = io.TextIOWrapper(buffered, encoding, errors, newline)
            reader.mode = "r"  # type: ignore[misc]
            return reader
        writer = self._writer(config)
        if not text:
            return writer  # type: ignore[return-value]
        # TextIOWrapper writes a BOM (utf-16, utf-32) only at the start of a stream it can
        # tell() the position of: let it see position 0 while it is built.
        writer._at_start = True
        try:
            wrapper = _TextWriter(writer, encoding, errors, newline, line_buffering=buffering == 1)
        finally:
            writer._at_start = False
        wrapper.mode = "w"  # type: ignore[misc]
        return wrapper

    def read_bytes(self) -> bytes:
        """The object's bytes, in one GET."""
        config = self._config()
        if not self.key:
            raise _error(IsADirectoryError, errno.EISDIR, self)
        progress = config.progress_for(self)
        try:
            with _mapped(self):
                response = config.session.get_object(
                    self.key, bucket=self.bucket, stream=True, **self._version_args()
                )
                if progress is None:
                    return response.data  # type: ignore[no-any-return]
                reporter = ProgressReporter(progress, response.content_length)
                chunks = []
                for chunk in response.iter_chunks():
                    chunks.append(chunk)
                    reporter.add(len(chunk))
                reporter.finish()
                return b"".join(chunks)
        except FileNotFoundError as exc:
            raise self._not_found(config) from exc.__cause__

    def read_text(
        self, encoding: str | None = None, errors: str | None = None, newline: str | None = None
    ) -> str:
        """The object decoded (UTF-8 by default), newlines translated as `open('r')` does."""
        data = self.read_bytes()
        with io.TextIOWrapper(io.BytesIO(data), encoding or "utf-8", errors, newline) as f:
            return f.read()

    def write_bytes(self, data: bytes | bytearray | memoryview) -> int:
        """Write the object (one PUT up to the threshold, a multipart upload above it)."""
        view = memoryview(data).cast("B")
        with self.open("wb") as f:
            f.write(view)
        return view.nbytes

    def write_text(
        self,
        data: str,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> int:
        """Write the text encoded (UTF-8 by default); returns the number of characters."""
        if not isinstance(data, str):
            raise TypeError(f"data must be str, not {type(data).__name__}")
        with self.open("w", encoding=encoding, errors=errors, newline=newline) as f:
            return f.write(data)

    def touch(self, mode: int = 0o666, exist_ok: bool = True) -> None:
        """Create an empty object unless this path exists (then FileExistsError unless
        `exist_ok`; an existing object is left as it is: objects cannot be touched)."""
        config = self._config()
        if not self.key:
            if self.bucket and not self._bucket_exists(config):
                raise _error(FileNotFoundError, errno.ENOENT, self, "no such bucket")
            if not exist_ok:
                raise _error(FileExistsError, errno.EEXIST, self)
            return
        if self._head(config) is not None or self._has_children(config):
            if not exist_ok:
                raise _error(FileExistsError, errno.EEXIST, self)
            return
        with self.open("wb"):
            pass

    def unlink(self, missing_ok: bool = False) -> None:
        """Delete the object (FileNotFoundError if there is none, unless `missing_ok`: also
        for a missing bucket; IsADirectoryError for a bucket or a prefix, whose name is never
        sent as a DELETE). On B2, every version is deleted; a `VersionedS3Path` deletes its
        version only."""
        config = self._config()
        if not self.key:
            if missing_ok and self.bucket and not self._bucket_exists(config):
                return
            raise _error(IsADirectoryError, errno.EISDIR, self)
        if self._head(config) is None:
            error = self._not_found(config)
            if missing_ok and isinstance(error, FileNotFoundError):
                return
            raise error
        with _mapped(self):
            config.session.delete_object(self.key, bucket=self.bucket, **self._version_args())

    # --- upload / download / copy / move ------------------------------------------------------
    def upload_from(self: _S, source: str | os.PathLike[str] | IO[bytes]) -> _S:
        """Upload a local file (path or binary file object) to this path with the path's
        transfer settings (parallel parts above the threshold) and options."""
        config = self._config()
        if not self.key:
            raise _error(IsADirectoryError, errno.EISDIR, self)
        metadata, content_type, headers = config.multipart_fields()
        with _mapped(self):
            config.session.upload_file(
                source, self.key, bucket=self.bucket, metadata=metadata,
                content_type=content_type, headers=headers, threshold=config.threshold,
                part_size=config.part_size, concurrency=config.concurrency,
                progress=config.progress_for(self),
            )  # fmt: skip
        return self

    def download_to(self, dest: str | os.PathLike[str] | IO[bytes]) -> None:
        """Download the object to a local path (replaced atomically) or binary file object,
        in parallel ranges above the threshold, verified."""
        config = self._config()
        if not self.key:
            raise _error(IsADirectoryError, errno.EISDIR, self)
        kwargs: dict[str, Any] = {"threshold": config.threshold,
                                  "concurrency": config.concurrency}  # fmt: skip
        if config.part_size is not None:
            kwargs["part_size"] = config.part_size
        try:
            with _mapped(self):
                config.session.download_file(
                    self.key, dest, bucket=self.bucket, progress=config.progress_for(self),
                    **self._version_args(), **kwargs,
                )  # fmt: skip
        except FileNotFoundError as exc:
            if exc.__cause__ is None:
                raise  # a local error
            raise self._not_found(config) from exc.__cause__

    def presign(self, expires_in: int | _dt.timedelta = 3600, method: str = "GET") -> str:
        """A URL that lets anyone holding it `method` (GET, PUT...) this object for
        `expires_in` (seconds or a `datetime.timedelta`, 1 s .. 7 days)."""
        config = self._config()
        if not self.key:
            raise _error(IsADirectoryError, errno.EISDIR, self)
        return config.session.presign(  # type: ignore[no-any-return]
            method, self.key, expires_in, bucket=self.bucket, **self._version_args()
        )

    def get_presigned_url(self, expire_in: _dt.timedelta | int = 3600) -> str:
        """s3path's presigned GET URL: `expire_in` seconds or a timedelta (positive)."""
        import datetime

        if not self._p.is_absolute():
            raise ValueError("relative path have no bucket, key specification")
        if isinstance(expire_in, datetime.timedelta):
            expire_in = int(expire_in.total_seconds())
        if isinstance(expire_in, bool) or not isinstance(expire_in, int):
            raise TypeError(f"expire_in must be seconds or a timedelta, not {expire_in!r}")
        if expire_in <= 0:
            raise ValueError(
                f"The expire_in argument can't represent a negative or null time delta "
                f"(got {expire_in} seconds)"
            )
        return self.presign(expire_in)

    def rename(self: _S, target: str | PureS3Path) -> _S:
        """Move this object, or every object under this prefix, to `target` (absolute):
        server-side copies (multipart copies for large objects, streamed copies between
        sessions), then deletes. An existing target object is replaced; a directory goes
        only where no directory with objects is (OSError ENOTEMPTY)."""
        dest = self._target(target)
        self._transfer(dest, move=True)
        return dest

    def replace(self: _S, target: str | PureS3Path) -> _S:
        """`rename` (S3 replaces an existing object either way)."""
        return self.rename(target)

    def copy(self: _S, target: str | PureS3Path) -> _S:
        """Copy this object, or every object under this prefix, to `target` (pathlib
        3.14's `copy`); the same checks as `rename`, without the deletes."""
        dest = self._target(target)
        self._transfer(dest, move=False)
        return dest

    def _target(self: _S, target: str | PureS3Path) -> _S:
        if isinstance(target, S3Path) and target._flavour == self._flavour:
            dest: _S = target  # type: ignore[assignment]
        elif isinstance(target, PureS3Path) and target._flavour != self._flavour:
            dest = self.with_segments(str(target))
        else:
            dest = self.with_segments(target)
        if not dest.is_absolute():
            raise ValueError(f"the target must be an absolute path, /bucket/key; got {dest}")
        if not dest.bucket:
            raise _error(PermissionError, errno.EPERM, dest, "cannot write to /")
        return dest

    def _transfer(self, dest: S3Path, *, move: bool) -> None:
        if not self.key:
            raise _error(PermissionError, errno.EPERM, self, "buckets cannot be renamed")
        src_config, dst_config = self._config(), dest._config()
        same_session = src_config.session is dst_config.session
        if dest == self and same_session:
            if not self.exists():
                raise _error(FileNotFoundError, errno.ENOENT, self)
            return
        head = self._head(src_config)
        if head is not None:
            if not dest.key or dest._has_children(dst_config):
                raise _error(IsADirectoryError, errno.EISDIR, dest)
            self._copy_one(self.key, dest.key, head.content_length or 0, head, src_config,
                           dest, dst_config)  # fmt: skip
            if move:
                with _mapped(self):
                    src_config.session.delete_object(self.key, bucket=self.bucket)
            return
        if not self._has_children(src_config):
            raise _error(FileNotFoundError, errno.ENOENT, self)
        if same_session and dest.bucket == self.bucket and dest.is_relative_to(self):
            raise _error(OSError, errno.EINVAL, dest, f"cannot move {self} into itself")
        if dest.key and dest._head(dst_config) is not None:
            raise _error(NotADirectoryError, errno.ENOTDIR, dest)
        if dest._has_children(dst_config):
            raise _error(OSError, errno.ENOTEMPTY, dest)
        self._transfer_tree(dest, src_config, dst_config, move)

    def _transfer_tree(
        self, dest: S3Path, src_config: _Config, dst_config: _Config, move: bool
    ) -> None:
        """Copy every key under this prefix in parallel, a page at a time; after each page
        is copied, its sources are deleted (so every object is always at one place at
        least, whatever fails)."""
        prefix = self._dir_prefix
        dest_prefix = dest._dir_prefix
        session = src_config.session

        def one(item: dict[str, Any]) -> str:
            key: str = item["key"]
            target_key = dest_prefix + key[len(prefix) :]
            target = dest._child(dest.bucket, target_key.rstrip("/")) if target_key else dest
            config = target._config() if target is not dest else dst_config
            self._copy_one(key, target_key, item.get("content_length") or 0, None,
                           src_config, target, config)  # fmt: skip
            return key

        workers = max(1, min(src_config.concurrency, 16))
        pool = ThreadPoolExecutor(workers, thread_name_prefix="s3lite-path-copy")
        with pool, _mapped(self):
            for page in session.list_objects(prefix, bucket=self.bucket).pages():
                done = list(pool.map(one, page.items))
                if move and done:
                    result = session.delete_objects(done, bucket=self.bucket, raise_errors=False)
                    if result.errors:
                        raise _error(
                            OSError, errno.EIO, self,
                            f"copied, but could not delete {result.errors[:3]}",
                        )  # fmt: skip

    def _copy_one(
        self,
        key: str,
        dest_key: str,
        size: int,
        head: Response | None,
        src_config: _Config,
        dest: S3Path,
        dst_config: _Config,
    ) -> None:
        """Copy one object: server-side within a session (copy_object copies above 5 GiB
        in parts), streamed through a reader and a writer between sessions."""
        session = src_config.session
        server_side = session is dst_config.session and not (
            src_config.is_b2 and size > B2_MAX_COPY
        )
        if server_side:
            with _mapped(dest):
                session.copy_object(
                    key, dest_key, source_bucket=self.bucket, dest_bucket=dest.bucket,
                    **dst_config.copy_fields(),
                )  # fmt: skip
            return
        source = self._child(self.bucket, key.rstrip("/"))
        if head is None:
            with _mapped(source):
                head = session.head_object(key, bucket=self.bucket)
        assert head is not None
        reader = S3ObjectReader(source, session, head, None, key=key)
        ctype = head.content_type
        if ctype == "b2/x-auto" or (ctype or "").startswith("application/x-directory"):
            ctype = None
        writer = S3ObjectWriter(dest, dst_config, metadata=head.metadata, content_type=ctype,
                                key=dest_key)  # fmt: skip
        with reader, writer:
            buffer = bytearray(MiB)
            view = memoryview(buffer)
            while True:
                n = reader.readinto(view)
                if not n:
                    break
                writer.write(view[:n])


class B2Path(PureB2Path, S3Path):
    """`S3Path` on Backblaze B2 (`b2://bucket/file/name`): the same behaviour, served by
    `B2Session`s (registered for B2 paths, else `B2Session()` from the environment).
    B2 has no folder markers, storage classes or ACLs on objects."""

    __slots__ = ()


class _OwnerNotFound(FileNotFoundError, KeyError):
    """owner() of what is not an object: pathlib's FileNotFoundError, s3path's KeyError."""

    def __str__(self) -> str:
        return FileNotFoundError.__str__(self)


def _unsupported(method: str) -> NoReturn:
    raise NotImplementedError(f"{method} is unsupported on S3 service (S3 has no such notion)")


def _versioned(cls: type[PureVersionedS3Path], path: str, version_id: str) -> Any:
    return cls(path, version_id=version_id)


class PureVersionedS3Path(PureS3Path):
    """One stored version of an S3 object: `PureVersionedS3Path('/b/k', version_id='...')`.

    Paths derived from it (`/ child`, `parent`, `with_name`, ...) name other objects and are
    plain `PureS3Path`s; `'/bucket' / versioned_key` keeps the version. Two versioned paths
    are equal when path and version are.
    """

    __slots__ = ("version_id",)

    def __init__(self, *pathsegments: str | os.PathLike[str] | PureS3Path, version_id: str) -> None:
        if not isinstance(version_id, str) or not version_id:
            raise TypeError(f"version_id must be a non-empty str, not {version_id!r}")
        super().__init__(*pathsegments)
        self.version_id = version_id

    @classmethod
    def _plain(cls) -> type[PureS3Path]:
        return S3Path if issubclass(cls, S3Path) else PureS3Path

    @classmethod
    def _wrap(cls: type[_P], p: PurePosixPath) -> _P:
        return cls._plain()._wrap(p)  # type: ignore[attr-defined,no-any-return]

    @classmethod
    def from_uri(cls, uri: str, *, version_id: str) -> PureVersionedS3Path:  # type: ignore[override]
        """The version `version_id` of `s3://bucket/key`."""
        return cls(str(PureS3Path.from_uri(uri)), version_id=version_id)

    @classmethod
    def from_bucket_key(  # type: ignore[override]
        cls, bucket: str, key: str, *, version_id: str
    ) -> PureVersionedS3Path:
        """The version `version_id` of `key` in `bucket`."""
        return cls(str(PureS3Path.from_bucket_key(bucket, key)), version_id=version_id)

    def _version_args(self) -> dict[str, str]:
        return {"version_id": self.version_id}

    def joinpath(self, *pathsegments: str | os.PathLike[str] | PureS3Path) -> Any:
        return self._plain()(self, *pathsegments)

    def with_segments(self, *pathsegments: str | os.PathLike[str] | PureS3Path) -> Any:
        return self._plain()(*pathsegments)

    def __rtruediv__(self, other: str | os.PathLike[str]) -> Any:
        """`'/bucket' / PureVersionedS3Path('key', version_id=v)` keeps the version (s3path's
        way to build one from a relative versioned key)."""
        try:
            return type(self)(other, self, version_id=self.version_id)
        except TypeError:
            return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._p)!r}, version_id={self.version_id!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_versioned, (type(self), str(self._p), self.version_id))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PureS3Path):
            return NotImplemented
        return super().__eq__(other) is True and self.version_id == getattr(
            other, "version_id", None
        )

    def __hash__(self) -> int:
        return hash((self._flavour, self._p, self.version_id))


def _read_only(method: str) -> Callable[..., NoReturn]:
    def refuse(self: VersionedS3Path, *args: Any, **kwargs: Any) -> NoReturn:
        raise io.UnsupportedOperation(
            f"{method}: {self!r} is one stored version, which cannot change; use the "
            "unversioned S3Path (copy_object(key, key, version_id) restores a version)"
        )

    refuse.__name__ = method
    return refuse


class VersionedS3Path(PureVersionedS3Path, S3Path):
    """One stored version of an S3 object, for reading: `open('rb')`, `read_bytes`,
    `read_text`, `stat`, `exists`, `is_file`, `download_to`, `presign`; `unlink` deletes that
    version only. Writing and moving are refused (a version cannot change)."""

    __slots__ = ()

    def exists(self, *, follow_symlinks: bool = True) -> bool:
        """Whether this version of the object exists."""
        config = self._config()
        return bool(self.key) and self._head(config) is not None

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return False

    def stat(self, *, follow_symlinks: bool = True) -> StatResult:
        """The stat of this version (FileNotFoundError if there is no such version)."""
        config = self._config()
        head = self._head(config) if self.key else None
        if head is None:
            raise _error(FileNotFoundError, errno.ENOENT, self, "no such version")
        return StatResult._for_object(head)

    def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> IO[Any]:  # type: ignore[override]
        if mode not in ("r", "rt", "tr", "rb", "br"):
            _read_only("open")(self)
        return super().open(mode, *args, **kwargs)

    write_bytes = _read_only("write_bytes")
    write_text = _read_only("write_text")
    touch = _read_only("touch")
    mkdir = _read_only("mkdir")
    rmdir = _read_only("rmdir")
    rename = _read_only("rename")
    replace = _read_only("replace")
    copy = _read_only("copy")
    upload_from = _read_only("upload_from")


# --- streams -------------------------------------------------------------------------------


class S3ObjectReader(io.RawIOBase):
    """A seekable raw binary stream over ranged GETs of one object version.

    Every GET is pinned to what the first HEAD saw (If-Match on the ETag, or B2's file id),
    so a replaced object raises `ObjectChanged` instead of mixing two versions. Reads keep
    one ranged response open: the range starts at 1 MiB and doubles (up to 32 MiB) while
    reading stays sequential (read-ahead: the next bytes are already on their way), and a
    seek elsewhere starts a fresh, small range.
    """

    def __init__(
        self,
        path: S3Path,
        session: Any,
        head: Response,
        progress: ProgressCallback | None,
        *,
        key: str | None = None,
    ) -> None:
        super().__init__()
        self.name = str(path)
        self._session = session
        self._bucket = path.bucket
        self._key = key if key is not None else path.key
        self.size: int = head.content_length or 0
        self.etag = head.etag
        self._pin: dict[str, str] = path._version_args()
        if self._pin:
            pass  # one stored version: nothing can replace it
        elif getattr(session, "supports_if_match", True) and head.etag:
            self._pin["if_match"] = head.etag
        elif head.version_id:
            self._pin["version_id"] = head.version_id
        self._pos = 0
        self._response: Response | None = None
        self._response_pos = 0
        self._response_end = 0
        self._window = READ_WINDOW_MIN
        self._reporter = ProgressReporter(progress, self.size) if progress else None

    @property
    def mode(self) -> str:
        return "rb"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._pos + offset
        elif whence == io.SEEK_END:
            position = self.size + offset
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._pos = position
        return position

    def _drop(self) -> None:
        if self._response is not None:
            response, self._response = self._response, None
            response.close()

    def _open_range(self) -> None:
        sequential = self._response_end == self._pos and self._pos > 0
        self._window = min(self._window * 2, READ_WINDOW_MAX) if sequential else READ_WINDOW_MIN
        end = min(self.size, self._pos + self._window)
        try:
            with _mapped(self.name):
                self._response = self._session.get_object(
                    self._key, bucket=self._bucket, range_start=self._pos, range_end=end - 1,
                    stream=True, **self._pin,
                )  # fmt: skip
        except PreconditionFailed as exc:
            raise ObjectChanged(
                f"{self.name} changed while it was being read (ETag no longer {self.etag})"
            ) from exc
        self._response_pos = self._pos
        self._response_end = end

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        view = memoryview(buffer).cast("B")
        if not len(view) or self._pos >= self.size:
            return 0
        if self._response is not None and self._response_pos != self._pos:
            gap = self._pos - self._response_pos
            if 0 < gap <= SKIP_LIMIT and self._pos < self._response_end:
                while gap:  # cheaper than a new request
                    skipped = len(self._response.read(gap))
                    if not skipped:
                        break
                    gap -= skipped
                    self._response_pos += skipped
            if self._response_pos != self._pos:
                self._drop()
        if self._response is None:
            self._open_range()
        assert self._response is not None
        want = min(len(view), self._response_end - self._pos)
        data = self._response.read(want)
        n = len(data)
        if not n:
            self._drop()
            raise OSError(errno.EIO, f"{self.name}: the response ended early")
        view[:n] = data
        self._pos += n
        self._response_pos += n
        if self._response_pos >= self._response_end:
            self._drop()  # fully read: the connection goes back to the pool
        if self._reporter is not None:
            self._reporter.add(n)
            if self._pos >= self.size:
                self._reporter.finish()
        return n

    def readall(self) -> bytes:
        """The rest of the object, read in large ranges."""
        chunks = []
        buffer = bytearray(min(max(self.size - self._pos, 0), 8 * MiB) or 1)
        while True:
            n = self.readinto(buffer)
            if not n:
                break
            chunks.append(bytes(buffer[:n]))
        return b"".join(chunks)

    def close(self) -> None:
        if not self.closed:
            self._drop()
        super().close()


class S3ObjectWriter(io.BufferedIOBase):
    """A write-only binary stream that becomes the object on `close()`.

    Up to the threshold the bytes stay in memory and end as one PUT. Past it, a multipart
    upload starts and full parts are sent in the background, at most `concurrency` at a
    time (writes wait for a free slot), so memory stays within (concurrency + 1) × part
    size. `close()` sends the last part and completes; a failed write, or leaving a `with`
    block by an exception, aborts instead (`abort()` does so explicitly): the object is
    then left as it was, and no upload remains.
    """

    def __init__(
        self,
        path: S3Path,
        config: _Config,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__()
        self.name = str(path)
        self._path = path
        self._session = config.session
        self._bucket = path.bucket
        self._key = key if key is not None else path.key
        self._fields = config.object_fields()
        mp_metadata, mp_type, self._mp_headers = config.multipart_fields()
        if metadata is not None:
            merged = dict(metadata)
            merged.update(mp_metadata or {})
            self._fields["metadata"] = mp_metadata = merged
        if content_type is not None and "content_type" not in self._fields:
            self._fields["content_type"] = mp_type = content_type
        self._mp_metadata = mp_metadata
        self._mp_type = mp_type
        self._threshold = config.threshold
        self._concurrency = config.concurrency
        from .multipart import plan_part_size

        self._part_size = plan_part_size(None, config.part_size, self._session)
        self._max_parts: int = self._session.multipart_max_parts
        self._max_part_size: int = self._session.multipart_max_part_size
        self._progress = config.progress_for(path)
        self._buffer = bytearray()
        self._written = 0
        self._upload: MultipartUpload | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._slots = threading.Semaphore(self._concurrency)
        self._futures: list[Future[None]] = []
        self._error: BaseException | None = None
        self._failed = False
        self._number = 0
        self._at_start = False
        self._part: bytearray | None = None  # the part being filled, and how far
        self._fill = 0
        self._free: list[bytearray] = []
        self._lock = threading.Lock()
        self._constructed = True

    #: False until `__init__` has finished: a writer whose arguments were refused has
    #: started nothing, and its finalizer's `close()` must not try to commit or abort.
    _constructed = False

    @property
    def mode(self) -> str:
        return "wb"

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return self._at_start

    def tell(self) -> int:
        """Bytes written so far."""
        return self._written

    def flush(self) -> None:
        """Nothing to do: an object appears whole, on `close()`."""
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        if self._failed:
            raise ValueError(f"{self.name}: an earlier write failed; the upload is aborted")
        view = memoryview(data).cast("B")
        size = view.nbytes
        try:
            self._raise_part_error()
            if self._upload is None:
                if len(self._buffer) + size <= self._threshold:
                    self._buffer += view
                    self._written += size
                    return size
                self._start()
            self._feed(view)
        except BaseException:
            self._failed = True
            raise
        self._written += size
        return size

    # --- parts -------------------------------------------------------------------------
    def _next_size(self) -> int:
        """Part size of the next part: doubled every 2000 parts, so an object of unknown
        size still fits in the backend's most parts."""
        from .multipart import GROWTH_EVERY

        grown = self._part_size << min(self._number // GROWTH_EVERY, 9)
        return min(grown, self._max_part_size)

    def _start(self) -> None:
        from .multipart import MultipartUpload

        upload = MultipartUpload(
            self._session, None, self._key, self._bucket, self._part_size, self._concurrency,
            self._mp_metadata, self._mp_type, self._progress, headers=self._mp_headers,
        )  # fmt: skip
        with _mapped(self.name):
            upload.start()
        self._upload = upload
        self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="s3lite-path-part")

    def _feed(self, view: memoryview) -> None:
        if self._buffer:  # what was held back before the upload started
            held, self._buffer = self._buffer, bytearray()
            self._fill_parts(memoryview(held))
        self._fill_parts(view)

    def _fill_parts(self, view: memoryview) -> None:
        """Copy into part buffers (allocated at their exact size, recycled once sent);
        each one that is full goes out."""
        while view.nbytes:
            if self._part is None:
                self._part = self._take_buffer(self._next_size())
                self._fill = 0
            part = self._part
            take = min(view.nbytes, len(part) - self._fill)
            part[self._fill : self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == len(part):
                self._part = None
                self._send(part, len(part))

    def _take_buffer(self, size: int) -> bytearray:
        with self._lock:
            while self._free:
                buffer = self._free.pop()
                if len(buffer) == size:
                    return buffer
        return bytearray(size)

    def _send(self, part: bytearray, length: int) -> None:
        assert self._upload is not None and self._pool is not None
        if self._number >= self._max_parts:
            raise ValueError(
                f"{self.name}: more than {self._max_parts} parts; register a larger part_size"
            )
        while not self._slots.acquire(timeout=0.5):
            self._raise_part_error()
        try:
            self._raise_part_error()
        except BaseException:
            self._slots.release()
            raise
        self._number += 1
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self._pool.submit(self._upload_part, self._number, part, length))

    def _upload_part(self, number: int, part: bytearray, length: int) -> None:
        assert self._upload is not None
        try:
            self._upload.upload_part(number, memoryview(part)[:length])
        except BaseException as exc:
            if self._error is None:
                self._error = exc
            raise
        finally:
            with self._lock:
                if len(self._free) <= self._concurrency:
                    self._free.append(part)
            self._slots.release()

    def _raise_part_error(self) -> None:
        error = self._error
        if error is None:
            return
        mapped = _os_error(error, self.name)
        if mapped is not None:
            raise mapped from error
        raise error

    # --- the end -------------------------------------------------------------------------
    def _commit(self) -> None:
        if self._upload is None:
            reporter = ProgressReporter(self._progress, len(self._buffer))
            with _mapped(self.name):
                self._session.put_object(
                    self._key, memoryview(self._buffer), bucket=self._bucket, **self._fields
                )
            reporter.add(len(self._buffer))
            reporter.finish()
            return
        assert self._pool is not None
        if self._part is not None and self._fill:
            part, self._part = self._part, None
            self._send(part, self._fill)
        elif self._number == 0:
            self._send(bytearray(), 0)
        self._pool.shutdown(wait=True)
        self._raise_part_error()
        with _mapped(self.name):
            self._upload.complete()

    def _abort(self) -> None:
        self._failed = True
        self._buffer = bytearray()
        self._part = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._upload is not None:
            try:
                self._upload.abort()
            except Exception:
                log.warning("could not abort the multipart upload of %s", self.name)

    def abort(self) -> None:
        """Discard what was written: no object is created, the upload (if any) is aborted."""
        if self.closed:
            return
        if not self._constructed:
            super().close()
            return
        try:
            self._abort()
        finally:
            super().close()

    def close(self) -> None:
        """Commit the object (or abort, after a failed write)."""
        if self.closed:
            return
        if not self._constructed:
            super().close()
            return
        try:
            if self._failed:
                self._abort()
            else:
                self._commit()
        except BaseException:
            self._abort()
            raise
        finally:
            super().close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


class _TextWriter(io.TextIOWrapper):
    """TextIOWrapper whose `with` block aborts the upload when it raises (a plain
    TextIOWrapper would flush and commit the partial text)."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and isinstance(self.buffer, S3ObjectWriter):
            self.buffer.abort()
        self.close()
