"""Proxies from HTTP_PROXY / HTTPS_PROXY / NO_PROXY, through a real forward proxy."""

from __future__ import annotations

import pytest

from forward_proxy import ForwardProxy
from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS
from s3lite.transport import _proxy_for


def _session(seaweed: LocalSeaweedFS, bucket: str) -> S3Session:
    return S3Session(
        seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url, bucket=bucket
    )


def test_http_proxy_from_the_environment(seaweed, s3, monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        session = _session(seaweed, str(s3.bucket))
        session.put_object("via-proxy", b"proxied")
        assert session.get_object("via-proxy").data == b"proxied"
        assert any(f"127.0.0.1:{seaweed.s3_port}" in line for line in proxy.seen)
        session.close()

        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        before = len(proxy.seen)
        direct = _session(seaweed, str(s3.bucket))
        assert direct.get_object("via-proxy").data == b"proxied"
        assert len(proxy.seen) == before  # NO_PROXY: straight to the server
        direct.close()


def test_proxy_selection_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://plain.example.com:3128")
    monkeypatch.setenv("NO_PROXY", ".internal.example.com, 10.1.2.3,*.corp")
    assert _proxy_for("https", "s3.amazonaws.com") == "http://proxy.example.com:3128"
    assert _proxy_for("http", "s3.amazonaws.com:80") == "http://plain.example.com:3128"
    assert _proxy_for("https", "a.internal.example.com") is None
    assert _proxy_for("https", "internal.example.com") is None
    assert _proxy_for("https", "10.1.2.3:9000") is None
    assert _proxy_for("https", "build.corp") is None
    assert _proxy_for("http", "169.254.169.254") is None  # metadata is never proxied
    monkeypatch.setenv("NO_PROXY", "*")
    assert _proxy_for("https", "s3.amazonaws.com") is None
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("HTTPS_PROXY")
    assert _proxy_for("https", "s3.amazonaws.com") is None
