"""Name matching for the command line: `--include`/`--exclude` filters (aws-cli semantics)
and wildcards in remote sources (`*`, `?`, `**`, as s5cmd has them).

Filters apply to a path relative to the command's source directory or prefix; every file is
included until a filter says otherwise, and a later filter wins over an earlier one. In
filter patterns `*` matches any run of characters, `/` included, as aws-cli does.

In a remote source URL, `*` matches within one path segment (no `/`), `?` one character
(not `/`) and `**` any run of characters, `/` included. The listing is narrowed to the
literal prefix before the first wildcard; a key is named relative to the last `/` of that
prefix when copied.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

__all__ = [
    "FilterAction",
    "Filters",
    "Wildcard",
    "filters_from",
    "has_wildcard",
]

_WILDCARD_CHARS = ("*", "?")


def has_wildcard(text: str) -> bool:
    """Whether a key holds a wildcard (`*` or `?`)."""
    return any(c in text for c in _WILDCARD_CHARS)


class FilterAction(argparse.Action):
    """Collects `--include`/`--exclude` in the order given (the order decides)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        kind = "exclude" if option_string == "--exclude" else "include"
        rules = list(getattr(namespace, self.dest, None) or [])
        rules.append((kind, str(values)))
        setattr(namespace, self.dest, rules)


def _filter_regex(pattern: str) -> re.Pattern[str]:
    """aws-cli's fnmatch: `*` any run (across `/`), `?` one character, `[...]` a class."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


class Filters:
    """An ordered list of include/exclude rules; `wanted(rel)` applies them to a relative path."""

    __slots__ = ("_rules",)

    def __init__(self, rules: Sequence[tuple[str, str]] = ()) -> None:
        self._rules = [(kind == "include", _filter_regex(p.lstrip("/"))) for kind, p in rules]

    def __bool__(self) -> bool:
        return bool(self._rules)

    def wanted(self, rel: str) -> bool:
        """Included unless a filter excludes it; the last filter that matches decides."""
        keep = True
        for include, regex in self._rules:
            if regex.match(rel):
                keep = include
        return keep


def filters_from(args: argparse.Namespace) -> Filters:
    """The `--include`/`--exclude` rules of a parsed command line (none: everything)."""
    return Filters(getattr(args, "filters", None) or [])


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    """s5cmd's wildcards: `**` any run, `*` a run without `/`, `?` one character but `/`."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


class Wildcard:
    """A key pattern with wildcards: the literal prefix to list, and a matcher for keys."""

    __slots__ = ("_regex", "base", "pattern", "prefix")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        first = min(pattern.index(c) for c in _WILDCARD_CHARS if c in pattern)
        #: list only keys starting with this
        self.prefix = pattern[:first]
        #: keys are named relative to this "folder" when copied
        self.base = self.prefix[: self.prefix.rfind("/") + 1]
        self._regex = _wildcard_regex(pattern)

    def matches(self, key: str) -> bool:
        """Whether a whole key matches the pattern."""
        return self._regex.match(key) is not None

    def relative(self, key: str) -> str:
        """A matching key's name below the pattern's folder (what a copy keeps)."""
        return key[len(self.base) :]
