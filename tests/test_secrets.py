"""No secret in any repr, str, log record or exception; presigned URLs carry no secret; the
Authorization header never follows a redirect to another host.

Secrets here are distinctive strings (plus the random keys of the test servers and every
token the B2 test server issued), so a leak is found wherever it lands:

- `test_every_public_object_hides_secrets`: one instance of every public class (sessions,
  credentials and every provider in credentials.py after fetching from its source, transport,
  responses, listings, errors, multipart uploads, locks, paths, tinys3's Connection/Pool...)
  with secrets in it; repr() and str() of each are scanned. A new public class without an
  instance in the scan fails the test.
- `test_failures_on_both_backends_leak_nothing`: a run on S3 (SeaweedFS behind the fault
  proxy) and B2 that fails in every way (wrong secret, an expired token refreshed, retried
  faults, retries exhausted, a refused streamed upload, a failed multipart upload) with every
  logger at DEBUG: no log record, exception text or traceback holds a secret.
- `test_presigned_urls_carry_no_secret`: S3 SigV4 and SigV2, B2.
- `test_redirects_are_not_followed`: 301/302/303/307/308 to another port are typed errors;
  the other server is never contacted, so never sees the Authorization header.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import urllib3

import s3lite
from b2server import B2TestServer
from conftest import FAST_RETRY, b2_session
from faultproxy import ErrorResponse, FaultProxy, ResetBeforeResponse
from metadata_servers import SECRET_PREFIX, TOKEN_PREFIX, ContainerServer, FakeSts, ImdsServer
from s3lite import S3Session, credentials
from s3lite.b2 import B2Session, clear_auth_cache
from s3lite.credentials import Credentials, RefreshingCredentials, StaticCredentials
from s3lite.devserver import LocalSeaweedFS
from s3lite.signing import SigV4Context, amz_date
from secure_servers import RecordingServer, RedirectServer

SECRET = "SeCrEt/KEY+that-must-not-leak-0123456789"
TOKEN = "SessionToken/that+must-not-leak=="
ROTATED = "RoTaTeD-secret-that-must-not-leak-42"
JWT = "web-identity-JWT-that-must-not-leak"
CONTAINER_TOKEN = "container-Bearer-that-must-not-leak"
PROCESS_SECRET = "process-secret-that-must-not-leak"
PROFILE_SECRET = "profile-secret-that-must-not-leak"
ROLE = "arn:aws:iam::123456789012:role/s3lite-secrets"
MARKERS = (
    SECRET, TOKEN, ROTATED, JWT, CONTAINER_TOKEN, PROCESS_SECRET, PROFILE_SECRET,
    SECRET_PREFIX, TOKEN_PREFIX,
)  # fmt: skip


def _texts(*objects: object) -> list[str]:
    return [repr(o) for o in objects] + [str(o) for o in objects]


def assert_no_secret(texts: list[str], secrets: tuple[str, ...] | list[str]) -> None:
    secrets = [s for s in secrets if s]
    for text in texts:
        for secret in secrets:
            assert secret not in text and secret not in unquote(text), (secret, text[:500])


def error_text(exc: BaseException) -> str:
    """Everything an exception shows: str, repr, args and the whole formatted chain."""
    parts = [str(exc), repr(exc), *map(str, exc.args), "".join(traceback.format_exception(exc))]
    return "\n".join(parts)


def log_texts(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    out = []
    for record in records:
        out.append(formatter.format(record))  # message, args, exc_info and stack_info
        out.append(repr(record.args))
    return out


# --- reprs and strs of every public object --------------------------------------------------------


class _Rotating(RefreshingCredentials):
    """Hands out `first`, then `then` on every refresh."""

    def __init__(self, first: Credentials, then: Credentials) -> None:
        super().__init__()
        self._queue = [first, then]

    def _fetch(self) -> Credentials | None:
        return self._queue.pop(0) if len(self._queue) > 1 else self._queue[0]


def _public_classes() -> set[type]:
    """Every class s3lite exports (errors apart: they are scanned from real failures below),
    and every credential provider."""
    classes = {
        getattr(s3lite, name)
        for name in s3lite.__all__
        if isinstance(getattr(s3lite, name), type)
        and not issubclass(getattr(s3lite, name), BaseException)
        and not issubclass(getattr(s3lite, name), dict)  # listing entries' TypedDicts
    }
    classes |= {
        getattr(credentials, name)
        for name in credentials.__all__
        if isinstance(getattr(credentials, name), type)
        and not issubclass(getattr(credentials, name), BaseException)
        and name not in ("CredentialsProvider", "RefreshingCredentials")  # protocol, base
    }
    return classes


def test_every_public_object_hides_secrets(
    seaweed: LocalSeaweedFS,
    s3: S3Session,
    b2: B2Session,
    b2server: B2TestServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from s3lite.compat import Connection, Pool
    from s3lite.multipart import MultipartUpload
    from s3lite.path import B2Path, PureB2Path, PureS3Path, S3Path, TransferConfig
    from s3lite.retries import RetryPolicy
    from s3lite.transport import Transport

    creds = Credentials("AKIDVISIBLE", SECRET, TOKEN, expires_at=2e9)
    objects: list[object] = [creds, StaticCredentials(creds)]

    # Every credential provider, after it fetched its credentials from its source.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET + "-env")
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN + "-env")
    env = credentials.EnvironmentCredentials()
    objects += [
        env,
        env.get(),
        credentials.default_provider(),
        credentials.default_provider().get(),
    ]
    files = tmp_path / "aws"
    files.mkdir()
    (files / "credentials").write_text(
        f"[p]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {PROFILE_SECRET}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(files / "credentials"))
    profile = credentials.ProfileCredentials("p")
    objects += [profile, profile.get()]
    script = tmp_path / "helper.py"
    script.write_text(
        "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'AKIDPROC', "
        f"'SecretAccessKey': '{PROCESS_SECRET}', 'SessionToken': '{TOKEN}-proc'}}))\n"
    )
    process = credentials.ProcessCredentials(f"{sys.executable} {script} --secret {SECRET}")
    objects += [process, process.get()]
    token_file = tmp_path / "token.jwt"
    token_file.write_text(JWT)
    with (
        FakeSts() as sts,
        ContainerServer(token=CONTAINER_TOKEN) as container,
        ImdsServer() as imds,
    ):
        web = credentials.WebIdentityCredentials(ROLE, str(token_file), endpoint_url=sts.url)
        assume = credentials.AssumeRoleCredentials(
            ROLE, StaticCredentials(creds), external_id="ext", endpoint_url=sts.url
        )
        box = credentials.ContainerCredentials(
            container.url + container.path, auth_token=CONTAINER_TOKEN
        )
        metadata = credentials.InstanceMetadataCredentials(imds.url)
        chain = credentials.ChainProvider([StaticCredentials(None), box])
        for provider in (web, assume, box, metadata, chain):
            objects += [provider, provider.get()]

    # Sessions and everything they hand out.
    session = S3Session(
        "AKIDVISIBLE", SECRET, session_token=TOKEN, bucket="bucket-x", endpoint_url="http://x"
    )
    sigv2 = S3Session("AKIDVISIBLE", SECRET, signature_version="s3", endpoint_url="http://x")
    ctx = SigV4Context("AKIDVISIBLE", SECRET, "us-east-1", "s3", amz_date(0), TOKEN)
    objects += [session, session.credentials, session._auth, sigv2._auth, session.transport, ctx]
    objects += [Transport(), RetryPolicy(), seaweed, TransferConfig()]
    put = s3.put_object("k", b"v", metadata={"m": "x"})
    objects += [put, s3.get_object("k"), s3.head_object("k"), s3.list_objects()]
    objects += [s3.delete_objects(["gone"]), s3, s3.credentials, s3.transport]
    upload = MultipartUpload(s3, b"x" * 10, "mp")
    upload.start()
    objects.append(upload)
    upload.abort()
    objects += [s3.lock("secrets-lock"), b2.lock("secrets-lock")]
    objects += [PureS3Path("/b/k"), S3Path("/b/k"), PureB2Path("/b/k"), B2Path("/b/k")]
    objects.append(s3lite.VersionedS3Path("/b/k", version_id="v1"))
    connection = Connection("AKIDVISIBLE", SECRET, "bucket-x", endpoint="127.0.0.1:1", tls=False)
    pool = Pool("AKIDVISIBLE", SECRET, "bucket-x", endpoint="127.0.0.1:1", tls=False, size=1)
    objects += [connection, pool]
    pool.close()
    b2.put_object("k", b"v")
    account = b2._account()
    objects += [b2, b2.credentials, b2._slot, account, b2.transport, b2.get_object("k")]
    objects += [b2.list_objects(), b2.head_object("k")]
    app_key = b2.create_app_key(["listFiles"], "secrets-test")
    objects.append(app_key)
    b2.delete_app_key(app_key.application_key_id)

    objects += _async_sessions(seaweed.endpoint_url, b2server.api_url)

    covered = {type(o) for o in objects}
    missing = {
        cls.__name__ for cls in _public_classes() if not any(issubclass(t, cls) for t in covered)
    }
    assert not missing, f"public classes not scanned: {sorted(missing)}"
    b2_key = b2.credentials.get()
    assert b2_key is not None
    secrets = [*MARKERS, seaweed.secret_key, b2_key.secret_key, account.token,
               app_key.application_key]  # fmt: skip
    assert_no_secret(_texts(*objects), secrets)
    assert "AKIDVISIBLE" in repr(creds)  # the key id is not a secret and helps debugging


def _async_sessions(s3_url: str, b2_url: str) -> list[object]:
    """The asyncio sessions with secret keys, their transports and credentials (closed)."""
    import asyncio

    from s3lite import AsyncB2Session, AsyncS3Session

    async def build() -> list[object]:
        s3 = AsyncS3Session("AKIDVISIBLE", SECRET, endpoint_url=s3_url)
        b2 = AsyncB2Session("keyid", SECRET, api_url=b2_url)
        try:
            return [s3, s3.transport, s3.credentials, b2, b2.transport, b2.credentials]
        finally:
            await s3.close()
            await b2.close()

    return asyncio.run(build())


# --- a run full of failures, on both backends -----------------------------------------------------


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)  # the root logger: s3lite, urllib3, everything
    yield caplog


def test_failures_on_both_backends_leak_nothing(
    seaweed: LocalSeaweedFS,
    s3: S3Session,
    b2: B2Session,
    b2server: B2TestServer,
    b2_account: tuple[str, str],
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    errors: list[BaseException] = []

    def fails(call: Any, *kinds: type[BaseException]) -> None:
        with pytest.raises(kinds or (s3lite.S3LiteError,)) as info:
            call()
        errors.append(info.value)

    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:

        def via_proxy(secret: str, **kwargs: Any) -> S3Session:
            return S3Session(
                seaweed.access_key, secret, endpoint_url=proxy.url, bucket=s3.bucket,
                **{**FAST_RETRY, **kwargs},
            )  # fmt: skip

        wrong = via_proxy(SECRET, session_token=TOKEN)
        fails(lambda: wrong.get_object("k"), s3lite.ClientError)
        fails(lambda: wrong.put_object("k", b"v"), s3lite.ClientError)
        fails(lambda: list(wrong.list_objects()), s3lite.ClientError)
        fails(lambda: wrong.put_object("k", iter([b"x" * 100]), content_length=100))
        fails(lambda: s3lite.MultipartUpload(wrong, b"x" * 100, "mp").upload())
        # An expired token: the server says so, the provider is refreshed, the call succeeds.
        rotating = _Rotating(
            Credentials(seaweed.access_key, ROTATED, expires_at=2e9),
            Credentials(seaweed.access_key, seaweed.secret_key, expires_at=2e9),
        )
        refreshed = S3Session(
            endpoint_url=proxy.url, bucket=s3.bucket, credentials=rotating, **FAST_RETRY
        )
        proxy.add(ErrorResponse(400, "ExpiredToken", "The provided token has expired."), times=1)
        refreshed.put_object("k", b"v")
        # Retried faults, then faults past the last attempt.
        proxy.add(ErrorResponse(503, "SlowDown"), method="GET", times=2)
        proxy.add(ResetBeforeResponse(), method="GET", times=1)
        fails(lambda: refreshed.get_object("k").data, s3lite.TransportError)
        assert refreshed.get_object("k").data == b"v"
        proxy.add(ErrorResponse(500, "InternalError"), times=None)
        fails(lambda: refreshed.head_object("k"), s3lite.InternalError)
        proxy.clear()
        urls = [wrong.presign("GET", "k"), refreshed.presign("PUT", "k")]
        wrong.close()
        refreshed.close()

    # B2: a wrong key, expired tokens (renewed), retries exhausted, a failed large file.
    key_id, key = b2_account
    bad = b2_session(b2server, (key_id, key + "-wrong"), bucket=b2.bucket)
    fails(lambda: bad.get_object("k"), s3lite.Unauthorized)
    b2.put_object("k", b"v")
    b2server.expire_auth_tokens(include_upload_tokens=True)
    b2.put_object("k2", b"v")
    assert b2.get_object("k2").data == b"v"
    b2server.inject(503, "service_unavailable", count=20, retry_after=0, operation="b2_upload_file")
    fails(lambda: b2.put_object("k3", b"v"), s3lite.ServiceUnavailable)
    b2server.inject(500, "internal_error", count=20, operation="b2_upload_part")
    fails(lambda: s3lite.MultipartUpload(b2, b"x" * 12_000, "mp", part_size=6_000).upload())
    b2server._faults.clear()
    urls.append(b2.presign("GET", "k"))

    with b2server._lock:  # every token the B2 server ever issued, upload tokens included
        tokens = [*b2server.simulator.auth_token_to_key, *b2server._upload_tokens]
    secrets = [*MARKERS, seaweed.secret_key, key, *tokens]
    texts = log_texts(debug_logs.records) + [error_text(e) for e in errors]
    assert len(debug_logs.records) > 20 and errors
    assert any("retrying" in r.getMessage() for r in debug_logs.records)
    assert_no_secret(texts, secrets)
    assert_no_secret(urls[:2], [SECRET, ROTATED, seaweed.secret_key])
    assert_no_secret(urls[2:], [key, *b2server.simulator.auth_token_to_key])


# --- presigned URLs ---------------------------------------------------------------------------


def test_presigned_urls_carry_no_secret(
    seaweed: LocalSeaweedFS, s3: S3Session, b2: B2Session
) -> None:
    s3.put_object("shared", b"shared")
    http = urllib3.PoolManager()
    for version in ("s3v4", "s3"):
        signer = S3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url,
            bucket=s3.bucket, signature_version=version,  # type: ignore[arg-type]
        )  # fmt: skip
        url = signer.presign("GET", "shared", 60)
        assert seaweed.secret_key not in url and seaweed.secret_key not in unquote(url)
        assert http.request("GET", url).data == b"shared"  # and it works without the secret
    with_token = S3Session("AKIDVISIBLE", SECRET, session_token=TOKEN, endpoint_url="http://x")
    url = with_token.presign("GET", "k", bucket="bucket-x")
    assert SECRET not in unquote(url)
    assert TOKEN in unquote(url)  # a session token must travel with the URL (AWS's design)
    b2.put_object("shared", b"shared")
    url = b2.presign("GET", "shared", 60)
    key = b2.credentials.get()
    assert key is not None
    account_token = b2._account().token
    assert key.secret_key not in unquote(url) and account_token not in unquote(url)
    assert http.request("GET", url).data == b"shared"  # a download authorization, for this key


# --- redirects --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed(status: int) -> None:
    """The transport never follows a redirect: whatever the status, the caller gets a typed
    error and the host the Location names sees nothing (so never the Authorization header).
    A plain urllib3 request shows the other server would have been contacted."""
    with RecordingServer() as other, RedirectServer(other.url, status) as redirector:
        s3 = S3Session(
            "AKIDVISIBLE", SECRET, endpoint_url=redirector.url, bucket="bucket-x", **FAST_RETRY
        )
        for call in (
            lambda: s3.get_object("k").data,
            lambda: s3.put_object("k", b"v"),
            lambda: s3.head_object("k"),
            lambda: list(s3.list_objects()),
        ):
            with pytest.raises(s3lite.ClientError) as info:
                call()
            assert info.value.status == status
            assert SECRET not in error_text(info.value)
        clear_auth_cache()
        b2 = B2Session("keyid", SECRET, api_url=redirector.url, **FAST_RETRY)
        with pytest.raises(s3lite.ClientError) as info:
            b2.list_buckets()
        assert info.value.status == status
        clear_auth_cache()
        assert len(redirector.requests) == 5  # each call answered once: no retry either
        assert other.requests == []
        assert all("authorization" in {k.lower() for k in h} for _, _, h in redirector.requests)
        # The tripwire works: a client that follows redirects does reach the other server.
        urllib3.request("GET", redirector.url + "/probe", retries=urllib3.Retry(redirect=2))
        assert [path for _, path, _ in other.requests] == ["/probe"]
