"""Pure paths of buckets: `PureS3Path`, `PureB2Path` and `PureVersionedS3Path`.

Paths look like `/bucket/key/parts`: the first part is the bucket, the rest is the key.
The logic is `pathlib.PurePosixPath`'s, held by composition (CPython's pathlib internals
changed in 3.12 and 3.13; nothing here depends on them), except that `..` is resolved
lexically (S3 has no symlinks) and `os.fspath()` is refused, so that an object path is never
mistaken for a local file. Parsing, joining and matching only: no I/O.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from .patterns import RECURSIVE, component_regex, match_segments

__all__ = ["PureB2Path", "PureS3Path", "PureVersionedS3Path"]

_P = TypeVar("_P", bound="PureS3Path")


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
            elif not component_regex(pat, sensitive).match(name):
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
        compiled = [None if n == RECURSIVE else component_regex(n, sensitive) for n in names]
        parts = self._p.parts[1:] if rooted else self._p.parts
        return match_segments(compiled, parts)

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
        """The class of the paths derived from this one (`VersionedS3Path`'s is `S3Path`)."""
        return PureS3Path

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
