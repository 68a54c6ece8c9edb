"""Where a command reads and writes: `s3://` and `b2://` URLs, local paths and `-`; which keys
have a faithful local path (and which local names can be keys); "not found" errors that name
the URL."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from .cli_errors import EXIT_NOT_FOUND, CLIError, usage_error
from .errors import NoSuchBucket, NoSuchKey, NoSuchVersion

__all__ = [
    "SCHEMES",
    "Location",
    "Skipped",
    "UnsafeKey",
    "about",
    "basename",
    "dir_prefix",
    "key_problem",
    "local_shadow",
    "parse_location",
    "remote_location",
    "safe_local_path",
    "unfaithful_key",
    "unfaithful_keys",
]

SCHEMES = ("s3", "b2")
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


class Location:
    """An `s3://bucket/key` or `b2://bucket/key` URL, a local path, or `-` (stdin/stdout)."""

    __slots__ = ("bucket", "key", "path", "scheme")

    def __init__(self, scheme: str, bucket: str = "", key: str = "", path: str = "") -> None:
        self.scheme = scheme  # "s3", "b2", "file" or "-"
        self.bucket = bucket
        self.key = key
        self.path = path

    def _id(self) -> tuple[str, str, str, str]:
        return (self.scheme, self.bucket, self.key, self.path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and self._id() == other._id()

    def __hash__(self) -> int:
        return hash(self._id())

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"

    @property
    def remote(self) -> bool:
        return self.scheme in SCHEMES

    @property
    def stdio(self) -> bool:
        return self.scheme == "-"

    def with_key(self, key: str) -> Location:
        return Location(self.scheme, self.bucket, key)

    def with_path(self, path: str) -> Location:
        return Location("file", path=path)

    def __str__(self) -> str:
        if self.remote:
            return f"{self.scheme}://{self.bucket}/{self.key}" if self.key else self.bucket_url
        return "-" if self.stdio else self.path

    @property
    def bucket_url(self) -> str:
        return f"{self.scheme}://{self.bucket}"


def parse_location(text: str) -> Location:
    """`s3://bucket/key`, `b2://bucket/key`, `-`, or a local path."""
    if text == "-":
        return Location("-")
    match = _URL_RE.match(text)
    if match is None:
        if not text:
            raise usage_error("empty path")
        return Location("file", path=text)
    scheme = match.group(1).lower()
    if scheme not in SCHEMES:
        raise usage_error(
            f"unsupported URL {text!r}: use s3://BUCKET/KEY, b2://BUCKET/KEY or a local path"
        )
    bucket, _, key = match.group(2).partition("/")
    return Location(scheme, bucket, key)


def remote_location(text: str, *, need_bucket: bool = True, need_key: bool = False) -> Location:
    loc = parse_location(text)
    if not loc.remote:
        raise usage_error(f"{text!r} is not an s3:// or b2:// URL")
    if need_bucket and not loc.bucket:
        raise usage_error(f"{text!r} names no bucket: use {loc.scheme}://BUCKET/KEY")
    if need_key and not loc.key:
        raise usage_error(f"{text!r} names a bucket, not an object: use {loc.scheme}://BUCKET/KEY")
    return loc


def dir_prefix(key: str) -> str:
    """A key used as a "folder": '' stays '', 'photos' becomes 'photos/'."""
    return key if not key or key.endswith("/") else key + "/"


def basename(key: str) -> str:
    return key.rstrip("/").rsplit("/", 1)[-1] if key.strip("/") else ""


class UnsafeKey(CLIError):
    """A key that would be written outside the target directory."""


def safe_local_path(root: str, rel: str) -> str:
    """`root` joined with a relative key, refusing keys that would escape `root`: `..`
    components, absolute paths, drive letters, NUL bytes, and symlinks in `root` that point
    elsewhere."""
    why = None
    parts = re.split(r"[\\/]", rel)
    if not rel or "\x00" in rel:
        why = "it is empty or contains a NUL byte"
    elif rel.startswith(("/", "\\")):
        why = "it is an absolute path"
    elif _DRIVE_RE.match(rel):
        why = "it starts with a drive letter"
    elif ".." in parts:
        why = "it contains '..'"
    if why is None:
        pieces = [p for p in rel.split("/") if p not in ("", ".")]
        if not pieces:
            why = "it names no file"
        else:
            path = os.path.join(root, *pieces)
            real_root = os.path.realpath(root)
            real = os.path.realpath(path)
            if os.path.commonpath([real_root, real]) != real_root or real == real_root:
                why = "it leads outside the directory (through a symbolic link)"
            else:
                return path
    raise UnsafeKey(f"refusing key {rel!r}: {why}; it would be written outside {root!r}")


def unfaithful_key(rel: str) -> str | None:
    """Why a key (relative to the prefix copied) has no faithful local path, None if it has
    one: the file written for `dir//file`, `./x` or `a/./b` would be listed back as another
    key (`dir/file`, `x`, `a/b`), so a sync would copy it, then delete it as extra."""
    if rel.endswith("/"):
        return "it ends with '/' but has content"
    parts = rel.split("/")
    if "" in parts:
        return "it has an empty path segment ('//' or a leading '/')"
    if "." in parts:
        return "it has a '.' path segment"
    for sep in (os.sep, os.altsep):
        if sep and sep != "/" and sep in rel:
            return f"it contains {sep!r}, a path separator on this system"
    return None


def key_problem(scheme: str, key: str) -> str | None:
    """Why a local file's name cannot be the key `key` on `scheme`, None if it can."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8"
    if scheme == "b2":
        from .b2 import validate_key
    else:
        from .s3 import validate_key
    try:
        validate_key(key)
    except ValueError as exc:
        return str(exc)
    return None


