"""A cold start loads only what it needs: opening a session and a first GET, PUT or HEAD
import no module of listings, multipart uploads, bucket configuration, batch deletes, file
transfers or XML parsing; those are imported by the call that first needs them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS

#: Modules a session loads only for the calls that need them.
ON_FIRST_USE = {
    "s3lite.checksums",
    "s3lite.deletes",
    "s3lite.listing",
    "s3lite.multipart",
    "s3lite.parts",
    "s3lite.progress",
    "s3lite.s3_bucket_requests",
    "s3lite.s3_delete_requests",
    "s3lite.s3_listing_requests",
    "s3lite.s3_multipart_requests",
    "s3lite.s3xml",
    "s3lite.transfer_engine",
}


def _s3lite_modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in sys.modules if m.startswith('s3lite')))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    ).stdout
    return set(out.split())


def test_opening_sessions_loads_no_call_specific_module() -> None:
    s3 = _s3lite_modules_after(
        "from s3lite import S3Session\n"
        "S3Session('a', 'b', endpoint_url='http://127.0.0.1:9', bucket='cold-start')"
    )
    assert "s3lite.s3" in s3
    assert not s3 & ON_FIRST_USE, sorted(s3 & ON_FIRST_USE)
    b2 = _s3lite_modules_after(
        "from s3lite import B2Session\nB2Session('a', 'b', bucket='cold-start')"
    )
    assert "s3lite.b2" in b2
    assert not b2 & ON_FIRST_USE, sorted(b2 & ON_FIRST_USE)


def test_put_get_head_load_no_call_specific_module(seaweed: LocalSeaweedFS) -> None:
    bucket = f"cold-{os.urandom(6).hex()}"
    setup = S3Session(seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url)
    setup.create_bucket(bucket)
    try:
        loaded = _s3lite_modules_after(
            "import os\n"
            "from s3lite import S3Session\n"
            "s = S3Session(os.environ['AK'], os.environ['SK'], endpoint_url=os.environ['URL'],"
            " bucket=os.environ['BUCKET'])\n"
            "s.put_object('k', b'cold')\n"
            "assert s.head_object('k').content_length == 4\n"
            "assert s.get_object('k', stream=False).data == b'cold'\n"
            "with s.get_object('k') as r:\n"
            "    assert r.read() == b'cold'\n",
            {
                "AK": seaweed.access_key,
                "SK": seaweed.secret_key,
                "URL": seaweed.endpoint_url,
                "BUCKET": bucket,
            },
        )
        assert not loaded & ON_FIRST_USE, sorted(loaded & ON_FIRST_USE)
    finally:
        setup.delete_objects(prefix="", bucket=bucket, purge=True)
        setup.delete_bucket(bucket)


@pytest.mark.parametrize(
    ("call", "module"),
    [
        ("s.list_objects()", "s3lite.listing"),
        ("s.delete_objects(['k'])", "s3lite.s3_delete_requests"),
        ("s.download_file('k', 'never-written')", "s3lite.transfer_engine"),
        ("s.list_multipart_uploads()", "s3lite.s3_listing_requests"),
    ],
)
def test_modules_load_with_the_call_that_needs_them(call: str, module: str) -> None:
    """A call imports its modules itself (on a closed port: the request fails, the imports
    it made before sending stay)."""
    loaded = _s3lite_modules_after(
        "from s3lite import S3Session\n"
        "s = S3Session('a', 'b', endpoint_url='http://127.0.0.1:9', bucket='cold-start',"
        " max_attempts=1, connect_timeout=0.2)\n"
        f"try:\n    {call}\nexcept Exception:\n    pass\n"
    )
    assert module in loaded
