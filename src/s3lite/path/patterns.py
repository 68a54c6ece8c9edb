"""Glob patterns of paths, parsed and matched segment by segment (no I/O)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

__all__ = [
    "RECURSIVE",
    "WILDCARD",
    "GlobPattern",
    "component_regex",
    "literal_head",
    "match_segments",
    "usable_name",
]

WILDCARD = re.compile(r"[*?\[]")
RECURSIVE = "**"


def literal_head(component: str) -> str:
    """The characters before the first wildcard (the listing prefix a component allows)."""
    match = WILDCARD.search(component)
    return component if match is None else component[: match.start()]


_REGEX_CACHE: dict[tuple[str, bool], re.Pattern[str]] = {}


def component_regex(component: str, case_sensitive: bool) -> re.Pattern[str]:
    """The compiled regex of one glob segment (`fnmatch` syntax), cached."""
    key = (component, case_sensitive)
    regex = _REGEX_CACHE.get(key)
    if regex is None:
        import fnmatch

        regex = re.compile(fnmatch.translate(component), 0 if case_sensitive else re.IGNORECASE)
        if len(_REGEX_CACHE) > 1024:
            _REGEX_CACHE.clear()
        _REGEX_CACHE[key] = regex
    return regex


def match_segments(pattern: Sequence[re.Pattern[str] | None], names: Sequence[str]) -> bool:
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


class GlobPattern:
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
        self.recursive = RECURSIVE in parts
        self.compiled: list[re.Pattern[str] | None] = [
            None if p == RECURSIVE else component_regex(p, self.case_sensitive) for p in parts
        ]

    def literal(self, index: int) -> bool:
        """Whether component `index` names exactly one entry (listing can be skipped)."""
        part = self.parts[index]
        return self.case_sensitive and part != RECURSIVE and not WILDCARD.search(part)

    def head(self, index: int) -> str:
        """Listing prefix that component `index` allows."""
        if not self.case_sensitive or self.parts[index] == RECURSIVE:
            return ""
        return literal_head(self.parts[index])


def usable_name(name: str) -> bool:
    """Whether a key segment can be a path component (`a//b`, `.` and `..` cannot)."""
    return name not in ("", ".", "..")
