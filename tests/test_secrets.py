"""No secret in any repr, str, log record or exception."""

from __future__ import annotations

import logging
import traceback

import pytest

import s3lite
from s3lite import S3Session
from s3lite.credentials import Credentials, StaticCredentials
from s3lite.devserver import LocalSeaweedFS
from s3lite.signing import SigV4Context, amz_date

SECRET = "SeCrEt/KEY+that-must-not-leak-0123456789"
TOKEN = "SessionToken/that+must-not-leak=="


def _texts(*objects: object) -> list[str]:
    return [repr(o) for o in objects] + [str(o) for o in objects]


def test_reprs_hide_secrets() -> None:
    creds = Credentials("AKIDVISIBLE", SECRET, TOKEN)
    session = S3Session("AKIDVISIBLE", SECRET, session_token=TOKEN, bucket="bucket-x")
    ctx = SigV4Context("AKIDVISIBLE", SECRET, "us-east-1", "s3", amz_date(0), TOKEN)
    for text in _texts(creds, StaticCredentials(creds), session, session.credentials,
                       session._auth, session.transport, ctx):  # fmt: skip
        assert SECRET not in text and TOKEN not in text, text
    assert "AKIDVISIBLE" in repr(creds)  # the key id is not a secret and helps debugging


def test_failed_requests_log_and_raise_without_secrets(
    seaweed: LocalSeaweedFS, s3: S3Session, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = S3Session(
        seaweed.access_key, SECRET, session_token=TOKEN, endpoint_url=seaweed.endpoint_url,
        bucket=s3.bucket, backoff_base=0.01,
    )  # fmt: skip
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    for call in (
        lambda: wrong.get_object("k"),
        lambda: wrong.put_object("k", b"v"),
        lambda: list(wrong.list_objects()),
        lambda: wrong.put_object("k", iter([b"x" * 100]), content_length=100),
    ):
        with pytest.raises(s3lite.ClientError) as info:
            call()
        errors.append(info.value)
    url = wrong.presign("GET", "k")
    texts = [r.getMessage() for r in caplog.records]
    for err in errors:
        texts.append("".join(traceback.format_exception(err)))
        texts.extend(str(a) for a in err.args)
    assert texts
    for text in texts:
        assert SECRET not in text and TOKEN not in text, text
    # a presigned URL carries the session token by design, never the secret key
    assert SECRET not in url
