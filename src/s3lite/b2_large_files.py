"""B2 large files: the multipart primitives of `multipart.MultipartBackend` on B2.

b2_start_large_file, b2_upload_part (on part URLs pooled per large file), b2_finish_large_file
(with the parts' SHA-1s), b2_cancel_large_file and b2_list_parts are operations (no I/O);
`B2MultipartBackend` (a session's `multipart_backend`) drives them as the primitives the shared
multipart engine calls.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import time
import weakref
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from .b2_bodies import SHA1_TRAILER, Sha1Trailer
from .b2_calls import B2Context, api, bucket_id, get_upload_part_url, send_upload
from .b2_listings import B2ListingsMixin
from .b2_requests import (
    MAX_UPLOAD_BYTES,
    apply_file,
    content_type_of,
    file_info,
    json_int,
    json_list,
    json_str,
    no_such_upload,
    validate_key,
)
from .errors import ChecksumMismatch, ClientError, InvalidRequest, NoSuchKey, NoSuchUpload
from .operation import Operation
from .transport import Body, Request

if TYPE_CHECKING:
    from .listing import Listing, UploadInfo
    from .multipart import PartData
    from .parts import PartResult
    from .response import Response
    from .transport import Transport

__all__ = [
    "PARTS_PER_PAGE",
    "B2LargeFilesMixin",
    "B2MultipartBackend",
    "B2MultipartBase",
    "B2MultipartSession",
    "B2PartSettings",
    "cancel_large_file",
    "finish_large_file",
    "list_parts",
    "part_request",
    "start_large_file",
    "upload_part",
]

#: Parts asked for per b2_list_parts page.
PARTS_PER_PAGE = 1000


def start_large_file(
    ctx: B2Context,
    bucket: str,
    key: str,
    info: Mapping[str, str],
    content_type: str | None,
) -> Operation[tuple[str, Response]]:
    """b2_start_large_file: the large file's id (the upload id) and the response (its
    `attempts` above 1 means an earlier attempt may have started one too)."""
    params = {
        "bucketId": (yield from bucket_id(ctx, bucket)), "fileName": key,
        "contentType": content_type_of(content_type), "fileInfo": dict(info),
    }  # fmt: skip
    response, obj = yield from api(ctx, "b2_start_large_file", params)
    return json_str(obj, "fileId"), response


def part_request(number: int, data: PartData) -> tuple[Request, int, str | None]:
    """A b2_upload_part request (its part URL is filled in when it is sent), the part's size
    and its SHA-1 (None for a file section: read once as it is sent, its SHA-1 appended as
    `hex_digits_at_end` and learnt from the reply)."""
    from .multipart import FileSection

    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 10000:
        raise ValueError(f"part number must be 1..10000, got {number!r}")
    size = len(data) if not isinstance(data, memoryview) else data.nbytes
    if size > MAX_UPLOAD_BYTES:
        raise ValueError(f"a B2 part holds at most {MAX_UPLOAD_BYTES} bytes")
    sha1: str | None
    if isinstance(data, FileSection):
        reader = cast("IO[bytes]", Sha1Trailer(cast("IO[bytes]", data), size, 0))
        body, sha1, sent = Body(reader, size + SHA1_TRAILER), None, "hex_digits_at_end"
    else:
        sha1 = hashlib.sha1(data).hexdigest()  # noqa: S324 - B2's integrity check
        body, sent = Body(data), sha1
    hdrs = {
        "Content-Length": str(body.length),
        "X-Bz-Part-Number": str(number),
        "X-Bz-Content-Sha1": sent,
    }
    return Request("POST", "https", "", "", headers=hdrs, body=body), size, sha1


def upload_part(
    ctx: B2Context, upload_id: str, number: int, request: Request, size: int, sha1: str | None
) -> Operation[PartResult]:
    """b2_upload_part of a `part_request` on a part URL pooled for this large file; the
    part's SHA-1 is checked against (or, for a stream, taken from) the reply."""
    from .parts import PartResult

    try:
        _, obj = yield from send_upload(
            ctx, request, "p:" + upload_id, lambda: get_upload_part_url(ctx, upload_id)
        )
    except InvalidRequest as exc:
        raise no_such_upload(exc, upload_id) from None
    stored = obj.get("contentSha1")
    if sha1 is None:
        if not isinstance(stored, str) or len(stored) != 40:
            raise ChecksumMismatch(f"B2 did not return the SHA-1 of part {number}")
        sha1 = stored
    elif stored is not None and stored != sha1:
        raise ChecksumMismatch(f"B2 stored part {number} with SHA-1 {stored}, sent {sha1}")
    return PartResult(number, size, sha1=sha1)


