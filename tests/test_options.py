"""Configuration and per-call options: retry settings from the environment and the AWS config
file, the tinys3 Connection's configured endpoint, presign expiry as a timedelta, SSE-C, and
upload_file's object options. Against SeaweedFS, moto and the B2 test server."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3

from conftest import FAST_RETRY
from faultproxy import ErrorResponse, FaultProxy
from s3lite import B2Session, S3Session
from s3lite.compat import Connection
from s3lite.config import ConfigError
from s3lite.devserver import LocalSeaweedFS
from test_cli import run_cli

# --- retry settings (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE, the profile) --------------------------


@pytest.fixture
def proxy(seaweed: LocalSeaweedFS) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", seaweed.s3_port) as p:
        yield p


@pytest.fixture
def aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty AWS config file the test may write; AWS_CONFIG_FILE points to it."""
    path = tmp_path / "config"
    path.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    return path


def _attempts_on_503(seaweed: LocalSeaweedFS, proxy: FaultProxy, s3: S3Session, **kw: Any) -> int:
    """How many GETs a session built with `kw` sends for one get_object that always gets 503."""
    s3.put_object("k", b"x")
    session = S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
        **FAST_RETRY, **kw,
    )  # fmt: skip
    rule = proxy.add(ErrorResponse(503, "SlowDown"), method="GET", times=None)
    try:
        with pytest.raises(Exception, match="SlowDown"):
            session.get_object("k", stream=False)
    finally:
        session.close()
        proxy.clear()
    return rule.injected