class Skipped:
    """A key or file left out because it has no faithful counterpart on the other side."""

    __slots__ = ("reason", "source")

    def __init__(self, source: Location, reason: str) -> None:
        self.source = source
        self.reason = reason

    def doc(self) -> dict[str, str]:
        return {"source": str(self.source), "reason": self.reason}


def unfaithful_keys(rels: list[str]) -> dict[str, str]:
    """rel -> why it is skipped, for keys to download under one directory: keys with no
    faithful local path, and keys that are a file and also a folder of other keys."""
    why = {rel: reason for rel in rels if (reason := unfaithful_key(rel)) is not None}
    folders: set[str] = set()
    for rel in rels:
        if rel not in why and "/" in rel:
            parts = rel.split("/")
            folders.update("/".join(parts[:n]) for n in range(1, len(parts)))
    for rel in rels:
        if rel not in why and rel in folders:
            why[rel] = "it is a file and also the folder of other keys"
    return why


def local_shadow(rel: str) -> str:
    """The local path (relative) a key with no faithful one would have collapsed onto."""
    return "/".join(p for p in rel.split("/") if p not in ("", "."))


@contextlib.contextmanager
def about(*locations: Location) -> Iterator[None]:
    """Name the URL in "not found" errors: `no such object: s3://b/k`, `no such bucket: ...`
    (the first location is the object that must exist; the bucket is the one the server
    named, else the first location's)."""
    try:
        yield
    except NoSuchBucket as exc:
        remote = [loc for loc in locations if loc.remote]
        resource = (exc.resource or "").strip("/").split("/", 1)[0]
        named = [loc for loc in remote if loc.bucket == resource]
        loc = (named or remote)[0] if remote else None
        if loc is None:
            raise
        raise CLIError(
            f"no such bucket: {loc.bucket_url} (NoSuchBucket)", EXIT_NOT_FOUND, "NoSuchBucket"
        ) from exc
    except (NoSuchKey, NoSuchVersion) as exc:
        if not locations or not locations[0].remote:
            raise
        name = "NoSuchVersion" if isinstance(exc, NoSuchVersion) else "NoSuchKey"
        raise CLIError(f"no such object: {locations[0]} ({name})", EXIT_NOT_FOUND, name) from exc