def finish_large_file(
    ctx: B2Context, upload_id: str, parts: list[PartResult]
) -> Operation[Response]:
    """b2_finish_large_file with the parts' SHA-1s in part order. If B2 says bad_request
    but the large file is a finished file now (an earlier attempt went through, only its
    answer was lost), that file; `NoSuchUpload` if it is gone."""
    ordered = sorted(parts, key=lambda p: p.number)
    if any(p.sha1 is None for p in ordered):
        raise ValueError("every part needs its SHA-1 to finish a B2 large file")
    try:
        response, obj = yield from api(
            ctx, "b2_finish_large_file",
            {"fileId": upload_id, "partSha1Array": [p.sha1 for p in ordered]},
        )  # fmt: skip
    except InvalidRequest as exc:
        try:
            response, obj = yield from api(ctx, "b2_get_file_info", {"fileId": upload_id})
        except NoSuchKey:
            raise no_such_upload(exc, upload_id) from None
        except ClientError:
            raise exc from None  # still unfinished: the request itself was refused
        if obj.get("action") != "upload":
            raise exc from None
    finally:
        ctx.slot.drop_uploads("p:" + upload_id)
    return apply_file(response, obj)


def cancel_large_file(ctx: B2Context, upload_id: str) -> Operation[None]:
    """b2_cancel_large_file: the parts are deleted."""
    ctx.slot.drop_uploads("p:" + upload_id)
    try:
        yield from api(ctx, "b2_cancel_large_file", {"fileId": upload_id})
    except InvalidRequest as exc:
        raise no_such_upload(exc, upload_id) from None


def list_parts(ctx: B2Context, upload_id: str) -> Operation[list[PartResult]]:
    """Every part uploaded so far (b2_list_parts, all pages)."""
    from .parts import PartResult

    parts: list[PartResult] = []
    start: int | None = None
    while True:
        params: dict[str, Any] = {"fileId": upload_id, "maxPartCount": PARTS_PER_PAGE}
        if start is not None:
            params["startPartNumber"] = start
        try:
            _, obj = yield from api(ctx, "b2_list_parts", params)
        except InvalidRequest as exc:
            raise no_such_upload(exc, upload_id) from None
        for entry in json_list(obj, "parts"):
            if isinstance(entry, dict):
                parts.append(
                    PartResult(
                        json_int(entry, "partNumber"),
                        json_int(entry, "contentLength"),
                        sha1=entry.get("contentSha1"),
                    )
                )
        following = obj.get("nextPartNumber")
        if isinstance(following, bool) or not isinstance(following, int) or following == start:
            return parts
        start = following


T = TypeVar("T")


class B2PartSettings(Protocol):
    """What every B2 multipart backend reads of its session: the part limits."""

    @property
    def multipart_min_part_size(self) -> int: ...
    @property
    def multipart_max_part_size(self) -> int: ...
    @property
    def multipart_max_parts(self) -> int: ...


S = TypeVar("S", bound=B2PartSettings)


class B2MultipartSession(B2PartSettings, Protocol):
    """The public methods of `B2Session` that `B2MultipartBackend` calls."""

    @property
    def transport(self) -> Transport: ...
    def run(self, operation: Operation[T]) -> T: ...
    def head_object(self, key: str, *, bucket: str | None = None) -> Response: ...
    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> Listing[UploadInfo]: ...


class B2MultipartBase(Generic[S]):
    """What the sync and async B2 multipart backends share, sending nothing: the session's
    part limits (read live: the smallest comes from the authorization, or is set on the
    session) and its bucket resolution (`bucket`: the session's, given at construction)."""

    def __init__(self, session: S, bucket: Callable[[str | None], str]) -> None:
        self._session = session
        self._resolve = bucket

    @property
    def multipart_min_part_size(self) -> int:
        """The session's smallest part (all but the last)."""
        return self._session.multipart_min_part_size

    @property
    def multipart_max_part_size(self) -> int:
        """The session's largest part."""
        return self._session.multipart_max_part_size

    @property
    def multipart_max_parts(self) -> int:
        """The session's most parts."""
        return self._session.multipart_max_parts

    def bucket(self, name: str | None) -> str:
        """The bucket an upload goes to: `name` (checked), else the session's default (or the
        one bucket a restricted key's authorization names)."""
        return self._resolve(name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._session!r}>"


