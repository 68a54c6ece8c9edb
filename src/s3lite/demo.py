"""`s3lite demo`: s3lite against a throwaway local SeaweedFS, with timings."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from typing import TextIO

__all__ = ["run_demo"]


def _mib_s(nbytes: int, seconds: float) -> str:
    return f"{nbytes / (1 << 20) / seconds:,.0f} MiB/s" if seconds > 0 else "-"


def run_demo(*, objects: int = 200, size_mib: int = 64, out: TextIO) -> int:
    """Run the demo; returns the process exit code."""
    from .devserver import LocalSeaweedFS, find_weed
    from .s3 import S3Session

    if objects < 1 or size_mib < 1:
        print("demo: --objects and --size-mib must be at least 1", file=out)
        return 2
    try:
        find_weed()
    except FileNotFoundError as exc:
        print(f"demo: {exc}", file=out)
        return 2

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    started = time.perf_counter()
    server = LocalSeaweedFS()
    say(f"Starting SeaweedFS on 127.0.0.1:{server.s3_port} (data in {server.data_dir}) ...")
    with server:
        say(f"  ready in {time.perf_counter() - started:.1f} s")
        session = S3Session(
            server.access_key, server.secret_key, endpoint_url=server.endpoint_url, bucket="demo"
        )
        session.create_bucket()
        say("Created bucket 'demo'.")

        t = time.perf_counter()
        for i in range(objects):
            session.put_object(f"small/{i:05d}.txt", f"object {i}\n".encode())
        put_s = time.perf_counter() - t
        say(f"PUT {objects} small objects one by one: {objects / put_s:,.0f} PUT/s")

        t = time.perf_counter()
        for i in range(objects):
            session.get_object(f"small/{i:05d}.txt", stream=False)
        get_s = time.perf_counter() - t
        say(f"GET {objects} small objects one by one: {objects / get_s:,.0f} GET/s")

        size = size_mib << 20
        block = os.urandom(1 << 20)
        sent = hashlib.sha256()

        def generate() -> Iterator[bytes]:
            for i in range(size_mib):
                chunk = block[i:] + block[:i]
                sent.update(chunk)
                yield chunk

        t = time.perf_counter()
        session.put_object("large/stream.bin", generate(), content_length=size)
        up_s = time.perf_counter() - t
        say(
            f"Streamed a {size_mib} MiB object up from a generator (signed chunk by chunk, "
            f"never whole in memory): {_mib_s(size, up_s)}"
        )

        t = time.perf_counter()
        listed = list(session.list_objects().iter_objects())
        prefixes = list(session.list_objects(delimiter="/").iter_prefixes())
        say(
            f"Listed {len(listed)} objects in {time.perf_counter() - t:.3f} s; "
            f"top-level prefixes: {', '.join(prefixes)}"
        )

        t = time.perf_counter()
        got = hashlib.sha256()
        with session.get_object("large/stream.bin") as resp:
            for chunk in resp.iter_chunks():
                got.update(chunk)
        down_s = time.perf_counter() - t
        same = got.hexdigest() == sent.hexdigest()
        say(
            f"Streamed it back down: {_mib_s(size, down_s)}; SHA-256 "
            f"{'matches' if same else 'DIFFERS'} ({got.hexdigest()[:16]}...)"
        )

        import urllib3

        url = session.presign("GET", "small/00000.txt", expires_in=60)
        body = urllib3.request("GET", url).data
        say(f"Fetched a presigned URL without credentials: {body!r}")

        t = time.perf_counter()
        result = session.delete_objects(prefix="")
        session.delete_bucket()
        say(
            f"Deleted {len(result.deleted)} objects in batches and the bucket in "
            f"{time.perf_counter() - t:.2f} s."
        )
        session.close()
    say(f"Stopped SeaweedFS and removed its data. Total {time.perf_counter() - started:.1f} s.")
    return 0 if same else 1