def test_max_attempts_from_environment(
    seaweed: LocalSeaweedFS, proxy: FaultProxy, s3: S3Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    assert _attempts_on_503(seaweed, proxy, s3) == 2
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    assert _attempts_on_503(seaweed, proxy, s3) == 5
    # The argument wins over the environment.
    assert _attempts_on_503(seaweed, proxy, s3, max_attempts=1) == 1


def test_retry_settings_from_profile(
    seaweed: LocalSeaweedFS,
    proxy: FaultProxy,
    s3: S3Session,
    aws_config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws_config.write_text(
        "[default]\nmax_attempts = 4\nretry_mode = adaptive\n"
        "[profile legacy]\nretry_mode = legacy\n"
    )
    assert _attempts_on_503(seaweed, proxy, s3) == 4
    session = S3Session("AK", "SK", endpoint_url=seaweed.endpoint_url)
    assert session.transport.retry.mode == "adaptive"
    assert session.transport.retry.limiter is not None
    # botocore's legacy mode: 5 attempts unless set; run as standard.
    assert _attempts_on_503(seaweed, proxy, s3, profile="legacy") == 5
    legacy = S3Session("AK", "SK", endpoint_url=seaweed.endpoint_url, profile="legacy")
    assert legacy.transport.retry.mode == "standard"
    # The environment wins over the profile, the argument over both.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    assert _attempts_on_503(seaweed, proxy, s3) == 3
    assert S3Session("AK", "SK", endpoint_url=seaweed.endpoint_url).transport.retry.mode == (
        "standard"
    )
    assert (
        S3Session(
            "AK", "SK", endpoint_url=seaweed.endpoint_url, retry_mode="adaptive"
        ).transport.retry.mode
        == "adaptive"
    )


def test_bad_retry_settings_are_named(aws_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "zero")
    with pytest.raises(ConfigError, match="AWS_MAX_ATTEMPTS"):
        S3Session("AK", "SK", endpoint_url="http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "0")
    with pytest.raises(ConfigError, match="AWS_MAX_ATTEMPTS"):
        S3Session("AK", "SK", endpoint_url="http://127.0.0.1:9")
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    monkeypatch.setenv("AWS_RETRY_MODE", "eager")
    with pytest.raises(ConfigError, match="AWS_RETRY_MODE"):
        S3Session("AK", "SK", endpoint_url="http://127.0.0.1:9")
    monkeypatch.delenv("AWS_RETRY_MODE")
    aws_config.write_text("[default]\nmax_attempts = -1\n")
    with pytest.raises(ConfigError, match=r"max_attempts of profile 'default' in .*config"):
        S3Session("AK", "SK", endpoint_url="http://127.0.0.1:9")


def test_b2_session_honours_retry_environment(
    b2server: Any, b2_account: tuple[str, str], aws_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B2 reads AWS_MAX_ATTEMPTS / AWS_RETRY_MODE (not the AWS profile); default 5 attempts."""
    aws_config.write_text("[default]\nmax_attempts = 9\n")
    session = B2Session(*b2_account, api_url=b2server.api_url)
    assert session.transport.retry.max_attempts == 5
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    session = B2Session(*b2_account, api_url=b2server.api_url)
    assert (session.transport.retry.max_attempts, session.transport.retry.mode) == (2, "adaptive")
    session = B2Session(*b2_account, api_url=b2server.api_url, max_attempts=7)
    assert session.transport.retry.max_attempts == 7


# --- Connection (tinys3/minis3) and AWS_ENDPOINT_URL ----------------------------------------


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
def test_connection_uses_configured_endpoint(
    seaweed: LocalSeaweedFS, s3: S3Session, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, seaweed.endpoint_url)
    conn = Connection(seaweed.access_key, seaweed.secret_key, default_bucket=s3.bucket)
    assert conn.endpoint == seaweed.endpoint_url
    conn.upload("from-env.txt", b"configured endpoint")
    assert conn.get("from-env.txt").content == b"configured endpoint"
    assert s3.get_object("from-env.txt", stream=False).data == b"configured endpoint"
    # An endpoint given explicitly still wins.
    other = Connection("AK", "SK", endpoint="127.0.0.1:9", tls=False)
    assert other.endpoint == "http://127.0.0.1:9"


# --- presign with a timedelta ------------------------------------------------------------------


def test_presign_takes_a_timedelta(s3: S3Session) -> None:
    s3.put_object("shared.txt", b"shared")
    url = s3.presign("GET", "shared.txt", _dt.timedelta(minutes=10))
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["600"]
    assert urllib3.request("GET", url, retries=False).data == b"shared"
    week = s3.presign("GET", "shared.txt", _dt.timedelta(days=7))
    assert parse_qs(urlsplit(week).query)["X-Amz-Expires"] == ["604800"]


@pytest.mark.parametrize(
    ("expires", "error", "message"),
    [
        (_dt.timedelta(0), ValueError, "positive"),
        (_dt.timedelta(seconds=-5), ValueError, "positive"),
        (-1, ValueError, "positive"),
        (_dt.timedelta(days=7, seconds=1), ValueError, "at most 7 days"),
        (604801, ValueError, "at most 7 days"),
        (_dt.timedelta(milliseconds=1500), ValueError, "whole number"),
        (True, TypeError, "timedelta"),
        ("3600", TypeError, "timedelta"),
    ],
)
def test_presign_expiry_errors(
    s3: S3Session, b2: B2Session, expires: Any, error: type[Exception], message: str
) -> None:
    for session in (s3, b2):
        with pytest.raises(error, match=message):
            session.presign("GET", "k", expires)


def test_b2_presign_takes_a_timedelta(b2: B2Session) -> None:
    b2.put_object("shared.txt", b"shared b2")
    url = b2.presign("GET", "shared.txt", _dt.timedelta(hours=1))
    assert urllib3.request("GET", url, retries=False).data == b"shared b2"


def test_s3path_presign_takes_a_timedelta(s3: S3Session) -> None:
    from s3lite.path import S3Path, register_configuration_parameter

    register_configuration_parameter(S3Path(f"/{s3.bucket}"), session=s3)
    path = S3Path(f"/{s3.bucket}/p.txt")
    path.write_bytes(b"via path")
    url = path.presign(_dt.timedelta(minutes=5))
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["300"]
    assert urllib3.request("GET", url, retries=False).data == b"via path"


@pytest.mark.parametrize("expires", ["8d", "0"])
def test_cli_presign_names_the_flag(expires: str) -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"}
    for url in ("s3://some-bucket/k", "b2://some-bucket/k"):
        env_b2 = {"B2_APPLICATION_KEY_ID": "kid", "B2_APPLICATION_KEY": "key"}
        result = run_cli("presign", "--expires", expires, url, env={**env, **env_b2})
        assert result.returncode == 2, result.stderr
        assert "--expires" in result.stderr
        assert "expires_in" not in result.stderr
