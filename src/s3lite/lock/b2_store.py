"""The lock store on B2: no conditional writes; versions deleted by file id.

`B2LockStore` works through the public methods of a session (see `B2LockSession`) and two
calls the session hands it: one native API call that answers with its response (listings
need the server's Date) and the bucket-id lookup. ``B2Session.lock_store(bucket)`` makes it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..arguments import parse_http_date
from ..errors import ClientError, LockError, NoSuchKey, TransportError
from .clock import mono
from .state import SEQ1, parse_seq
from .store import (
    MAX_LOCK_OBJECT,
    Broken,
    Fetched,
    Listed,
    SessionTransport,
    Snapshot,
    Written,
    after_retry,
    fetched_from,
    sent_once,
    transient,
)

if TYPE_CHECKING:
    from ..response import Response

__all__ = ["ApiCall", "B2LockSession", "B2LockStore"]

#: One native API call: (operation, JSON parameters) -> (response, its JSON object).
ApiCall = Callable[[str, Mapping[str, Any]], "tuple[Response, dict[str, Any]]"]


class B2LockSession(Protocol):
    """The public session methods the B2 lock store uses (`B2Session` has them)."""

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
    ) -> Response:
        """Upload a file."""
        ...

    def get_object(
        self,
        key: str,
        *,
        bucket: str | None = None,
        stream: bool | None = None,
        max_size: int | None = None,
    ) -> Response:
        """Download a file."""
        ...

    def head_object(self, key: str, *, bucket: str | None = None) -> Response:
        """A file's headers."""
        ...


