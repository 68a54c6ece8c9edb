"""The sending half of S3Session: it runs the I/O-free operations of `s3lite.s3_requests`
(and its `s3_*_requests` siblings) through the session's transport, signing every request
with the session's signer.

The session's mixins (objects, multipart, bucket configuration) build on this base: each
of their methods is one operation handed to `run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from .operation import Call, Operation
from .operation import run as run_operation
from .response import S3_DIALECT, Response
from .s3_endpoint import MAX_XML_BYTES, S3Endpoint, ok_get
from .s3_payload import PreparedBody, prepare_body
from .s3_requests import ResumableGet, check_resumed, object_changed, resume_request
from .s3_settings import S3EndpointSettings

if TYPE_CHECKING:
    from .listing import Listing
    from .parts import PartResult
    from .s3_listing_requests import Pages
    from .s3_multipart_requests import CopyInParts
    from .signing import SigV2Auth, SigV4Auth
    from .transport import Body, BodyLike, Request, Transport

__all__ = ["S3Driver", "parse_error"]

T = TypeVar("T")
ItemT = TypeVar("ItemT")


def parse_error(
    data: bytes, status: int
) -> tuple[str | None, str, str | None, str | None, str | None]:
    """The drivers' error parser: `s3xml.parse_error`, imported with the first error answer
    (calls that succeed without a document never load the XML parsers)."""
    from .s3xml import parse_error as parse

    return parse(data, status)


class S3Driver(S3EndpointSettings):
    """Runs S3 operations on a transport with a signer (`run`); the session's endpoint
    settings are read and set through it (`bucket`, `addressing_style`, ...)."""

    _endpoint: S3Endpoint
    _auth: SigV4Auth | SigV2Auth
    transport: Transport
    #: Whether `get_object` streams by default.
    stream: bool
    multipart_min_part_size: int
    multipart_max_part_size: int
    multipart_max_parts: int

    # --- the driver --------------------------------------------------------------------------
    def run(self, operation: Operation[T]) -> T:
        """Drive an I/O-free operation from `s3lite.operation` (such as those of
        `s3lite.s3_requests`) through this session's transport and signer; returns its result.

        `operation`: a generator that yields `Call`s and is resumed with their `Response`s
        (or has their errors thrown into it).
        """
        return run_operation(operation, self._send_call)

    def _send_call(self, call: Call) -> Response:
        if type(call) is ResumableGet:
            return self._send_resumable(call)
        request = call.request
        response = self.transport.send(
            request,
            call.auth or self._auth,
            stream=call.stream,
            dialect=S3_DIALECT,
            error_parser=parse_error,
            ok=call.ok,
            max_body=call.max_body,
        )
        response.url = request.url
        return response

    def _send_resumable(self, call: ResumableGet) -> Response:
        """A streamed GET that, if the connection breaks mid-body, resumes where it stopped
        with a ranged GET pinned to the same ETag."""
        request = call.request
        auth = call.auth or self._auth
        raw = self.transport.send_raw(request, auth, error_parser=parse_error, ok=ok_get)
        etag = raw.headers.get("etag")
        resumer = self._resumer(call, etag, auth) if etag else None
        response = Response(
            raw, S3_DIALECT, resume=resumer, max_resumes=self.transport.retry.max_attempts
        )
        response.url = request.url
        return response

    def _resumer(self, call: ResumableGet, etag: str, auth: Any) -> Any:
        """A function that re-requests the rest of a broken GET, pinned to `etag`."""
        from .errors import PreconditionFailed

        def resume(delivered: int) -> Any:
            retry = resume_request(call.request, etag, call.start, call.end, delivered)
            try:
                raw = self.transport.send_raw(retry, auth, error_parser=parse_error, ok=ok_get)
            except PreconditionFailed as exc:
                raise object_changed(etag, delivered) from exc
            problem = check_resumed(
                raw.status, raw.headers.get("content-range", ""), call.start + delivered
            )
            if problem is not None:
                raw.close()
                raw.release_conn()
                raise problem
            return raw

        return resume

    def _listing(self, pages: Pages[ItemT]) -> Listing[ItemT]:
        """A lazy listing whose pages are fetched by running `pages.page` operations."""
        from .listing import Listing

        return Listing(lambda marker, version: self.run(pages.page(marker, version)), pages.limit)

    def _copy_in_parts(self, plan: CopyInParts, concurrency: int) -> Response:
        """Run a copy in parts: its part copies in `concurrency` threads; aborted on failure."""
        from concurrent.futures import ThreadPoolExecutor

        upload_id = self.run(plan.start())

        def copy_part(numbered: tuple[int, tuple[int, int] | None]) -> PartResult:
            return self.run(plan.part(upload_id, *numbered))

        try:
            with ThreadPoolExecutor(concurrency, thread_name_prefix="s3lite-copy") as pool:
                parts = list(pool.map(copy_part, plan.ranges))
            return self.run(plan.complete(upload_id, parts))
        except BaseException:
            self.run(plan.abort(upload_id))
            raise

    def _prepare_body(
        self, body: BodyLike | Body, length: int | None, checksum: str | None
    ) -> PreparedBody:
        """Read a body as its sending needs (spooled, hashed): local I/O, before the op."""
        return prepare_body(body, length, checksum, self._endpoint.payload_signing)

    def _send(
        self,
        request: Request,
        *,
        stream: bool = False,
        ok: Any = None,
        max_body: int | None = MAX_XML_BYTES,
    ) -> Response:
        return self._send_call(Call(request, stream=stream, ok=ok, max_body=max_body))
