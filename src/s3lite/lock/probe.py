"""Whether a server honours conditional writes: probed once per endpoint, then cached.

`probe_conditional_writes` tries them with throwaway objects (sequentially, then racing
writers in threads); `support_for` is the per-endpoint cache `DistributedLock` uses.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from ..errors import ClientError, ConditionalRequestConflict, PreconditionFailed, TransportError
from .clock import new_id
from .steps import Act, Step, drive, retried
from .store import CONDITION_UNSUPPORTED, LockStore, LockStoreSource

__all__ = [
    "PROBE_KEYS",
    "PROBE_WRITERS",
    "ConditionalSupport",
    "cached_support",
    "clear_protocol_cache",
    "probe_conditional_writes",
    "probe_sequential",
    "race_verdict",
    "remember_support",
    "reusable_support",
    "support_for",
]

log = logging.getLogger("s3lite.lock")

#: Concurrent probe: this many keys, each raced by this many writers at once.
PROBE_KEYS = 2
PROBE_WRITERS = 4


class ConditionalSupport:
    """What a server does with conditional writes (see `probe_conditional_writes`)."""

    __slots__ = ("atomic", "delete_if_match", "detail", "if_match", "if_none_match")

    def __init__(self) -> None:
        #: A second sequential ``If-None-Match: *`` PUT gets 412.
        self.if_none_match = False
        #: A PUT with a wrong ``If-Match`` ETag gets 412.
        self.if_match = False
        #: A DELETE with a wrong ``If-Match`` ETag gets 412 (and deletes nothing).
        self.delete_if_match = False
        #: Concurrent ``If-None-Match: *`` PUTs to one key let exactly one through
        #: (None: not probed).
        self.atomic: bool | None = None
        #: What the probe saw, for logs and reports.
        self.detail = ""

    @property
    def usable(self) -> bool:
        """Whether the conditional protocol may be chosen automatically."""
        return self.if_none_match and self.if_match and self.atomic is True

    def __repr__(self) -> str:
        return (
            f"ConditionalSupport(if_none_match={self.if_none_match}, if_match={self.if_match}, "
            f"delete_if_match={self.delete_if_match}, atomic={self.atomic}, "
            f"detail={self.detail!r})"
        )


_SUPPORT: dict[str, ConditionalSupport] = {}
_SUPPORT_LOCK = threading.Lock()


def clear_protocol_cache() -> None:
    """Forget what was probed about each endpoint's conditional writes."""
    with _SUPPORT_LOCK:
        _SUPPORT.clear()


def cached_support(endpoint: str) -> ConditionalSupport | None:
    """What was probed about `endpoint` in this process (None: nothing yet)."""
    with _SUPPORT_LOCK:
        return _SUPPORT.get(endpoint)


def probe_sequential(base: str, support: ConditionalSupport) -> Step[None]:
    """Try conditional writes one at a time on ``<base>.a`` (removed after), noting in
    `support` what the server did."""
    key = base + ".a"
    try:
        yield from _conditions(key, support)
    except GeneratorExit:
        raise
    except BaseException:
        yield from _remove(key)
        raise
    yield from _remove(key)


def _remove(key: str) -> Step[None]:
    with contextlib.suppress(ClientError, TransportError):
        yield Act("delete", key)


def _conditions(key: str, support: ConditionalSupport) -> Step[None]:
    try:
        yield from retried(Act("put", key, b"1", if_none_match=True))
    except PreconditionFailed:
        pass  # a transport retry of our own create: the key exists, which is what we want
    except CONDITION_UNSUPPORTED as exc:
        support.detail = f"If-None-Match refused: {exc.code}"
        return
    try:
        yield from retried(Act("put", key, b"2", if_none_match=True))
        support.detail = "a second If-None-Match: * PUT succeeded"
        return
    except PreconditionFailed:
        support.if_none_match = True
    except CONDITION_UNSUPPORTED as exc:
        support.detail = f"If-None-Match refused: {exc.code}"
        return
    wrong = "0" * 32
    try:
        yield from retried(Act("put", key, b"3", if_match=wrong))
        support.detail = "a PUT with a wrong If-Match succeeded"
        return
    except PreconditionFailed:
        support.if_match = True
    except CONDITION_UNSUPPORTED as exc:
        support.detail = f"If-Match refused: {exc.code}"
        return
    try:
        yield from retried(Act("delete", key, if_match=wrong))
        support.delete_if_match = False
    except PreconditionFailed:
        support.delete_if_match = True
    except CONDITION_UNSUPPORTED:
        support.delete_if_match = False


