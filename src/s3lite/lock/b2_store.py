"""The lock store on B2: no conditional writes; versions deleted by file id.

`B2LockOps` is its logic without I/O (generators of calls, see `store_calls`) on the public
methods of a session (see `B2LockSession`) and two calls the session hands the store: one
native API call that answers with its response (listings need the server's Date) and the
bucket-id lookup. `B2LockStore` runs it on a sync session (``B2Session.lock_store(bucket)``
makes it), the asyncio API's `AsyncB2LockStore` on an async one.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from ..arguments import parse_http_date
from ..errors import ClientError, LockError, NoSuchKey, TransportError
from ..response import Response
from .clock import mono
from .state import SEQ1, parse_seq
from .store import (
    Broken,
    Fetched,
    Listed,
    SessionTransport,
    Snapshot,
    Written,
    after_retry,
    sent_once,
    transient,
)
from .store_calls import Lookup, SessionCall, SessionStore, StoreOp, fetch

__all__ = [
    "ApiCall",
    "B2LockOps",
    "B2LockSession",
    "B2LockSessionOf",
    "B2LockStore",
    "b2_lookup",
    "listed_file",
]

#: One native API call: (operation, JSON parameters) -> (response, its JSON object).
ApiCall = Callable[[str, Mapping[str, Any]], tuple[Response, dict[str, Any]]]
#: Which files of a listing to keep.
Keep = Callable[[dict[str, Any]], bool]


R_co = TypeVar("R_co", covariant=True)


class B2LockSessionOf(Protocol[R_co]):
    """The public session methods the B2 lock stores use: each request answers `R_co` (a
    response, or on an async session an awaitable of one)."""

    @property
    def api_url(self) -> str:
        """The authorization URL (with the key id, it names the endpoint)."""
        ...

    @property
    def access_key_id(self) -> str:
        """The application key id."""
        ...

    @property
    def transport(self) -> SessionTransport:
        """The session's transport."""
        ...

    def put_object(
        self, key: str, body: bytes, *, content_type: str | None = None, bucket: str | None = None
    ) -> R_co:
        """Upload a file."""
        ...

    def get_object(
        self,
        key: str,
        *,
        bucket: str | None = None,
        stream: bool | None = None,
        max_size: int | None = None,
    ) -> R_co:
        """Download a file."""
        ...

    def head_object(self, key: str, *, bucket: str | None = None) -> R_co:
        """A file's headers."""
        ...


class B2LockSession(B2LockSessionOf[Response], Protocol):
    """The public session methods `B2LockStore` uses (`B2Session` has them)."""


def b2_lookup(session: object, call: Callable[..., Any], bucket_id: Callable[..., Any]) -> Lookup:
    """Where a B2 store's calls go: ``"b2_call"`` to `call` (the native API), ``"bucket_id"``
    to `bucket_id`, any other name to that method of `session`."""
    handed: dict[str, Callable[..., Any]] = {"b2_call": call, "bucket_id": bucket_id}
    return lambda name: handed[name] if name in handed else getattr(session, name)


def listed_file(entry: dict[str, Any]) -> Listed:
    """A `Listed` from one file (version) of a B2 listing."""
    stamp = entry.get("uploadTimestamp")
    modified = stamp / 1000 if isinstance(stamp, (int, float)) and stamp > 0 else None
    file_id = entry.get("fileId")
    return Listed(
        entry["fileName"],
        modified,
        entry.get("contentSha1"),
        file_id if isinstance(file_id, str) else None,
    )


