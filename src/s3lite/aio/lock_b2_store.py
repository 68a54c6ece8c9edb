"""The lock store on B2 for the asyncio API: `B2LockStore`'s methods, as coroutines.

It works through the public coroutines of an async session (see `AsyncB2LockSession`) and
two coroutines the session hands it: one native API call that answers with its response
(listings need the server's Date) and the bucket-id lookup.
``AsyncB2Session.lock_store_async(bucket)`` makes it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..arguments import parse_http_date
from ..errors import ClientError, LockError, NoSuchKey, TransportError
from ..lock.clock import mono
from ..lock.state import SEQ1, parse_seq
from ..lock.store import (
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
    from .response import AsyncResponse

__all__ = ["AsyncApiCall", "AsyncB2LockSession", "AsyncB2LockStore"]

#: One native API call: (operation, JSON parameters) -> (response, its JSON object).
AsyncApiCall = Callable[[str, Mapping[str, Any]], "Awaitable[tuple[AsyncResponse, dict[str, Any]]]"]


class AsyncB2LockSession(Protocol):
    """The public session coroutines the async B2 lock store uses (`AsyncB2Session`)."""

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

    async def put_object(
        self, key: str, body: bytes, *, content_type: str | None = None, bucket: str | None = None
    ) -> AsyncResponse:
        """Upload a file."""
        ...

    async def get_object(
        self,
        key: str,
        *,
        bucket: str | None = None,
        stream: bool | None = None,
        max_size: int | None = None,
    ) -> AsyncResponse:
        """Download a file."""
        ...

    async def head_object(self, key: str, *, bucket: str | None = None) -> AsyncResponse:
        """A file's headers."""
        ...


class AsyncB2LockStore:
    """Lock files in a B2 bucket, for the asyncio API (see `LockStore`)."""

    kind = "b2"
    conditional = False

    def __init__(
        self,
        session: AsyncB2LockSession,
        bucket: str,
        call: AsyncApiCall,
        bucket_id: Callable[[str], Awaitable[str]],
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

    async def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> Written:
        """Upload a new version (B2 has no conditional writes)."""
        if if_none_match or if_match:
            raise LockError("B2 has no conditional writes")
        sent = mono()
        response = await self.session.put_object(
            key, body, bucket=self.bucket, content_type="application/json"
        )
        retried = not sent_once(response)
        return Written(key, response.etag, response.version_id, sent, mono(), retried)

    async def get(self, key: str) -> Fetched | None:
        """The file and when the server served it; None if there is none."""
        try:
            response = await self.session.get_object(
                key, bucket=self.bucket, stream=False, max_size=MAX_LOCK_OBJECT
            )
        except NoSuchKey:
            return None
        return fetched_from(key, response, self.now())

    async def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Not for B2: the conditional protocol is the only caller."""
        raise LockError("B2 has no conditional writes")

    async def _pages(
        self, op: str, prefix: str
    ) -> AsyncIterator[tuple[list[dict[str, Any]], float]]:
        """Each page of b2_list_file_names / b2_list_file_versions, with its Date."""
        start_name: str | None = None
        start_id: str | None = None
        while True:
            params: dict[str, Any] = {
                "bucketId": await self.bucket_id(self.bucket),
                "prefix": prefix,
                "maxFileCount": 1000,
            }
            if start_name:
                params["startFileName"] = start_name
            if start_id:
                params["startFileId"] = start_id
            response, obj = await self.call(op, params)
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

    async def _entries(self, op: str, prefix: str) -> list[dict[str, Any]]:
        return [entry async for files, _ in self._pages(op, prefix) for entry in files]

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

    async def listing(self, prefix: str) -> Snapshot:
        """Every file under `prefix` (latest versions), and the earliest Date of its pages."""
        objects: list[Listed] = []
        server_now = math.inf
        async for files, date in self._pages("b2_list_file_names", prefix):
            server_now = min(server_now, date)
            objects.extend(self._listed(e) for e in files if e.get("action") == "upload")
        return Snapshot(objects, server_now, mono())

    async def replace(
        self, key: str, old: Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> Written:
        """Upload a new version, then delete the one it replaces (by file id): if that one
        is already gone, the lock was broken -- the new version goes too."""
        written = await self.put(key, body)
        if earlier:
            written.retried = True  # an earlier attempt may have left a version: swept
        if not old.version_id:
            return written
        try:
            present = await self._delete_version(key, old.version_id)
        except (ClientError, TransportError) as exc:
            if not transient(exc):
                raise
            written.retried = True  # the old version is left: swept at release
            return written
        if not present:
            with contextlib.suppress(ClientError, TransportError):
                await self._delete_version(key, written.version_id or "")
            raise Broken(f"lock object {key} (file {old.version_id}) was deleted by someone else")
        return written

    async def _delete_version(self, key: str, file_id: str) -> bool:
        """Delete one version by file id; False if it was not there -- unless the call was
        sent more than once (then our own first attempt may have deleted it)."""
        try:
            await self.call("b2_delete_file_version", {"fileId": file_id, "fileName": key})
        except NoSuchKey as exc:
            return after_retry(exc)
        return True

    async def delete_own(self, key: str, written: Written | None) -> bool:
        """Delete the version we wrote (without one, the sweep finds it)."""
        if written is None or not written.version_id:
            return True  # found by the sweep
        return await self._delete_version(key, written.version_id)

    async def delete_listed(self, obj: Listed) -> bool:
        """Delete exactly the version a listing showed."""
        if not obj.version_id:
            return False
        return await self._delete_version(obj.key, obj.version_id)

    async def breakable(self, prefix: str, objects: list[Listed]) -> list[Listed]:
        """Every version (and hide marker) of the listed names, seq-0 names first."""
        names = {obj.key for obj in objects}
        found = [
            self._listed(entry)
            for entry in await self._entries("b2_list_file_versions", prefix)
            if entry["fileName"] in names and entry.get("action") in ("upload", "hide")
        ]
        found.sort(key=lambda obj: obj.key.startswith(prefix + SEQ1))
        return found

    async def sweep(self, prefix: str, lock_id: str) -> None:
        """Delete every version of files named with `lock_id`."""
        for entry in await self._entries("b2_list_file_versions", prefix):
            parsed = parse_seq(prefix, entry["fileName"])
            file_id = entry.get("fileId")
            if parsed is not None and parsed.lock_id == lock_id and isinstance(file_id, str):
                await self._delete_version(entry["fileName"], file_id)

    async def is_current(self, key: str, written: Written) -> bool:
        """Whether the file's latest version is the one we wrote."""
        try:
            response = await self.session.head_object(key, bucket=self.bucket)
        except NoSuchKey:
            return False
        return response.version_id == written.version_id