def _probe_concurrent(store: LockStore, base: str) -> tuple[bool | None, str]:
    """Race If-None-Match: * writers on fresh keys; (exactly one winner per key?, detail)."""
    pool = store.max_connections
    writers = min(PROBE_WRITERS, pool // PROBE_KEYS)
    if writers < 2:
        return None, f"too few pooled connections ({pool}) to race writers"
    keys = [f"{base}.c{n}" for n in range(PROBE_KEYS)]
    barrier = threading.Barrier(len(keys) * writers)
    outcome: dict[str, list[str]] = {k: [] for k in keys}
    guard = threading.Lock()

    def race(key: str, n: int) -> None:
        result = "error"
        try:
            barrier.wait(timeout=30)
            store.put(key, f"{n}".encode(), if_none_match=True)
            result = "won"
        except (PreconditionFailed, ConditionalRequestConflict):
            result = "lost"
        except Exception as exc:
            result = f"error: {exc}"
        with guard:
            outcome[key].append(result)

    threads = [
        threading.Thread(target=race, args=(k, n), name="s3lite-lock-probe", daemon=True)
        for k in keys
        for n in range(writers)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for key in keys:
            with contextlib.suppress(ClientError, TransportError):
                store.delete(key)
    return race_verdict(outcome, writers, any(t.is_alive() for t in threads))


def race_verdict(
    outcome: dict[str, list[str]], writers: int, unfinished: bool
) -> tuple[bool | None, str]:
    """(exactly one winner per key?, detail) from each racing writer's "won", "lost" or
    "error: ..." per key; `unfinished`: some writer never answered (inconclusive)."""
    keys = list(outcome)
    winners = [sum(r == "won" for r in outcome[k]) for k in keys]
    errors = [r for k in keys for r in outcome[k] if r.startswith("error")]
    detail = f"{len(keys)} keys x {writers} concurrent If-None-Match writers: winners {winners}"
    if any(w > 1 for w in winners):
        return False, detail + " (more than one write succeeded: not atomic)"
    if errors or any(w == 0 for w in winners) or unfinished:
        return None, detail + f" (inconclusive: {errors[:1] or 'no winner'})"
    return True, detail


def probe_conditional_writes(
    session: LockStoreSource,
    prefix: str,
    *,
    bucket: str | None = None,
    concurrency: bool = True,
) -> ConditionalSupport:
    """Find out what the server does with conditional writes, with throwaway objects under
    `prefix`: whether a second ``If-None-Match: *`` PUT and a wrong ``If-Match`` get 412, on
    PUT and on DELETE, and (with `concurrency`) whether concurrent ``If-None-Match: *`` PUTs to
    one key let exactly one through. Not cached; `DistributedLock` caches per endpoint."""
    return _probe(session.lock_store(bucket), prefix, concurrency)


def _probe(store: LockStore, prefix: str, concurrency: bool) -> ConditionalSupport:
    support = ConditionalSupport()
    base = f"{prefix}probe.{new_id()}"
    drive(probe_sequential(base, support), store)
    if not (concurrency and support.if_none_match and support.if_match):
        return support
    for _ in range(3):  # an inconclusive race (errors, retries) is run again
        support.atomic, detail = _probe_concurrent(store, base)
        support.detail = detail
        if support.atomic is not None:
            break
    return support


def support_for(store: LockStore, prefix: str, *, concurrency: bool) -> ConditionalSupport:
    """What `store`'s endpoint does with conditional writes: probed once per process
    (again with `concurrency` if the cached answer never raced writers)."""
    with _SUPPORT_LOCK:
        cached = reusable_support(_SUPPORT.get(store.endpoint), concurrency=concurrency)
        if cached is not None:
            return cached
        support = _probe(store, prefix, concurrency)
        _remember(store.endpoint, support, concurrency)
        return support


def reusable_support(
    cached: ConditionalSupport | None, *, concurrency: bool
) -> ConditionalSupport | None:
    """`cached` if it answers the question (with `concurrency`: it raced writers, unless
    conditional writes failed already); None: probe."""
    if cached is not None and (
        not concurrency
        or cached.atomic is not None
        or not (cached.if_none_match and cached.if_match)
    ):
        return cached
    return None


def remember_support(endpoint: str, support: ConditionalSupport, *, concurrency: bool) -> None:
    """Cache what a probe (run by another driver) found about `endpoint`."""
    with _SUPPORT_LOCK:
        _remember(endpoint, support, concurrency)


def _remember(endpoint: str, support: ConditionalSupport, concurrency: bool) -> None:
    if support.atomic is None and concurrency:
        support.atomic = False  # never proven: the automatic choice stays sequential
    _SUPPORT[endpoint] = support
    log.info("conditional writes on %s: %r", endpoint, support)
