"""The lock store on S3 for the asyncio API: `S3LockStore`'s methods, as coroutines.

It works through the public coroutines of an async session (see `AsyncS3LockSession`;
``AsyncS3Session.lock_store_async(bucket)`` makes it) and answers with the records of
`s3lite.lock.store`, so the lock package's protocol steps run on it unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..arguments import parse_http_date
from ..errors import ClientError, NoSuchKey, PreconditionFailed, TransportError
from ..lock.clock import mono
from ..lock.state import parse_seq
from ..lock.store import (
    CONDITION_UNSUPPORTED,
    MAX_LOCK_OBJECT,
    Broken,
    Fetched,
    Listed,
    SessionTransport,
    Snapshot,
    Written,
    after_retry,
    fetched_from,
    nonce_of,
    real_version,
    sent_once,
)

if TYPE_CHECKING:
    from .response import AsyncResponse

__all__ = ["AsyncS3LockSession", "AsyncS3LockStore"]


class AsyncS3LockSession(Protocol):
    """The public session coroutines the async S3 lock store uses (`AsyncS3Session`)."""

    @property
    def endpoint_url(self) -> str:
        """The endpoint, for the per-endpoint protocol cache."""
        ...

    @property
    def transport(self) -> SessionTransport:
        """The session's transport."""
        ...

    async def put_object(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str | None = None,
        bucket: str | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> AsyncResponse:
        """PUT an object."""
        ...

    async def get_object(
        self,
        key: str,
        *,
        bucket: str | None = None,
        stream: bool | None = None,
        max_size: int | None = None,
    ) -> AsyncResponse:
        """GET an object."""
        ...

    async def delete_object(
        self,
        key: str,
        version_id: str | None = None,
        *,
        bucket: str | None = None,
        if_match: str | None = None,
    ) -> AsyncResponse:
        """DELETE an object (or one version)."""
        ...

    def list_object_versions(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> AsyncIterable[Mapping[str, Any]]:
        """Every version under a prefix (an async listing)."""
        ...

    async def request(
        self,
        method: str,
        url_or_key: str | None = None,
        *,
        fields: Iterable[tuple[str, str]] | None = None,
        bucket: str | None = None,
    ) -> AsyncResponse:
        """Any signed request, its body read (the listing, whose Date the lock needs)."""
        ...


class AsyncS3LockStore:
    """Lock objects in an S3 bucket, for the asyncio API (see `LockStore`)."""

    kind = "s3"
    conditional = True

    def __init__(self, session: AsyncS3LockSession, bucket: str) -> None:
        self.session = session
        self.bucket = bucket
        self.endpoint = session.endpoint_url
        self.if_match_ok = True  # flips off if the server rejects If-Match on PUT
        self.delete_if_match_ok = True  # ... or on DELETE
        self.versioned = False  # set once a PUT returns a real version id

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
        """Write an object, conditionally if asked."""
        sent = mono()
        response = await self.session.put_object(
            key,
            body,
            bucket=self.bucket,
            content_type="application/json",
            if_none_match="*" if if_none_match else None,
            if_match=if_match,
        )
        version = real_version(response.version_id)
        if version:
            self.versioned = True
        retried = not sent_once(response)
        return Written(key, response.etag, version, sent, mono(), retried)

    async def get(self, key: str) -> Fetched | None:
        """The object and when the server served it; None if there is none."""
        try:
            response = await self.session.get_object(
                key, bucket=self.bucket, stream=False, max_size=MAX_LOCK_OBJECT
            )
        except NoSuchKey:
            return None
        return fetched_from(key, response, self.now())

    async def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete an object by name (only if its ETag matches, given `if_match`)."""
        await self.session.delete_object(key, bucket=self.bucket, if_match=if_match)

    async def listing(self, prefix: str) -> Snapshot:
        """Every object under `prefix` (ListObjectsV2), and the earliest Date of its pages."""
        from .. import s3xml

        objects: list[Listed] = []
        token: str | None = None
        server_now: float | None = None
        while True:
            params = [("list-type", "2"), ("max-keys", "1000"), ("prefix", prefix)]
            params.append(("encoding-type", "url"))
            if token:
                params.append(("continuation-token", token))
            response = await self.session.request("GET", None, fields=params, bucket=self.bucket)
            date = parse_http_date(response.headers.get("date")) or self.now()
            server_now = date if server_now is None else min(server_now, date)
            page = s3xml.parse_list_objects(response.data)
            for item in page.items:
                stamp = item.get("upload_timestamp")
                objects.append(
                    Listed(item["key"], stamp.timestamp() if stamp else None, item["etag"], None)
                )
            token = page.next_marker
            if not page.truncated or not token:
                return Snapshot(objects, server_now, mono())

    async def replace(
        self, key: str, old: Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> Written:
        """Rewrite our own object with If-Match (else read, compare and write)."""
        if self.if_match_ok and old.etag:
            sent = mono()
            try:
                written = await self.put(key, body, if_match=old.etag)
            except (PreconditionFailed, NoSuchKey):
                # Someone else changed or deleted it -- or our own earlier attempt landed and
                # this one was refused: the body tells (and when that attempt was sent).
                current = await self.get(key)
                found = None if current is None else nonce_of(current.body)
                if current is None or found is None or (found != nonce and found not in earlier):
                    raise Broken(f"lock object {key} was removed or replaced") from None
                sent = sent if found == nonce else earlier[found]
                written = Written(key, current.etag, current.version_id, sent, mono())
            except CONDITION_UNSUPPORTED:
                self.if_match_ok = False
                return await self.replace(key, old, body, nonce, earlier)
        else:
            current = await self.get(key)
            found = None if current is None else nonce_of(current.body)
            if current is None or (
                current.etag != old.etag and found != nonce and found not in earlier
            ):
                raise Broken(f"lock object {key} was removed or replaced")
            written = await self.put(key, body)
        if old.version_id and old.version_id != written.version_id:
            try:
                await self.session.delete_object(key, bucket=self.bucket, version_id=old.version_id)
            except (ClientError, TransportError):
                written.retried = True  # the old version is left: swept at release
        return written

    async def delete_own(self, key: str, written: Written | None) -> bool:
        """Delete our own object by version, else by ETag, else by name."""
        if written is not None and written.version_id:
            await self.session.delete_object(key, bucket=self.bucket, version_id=written.version_id)
            return True
        if written is not None and written.etag:
            return await self._delete_exactly(key, written.etag)
        await self.session.delete_object(key, bucket=self.bucket)
        return True

    async def delete_listed(self, obj: Listed) -> bool:
        """Delete exactly the object a listing showed (by version or ETag where possible)."""
        if obj.version_id:
            await self.session.delete_object(obj.key, bucket=self.bucket, version_id=obj.version_id)
            return True
        if obj.etag:
            return await self._delete_exactly(obj.key, obj.etag)
        await self.session.delete_object(obj.key, bucket=self.bucket)
        return True

    async def _delete_exactly(self, key: str, etag: str) -> bool:
        """Delete `key` if its ETag is still `etag` (by name where the server ignores
        If-Match on DELETE); False if it was gone or changed."""
        if self.delete_if_match_ok:
            try:
                await self.session.delete_object(key, bucket=self.bucket, if_match=etag)
                return True
            except (PreconditionFailed, NoSuchKey) as exc:
                return after_retry(exc)  # gone -- unless our own first attempt deleted it
            except CONDITION_UNSUPPORTED:
                self.delete_if_match_ok = False
        await self.session.delete_object(key, bucket=self.bucket)
        return True

    async def breakable(self, prefix: str, objects: list[Listed]) -> list[Listed]:
        """The objects as listed: deleting each (by ETag) spares a renewed contender."""
        return list(objects)

    async def sweep(self, prefix: str, lock_id: str) -> None:
        """Delete leftover versions of `lock_id`'s objects (versioned buckets only)."""
        if not self.versioned:
            return  # one object per key: deleting the key removed everything
        doomed: list[tuple[str, str]] = []
        async for item in self.session.list_object_versions(prefix, bucket=self.bucket):
            parsed = parse_seq(prefix, item["key"])
            version = real_version(item.get("version_id"))
            if parsed is not None and parsed.lock_id == lock_id and version:
                doomed.append((item["key"], version))
        for key, version in doomed:
            await self.session.delete_object(key, bucket=self.bucket, version_id=version)

    async def is_current(self, key: str, written: Written) -> bool:
        """Whether the object is still the version (or ETag) we wrote."""
        current = await self.get(key)
        if current is None:
            return False
        if written.version_id:
            return current.version_id == written.version_id
        return current.etag == written.etag
