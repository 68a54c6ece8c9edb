"""`Connection` and `Pool`: drop-in replacements for tinys3 and minis3.

    import s3lite as tinys3                      # or: import s3lite as minis3
    conn = tinys3.Connection(ACCESS_KEY, SECRET_KEY, default_bucket="my-bucket")
    with open("photo.jpg", "rb") as f:
        conn.upload("photo.jpg", f, public=True, expires="max")

Both sit on one `S3Session` (one transport, one connection pool, typed errors). Methods
return s3lite `Response`s, which also answer the `requests.Response` names those libraries'
users read (`status_code`, `headers`, `content`, `text`, `json()`, `ok`, `url`,
`raise_for_status()`); a failed request raises an `s3lite.ClientError` subclass.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent import futures as _futures
from email.utils import formatdate
from typing import IO, Any, ClassVar, Concatenate, Literal, ParamSpec, TypeVar

from .compat_arguments import (
    DEFAULT_ENDPOINT,
    ENTITY_HEADERS,
    configured_endpoint,
    either_spelling,
    endpoint_and_region,
    is_seekable,
    list_item,
    lower_headers,
    max_age,
    split_metadata,
)
from .errors import ClientError, NoSuchBucket, NoSuchKey
from .multipart import MultipartUpload, PartResult
from .response import Response
from .s3 import S3Session
from .s3_multipart import S3MultipartBackend
from .transport import BodyLike

__all__ = ["CompletedResponse", "Conn", "Connection", "Pool", "TinyMultipartUpload"]

log = logging.getLogger("s3lite")

_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"

P = ParamSpec("P")
R = TypeVar("R")


class Connection:
    """An S3 connection with tinys3's and minis3's API, on an `S3Session`.

    Positional arguments follow both libraries: `(access_key, secret_key, default_bucket,
    tls, endpoint, verify, signature_version, path_style)`; everything else by keyword.
    tinys3's spellings `ssl=` (for `tls`) and `default=` (for `default_bucket`) work too.

    - `endpoint`: a host[:port] (`https` unless `tls=False`) or a URL. On AWS the signing
      region is read from a regional endpoint, or pass `region=`.
    - `tls`: HTTPS (default True, as in minis3; tinys3 defaulted to plain HTTP).
    - `path_style`: True forces `endpoint/bucket/key`; False (default) picks the style
      S3Session's `'auto'` does: virtual host (`bucket.endpoint`) on AWS, path style on
      custom endpoints such as MinIO or SeaweedFS, so these work without `path_style=True`.
    - `signature_version`: `'s3v4'` (default) or `'s3'` (SigV2, legacy servers).
    - No keys: credentials come from the environment / AWS profile, as in S3Session.
    - Other keyword arguments go to `S3Session` (`max_attempts`, `read_timeout`, ...).

    Secrets are never kept on the connection (nor shown in its repr).
    """

    multipart_upload_type: ClassVar[type[MultipartUpload]]

    def __init__(
        self,
        access_key: str | None = None,
        secret_key: str | None = None,
        default_bucket: str | None = None,
        tls: bool | None = None,
        endpoint: str = DEFAULT_ENDPOINT,
        verify: bool | str = True,
        signature_version: Literal["s3v4", "s3"] = "s3v4",
        path_style: bool = False,
        *,
        ssl: bool | None = None,
        default: str | None = None,
        region: str | None = None,
        session_token: str | None = None,
        **session_options: Any,
    ) -> None:
        bucket = either_spelling("default_bucket", default_bucket, "default", default)
        secure = either_spelling("tls", tls, "ssl", ssl)
        if isinstance(bucket, str) and ("/" in bucket or ":" in bucket):
            raise ValueError(
                f"default_bucket {bucket!r} looks like an endpoint: the third positional "
                "argument is the default bucket (as in tinys3 and minis3); pass endpoint=..."
            )
        if endpoint == DEFAULT_ENDPOINT:  # none given: AWS_ENDPOINT_URL(_S3), the profile
            endpoint = configured_endpoint(session_options.get("profile")) or endpoint
        self._endpoint = endpoint
        self._region = region
        # Everything but the keys, to build the session again when `tls` or `endpoint`
        # changes (the keys stay in the session's credentials provider only).
        self._options: dict[str, Any] = dict(
            addressing_style="path" if path_style else "auto",
            signature_version=signature_version,
            verify=verify,
            **session_options,
        )
        url, signing_region = endpoint_and_region(endpoint, secure, region)
        self.session = S3Session(
            access_key, secret_key, bucket=bucket, endpoint_url=url, region=signing_region,
            session_token=session_token, **self._options,
        )  # fmt: skip

    def _rebuild(self, tls: bool | None) -> None:
        """A new session for a changed `tls` or `endpoint` (same credentials provider, bucket
        and options)."""
        old = self.session
        url, region = endpoint_and_region(self._endpoint, tls, self._region)
        options = {**self._options, "credentials": old.credentials}
        self.session = S3Session(bucket=old.bucket, endpoint_url=url, region=region, **options)
        if "transport" not in self._options and "pool_manager" not in self._options:
            old.close()

    # --- settings ------------------------------------------------------------------------------
    @property
    def default_bucket(self) -> str | None:
        """The bucket used when a call names none (the session's default bucket)."""
        return self.session.bucket

    @default_bucket.setter
    def default_bucket(self, bucket: str | None) -> None:
        if bucket is not None:
            from .s3 import validate_bucket

            validate_bucket(bucket)
        self.session.bucket = bucket

    @property
    def endpoint(self) -> str:
        """The endpoint as given (`'s3.amazonaws.com'`, `'localhost:9000'` or a URL), as in
        tinys3 and minis3; `conn.session.endpoint_url` is the URL requests go to. Settable."""
        return self._endpoint

    @endpoint.setter
    def endpoint(self, endpoint: str) -> None:
        tls = self.tls
        previous, self._endpoint = self._endpoint, endpoint
        try:
            self._rebuild(None if "://" in endpoint else tls)
        except (TypeError, ValueError):
            self._endpoint = previous
            raise

    @property
    def tls(self) -> bool:
        """Whether requests use HTTPS. Settable: `conn.tls = False` switches to plain HTTP."""
        return self.session.endpoint_url.startswith("https://")

    @tls.setter
    def tls(self, tls: bool) -> None:
        if not isinstance(tls, bool):
            raise TypeError(f"tls must be True or False, got {tls!r}")
        if tls == self.tls:
            return
        if "://" in self._endpoint:  # a URL: switch its scheme
            self._endpoint = ("https" if tls else "http") + self._endpoint[
                self._endpoint.index("://") :
            ]
        self._rebuild(tls)

    def run(self, request: Any) -> Any:
        """Run a request object (anything with a `run()` method, as tinys3's requests have)
        and return its result; tinys3's and minis3's `conn.run(request)`."""
        run = getattr(request, "run", None)
        if not callable(run):
            raise TypeError(f"run() needs an object with a run() method, not {request!r}")
        return run()

    @property
    def multipart_backend(self) -> S3MultipartBackend:
        """The multipart primitives `MultipartUpload(conn, path, key, bucket=...)` uploads
        with: those of this connection's S3Session."""
        return self.session.multipart_backend

    # --- objects -------------------------------------------------------------------------------
    def upload(
        self,
        key: str,
        fp_or_bytes: BodyLike,
        bucket: str | None = None,
        expires: int | str | _dt.timedelta | None = None,
        content_type: str | None = None,
        public: bool = False,
        headers: Mapping[str, str] | None = None,
        close: bool = False,
        rewind: bool = True,
    ) -> Response:
        """Upload a file object (streamed, never read whole into memory) or bytes to `key`.

        `expires` (seconds, `'max'` for a year, or a timedelta) sets `Cache-Control:
        max-age=N, public` (`, private` for private objects, as minis3) and an `Expires`
        date; the content type is guessed from the key unless given; `public=True` makes the
        object readable by anyone (`x-amz-acl: public-read`); `headers` are sent as given
        and win over all of these.
        A file is uploaded from its start (`rewind`) and closed afterwards with `close=True`.
        Files over 5 GiB (or streams of unknown length over 8 MiB) go up in parts.
        """
        hdrs = lower_headers(headers)
        content_type = hdrs.pop("content-type", None) or content_type
        if expires is not None:
            seconds = max_age(expires)
            visibility = ", public" if public else ", private"  # as minis3 sends it
            hdrs.setdefault("cache-control", f"max-age={seconds}{visibility}")
            hdrs.setdefault("expires", formatdate(time.time() + seconds, usegmt=True))
        if public:
            hdrs.setdefault("x-amz-acl", "public-read")
        session = self.session
        try:
            if not hasattr(fp_or_bytes, "read"):
                return session.put_object(
                    key, fp_or_bytes, bucket=bucket, content_type=content_type, headers=hdrs
                )
            f: IO[bytes] = fp_or_bytes  # type: ignore[assignment]
            seekable = is_seekable(f)
            if rewind and seekable:
                f.seek(0)
            options: dict[str, Any] = {}
            if seekable:  # one streamed PUT up to S3's single-PUT limit, as tinys3 did
                options["threshold"] = session.multipart_max_part_size
            return session.upload_file(
                f, key, bucket=bucket, content_type=content_type, headers=hdrs,
                concurrency=min(8, session.transport.max_pool_connections), **options,
            )  # fmt: skip
        finally:
            closer = getattr(fp_or_bytes, "close", None)
            if close and callable(closer):
                closer()

    def get(
        self, key: str, bucket: str | None = None, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Download an object; the body is read in (`content`, `text`, `json()`)."""
        return self.session.get_object(key, bucket=bucket, headers=headers, stream=False)

    def head_object(self, key: str, bucket: str | None = None) -> Response:
        """The object's headers (size, type, ETag, `x-amz-meta-*`) without its body."""
        return self.session.head_object(key, bucket=bucket)

    def delete(self, key: str, bucket: str | None = None) -> Response:
        """Delete a key (deleting a missing key succeeds)."""
        return self.session.delete_object(key, bucket=bucket)

    def list(self, prefix: str = "", bucket: str | None = None) -> Iterator[dict[str, Any]]:
        """Iterate over the objects under `prefix`, page by page, as dicts with `key`, `size`,
        `last_modified` (naive UTC datetime, as tinys3 gave it), `etag` and `storage_class`."""
        listing = self.session.list_objects(prefix, bucket=bucket)
        return (list_item(item) for item in listing)

    def copy(
        self,
        from_key: str,
        from_bucket: str | None,
        to_key: str,
        to_bucket: str | None = None,
        metadata: Mapping[str, str] | None = None,
        public: bool | None = None,
    ) -> Response:
        """Copy a key server-side, inside a bucket (`to_bucket` defaults to `from_bucket`; a
        None `from_bucket` is the default bucket) or between buckets.

        Without `metadata` everything is copied. With it, what it names replaces the source's
        and the rest is kept: `x-amz-meta-*` (or plain) names replace the user metadata as a
        whole; `Content-Type`, `Cache-Control`, `Expires`, ... and `x-amz-*` headers such as
        `x-amz-storage-class` are set. `public`: True makes the copy readable by anyone,
        False private, None (default) like the source.
        """
        source_bucket = self.session._bucket(from_bucket)
        dest_bucket = self.session._bucket(to_bucket) if to_bucket else source_bucket
        user, headers = split_metadata(metadata)
        return self._copy(
            from_key, source_bucket, to_key, dest_bucket, user, headers, public, in_place=False
        )

    def update_metadata(
        self,
        key: str,
        metadata: Mapping[str, str] | None = None,
        bucket: str | None = None,
        public: bool | None = None,
    ) -> Response:
        """Change an object's metadata in place (a copy onto itself with REPLACE).

        `metadata` as for `copy`: user metadata given replaces the object's, headers given are
        set, and everything not given is kept (content type, cache headers, storage class,
        user metadata). `public`: True makes the object readable by anyone, False private,
        None (default) leaves that as it is; `update_metadata(key, {}, public=False)` only
        makes it private.
        """
        bucket = self.session._bucket(bucket)
        user, headers = split_metadata(metadata)
        return self._copy(key, bucket, key, bucket, user, headers, public, in_place=True)

    def _copy(
        self,
        source_key: str,
        source_bucket: str,
        dest_key: str,
        dest_bucket: str,
        user: dict[str, str],
        headers: dict[str, str],
        public: bool | None,
        *,
        in_place: bool,
    ) -> Response:
        session = self.session
        if public:
            headers["x-amz-acl"] = "public-read"
        elif (
            public is None
            and "x-amz-acl" not in headers
            and self._is_public(source_key, source_bucket)
        ):  # S3 does not copy ACLs: carry "public" over from the source
            headers["x-amz-acl"] = "public-read"
        replace = (
            in_place
            or bool(user)
            or any(name == "content-type" or name in ENTITY_HEADERS for name in headers)
        )
        if not replace:  # only x-amz-* settings (storage class, ACL): COPY keeps all else
            return session.copy_object(
                source_key, dest_key, source_bucket=source_bucket, dest_bucket=dest_bucket,
                metadata_directive="COPY", headers=headers,
            )  # fmt: skip
        head = session.head_object(source_key, bucket=source_bucket)
        content_type = headers.pop("content-type", None) or head.content_type
        for name in ENTITY_HEADERS:
            value = head.headers.get(name)
            if value and name not in headers:
                headers[name] = value
        storage_class = head.headers.get("x-amz-storage-class")
        if in_place and storage_class and "x-amz-storage-class" not in headers:
            headers["x-amz-storage-class"] = storage_class
        return session.copy_object(
            source_key, dest_key, source_bucket=source_bucket, dest_bucket=dest_bucket,
            metadata=user or head.metadata, metadata_directive="REPLACE",
            content_type=content_type, headers=headers,
        )  # fmt: skip

    def _is_public(self, key: str, bucket: str) -> bool:
        """Whether the object's ACL lets anyone read it (False if the ACL cannot be read)."""
        from . import s3xml

        session = self.session
        try:
            response = session._send(session._build("GET", bucket, key, [("acl", "")]))
            root = s3xml.parse_document(response.data)
        except (NoSuchKey, NoSuchBucket):
            raise
        except ClientError as exc:  # ACLs disabled or not implemented: nothing to carry over
            log.debug("could not read the ACL of %s/%s: %s", bucket, key, exc)
            return False
        for grant in root.iter("Grant"):
            grantee = grant.find("Grantee")
            uri = s3xml.child_text(grantee, "URI")
            if uri == _ALL_USERS and s3xml.child_text(grant, "Permission") in (
                "READ",
                "FULL_CONTROL",
            ):
                return True
        return False

    # --- multipart uploads (tinys3 / minis3 API) ------------------------------------------------
    def initiate_multipart_upload(self, key: str, bucket: str | None = None) -> TinyMultipartUpload:
        """Start a multipart upload of `key`; returns tinys3's object (`upload_id`,
        `upload_part_from_file`, `complete_upload`, `cancel_upload`, `list_parts`)."""
        upload = TinyMultipartUpload(self, bucket, key)
        upload.initiate()
        return upload

    def list_multipart_uploads(
        self,
        prefix: str = "",
        bucket: str | None = None,
        encoding: str | None = None,
        max_uploads: int = 1000,
        key_marker: str = "",
        upload_id_marker: str = "",
    ) -> Iterator[TinyMultipartUpload]:
        """Iterate over the unfinished multipart uploads under `prefix`, each as tinys3's
        upload object (its `upload_id` set), following every page. `encoding` and
        `max_uploads` (the page size) are accepted for compatibility; `key_marker` (with
        `upload_id_marker`) starts after that upload."""
        bucket = self.session._bucket(bucket)
        start = (key_marker or "", upload_id_marker or "")
        for item in self.session.list_multipart_uploads(prefix, bucket=bucket):
            if key_marker and (item["key"], item["upload_id"] if upload_id_marker else "") <= start:
                continue
            upload = TinyMultipartUpload(self, bucket, item["key"])
            upload.upload_id = item["upload_id"]
            yield upload

    def get_all_multipart_uploads(
        self, bucket: str | None = None, prefix: str = ""
    ) -> builtins.list[TinyMultipartUpload]:
        """`list_multipart_uploads` as a list."""
        return [*self.list_multipart_uploads(prefix, bucket)]

    # --- buckets -------------------------------------------------------------------------------
    def bucket(self, bucket: str | None) -> str:
        """The bucket a request uses: `bucket`, else the default bucket (ValueError if
        neither), as tinys3's and minis3's `conn.bucket(...)`."""
        return self.session._bucket(bucket or None)

    def head_bucket(self, bucket: str | None = None) -> Response:
        """HEAD of a bucket (NoSuchBucket if it does not exist)."""
        return self.session.head_bucket(self.bucket(bucket))

    def create_bucket(self, bucket: str | None = None) -> Response:
        """Create a bucket (in the connection's region)."""
        return self.session.create_bucket(bucket)

    def delete_bucket(self, bucket: str | None = None) -> Response:
        """Delete an (empty) bucket."""
        return self.session.delete_bucket(bucket)

    # --- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Connection(endpoint={self.endpoint!r}, default_bucket={self.default_bucket!r}, "
            f"signature_version={self.session.signature_version!r})"
        )


class TinyMultipartUpload(MultipartUpload):
    """tinys3's / minis3's multipart upload object, `MultipartUpload(conn, bucket, key)`,
    on s3lite's multipart engine (parts carry a CRC32; the result is verified).

    `MultipartUpload(conn, bucket, key)` with a Connection (or Pool) and exactly these three
    positional arguments makes one; `MultipartUpload(conn_or_session, source, key, ...)` with
    a source that is not a str, or with any keyword, is s3lite's own upload of a source.
    """

    def __init__(self, conn: Connection | Pool, bucket: str | None, key: str) -> None:
        connection = conn.connection if isinstance(conn, Pool) else conn
        if not isinstance(connection, Connection):
            raise TypeError(f"MultipartUpload(conn, bucket, key) needs a Connection, not {conn!r}")
        self.conn = connection
        super().__init__(connection.session, None, key, bucket)

    @property
    def uploadId(self) -> str | None:  # tinys3's spelling
        """tinys3's name for `upload_id`."""
        return self.upload_id

    @uploadId.setter
    def uploadId(self, value: str | None) -> None:
        self.upload_id = value

    def initiate(self) -> str:
        """Create the upload on the server; returns its id (`conn.initiate_multipart_upload`
        does this for you)."""
        return self.start()

    def start(self) -> str:
        """Create the upload (once). Parts are checked with Content-MD5 rather than a CRC32
        recorded at creation, so that any process holding the id can complete it from the
        server's list of parts, as tinys3 allows."""
        if self.upload_id is None:
            self.upload_id = self.conn.multipart_backend.start(
                self.bucket, self.key, metadata=self.metadata, content_type=self.content_type,
                headers=self.headers, checksum=False,
            )  # fmt: skip
        return self.upload_id

    def upload_part_from_file(
        self,
        fp: Any,
        part_num: int,
        length: int | None = None,
        md5: str | None = None,
        close: bool = False,
        rewind: bool = True,
    ) -> PartResult:
        """Upload part `part_num` (1-based) from a file object (from its start with `rewind`,
        `length` bytes or to its end) or bytes. `md5` (base64 MD5 of the part) is checked
        before anything is sent. Returns the part (`etag`, `size`)."""
        try:
            if isinstance(fp, (bytes, bytearray, memoryview)):
                data = bytes(fp)
            else:
                if rewind and is_seekable(fp):
                    fp.seek(0)
                data = fp.read() if length is None else fp.read(length)
                if not isinstance(data, bytes):
                    raise TypeError("the part's file must be opened in binary mode")
            if length is not None and len(data) != length:
                raise ValueError(f"part {part_num}: length={length} but {len(data)} bytes read")
            return self._send_part(part_num, data, md5)
        finally:
            closer = getattr(fp, "close", None)
            if close and callable(closer):
                closer()

    def _send_part(self, number: int, data: bytes, md5: str | None) -> PartResult:
        import base64
        import hashlib

        if self.upload_id is None:
            raise RuntimeError("the upload was not initiated")
        if not isinstance(number, int) or not 1 <= number <= 10000:
            raise ValueError(f"part number must be between 1 and 10000, got {number!r}")
        digest = hashlib.md5(data).digest()  # noqa: S324 - S3's Content-MD5
        actual = base64.b64encode(digest).decode()
        if md5 is not None and actual != md5:
            raise ValueError(f"part {number}: md5 {md5!r} does not match the data")
        session = self.conn.session
        params = [("partNumber", str(number)), ("uploadId", self.upload_id)]
        request = session._build(
            "PUT", self.bucket, self.key, params, {"Content-MD5": actual}, data
        )
        response = session._send(request)
        if response.etag and response.etag != digest.hex():
            from .errors import ChecksumMismatch

            raise ChecksumMismatch(f"part {number}: ETag {response.etag} is not the data's MD5")
        part = PartResult(number, len(data), etag=response.etag)
        with self._lock:
            self._parts[number] = part
        return part

    def list_parts(
        self, encoding: str | None = None, max_parts: int = 1000, part_number_marker: str = ""
    ) -> Iterator[dict[str, Any]]:
        """The parts on the server, as dicts with `part_number`, `last_modified`, `etag` and
        `size`, following every page (`max_parts` is the page size)."""
        from . import s3xml

        if self.upload_id is None:
            raise RuntimeError("the upload was not initiated")
        session = self.conn.session
        marker: int | None = int(part_number_marker) if part_number_marker else None
        while True:
            params = [("uploadId", self.upload_id), ("max-parts", str(max_parts))]
            if marker:
                params.append(("part-number-marker", str(marker)))
            response = session._send(session._build("GET", self.bucket, self.key, params))
            page, truncated, marker = s3xml.parse_list_parts(response.data)
            for part in page:
                yield {k: part[k] for k in ("part_number", "last_modified", "etag", "size")}
            if not truncated or not marker:
                return

    def number_of_parts(self) -> int:
        """How many parts the server holds for this upload."""
        return sum(1 for _ in self.list_parts())

    def complete_upload(self) -> Response:
        """Assemble the parts on the server (also those uploaded by another process or
        before a restart) into the object, and verify it."""
        if self.upload_id is None:
            raise RuntimeError("the upload was not initiated")
        known = {p.number for p in self.parts}
        for part in self.backend.list_parts(self.bucket, self.key, self.upload_id):
            if part.number not in known:
                with self._lock:
                    self._parts[part.number] = part
        return self.complete()

    def cancel_upload(self) -> None:
        """Abort the upload and delete its parts."""
        if self.upload_id is None:
            raise RuntimeError("the upload was not initiated")
        self.abort()


#: minis3's (and old tinys3's) name for Connection.
Conn = Connection


class CompletedResponse(Response):
    """A response that is also its own finished future: `Pool.as_completed` yields these, so
    tinys3 code (`for r in pool.as_completed(fs): r.status_code`) and minis3 code
    (`for f in pool.as_completed(fs): f.result().status_code`) both work."""

    def result(self, timeout: float | None = None) -> CompletedResponse:
        return self

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return None

    def done(self) -> bool:
        return True

    def cancelled(self) -> bool:
        return False


def _completed(response: Response) -> CompletedResponse:
    if isinstance(response, Response) and not isinstance(response, CompletedResponse):
        response.__class__ = CompletedResponse
    return response  # type: ignore[return-value]


def _in_worker(
    method: Callable[Concatenate[Connection, P], R],
) -> Callable[Concatenate[Pool, P], _futures.Future[R]]:
    """A Pool method that runs the Connection method in a worker and returns its Future."""

    def submit(self: Pool, /, *args: P.args, **kwargs: P.kwargs) -> _futures.Future[R]:
        return self._executor.submit(method, self.connection, *args, **kwargs)

    submit.__name__ = submit.__qualname__ = method.__name__
    submit.__doc__ = (
        f"`Connection.{method.__name__}` in a worker thread; returns a Future of its result.\n\n"
        + (method.__doc__ or "")
    )
    return submit


class Pool:
    """tinys3's / minis3's Pool: the Connection methods run on `size` worker threads and
    return `concurrent.futures.Future`s.

    Takes Connection's arguments plus `size` (positionally after `endpoint`, as in tinys3).
    The workers share one connection pool of `size` connections. Use it as a context manager
    or call `close()`.
    """

    multipart_upload_type: ClassVar[type[MultipartUpload]]

    def __init__(
        self,
        access_key: str | None = None,
        secret_key: str | None = None,
        default_bucket: str | None = None,
        tls: bool | None = None,
        endpoint: str = DEFAULT_ENDPOINT,
        size: int = 5,
        *,
        verify: bool | str = True,
        signature_version: Literal["s3v4", "s3"] = "s3v4",
        path_style: bool = False,
        ssl: bool | None = None,
        default: str | None = None,
        region: str | None = None,
        session_token: str | None = None,
        **session_options: Any,
    ) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size must be an int >= 1, got {size!r}")
        session_options.setdefault("max_pool_connections", size)
        self.connection = Connection(
            access_key, secret_key, default_bucket, tls, endpoint, verify, signature_version,
            path_style, ssl=ssl, default=default, region=region, session_token=session_token,
            **session_options,
        )  # fmt: skip
        self.size = size
        self._executor = _futures.ThreadPoolExecutor(size, thread_name_prefix="s3lite-pool")

    upload = _in_worker(Connection.upload)
    get = _in_worker(Connection.get)
    head_object = _in_worker(Connection.head_object)
    delete = _in_worker(Connection.delete)
    copy = _in_worker(Connection.copy)
    update_metadata = _in_worker(Connection.update_metadata)
    head_bucket = _in_worker(Connection.head_bucket)
    create_bucket = _in_worker(Connection.create_bucket)
    delete_bucket = _in_worker(Connection.delete_bucket)
    initiate_multipart_upload = _in_worker(Connection.initiate_multipart_upload)
    get_all_multipart_uploads = _in_worker(Connection.get_all_multipart_uploads)

    def list(
        self, prefix: str = "", bucket: str | None = None
    ) -> _futures.Future[Iterator[dict[str, Any]]]:
        """`Connection.list`, fetched whole in a worker; the Future gives an iterator."""

        def fetch() -> Iterator[dict[str, Any]]:
            return iter([*self.connection.list(prefix, bucket)])

        return self._executor.submit(fetch)

    @property
    def default_bucket(self) -> str | None:
        return self.connection.default_bucket

    @property
    def tls(self) -> bool:
        """Whether requests use HTTPS (settable, as `Connection.tls`)."""
        return self.connection.tls

    @tls.setter
    def tls(self, tls: bool) -> None:
        self.connection.tls = tls

    @property
    def endpoint(self) -> str:
        """The endpoint as given (as `Connection.endpoint`)."""
        return self.connection.endpoint

    def run(self, request: Any) -> _futures.Future[Any]:
        """Run a request object's `run()` in a worker; returns its Future (tinys3's Pool)."""
        if not callable(getattr(request, "run", None)):
            raise TypeError(f"run() needs an object with a run() method, not {request!r}")
        return self._executor.submit(request.run)

    @property
    def multipart_backend(self) -> S3MultipartBackend:
        """The multipart primitives of this pool's connection (`Connection.multipart_backend`)."""
        return self.connection.multipart_backend

    @staticmethod
    def as_completed(
        futures: Iterable[_futures.Future[Any]], timeout: float | None = None
    ) -> Iterator[Any]:
        """Yield each result (the response itself) as its request completes; a failed
        request raises its error here. `TimeoutError` if `timeout` seconds pass first."""
        for future in _futures.as_completed(futures, timeout):
            result = future.result()
            yield _completed(result) if isinstance(result, Response) else result

    @staticmethod
    def all_completed(
        futures: Iterable[_futures.Future[Any]], timeout: float | None = None
    ) -> builtins.list[Any]:
        """Wait for every request; their results in the order given (the first failure
        raises). `TimeoutError` if they are not all done within `timeout` seconds."""
        pending = list(futures)
        _, not_done = _futures.wait(pending, timeout)
        if not_done:
            raise _futures.TimeoutError(
                f"{len(not_done)} of {len(pending)} requests not completed in {timeout} s"
            )
        results = [future.result() for future in pending]
        return [_completed(r) if isinstance(r, Response) else r for r in results]

    def close(self, wait: bool = True) -> None:
        """Stop the workers (after the queued requests, with `wait`) and close the
        connections."""
        self._executor.shutdown(wait)
        if wait:
            self.connection.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Pool(size={self.size}, connection={self.connection!r})"


#: What `MultipartUpload(conn, bucket, key)` builds for a Connection or a Pool.
Connection.multipart_upload_type = TinyMultipartUpload
Pool.multipart_upload_type = TinyMultipartUpload
