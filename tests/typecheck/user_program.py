"""A user's program, type-checked in CI by `mypy --strict` and basedpyright (strict).

It is never run and never collected by pytest: it proves that the public API is visible to
type checkers through `import s3lite`, and that listing entries are typed. The line marked
`must fail` has to be an error: mypy's warn_unused_ignores (part of --strict) and
basedpyright's reportUnnecessaryTypeIgnoreComment flag the ignore if it stops being needed.
"""

from __future__ import annotations

import datetime

import s3lite
from s3lite import (
    B2Path,
    B2Session,
    ClientError,
    Conflict,
    Connection,
    DistributedLock,
    Forbidden,
    Listing,
    LocalSeaweedFS,
    MultipartUpload,
    NoSuchKey,
    NotFound,
    ObjectInfo,
    Response,
    S3LiteError,
    S3Path,
    S3Session,
    Throttled,
    TransportError,
    UploadInfo,
    VersionInfo,
)


def sizes(session: S3Session | B2Session, prefix: str) -> dict[str, int]:
    """Every object's size under a prefix."""
    listing: Listing[ObjectInfo] = session.list_objects(prefix)
    out: dict[str, int] = {}
    for obj in listing.iter_objects():
        key: str = obj["key"]
        out[key] = obj["content_length"]
        stamp: datetime.datetime | None = obj["upload_timestamp"]
        etag: str | None = obj["etag"]
        del stamp, etag
    return out


def wrong_field(session: S3Session) -> object:
    """`size` is not a field of a listing entry (it is `content_length`): must fail."""
    for obj in session.list_objects():
        return obj["size"]  # type: ignore[typeddict-item]  # pyright: ignore[reportGeneralTypeIssues, reportUnknownVariableType]
    return None


def versions(session: S3Session) -> list[tuple[str, str | None, bool]]:
    """Versions and delete markers of every object."""
    items: Listing[VersionInfo] = session.list_object_versions()
    return [(v["key"], v["version_id"], v["delete_marker"]) for v in items]


def uploads(session: B2Session) -> list[str]:
    """Unfinished uploads' ids."""
    found: Listing[UploadInfo] = session.list_multipart_uploads()
    return [u["upload_id"] for u in found]


def fetch(session: S3Session, key: str) -> bytes | None:
    """An object's bytes, or None when it does not exist; every error family is a name."""
    try:
        with session.get_object(key) as resp:
            response: Response = resp
            return response.data
    except NotFound:
        return None
    except Forbidden as exc:
        raise PermissionError(exc.code) from exc
    except (Throttled, Conflict, s3lite.NoSuchBucket, s3lite.MethodNotAllowed):
        raise
    except s3lite.NotImplementedByServer:
        raise
    except ConnectionError:  # a TransportError that is a failed or broken connection
        return None
    except (TransportError, ClientError, S3LiteError):
        raise


def main() -> None:
    """Use a local server the way the README does."""
    with LocalSeaweedFS() as server:
        s3 = S3Session(
            server.access_key,
            server.secret_key,
            endpoint_url=server.endpoint_url,
            bucket="demo",
        )
        s3.create_bucket()
        s3.put_object("hello.txt", b"Hello", metadata={"source": "typing"})
        try:
            s3.head_object("missing")
        except NoSuchKey as exc:
            status: int = exc.status
            del status
        print(sizes(s3, ""), versions(s3), fetch(s3, "hello.txt"), wrong_field(s3))
        url: str = s3.presign("GET", "hello.txt", expires_in=60)
        lock: DistributedLock = s3.lock("jobs/nightly")
        with lock:
            pass
        upload = MultipartUpload(s3, b"x" * 10, "multi.bin")
        del url, upload
        conn = Connection("key", "secret", default_bucket="demo")
        del conn
    path = S3Path("/demo/hello.txt")
    b2path = B2Path("/bucket/key")
    print(path.name, b2path.parent, s3lite.__version__)
