"""Many concurrent small requests: 1 KiB GETs and PUTs at 8, 32 and 128 in flight on one
local SeaweedFS, for s3lite's asyncio API, s3lite with threads, obstore (async), aiobotocore
and raw urllib3 with threads (presigned URLs: no signing at all), in one run.

Each client runs in its own process, rounds are interleaved (the order rotates every round),
and the tables give medians: requests per second, and the client's CPU per request (its
process's user + sys, every thread included).

    uv run python benchmarks/async_small.py                 # 3 rounds, 2000 requests per level
    uv run python benchmarks/async_small.py --rounds 5 --clients s3lite-async,obstore

aiobotocore pins an older botocore than the boto3 of the development environment, so it runs
in an environment of its own (`uv run --with aiobotocore==...`, see --aiobotocore); pass
--aiobotocore '' to leave its row out.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from interleaved import Results, cpu, median_table, run_rounds, small_objects

OBJECTS = 64
SIZE = 1024
AIOBOTOCORE = "aiobotocore==3.10.0"

#: name -> the row's label
CLIENTS = {
    "s3lite-async": "s3lite AsyncS3Session (signs)",
    "s3lite-threads": "s3lite S3Session, a thread per request in flight (signs)",
    "obstore": "obstore async (signs)",
    "aiobotocore": "aiobotocore (signs)",
    "urllib3-threads": "urllib3, a thread per request in flight (presigned: no signing)",
}

AsyncOp = Callable[[int], Awaitable[None]]
SyncOp = Callable[[int], None]


def _check(data: bytes) -> None:
    if len(data) != SIZE:
        raise RuntimeError(f"got {len(data)} bytes")


# --- async clients: (get, put, close) ----------------------------------------------------------


async def s3lite_async(c: int, setup: dict[str, Any]) -> tuple[AsyncOp, AsyncOp, Any]:
    from s3lite import AsyncS3Session

    session = AsyncS3Session(
        setup["access_key"], setup["secret_key"], endpoint_url=setup["endpoint"],
        bucket=setup["bucket"], max_pool_connections=c,
    )  # fmt: skip
    keys, put_keys, payload = setup["keys"], setup["put_keys"], setup["payload"]

    async def get(i: int) -> None:
        resp = await session.get_object(keys[i % len(keys)])
        _check(await resp.read())

    async def put(i: int) -> None:
        await session.put_object(put_keys[i % len(put_keys)], payload)

    return get, put, session.close


async def obstore_async(c: int, setup: dict[str, Any]) -> tuple[AsyncOp, AsyncOp, Any]:
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        setup["bucket"], endpoint=setup["endpoint"], access_key_id=setup["access_key"],
        secret_access_key=setup["secret_key"], region="us-east-1",
        virtual_hosted_style_request=False, client_options={"allow_http": True},
    )  # fmt: skip
    keys, put_keys, payload = setup["keys"], setup["put_keys"], setup["payload"]

    async def get(i: int) -> None:
        result = await obstore.get_async(store, keys[i % len(keys)])
        _check(bytes(await result.bytes_async()))

    async def put(i: int) -> None:
        await obstore.put_async(store, put_keys[i % len(put_keys)], payload)

    async def close() -> None:
        return None

    return get, put, close


async def aiobotocore_async(c: int, setup: dict[str, Any]) -> tuple[AsyncOp, AsyncOp, Any]:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    context = get_session().create_client(
        "s3", endpoint_url=setup["endpoint"], region_name="us-east-1",
        aws_access_key_id=setup["access_key"], aws_secret_access_key=setup["secret_key"],
        config=AioConfig(max_pool_connections=c, s3={"addressing_style": "path"}),
    )  # fmt: skip
    client = await context.__aenter__()
    bucket, keys, put_keys = setup["bucket"], setup["keys"], setup["put_keys"]
    payload = setup["payload"]

    async def get(i: int) -> None:
        resp = await client.get_object(Bucket=bucket, Key=keys[i % len(keys)])
        async with resp["Body"] as body:
            _check(await body.read())

    async def put(i: int) -> None:
        await client.put_object(Bucket=bucket, Key=put_keys[i % len(put_keys)], Body=payload)

    async def close() -> None:
        await context.__aexit__(None, None, None)

    return get, put, close


ASYNC_CLIENTS = {
    "s3lite-async": s3lite_async,
    "obstore": obstore_async,
    "aiobotocore": aiobotocore_async,
}


# --- thread clients ----------------------------------------------------------------------------


def s3lite_threads(c: int, setup: dict[str, Any]) -> tuple[SyncOp, SyncOp, Any]:
    from s3lite import S3Session

    session = S3Session(
        setup["access_key"], setup["secret_key"], endpoint_url=setup["endpoint"],
        bucket=setup["bucket"], max_pool_connections=c,
    )  # fmt: skip
    keys, put_keys, payload = setup["keys"], setup["put_keys"], setup["payload"]

    def get(i: int) -> None:
        _check(session.get_object(keys[i % len(keys)]).data)

    def put(i: int) -> None:
        session.put_object(put_keys[i % len(put_keys)], payload)

    return get, put, session.close


def urllib3_threads(c: int, setup: dict[str, Any]) -> tuple[SyncOp, SyncOp, Any]:
    import urllib3

    pm = urllib3.PoolManager(maxsize=c, block=True)
    urls, put_urls, payload = setup["urls"], setup["put_urls"], setup["payload"]

    def get(i: int) -> None:
        resp = pm.request("GET", urls[i % len(urls)], retries=False)
        if resp.status != 200:
            raise RuntimeError(f"GET status {resp.status}")
        _check(resp.data)

    def put(i: int) -> None:
        resp = pm.request("PUT", put_urls[i % len(put_urls)], body=payload, retries=False)
        if resp.status != 200:
            raise RuntimeError(f"PUT status {resp.status}")

    return get, put, pm.clear


THREAD_CLIENTS = {"s3lite-threads": s3lite_threads, "urllib3-threads": urllib3_threads}


# --- measuring (in the child) ------------------------------------------------------------------


async def measure_async(client: str, c: int, n: int, setup: dict[str, Any]) -> dict[str, float]:
    get, put, close = await ASYNC_CLIENTS[client](c, setup)
    out: dict[str, float] = {}
    try:
        for name, op in (("get", get), ("put", put)):

            async def burst(count: int, op: AsyncOp = op) -> None:
                next_i = 0

                async def worker() -> None:
                    nonlocal next_i
                    while next_i < count:
                        i = next_i
                        next_i += 1
                        await op(i)

                await asyncio.gather(*(worker() for _ in range(c)))

            await burst(max(200, 2 * c))  # warm: connections open, code paths hot
            cpu0, t0 = cpu(), time.perf_counter()
            await burst(n)
            wall, used = time.perf_counter() - t0, cpu() - cpu0
            out[f"{name}_rate"], out[f"{name}_cpu_us"] = n / wall, used / n * 1e6
    finally:
        await close()
    return out


def measure_threads(client: str, c: int, n: int, setup: dict[str, Any]) -> dict[str, float]:
    get, put, close = THREAD_CLIENTS[client](c, setup)
    out: dict[str, float] = {}
    lock = threading.Lock()
    failures: list[BaseException] = []
    try:
        for name, op in (("get", get), ("put", put)):

            def burst(count: int, op: SyncOp = op) -> None:
                next_i = 0

                def worker() -> None:
                    nonlocal next_i
                    while True:
                        with lock:
                            i = next_i
                            next_i += 1
                        if i >= count:
                            return
                        try:
                            op(i)
                        except BaseException as exc:
                            failures.append(exc)
                            return

                threads = [threading.Thread(target=worker) for _ in range(c)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                if failures:
                    raise failures[0]

            burst(max(200, 2 * c))
            cpu0, t0 = cpu(), time.perf_counter()
            burst(n)
            wall, used = time.perf_counter() - t0, cpu() - cpu0
            out[f"{name}_rate"], out[f"{name}_cpu_us"] = n / wall, used / n * 1e6
    finally:
        close()
    return out


def child(client: str, levels: list[int], n: int, setup_path: str) -> None:
    setup = json.loads(Path(setup_path).read_text())
    setup["payload"] = bytes(range(256)) * (SIZE // 256)
    out: dict[int, dict[str, float]] = {}
    for c in levels:
        if client in THREAD_CLIENTS:
            out[c] = measure_threads(client, c, n, setup)
        else:
            out[c] = asyncio.run(measure_async(client, c, n, setup))
    print(json.dumps(out))


# --- the parent --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per level (2000)")
    parser.add_argument("--levels", default="8,32,128", help="requests in flight (8,32,128)")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="clients to compare")
    parser.add_argument(
        "--aiobotocore", default=AIOBOTOCORE,
        help=f"requirement aiobotocore runs with when not installed here ({AIOBOTOCORE}); "
        "'' leaves it out",
    )  # fmt: skip
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    if args.child:
        child(args.child, levels, args.requests, args.setup)
        return
    clients = [c for c in args.clients.split(",") if c]
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown clients: {', '.join(sorted(unknown))}")
    launcher: dict[str, list[str]] = {}
    if "aiobotocore" in clients and importlib.util.find_spec("aiobotocore") is None:
        if args.aiobotocore and shutil.which("uv"):
            launcher["aiobotocore"] = ["uv", "run", "--with", args.aiobotocore, "python"]
        else:
            clients.remove("aiobotocore")
    workdir = tempfile.mkdtemp(prefix="s3lite-async-small-")
    try:
        with small_objects(workdir, OBJECTS, SIZE) as setup:
            results = run_rounds(
                __file__, clients, levels, args.rounds, setup,
                ["--requests", str(args.requests)], launcher,
            )  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_tables(args, clients, levels, results)


def print_tables(
    args: argparse.Namespace, clients: list[str], levels: list[int], results: Results
) -> None:
    labels = {c: CLIENTS[c] for c in clients}
    for op, verb in (("get", "GET"), ("put", "PUT")):
        title = (
            f"{args.requests} concurrent 1 KiB {verb}s per level, "
            f"medians of {args.rounds} interleaved rounds"
        )
        columns = [(f"{op}_rate", f"{{level}}: {verb}/s"), (f"{op}_cpu_us", "{level}: CPU µs")]
        print(median_table(title, labels, levels, results, columns))
    ratios = []
    for level in levels:
        mine = results.get("s3lite-async", {}).get(level, {}).get("get_rate")
        theirs = results.get("obstore", {}).get(level, {}).get("get_rate")
        if mine and theirs:
            ratio = statistics.median(mine) / statistics.median(theirs)
            ratios.append(f"{level}: {ratio:.2f}×")
    if ratios:
        print(f"\ns3lite async GET/s ÷ obstore GET/s: {', '.join(ratios)}")


if __name__ == "__main__":
    main()