class B2MultipartBackend(B2MultipartBase[B2MultipartSession]):
    """The multipart primitives of a `B2Session`, what `multipart.MultipartUpload` drives
    (`session.multipart_backend`): thin drivers of the operations above through the
    session's `run`. `upload_id` is the large file's id.

    `bucket` resolves a bucket name as the session does; `context` gives the session's
    `B2Context` (authorizing first if needed).
    """

    def __init__(
        self,
        session: B2MultipartSession,
        *,
        bucket: Callable[[str | None], str],
        context: Callable[[], B2Context],
    ) -> None:
        super().__init__(session, bucket)
        self._context = context

    def start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
    ) -> str:
        """b2_start_large_file of `key` in `bucket` with `metadata` (file info),
        `content_type` and `headers` (those B2 keeps as file info); the large file's id is
        the upload id (large files a retried start left behind are cancelled)."""
        validate_key(key)
        bucket = self._resolve(bucket)
        info = file_info(metadata, headers=headers)
        content_type_of(content_type)
        from .multipart import abort_strays, start_was_ambiguous

        session = self._session
        ctx = self._context()
        session.run(bucket_id(ctx, bucket))  # known before the clock starts
        started, clock = session.transport.now(), time.monotonic()
        try:
            upload_id, response = session.run(
                start_large_file(ctx, bucket, key, info, content_type)
            )
        except BaseException as exc:
            if start_was_ambiguous(exc):
                abort_strays(self, bucket, key, None, started, time.monotonic() - clock)
            raise
        if response.attempts > 1:  # an earlier attempt may have started a large file too
            abort_strays(self, bucket, key, upload_id, started, time.monotonic() - clock)
        return upload_id

    def upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: PartData
    ) -> PartResult:
        """b2_upload_part: part `number` (1-based) of large file `upload_id` (`key` in
        `bucket`), `data`, on a part URL pooled for this large file; the SHA-1 is sent and
        returned for b2_finish_large_file. A file section is read once, as it is sent, with
        its SHA-1 appended (`hex_digits_at_end`)."""
        request, size, sha1 = part_request(number, data)
        return self._session.run(
            upload_part(self._context(), upload_id, number, request, size, sha1)
        )

    def complete(self, bucket: str, key: str, upload_id: str, parts: list[PartResult]) -> Response:
        """b2_finish_large_file of large file `upload_id` (`key` in `bucket`) with the SHA-1s
        of `parts` in part order."""
        return self._session.run(finish_large_file(self._context(), upload_id, parts))

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        """b2_cancel_large_file of large file `upload_id` (`key` in `bucket`): the parts are
        deleted."""
        self._session.run(cancel_large_file(self._context(), upload_id))

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]:
        """Every part of large file `upload_id` (`key` in `bucket`) uploaded so far
        (b2_list_parts, all pages)."""
        return self._session.run(list_parts(self._context(), upload_id))

    # --- the session's public calls the engine makes -----------------------------------------
    def head_object(self, key: str, *, bucket: str | None = None) -> Response:
        """The session's `head_object` of `key` in `bucket`."""
        return self._session.head_object(key, bucket=bucket)

    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> Listing[UploadInfo]:
        """The session's `list_multipart_uploads(prefix, bucket=bucket)`."""
        return self._session.list_multipart_uploads(prefix, bucket=bucket)

    def now(self) -> float:
        """The session's clock (what the server's upload timestamps are compared with)."""
        return self._session.transport.now()


class B2LargeFilesMixin(B2ListingsMixin):
    """The multipart side of `B2Session`: its part sizes, its `multipart_backend`, and the
    cancelling of unfinished large files."""

    _min_part_size: int | None
    _multipart_backend: weakref.ReferenceType[B2MultipartBackend] | None = None

    @property
    def multipart_backend(self) -> B2MultipartBackend:
        """The primitives `MultipartUpload` drives on this session (start a large file,
        upload a part, finish, cancel, list parts): one object while any holds it. It refers
        to the session, the session only weakly to it (no cycle: a dropped session is freed at
        once)."""
        ref = self._multipart_backend
        backend = ref() if ref is not None else None
        if backend is None:
            backend = B2MultipartBackend(
                cast("B2MultipartSession", self), bucket=self._bucket, context=self._context
            )
            self._multipart_backend = weakref.ref(backend)
        return backend

    @property
    def multipart_min_part_size(self) -> int:
        """B2's smallest part (all but the last): b2_authorize_account's
        absoluteMinimumPartSize, unless set on the session."""
        if self._min_part_size is not None:
            return self._min_part_size
        return self._account().min_part_size

    @multipart_min_part_size.setter
    def multipart_min_part_size(self, value: int) -> None:
        self._min_part_size = value

    @property
    def multipart_recommended_part_size(self) -> int:
        """The part size B2 recommends, from b2_authorize_account."""
        return self._account().recommended_part_size

    def abort_multipart_uploads(
        self,
        prefix: str = "",
        *,
        bucket: str | None = None,
        older_than: _dt.timedelta | float | None = None,
    ) -> int:
        """Cancel the unfinished large files under `prefix` (b2_cancel_large_file; only those
        started more than `older_than` ago, a timedelta or seconds, when given); returns how
        many.

        `bucket`: the bucket (default the session's).
        """
        bucket = self._bucket(bucket)
        if isinstance(older_than, (int, float)):
            older_than = _dt.timedelta(seconds=older_than)
        cutoff = _dt.datetime.now(_dt.timezone.utc) - older_than if older_than else None
        stale = [
            u
            for u in self.list_multipart_uploads(prefix, bucket=bucket)
            if cutoff is None or (u["initiated"] is not None and u["initiated"] < cutoff)
        ]
        for upload in stale:
            with contextlib.suppress(NoSuchUpload):  # finished or cancelled meanwhile
                self.multipart_backend.abort(bucket, upload["key"], upload["upload_id"])
        return len(stale)