class B2LockStore:
    """Lock files in a B2 bucket (see `LockStore` for what each method promises)."""

    kind = "b2"
    conditional = False

    def __init__(
        self,
        session: B2LockSession,
        bucket: str,
        call: ApiCall,
        bucket_id: Callable[[str], str],
    ) -> None:
        self.session = session
        self.bucket = bucket
        self.endpoint = f"{session.api_url}#{session.access_key_id}"
        self.call = call
        self.bucket_id = bucket_id

    @property
    def max_connections(self) -> int:
        """Connections the session pools per host."""
        return self.session.transport.max_pool_connections

    def now(self) -> float:
        """The server's clock, as the transport last saw it."""
        return self.session.transport.now()

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> Written:
        """Upload a new version (B2 has no conditional writes)."""
        if if_none_match or if_match:
            raise LockError("B2 has no conditional writes")
        sent = mono()
        response = self.session.put_object(
            key, body, bucket=self.bucket, content_type="application/json"
        )
        retried = not sent_once(response)
        return Written(key, response.etag, response.version_id, sent, mono(), retried)

    def get(self, key: str) -> Fetched | None:
        """The file and when the server served it; None if there is none."""
        try:
            response = self.session.get_object(
                key, bucket=self.bucket, stream=False, max_size=MAX_LOCK_OBJECT
            )
        except NoSuchKey:
            return None
        return fetched_from(key, response, self.now())

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Not for B2: the conditional protocol is the only caller."""
        raise LockError("B2 has no conditional writes")

    def _pages(self, op: str, prefix: str) -> Iterator[tuple[list[dict[str, Any]], float]]:
        """Each page of b2_list_file_names / b2_list_file_versions, with its Date."""
        start_name: str | None = None
        start_id: str | None = None
        while True:
            params: dict[str, Any] = {
                "bucketId": self.bucket_id(self.bucket),
                "prefix": prefix,
                "maxFileCount": 1000,
            }
            if start_name:
                params["startFileName"] = start_name
            if start_id:
                params["startFileId"] = start_id
            response, obj = self.call(op, params)
            files = [
                entry
                for entry in obj.get("files") or []
                if isinstance(entry, dict) and isinstance(entry.get("fileName"), str)
            ]
            yield files, parse_http_date(response.headers.get("date")) or self.now()
            next_name, next_id = obj.get("nextFileName"), obj.get("nextFileId")
            if not isinstance(next_name, str) or not next_name:
                return
            next_id = next_id if isinstance(next_id, str) else None
            if (next_name, next_id) == (start_name, start_id):
                return
            start_name, start_id = next_name, next_id

    def _entries(self, op: str, prefix: str) -> list[dict[str, Any]]:
        return [entry for files, _ in self._pages(op, prefix) for entry in files]

    @staticmethod
    def _listed(entry: dict[str, Any]) -> Listed:
        stamp = entry.get("uploadTimestamp")
        modified = stamp / 1000 if isinstance(stamp, (int, float)) and stamp > 0 else None
        file_id = entry.get("fileId")
        return Listed(
            entry["fileName"],
            modified,
            entry.get("contentSha1"),
            file_id if isinstance(file_id, str) else None,
        )

    def listing(self, prefix: str) -> Snapshot:
        """Every file under `prefix` (latest versions), and the earliest Date of its pages."""
        objects: list[Listed] = []
        server_now = math.inf
        for files, date in self._pages("b2_list_file_names", prefix):
            server_now = min(server_now, date)
            objects.extend(self._listed(e) for e in files if e.get("action") == "upload")
        return Snapshot(objects, server_now, mono())

    def replace(
        self, key: str, old: Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> Written:
        """Upload a new version, then delete the one it replaces (by file id): if that one
        is already gone, the lock was broken -- the new version goes too."""
        written = self.put(key, body)
        if earlier:
            written.retried = True  # an earlier attempt may have left a version: swept
        if not old.version_id:
            return written
        try:
            present = self._delete_version(key, old.version_id)
        except (ClientError, TransportError) as exc:
            if not transient(exc):
                raise
            written.retried = True  # the old version is left: swept at release
            return written
        if not present:
            with contextlib.suppress(ClientError, TransportError):
                self._delete_version(key, written.version_id or "")
            raise Broken(f"lock object {key} (file {old.version_id}) was deleted by someone else")
        return written

    def _delete_version(self, key: str, file_id: str) -> bool:
        """Delete one version by file id; False if it was not there -- unless the call was
        sent more than once (then our own first attempt may have deleted it)."""
        try:
            self.call("b2_delete_file_version", {"fileId": file_id, "fileName": key})
        except NoSuchKey as exc:
            return after_retry(exc)
        return True

    def delete_own(self, key: str, written: Written | None) -> bool:
        """Delete the version we wrote (without one, the sweep finds it)."""
        if written is None or not written.version_id:
            return True  # found by the sweep
        return self._delete_version(key, written.version_id)

    def delete_listed(self, obj: Listed) -> bool:
        """Delete exactly the version a listing showed."""
        if not obj.version_id:
            return False
        return self._delete_version(obj.key, obj.version_id)

    def breakable(self, prefix: str, objects: list[Listed]) -> list[Listed]:
        """Every version (and hide marker) of the listed names, seq-0 names first."""
        names = {obj.key for obj in objects}
        found = [
            self._listed(entry)
            for entry in self._entries("b2_list_file_versions", prefix)
            if entry["fileName"] in names and entry.get("action") in ("upload", "hide")
        ]
        found.sort(key=lambda obj: obj.key.startswith(prefix + SEQ1))
        return found

    def sweep(self, prefix: str, lock_id: str) -> None:
        """Delete every version of files named with `lock_id`."""
        for entry in self._entries("b2_list_file_versions", prefix):
            parsed = parse_seq(prefix, entry["fileName"])
            file_id = entry.get("fileId")
            if parsed is not None and parsed.lock_id == lock_id and isinstance(file_id, str):
                self._delete_version(entry["fileName"], file_id)

    def is_current(self, key: str, written: Written) -> bool:
        """Whether the file's latest version is the one we wrote."""
        try:
            response = self.session.head_object(key, bucket=self.bucket)
        except NoSuchKey:
            return False
        return response.version_id == written.version_id
