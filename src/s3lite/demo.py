"""`s3lite demo` (s3lite against a throwaway local SeaweedFS, with timings) and `s3lite server`
(the same server, kept running for you to try s3lite or any S3 client against)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from typing import TextIO

__all__ = ["run_demo", "run_server"]


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


def run_server(
    *,
    port: int | None = None,
    data_dir: str | None = None,
    buckets: Sequence[str] = (),
    out: TextIO,
) -> int:
    """Run a local SeaweedFS until Ctrl-C, SIGTERM or SIGHUP, printing how to reach it; then
    stop it and clean up (its processes, sockets, and its data unless `data_dir` was given).
    Returns the process exit code."""
    import signal
    import threading

    from .devserver import LocalSeaweedFS, find_weed
    from .errors import BucketAlreadyExists, BucketAlreadyOwnedByYou
    from .s3 import S3Session, validate_bucket

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    try:
        find_weed()
        for bucket in buckets:
            validate_bucket(bucket)
        server = LocalSeaweedFS(data_dir=data_dir, s3_port=port)
    except (FileNotFoundError, ValueError) as exc:
        say(f"server: {exc}")
        return 2

    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    handled = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {sig: signal.signal(sig, on_signal) for sig in handled}
    kept = f"kept in {server.data_dir}" if data_dir is not None else "removed"
    try:
        say(f"Starting SeaweedFS on 127.0.0.1:{server.s3_port} (data in {server.data_dir}) ...")
        try:
            server.start()  # cleans up after itself if it fails
        except (RuntimeError, TimeoutError, OSError) as exc:
            say(f"server: SeaweedFS did not start: {exc}")
            return 1
        try:
            if buckets:
                session = S3Session(
                    server.access_key, server.secret_key, endpoint_url=server.endpoint_url
                )
                try:
                    for bucket in buckets:
                        # A bucket may be there already: kept in --dir from a former run.
                        with contextlib.suppress(BucketAlreadyOwnedByYou, BucketAlreadyExists):
                            session.create_bucket(bucket)
                finally:
                    session.close()
            say(f"S3 endpoint: {server.endpoint_url}")
            if buckets:
                say(f"Buckets: {', '.join(buckets)}")
            say("Keys are random for each run. In another shell:")
            say()
            say(f"export AWS_ACCESS_KEY_ID={server.access_key}")
            say(f"export AWS_SECRET_ACCESS_KEY={server.secret_key}")
            say(f"export AWS_ENDPOINT_URL={server.endpoint_url}")
            say("export AWS_DEFAULT_REGION=us-east-1")
            say()
            when = "kept" if data_dir is not None else "removed when it stops"
            say(f"Running until Ctrl-C (data {when}).")
            while not stop.wait(0.5):
                process = server.process
                if process is not None and process.poll() is not None:
                    say(f"SeaweedFS exited by itself with {process.returncode}")
                    return 1
        finally:
            server.stop()
        name = signal.Signals(received[0]).name if received else "stop"
        say(f"{name}: stopped SeaweedFS, data {kept}.")
        return 0
    except KeyboardInterrupt:
        say(f"Interrupted: stopped SeaweedFS, data {kept}.")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
