"""A lock's settings, checked once: what `DistributedLock` (and any other driver) accepts."""

from __future__ import annotations

import math
from typing import Literal

from .state import ID_RE, seq_key

__all__ = ["DEFAULT_CLOCK_SKEW", "LockProtocol", "LockSettings", "check_names", "lock_settings"]

LockProtocol = Literal["auto", "conditional", "sequential"]

_PROTOCOLS: dict[object, LockProtocol] = {
    "auto": "auto",
    "conditional": "conditional",
    "sequential": "sequential",
}
#: Allowance for disagreement between the server's clocks (see the package docstring).
DEFAULT_CLOCK_SKEW = 5.0


class LockSettings:
    """A lock's checked arguments (numbers as floats, the prefix filled in)."""

    __slots__ = ("clock_skew", "exclusive", "heartbeat", "key", "prefix", "protocol", "ttl")

    def __init__(
        self,
        key: str,
        prefix: str,
        ttl: float,
        heartbeat: float,
        clock_skew: float,
        exclusive: bool,
        protocol: LockProtocol,
    ) -> None:
        self.key = key
        self.prefix = prefix
        self.ttl = ttl
        self.heartbeat = heartbeat
        self.clock_skew = clock_skew
        self.exclusive = exclusive
        self.protocol: LockProtocol = protocol


def lock_settings(
    key: object,
    *,
    ttl: object,
    prefix: object,
    protocol: object,
    exclusive: object,
    heartbeat: object,
    clock_skew: object,
    lock_id: object,
) -> LockSettings:
    """Check a lock's arguments (`TypeError`/`ValueError` as `DistributedLock` documents)."""
    if lock_id is not None and (not isinstance(lock_id, str) or not ID_RE.match(lock_id)):
        raise ValueError(f"lock_id must be a lock id as s3lite makes them, got {lock_id!r}")
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("key must not be empty")
    if protocol not in _PROTOCOLS:
        raise ValueError(
            f"protocol must be 'auto', 'conditional' or 'sequential', got {protocol!r}"
        )
    seconds: dict[str, float] = {}
    for name, value in (("ttl", ttl), ("clock_skew", clock_skew)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number of seconds")
        if not math.isfinite(value) or value < 0 or (name == "ttl" and value <= 0):
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        seconds[name] = float(value)
    if heartbeat is None:
        heartbeat = seconds["ttl"] / 3
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, (int, float)):
        raise TypeError("heartbeat must be a number of seconds")
    if not 0 < heartbeat < seconds["ttl"]:
        raise ValueError(f"heartbeat must be between 0 and ttl ({ttl}), got {heartbeat!r}")
    if prefix is None:
        prefix = key + ".lock/"
    if not isinstance(prefix, str) or not prefix:
        raise ValueError("prefix must be a non-empty str")
    return LockSettings(
        key,
        prefix,
        seconds["ttl"],
        float(heartbeat),
        seconds["clock_skew"],
        bool(exclusive),
        _PROTOCOLS[protocol],
    )


def check_names(settings: LockSettings, conditional_store: bool) -> None:
    """Refuse what the store cannot do: the conditional protocol without conditional writes
    (B2), or names longer than object names may be."""
    if not conditional_store and settings.protocol == "conditional":
        raise ValueError("B2 has no conditional writes: use protocol='sequential' or 'auto'")
    longest = seq_key(settings.prefix, 1, True, settings.ttl, "0" * 32, 10**12)
    if len(longest.encode("utf-8", "surrogatepass")) > 1024:
        raise ValueError("key (or prefix) too long: lock object names would exceed 1024 bytes")
