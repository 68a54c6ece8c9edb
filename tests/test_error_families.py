"""Error families: one `except` catches every code a server may send for one kind of failure.

Against SeaweedFS (which checks SigV4), the B2 test server, and loopback sockets for network
failures."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

import s3lite
from conftest import FAST_RETRY, b2_session, both_flavours, new_bucket_name
from s3lite import B2Session, S3Session
from s3lite.devserver import LocalSeaweedFS, free_port

#: Every test here runs on the sync session and on the async one (conftest.both_flavours).
flavour = both_flavours()


def _caught(call: object, family: type[BaseException]) -> BaseException:
    """Run `call` and return the exception `except family` caught (fails if none)."""
    assert callable(call)
    try:
        call()
    except family as exc:
        return exc
    raise AssertionError(f"no {family.__name__} raised")


def test_wrong_credentials_are_forbidden_on_s3(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    """A wrong secret (GET: SignatureDoesNotMatch, HEAD: AccessDenied) and an unknown key id
    (InvalidAccessKeyId) are all caught by `except Forbidden`."""
    s3.put_object("k", b"v")
    wrong_secret = S3Session(
        seaweed.access_key, "not-the-secret", endpoint_url=seaweed.endpoint_url,
        bucket=s3.bucket, **FAST_RETRY,
    )  # fmt: skip
    bad_key_id = S3Session(
        "AKIDNOSUCHKEY", seaweed.secret_key, endpoint_url=seaweed.endpoint_url,
        bucket=s3.bucket, **FAST_RETRY,
    )  # fmt: skip
    try:
        got = _caught(lambda: wrong_secret.get_object("k").data, s3lite.Forbidden)
        assert isinstance(got, s3lite.SignatureDoesNotMatch)
        got = _caught(lambda: wrong_secret.head_object("k"), s3lite.Forbidden)
        assert isinstance(got, s3lite.AccessDenied)
        got = _caught(lambda: bad_key_id.get_object("k").data, s3lite.Forbidden)
        assert isinstance(got, s3lite.InvalidAccessKeyId)
        _caught(lambda: bad_key_id.head_object("k"), s3lite.Forbidden)
        _caught(lambda: wrong_secret.put_object("k2", b"x"), s3lite.Forbidden)
        assert "not-the-secret" not in str(got)
    finally:
        wrong_secret.close()
        bad_key_id.close()


def test_missing_key_and_bucket_are_not_found_on_s3(s3: S3Session) -> None:
    assert isinstance(_caught(lambda: s3.get_object("missing"), s3lite.NotFound), s3lite.NoSuchKey)
    _caught(lambda: s3.head_object("missing"), s3lite.NotFound)
    other = new_bucket_name()
    got = _caught(lambda: s3.get_object("k", bucket=other), s3lite.NotFound)
    assert isinstance(got, s3lite.NoSuchBucket)
    _caught(lambda: list(s3.list_objects(bucket=other)), s3lite.NotFound)


def test_failed_precondition_is_a_conflict(s3: S3Session) -> None:
    s3.put_object("once", b"1", if_none_match="*")
    got = _caught(lambda: s3.put_object("once", b"2", if_none_match="*"), s3lite.Conflict)
    assert isinstance(got, s3lite.PreconditionFailed)
    assert s3.get_object("once").data == b"1"


def test_wrong_credentials_are_forbidden_on_b2(b2server: object, b2: B2Session) -> None:
    b2.put_object("k", b"v")
    key_id = b2.access_key_id
    wrong = B2Session(key_id, "not-the-key", api_url=b2.api_url, bucket=b2.bucket, **FAST_RETRY)
    unknown = B2Session(
        "000nosuchkeyid", "not-the-key", api_url=b2.api_url, bucket=b2.bucket, **FAST_RETRY
    )
    try:
        _caught(lambda: wrong.get_object("k").data, s3lite.Forbidden)
        _caught(lambda: wrong.head_object("k"), s3lite.Forbidden)
        _caught(lambda: unknown.get_object("k").data, s3lite.Forbidden)
    finally:
        wrong.close()
        unknown.close()


def test_missing_key_and_bucket_are_not_found_on_b2(
    b2server: object, b2_account: tuple[str, str], b2: B2Session
) -> None:
    assert isinstance(_caught(lambda: b2.get_object("missing"), s3lite.NotFound), s3lite.NoSuchKey)
    _caught(lambda: b2.head_object("missing"), s3lite.NotFound)
    other = b2_session(b2server, b2_account)  # type: ignore[arg-type]
    try:
        missing = new_bucket_name()
        # A download by name says only not_found (a NoSuchKey); listing names the bucket.
        _caught(lambda: other.get_object("k", bucket=missing), s3lite.NotFound)
        got = _caught(lambda: list(other.list_objects(bucket=missing)), s3lite.NotFound)
        assert isinstance(got, s3lite.NoSuchBucket)
    finally:
        other.close()


def test_throttling_codes_are_throttled() -> None:
    """Every code that means "slow down", on S3 and B2, maps to a `Throttled` class."""
    from s3lite.errors import error_class_for

    for status, code in [
        (503, "SlowDown"), (429, "TooManyRequests"), (429, "too_many_requests"),
        (400, "Throttling"), (400, "ThrottlingException"), (503, "RequestThrottled"), (429, None),
    ]:  # fmt: skip
        cls = error_class_for(status, code)
        assert issubclass(cls, s3lite.Throttled), (status, code)
        assert cls.retryable and cls.throttling


def test_families_of_codes_without_a_class_of_their_own() -> None:
    """Any 409 is a Conflict (retried only when it is ConditionalRequestConflict); a 404 or
    403 with an unknown code still lands in its family."""
    from s3lite.errors import error_class_for

    other_conflict = error_class_for(409, "OperationAborted")
    assert other_conflict is s3lite.Conflict and not other_conflict.retryable
    assert error_class_for(409, "ConditionalRequestConflict").retryable
    assert issubclass(error_class_for(404, "NoSuchThing"), s3lite.NotFound)
    assert issubclass(error_class_for(403, "AccountProblem"), s3lite.Forbidden)
    assert issubclass(error_class_for(401, None), s3lite.Forbidden)
    assert not issubclass(error_class_for(304, None), s3lite.Conflict)


def test_refused_connection_is_a_connection_error() -> None:
    port = free_port()  # nothing listens there
    session = S3Session("AKID", "secret", endpoint_url=f"http://127.0.0.1:{port}", bucket="bkt",
                        max_attempts=1)  # fmt: skip
    try:
        got = _caught(lambda: session.get_object("k"), ConnectionError)
        assert isinstance(got, s3lite.TransportError) and isinstance(got, s3lite.ConnectionFailed)
    finally:
        session.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=10)
    for conn in held:
        conn.close()
    listener.close()


def test_timeout_is_a_timeout_error(silent_server: int) -> None:
    session = S3Session("AKID", "secret", endpoint_url=f"http://127.0.0.1:{silent_server}",
                        bucket="bkt", max_attempts=1, read_timeout=0.5)  # fmt: skip
    try:
        got = _caught(lambda: session.get_object("k"), TimeoutError)
        assert isinstance(got, s3lite.TransportTimeout)
        assert not isinstance(got, ConnectionError)
    finally:
        session.close()


def test_a_reset_mid_body_is_a_connection_error() -> None:
    """A response cut off in its body: the connection broke, so a `ConnectionError`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: "x"\r\n\r\npartial')
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    session = S3Session("AKID", "secret", endpoint_url=f"http://127.0.0.1:{port}", bucket="bkt",
                        max_attempts=1)  # fmt: skip
    try:
        got = _caught(lambda: session.get_object("k", stream=False), ConnectionError)
        assert isinstance(got, s3lite.TransportError)
    finally:
        session.close()
        thread.join(timeout=10)
        listener.close()


@pytest.mark.sync_only("S3Path is a sync API: it drives a sync session")
def test_walk_raises_a_network_failure_instead_of_skipping() -> None:
    """A ConnectionError is an OSError, which pathlib's walk() skips: S3Path.walk must not."""
    from s3lite import S3Path, register_configuration_parameter

    port = free_port()  # nothing listens there
    bucket = new_bucket_name()
    session = S3Session("AKID", "secret", endpoint_url=f"http://127.0.0.1:{port}",
                        max_attempts=1)  # fmt: skip
    register_configuration_parameter(S3Path(f"/{bucket}"), session=session)
    try:
        with pytest.raises(ConnectionError):
            list(S3Path(f"/{bucket}").walk())
    finally:
        session.close()