class B2LockOps:
    """The B2 lock store's methods without I/O, for both stores: each a generator of calls
    (see `b2_lookup` for where they go)."""

    kind = "b2"
    conditional = False

    def __init__(self, bucket: str, now: Callable[[], float]) -> None:
        self.bucket = bucket
        self.now = now  # the server's clock, as the transport last saw it

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> StoreOp[Written]:
        """Upload a new version (B2 has no conditional writes)."""
        if if_none_match or if_match:
            raise LockError("B2 has no conditional writes")
        sent = mono()
        response = yield SessionCall(
            "put_object", key, body, bucket=self.bucket, content_type="application/json"
        )
        retried = not sent_once(response)
        return Written(key, response.etag, response.version_id, sent, mono(), retried)

    def get(self, key: str) -> StoreOp[Fetched | None]:
        """The file and when the server served it; None if there is none."""
        return fetch(self.bucket, key, self.now)

    def delete(self, key: str, *, if_match: str | None = None) -> StoreOp[None]:
        """Not for B2: the conditional protocol is the only caller."""
        yield from ()  # no call
        raise LockError("B2 has no conditional writes")

    def files(
        self, op: str, prefix: str, keep: Keep
    ) -> StoreOp[tuple[list[dict[str, Any]], float]]:
        """The files `keep` takes of every page of b2_list_file_names / b2_list_file_versions,
        and the earliest Date of the pages."""
        kept: list[dict[str, Any]] = []
        server_now = math.inf
        start_name: str | None = None
        start_id: str | None = None
        while True:
            params: dict[str, Any] = {
                "bucketId": (yield SessionCall("bucket_id", self.bucket)),
                "prefix": prefix,
                "maxFileCount": 1000,
            }
            if start_name:
                params["startFileName"] = start_name
            if start_id:
                params["startFileId"] = start_id
            response, obj = yield SessionCall("b2_call", op, params)
            kept.extend(
                entry
                for entry in obj.get("files") or []
                if isinstance(entry, dict)
                and isinstance(entry.get("fileName"), str)
                and keep(entry)
            )
            date = parse_http_date(response.headers.get("date")) or self.now()
            server_now = min(server_now, date)
            next_name, next_id = obj.get("nextFileName"), obj.get("nextFileId")
            if not isinstance(next_name, str) or not next_name:
                return kept, server_now
            next_id = next_id if isinstance(next_id, str) else None
            if (next_name, next_id) == (start_name, start_id):
                return kept, server_now
            start_name, start_id = next_name, next_id

    def listing(self, prefix: str) -> StoreOp[Snapshot]:
        """Every file under `prefix` (latest versions), and the earliest Date of its pages."""
        files, server_now = yield from self.files(
            "b2_list_file_names", prefix, lambda entry: entry.get("action") == "upload"
        )
        return Snapshot([listed_file(entry) for entry in files], server_now, mono())

    def replace(
        self, key: str, old: Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> StoreOp[Written]:
        """Upload a new version, then delete the one it replaces (by file id): if that one
        is already gone, the lock was broken -- the new version goes too."""
        written = yield from self.put(key, body)
        if earlier:
            written.retried = True  # an earlier attempt may have left a version: swept
        if not old.version_id:
            return written
        try:
            present = yield from self.delete_version(key, old.version_id)
        except (ClientError, TransportError) as exc:
            if not transient(exc):
                raise
            written.retried = True  # the old version is left: swept at release
            return written
        if not present:
            with contextlib.suppress(ClientError, TransportError):
                yield from self.delete_version(key, written.version_id or "")
            raise Broken(f"lock object {key} (file {old.version_id}) was deleted by someone else")
        return written

    def delete_version(self, key: str, file_id: str) -> StoreOp[bool]:
        """Delete one version by file id; False if it was not there -- unless the call was
        sent more than once (then our own first attempt may have deleted it)."""
        try:
            yield SessionCall(
                "b2_call", "b2_delete_file_version", {"fileId": file_id, "fileName": key}
            )
        except NoSuchKey as exc:
            return after_retry(exc)
        return True

    def delete_own(self, key: str, written: Written | None) -> StoreOp[bool]:
        """Delete the version we wrote (without one, the sweep finds it)."""
        if written is None or not written.version_id:
            return True  # found by the sweep
        return (yield from self.delete_version(key, written.version_id))

    def delete_listed(self, obj: Listed) -> StoreOp[bool]:
        """Delete exactly the version a listing showed."""
        if not obj.version_id:
            return False
        return (yield from self.delete_version(obj.key, obj.version_id))

    def breakable(self, prefix: str, objects: list[Listed]) -> StoreOp[list[Listed]]:
        """Every version (and hide marker) of the listed names, seq-0 names first."""
        names = {obj.key for obj in objects}
        files, _ = yield from self.files(
            "b2_list_file_versions",
            prefix,
            lambda entry: entry["fileName"] in names and entry.get("action") in ("upload", "hide"),
        )
        found = [listed_file(entry) for entry in files]
        found.sort(key=lambda obj: obj.key.startswith(prefix + SEQ1))
        return found

    def sweep(self, prefix: str, lock_id: str) -> StoreOp[None]:
        """Delete every version of files named with `lock_id`."""

        def ours(entry: dict[str, Any]) -> bool:
            parsed = parse_seq(prefix, entry["fileName"])
            return parsed is not None and parsed.lock_id == lock_id

        files, _ = yield from self.files("b2_list_file_versions", prefix, ours)
        for entry in files:
            file_id = entry.get("fileId")
            if isinstance(file_id, str):
                yield from self.delete_version(entry["fileName"], file_id)

    def is_current(self, key: str, written: Written) -> StoreOp[bool]:
        """Whether the file's latest version is the one we wrote."""
        try:
            response = yield SessionCall("head_object", key, bucket=self.bucket)
        except NoSuchKey:
            return False
        return bool(response.version_id == written.version_id)


class B2LockStore(SessionStore):
    """Lock files in a B2 bucket: `B2LockOps` run on a sync session (see `LockStore` for
    what each method promises)."""

    def __init__(
        self,
        session: B2LockSession,
        bucket: str,
        call: ApiCall,
        bucket_id: Callable[[str], str],
    ) -> None:
        super().__init__(
            B2LockOps(bucket, session.transport.now),
            b2_lookup(session, call, bucket_id),
            f"{session.api_url}#{session.access_key_id}",
            session.transport,
        )
        self.session = session
        self.call = call
        self.bucket_id = bucket_id
