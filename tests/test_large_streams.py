"""Objects larger than memory stream up and down in bounded memory (measured in a child
process, so the test runner's own memory does not count)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from conftest import PEAK_RSS
from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS

CHILD = textwrap.dedent(
    """
    import hashlib, json, os, sys
    from s3lite import S3Session

    size = int(sys.argv[1])
    session = S3Session(os.environ["T_AK"], os.environ["T_SK"],
                        endpoint_url=os.environ["T_URL"], bucket=os.environ["T_BUCKET"])
    block = os.urandom(1 << 20)
    def source():
        for i in range(size >> 20):
            yield hashlib.sha256(block + i.to_bytes(4, "big")).digest() * 32768
    sent = hashlib.sha256()
    def counted():
        for chunk in source():
            sent.update(chunk)
            yield chunk
    session.put_object("big", counted(), content_length=size)
    got = hashlib.sha256()
    n = 0
    with session.get_object("big") as resp:
        for chunk in resp.iter_chunks():
            got.update(chunk)
            n += len(chunk)
    print(json.dumps({"sent": sent.hexdigest(), "got": got.hexdigest(), "n": n,
                      "peak_mib": peak_rss_mib()}))
    """
)


def test_200_mib_streamed_up_and_down_under_100_mib_rss(seaweed: LocalSeaweedFS, s3: S3Session):
    size = 200 * 1024 * 1024
    env = dict(
        os.environ,
        T_AK=seaweed.access_key, T_SK=seaweed.secret_key,
        T_URL=seaweed.endpoint_url, T_BUCKET=str(s3.bucket),
    )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", PEAK_RSS + CHILD, str(size)], env=env, capture_output=True,
        text=True, timeout=600, check=True,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] == size
    assert result["got"] == result["sent"]
    assert result["peak_mib"] < 100, result
    assert s3.head_object("big").content_length == size
