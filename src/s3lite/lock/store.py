"""The store a lock keeps its objects in: the few operations the protocols need.

`LockStore` is what both backends' adapters (`s3_store`, `b2_store`, run by `store_calls`)
provide and what the protocols' steps ask for (see `steps`); the records below are what a
store hands back. A session makes its own with ``session.lock_store(bucket)``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from ..arguments import parse_http_date
from ..errors import (
    ClientError,
    InvalidArgument,
    InvalidRequest,
    NotImplementedByServer,
    TransportError,
)

__all__ = [
    "CONDITION_UNSUPPORTED",
    "MAX_LOCK_OBJECT",
    "Broken",
    "Fetched",
    "Listed",
    "LockStore",
    "LockStoreSource",
    "SessionTransport",
    "Snapshot",
    "Written",
    "after_retry",
    "fetched_from",
    "nonce_of",
    "real_version",
    "sent_once",
    "transient",
]

#: Largest lock object read into memory (each holds a small JSON document).
MAX_LOCK_OBJECT = 1024 * 1024
#: What a server answers to a conditional header it does not implement.
CONDITION_UNSUPPORTED = (NotImplementedByServer, InvalidArgument, InvalidRequest)


class Broken(Exception):
    """Our lock objects are gone or not ours any more."""


class Written:
    """A successful write: its ETag / version id, and when it was sent and answered."""

    __slots__ = ("done", "etag", "key", "retried", "sent", "version_id")

    def __init__(
        self,
        key: str,
        etag: str | None,
        version_id: str | None,
        sent: float,
        done: float,
        retried: bool = True,
    ) -> None:
        self.key = key
        self.etag = etag
        self.version_id = version_id
        self.sent = sent
        self.done = done
        #: Whether a stray version of the object may exist (the PUT may have been sent more
        #: than once, or a renewal could not delete the version it replaced): then release
        #: sweeps the holder's versions.
        self.retried = retried


class Listed:
    """One object (or B2 file version) of a listing."""

    __slots__ = ("etag", "key", "modified", "version_id")

    def __init__(
        self, key: str, modified: float | None, etag: str | None, version_id: str | None
    ) -> None:
        self.key = key
        self.modified = modified
        self.etag = etag
        self.version_id = version_id

    def __repr__(self) -> str:
        return f"Listed({self.key!r}, modified={self.modified})"


class Snapshot:
    """A listing of the lock prefix and the server time it was answered at."""

    __slots__ = ("done", "objects", "server_now")

    def __init__(self, objects: list[Listed], server_now: float, done: float) -> None:
        self.objects = objects
        self.server_now = server_now
        self.done = done


class Fetched:
    """One object read whole, and the server's time when it was served."""

    __slots__ = ("body", "etag", "key", "modified", "server_now", "version_id")

    def __init__(
        self,
        key: str,
        body: bytes,
        etag: str | None,
        version_id: str | None,
        modified: float | None,
        server_now: float,
    ) -> None:
        self.key = key
        self.body = body
        self.etag = etag
        self.version_id = version_id
        self.modified = modified
        self.server_now = server_now


class LockStore(Protocol):
    """The operations both lock protocols run on a backend (each may send a few requests)."""

    #: "s3" or "b2", for messages.
    kind: str
    #: Identifies the server and account, for the per-endpoint protocol cache.
    endpoint: str
    bucket: str
    #: Whether the backend may honour conditional writes (the conditional protocol).
    conditional: bool

    @property
    def max_connections(self) -> int:
        """Connections the session pools per host (bounds concurrent probes)."""
        ...

    def now(self) -> float:
        """The server's clock, as the transport last saw it (no request: not an action)."""
        ...

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> Written:
        """Write an object (conditionally, where the backend can)."""
        ...

    def get(self, key: str) -> Fetched | None:
        """The object and when the server served it; None if there is none."""
        ...

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete an object by name (with If-Match, where the backend can)."""
        ...

    def listing(self, prefix: str) -> Snapshot:
        """Every object under `prefix`, and the server's time of the listing."""
        ...

    def replace(
        self, key: str, old: Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> Written:
        """Rewrite our own object, failing with `Broken` if it is gone or not ours.
        `earlier`: nonce -> send time of our earlier attempts, which may have landed."""
        ...

    def delete_own(self, key: str, written: Written | None) -> bool:
        """Delete our own object; False if it was already gone (None: by name, say True)."""
        ...

    def delete_listed(self, obj: Listed) -> bool:
        """Delete exactly the object (version) a listing showed; False if it had changed."""
        ...

    def breakable(self, prefix: str, objects: list[Listed]) -> list[Listed]:
        """What to delete to break a contender whose listed objects are `objects`: those
        (S3), or every version of their names (B2); seq-0 names before seq-1 names."""
        ...

    def sweep(self, prefix: str, lock_id: str) -> None:
        """Delete leftover versions of objects named with `lock_id` (B2, versioned S3)."""
        ...

    def is_current(self, key: str, written: Written) -> bool:
        """Whether the object is still the version we wrote."""
        ...


class SessionTransport(Protocol):
    """The transport facts a lock store reads."""

    @property
    def max_pool_connections(self) -> int:
        """Connections pooled per host (bounds the concurrent probe)."""
        ...

    def now(self) -> float:
        """The server's clock, as the transport last saw it."""
        ...


class LockStoreSource(Protocol):
    """What `DistributedLock` takes: a session that makes its own store (both sessions do)."""

    def lock_store(self, bucket: str | None = None) -> LockStore:
        """The store of lock objects in `bucket` (default the session's)."""
        ...


# --- helpers the adapters share -------------------------------------------------------------------


def transient(exc: BaseException) -> bool:
    """Whether trying again later may work (the transport already retried)."""
    if isinstance(exc, TransportError):
        return exc.retryable
    return isinstance(exc, ClientError) and exc.retryable


def after_retry(exc: BaseException) -> bool:
    """Whether an error answered a request sent more than once: then an earlier attempt may
    have taken effect (e.g. a 412 to a retried conditional DELETE that had already deleted)."""
    attempts = getattr(exc, "attempts", 1)
    return isinstance(attempts, int) and attempts > 1


def sent_once(response: Any) -> bool:
    """Whether a response answered the first attempt of its request."""
    attempts = getattr(response, "attempts", None)
    return isinstance(attempts, int) and attempts == 1


def real_version(version_id: str | None) -> str | None:
    """A version id, or None for none (S3 says "null" for an unversioned object)."""
    return version_id if version_id and version_id != "null" else None


def nonce_of(body: bytes) -> str | None:
    """The per-write nonce of a lock object's body, if it has one."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    nonce = doc.get("nonce") if isinstance(doc, dict) else None
    return nonce if isinstance(nonce, str) else None


def fetched_from(key: str, response: Any, server_now: float) -> Fetched:
    """A `Fetched` from a GET response read whole (`server_now`: when no Date came)."""
    modified = response.last_modified
    return Fetched(
        key,
        response.data,
        response.etag,
        real_version(response.version_id),
        modified.timestamp() if modified else None,
        parse_http_date(response.headers.get("date")) or server_now,
    )
