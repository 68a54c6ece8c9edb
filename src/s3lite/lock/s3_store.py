"""The lock store on S3: conditional writes where the server takes them, versions swept.

`S3LockOps` is its logic without I/O (generators of calls, see `store_calls`) on the public
methods of a session (see `S3LockSession`). `S3LockStore` runs it on a sync session
(``S3Session.lock_store(bucket)`` makes it), the asyncio API's `AsyncS3LockStore` on an
async one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from ..arguments import parse_http_date
from ..errors import ClientError, NoSuchKey, PreconditionFailed, TransportError
from ..response import Response
from .clock import mono
from .state import parse_seq
from .store import (
    CONDITION_UNSUPPORTED,
    Broken,
    Fetched,
    Listed,
    SessionTransport,
    Snapshot,
    Written,
    after_retry,
    nonce_of,
    real_version,
    sent_once,
)
from .store_calls import ListingCall, NextItem, SessionCall, SessionStore, StoreOp, fetch

__all__ = ["S3LockOps", "S3LockSession", "S3LockSessionOf", "S3LockStore"]

R_co = TypeVar("R_co", covariant=True)
L_co = TypeVar("L_co", covariant=True)


class S3LockSessionOf(Protocol[R_co, L_co]):
    """The public session methods the S3 lock stores use: each request answers `R_co` (a
    response, or on an async session an awaitable of one), a listing is an `L_co`."""

    @property
    def endpoint_url(self) -> str:
        """The endpoint, for the per-endpoint protocol cache."""
        ...

    @property
    def transport(self) -> SessionTransport:
        """The session's transport."""
        ...

    def put_object(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str | None = None,
        bucket: str | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> R_co:
        """PUT an object."""
        ...

    def get_object(
        self,
        key: str,
        *,
        bucket: str | None = None,
        stream: bool | None = None,
        max_size: int | None = None,
    ) -> R_co:
        """GET an object."""
        ...

    def delete_object(
        self,
        key: str,
        version_id: str | None = None,
        *,
        bucket: str | None = None,
        if_match: str | None = None,
    ) -> R_co:
        """DELETE an object (or one version)."""
        ...

    def list_object_versions(self, prefix: str = "", *, bucket: str | None = None) -> L_co:
        """Every version under a prefix."""
        ...

    def request(
        self,
        method: str,
        url_or_key: str | None = None,
        *,
        fields: Iterable[tuple[str, str]] | None = None,
        bucket: str | None = None,
    ) -> R_co:
        """Any signed request, its body read (the listing, whose Date the lock needs)."""
        ...


class S3LockSession(S3LockSessionOf[Response, Iterable[Mapping[str, Any]]], Protocol):
    """The public session methods `S3LockStore` uses (`S3Session` has them)."""


class S3LockOps:
    """The S3 lock store's methods without I/O, for both stores: each a generator of calls
    on the session's public methods (see `S3LockSession`), and what they learn of the server."""

    kind = "s3"
    conditional = True

    def __init__(self, bucket: str, now: Callable[[], float]) -> None:
        self.bucket = bucket
        self.now = now  # the server's clock, as the transport last saw it
        self.if_match_ok = True  # flips off if the server rejects If-Match on PUT
        self.delete_if_match_ok = True  # ... or on DELETE
        self.versioned = False  # set once a PUT returns a real version id

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> StoreOp[Written]:
        """Write an object, conditionally if asked."""
        sent = mono()
        response = yield SessionCall(
            "put_object",
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

    def get(self, key: str) -> StoreOp[Fetched | None]:
        """The object and when the server served it; None if there is none."""
        return fetch(self.bucket, key, self.now)

    def delete(self, key: str, *, if_match: str | None = None) -> StoreOp[None]:
        """Delete an object by name (only if its ETag matches, given `if_match`)."""
        yield SessionCall("delete_object", key, bucket=self.bucket, if_match=if_match)

    def listing(self, prefix: str) -> StoreOp[Snapshot]:
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
            response = yield SessionCall("request", "GET", None, fields=params, bucket=self.bucket)
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

    def replace(
        self, key: str, old: Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> StoreOp[Written]:
        """Rewrite our own object with If-Match (else read, compare and write)."""
        if self.if_match_ok and old.etag:
            sent = mono()
            try:
                written = yield from self.put(key, body, if_match=old.etag)
            except (PreconditionFailed, NoSuchKey):
                # Someone else changed or deleted it -- or our own earlier attempt landed and
                # this one was refused: the body tells (and when that attempt was sent).
                current = yield from self.get(key)
                found = None if current is None else nonce_of(current.body)
                if current is None or found is None or (found != nonce and found not in earlier):
                    raise Broken(f"lock object {key} was removed or replaced") from None
                sent = sent if found == nonce else earlier[found]
                written = Written(key, current.etag, current.version_id, sent, mono())
            except CONDITION_UNSUPPORTED:
                self.if_match_ok = False
                return (yield from self.replace(key, old, body, nonce, earlier))
        else:
            current = yield from self.get(key)
            found = None if current is None else nonce_of(current.body)
            if current is None or (
                current.etag != old.etag and found != nonce and found not in earlier
            ):
                raise Broken(f"lock object {key} was removed or replaced")
            written = yield from self.put(key, body)
        if old.version_id and old.version_id != written.version_id:
            try:
                yield SessionCall(
                    "delete_object", key, bucket=self.bucket, version_id=old.version_id
                )
            except (ClientError, TransportError):
                written.retried = True  # the old version is left: swept at release
        return written

    def delete_own(self, key: str, written: Written | None) -> StoreOp[bool]:
        """Delete our own object by version, else by ETag, else by name."""
        if written is not None and written.version_id:
            yield SessionCall(
                "delete_object", key, bucket=self.bucket, version_id=written.version_id
            )
            return True
        return (yield from self.delete_exactly(key, written.etag if written else None))

    def delete_listed(self, obj: Listed) -> StoreOp[bool]:
        """Delete exactly the object a listing showed (by version or ETag where possible)."""
        if obj.version_id:
            yield SessionCall(
                "delete_object", obj.key, bucket=self.bucket, version_id=obj.version_id
            )
            return True
        return (yield from self.delete_exactly(obj.key, obj.etag))

    def delete_exactly(self, key: str, etag: str | None) -> StoreOp[bool]:
        """Delete `key` if its ETag is still `etag` (by name without one, or where the server
        ignores If-Match on DELETE); False if it was gone or changed."""
        if etag and self.delete_if_match_ok:
            try:
                yield SessionCall("delete_object", key, bucket=self.bucket, if_match=etag)
                return True
            except (PreconditionFailed, NoSuchKey) as exc:
                return after_retry(exc)  # gone -- unless our own first attempt deleted it
            except CONDITION_UNSUPPORTED:
                self.delete_if_match_ok = False
        yield SessionCall("delete_object", key, bucket=self.bucket)
        return True

    def breakable(self, prefix: str, objects: list[Listed]) -> StoreOp[list[Listed]]:
        """The objects as listed: deleting each (by ETag) spares a renewed contender."""
        yield from ()  # no call
        return list(objects)

    def sweep(self, prefix: str, lock_id: str) -> StoreOp[None]:
        """Delete leftover versions of `lock_id`'s objects (versioned buckets only), the
        listing read one version at a time."""
        if not self.versioned:
            return  # one object per key: deleting the key removed everything
        items = yield ListingCall("list_object_versions", prefix, bucket=self.bucket)
        while (item := (yield NextItem(items))) is not None:
            parsed = parse_seq(prefix, item["key"])
            version = real_version(item.get("version_id"))
            if parsed is not None and parsed.lock_id == lock_id and version:
                yield SessionCall(
                    "delete_object", item["key"], bucket=self.bucket, version_id=version
                )

    def is_current(self, key: str, written: Written) -> StoreOp[bool]:
        """Whether the object is still the version (or ETag) we wrote."""
        current = yield from self.get(key)
        if current is None:
            return False
        if written.version_id:
            return current.version_id == written.version_id
        return current.etag == written.etag


class S3LockStore(SessionStore):
    """Lock objects in an S3 bucket: `S3LockOps` run on a sync session (see `LockStore` for
    what each method promises)."""

    def __init__(self, session: S3LockSession, bucket: str) -> None:
        super().__init__(
            S3LockOps(bucket, session.transport.now),
            functools.partial(getattr, session),
            session.endpoint_url,
            session.transport,
        )
        self.session = session
