"""Per-path configuration: which session serves a path and the options of its new objects.

`register_configuration_parameter` keeps them per `/`, bucket or key prefix (the most specific
wins, parameter by parameter); paths nothing was registered for use a default session built
lazily from the environment (`S3Session()` for S3 paths, `B2Session()` for B2 paths).
`TransferConfig` holds the transfer settings (threshold, part size, concurrency).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..progress import ProgressCallback
from .pure import PureS3Path, PureVersionedS3Path

if TYPE_CHECKING:
    from ..b2 import B2Session
    from ..s3 import S3Session

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_THRESHOLD",
    "REGISTRY",
    "PathConfig",
    "TransferConfig",
    "clear_configuration",
    "is_b2_session",
    "register_configuration_parameter",
]

MiB = 1024 * 1024
#: Defaults of `TransferConfig` (the same as `upload_file`'s).
DEFAULT_THRESHOLD = 8 * MiB
DEFAULT_CONCURRENCY = 8


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


class PathConfig:
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
            self._session = REGISTRY.default_session(self._flavour)
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
        return is_b2_session(self.session)

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
            from ..arguments import http_date

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


def is_b2_session(session: Any) -> bool:
    """Whether `session` is a `B2Session` (without importing the B2 module to find out)."""
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

    def resolve(self, flavour: str, chain: Iterable[str]) -> PathConfig:
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
        return PathConfig(session, params, flavour)

    def default_session(self, flavour: str) -> Any:
        """The session of paths nothing was registered for, built once from the
        environment (credentials, endpoint, profile) on first use."""
        with self._lock:
            session = self._defaults.get(flavour)
            if session is None:
                if flavour == "b2":
                    from ..b2 import B2Session

                    session = B2Session()
                else:
                    from ..s3 import S3Session

                    session = S3Session()
                self._defaults[flavour] = session
            return session


#: Every registration of this process, and its default sessions.
REGISTRY = _Registry()


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
    REGISTRY.register(pure._flavour, str(pure), normalized, session)


def clear_configuration(path: PureS3Path | str | None = None) -> None:
    """Forget the registration of `path`, or (no path) every registration and the default
    sessions, which are then built afresh from the environment on next use."""
    if path is None:
        REGISTRY.clear()
        return
    pure = _config_path(path)
    REGISTRY.clear(pure._flavour, str(pure))


def _config_path(path: object) -> PureS3Path:
    """An S3/B2 path (or its text), never a local path taken for one (s3path's TypeError)."""
    if isinstance(path, PureS3Path):
        return PureS3Path(str(path)) if isinstance(path, PureVersionedS3Path) else path
    if isinstance(path, str):
        return PureS3Path(path)
    raise TypeError(
        f"path must be an S3Path/PureS3Path (or B2), or its str, not {type(path).__name__}: "
        "a local path is not a bucket"
    )
