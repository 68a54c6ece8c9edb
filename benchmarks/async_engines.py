"""Which HTTP engine for the asyncio API: many concurrent 1 KiB GETs of presigned URLs (no
signing cost) on one local SeaweedFS, at 8, 32 and 128 in flight.

Each engine runs in its own process, rounds are interleaved (the engine order rotates every
round), and the table gives medians: GET/s, and the client's CPU (its process's user + sys,
every thread included) per GET. obstore (async, signing itself) and raw urllib3 with threads
are reference rows.

    uv run python benchmarks/async_engines.py                 # 3 rounds, 2000 GETs per level
    uv run python benchmarks/async_engines.py --rounds 5 --requests 3000 --engines aiohttp,httpcore
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from interleaved import BUCKET, Results, median_table, run_rounds, small_objects
from interleaved import cpu as process_cpu

OBJECTS = 64
SIZE = 1024

#: name -> what it is, as the table shows it
ENGINES = {
    "aiohttp": "aiohttp (C parser)",
    "httpcore": "httpcore / h11 (httpx's engine)",
    "streams+httptools": "asyncio streams + httptools",
    "protocol+httptools": "asyncio Protocol + httptools",
    "s3lite-async": "s3lite AsyncTransport (signs each GET)",
    "obstore": "obstore async (reference, signs)",
    "urllib3-threads": "urllib3, one thread per in-flight (reference)",
}


# --- the engines' clients (run in the child) ---------------------------------------------------

Get = Callable[[str], Awaitable[bytes]]


async def aiohttp_client(concurrency: int, setup: dict[str, Any]) -> tuple[Get, Any]:
    import aiohttp
    import yarl

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
    urls = {u: yarl.URL(u, encoded=True) for u in setup["urls"]}

    async def get(url: str) -> bytes:
        async with session.get(urls[url], allow_redirects=False) as resp:
            if resp.status != 200:
                raise RuntimeError(f"status {resp.status}")
            return await resp.read()

    return get, session.close


async def httpcore_client(concurrency: int, setup: dict[str, Any]) -> tuple[Get, Any]:
    import httpcore

    pool = httpcore.AsyncConnectionPool(
        max_connections=concurrency, max_keepalive_connections=concurrency
    )

    async def get(url: str) -> bytes:
        resp = await pool.request("GET", url)
        if resp.status != 200:
            raise RuntimeError(f"status {resp.status}")
        return resp.content

    return get, pool.aclose


class _Parsed:
    """The httptools callbacks' state for one response."""

    __slots__ = ("body", "done", "keep_alive", "parser")

    def __init__(self) -> None:
        import httptools

        self.body: list[bytes] = []
        self.done = False
        self.keep_alive = False
        self.parser = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        # The parser resets once the message is complete: ask it now.
        self.keep_alive = self.parser.should_keep_alive()
        self.done = True


async def streams_client(concurrency: int, setup: dict[str, Any]) -> tuple[Get, Any]:

    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    heads = {u: _request_head(u) for u in setup["urls"]}
    parts = urlsplit(setup["urls"][0])
    host, port = parts.hostname, parts.port or 80
    slots = asyncio.Semaphore(concurrency)

    async def get(url: str) -> bytes:
        async with slots:
            conn = idle.pop() if idle else await asyncio.open_connection(host, port)
            reader, writer = conn
            writer.write(heads[url])
            state = _Parsed()
            parser = state.parser
            while not state.done:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("closed")
                parser.feed_data(data)
            if parser.get_status_code() != 200:
                raise RuntimeError(f"status {parser.get_status_code()}")
            if state.keep_alive:
                idle.append(conn)
            else:
                writer.close()
            return b"".join(state.body)

    async def close() -> None:
        for _, writer in idle:
            writer.close()
            await writer.wait_closed()

    return get, close


class _Proto(asyncio.Protocol):
    """One keep-alive connection: httptools parses what arrives, a future per response."""

    def __init__(self) -> None:
        import httptools

        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[bytes] | None = None
        self.body: list[bytes] = []
        self.parser = httptools.HttpResponseParser(self)
        self.lost = False
        self.keep_alive = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        # The parser resets once the message is complete: ask it now.
        self.keep_alive = self.parser.should_keep_alive()
        waiter, self.waiter = self.waiter, None
        body, self.body = b"".join(self.body), []
        if waiter is not None and not waiter.done():
            waiter.set_result(body)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("closed"))


async def protocol_client(concurrency: int, setup: dict[str, Any]) -> tuple[Get, Any]:
    import httptools

    loop = asyncio.get_running_loop()
    idle: list[_Proto] = []
    heads = {u: _request_head(u) for u in setup["urls"]}
    parts = urlsplit(setup["urls"][0])
    host, port = parts.hostname, parts.port or 80
    slots = asyncio.Semaphore(concurrency)
    made: list[_Proto] = []

    async def get(url: str) -> bytes:
        async with slots:
            if idle:
                proto = idle.pop()
            else:
                _, proto = await loop.create_connection(_Proto, host, port)
                made.append(proto)
            proto.parser = httptools.HttpResponseParser(proto)
            proto.waiter = loop.create_future()
            assert proto.transport is not None
            proto.transport.write(heads[url])
            body = await proto.waiter
            if proto.parser.get_status_code() != 200:
                raise RuntimeError(f"status {proto.parser.get_status_code()}")
            if proto.keep_alive and not proto.lost:
                idle.append(proto)
            return body

    async def close() -> None:
        for proto in made:
            if proto.transport is not None:
                proto.transport.close()
        await asyncio.sleep(0)

    return get, close


async def obstore_client(concurrency: int, setup: dict[str, Any]) -> tuple[Get, Any]:
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        BUCKET, endpoint=setup["endpoint"], access_key_id=setup["access_key"],
        secret_access_key=setup["secret_key"], region="us-east-1",
        virtual_hosted_style_request=False, client_options={"allow_http": True},
    )  # fmt: skip
    keys = {u: k for u, k in zip(setup["urls"], setup["keys"], strict=True)}

    async def get(url: str) -> bytes:
        result = await obstore.get_async(store, keys[url])
        return bytes(await result.bytes_async())

    async def close() -> None:
        return None

    return get, close


def _request_head(url: str) -> bytes:
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    return (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: bench\r\n"
        "Accept-Encoding: identity\r\n\r\n"
    ).encode("ascii")


async def s3lite_client(concurrency: int, setup: dict[str, Any]) -> tuple[Get, Any]:
    from s3lite.aio.transport import AsyncTransport
    from s3lite.credentials import Credentials, StaticCredentials
    from s3lite.signing import EMPTY_SHA256, SigV4Auth
    from s3lite.transport import Request

    transport = AsyncTransport(max_pool_connections=concurrency)
    auth = SigV4Auth(
        StaticCredentials(Credentials(setup["access_key"], setup["secret_key"])), "us-east-1"
    )
    host = urlsplit(setup["endpoint"]).netloc
    paths = {u: f"/{BUCKET}/{k}" for u, k in zip(setup["urls"], setup["keys"], strict=True)}

    async def get(url: str) -> bytes:
        request = Request("GET", "http", host, paths[url], payload_hash=EMPTY_SHA256)
        return (await transport.send(request, auth)).data

    return get, transport.aclose


CLIENTS = {
    "aiohttp": aiohttp_client,
    "httpcore": httpcore_client,
    "streams+httptools": streams_client,
    "protocol+httptools": protocol_client,
    "s3lite-async": s3lite_client,
    "obstore": obstore_client,
}


async def run_async(
    engine: str, concurrency: int, n: int, setup: dict[str, Any]
) -> dict[str, float]:
    get, close = await CLIENTS[engine](concurrency, setup)
    urls = setup["urls"]
    try:

        async def burst(count: int) -> None:
            next_i = 0

            async def worker() -> None:
                nonlocal next_i
                while next_i < count:
                    i = next_i
                    next_i += 1
                    body = await get(urls[i % len(urls)])
                    if len(body) != SIZE:
                        raise RuntimeError(f"got {len(body)} bytes")

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        await burst(max(200, 2 * concurrency))  # warm: connections open, code paths hot
        cpu0, t0 = process_cpu(), time.perf_counter()
        await burst(n)
        wall, cpu = time.perf_counter() - t0, process_cpu() - cpu0
    finally:
        await close()
    return {"rate": n / wall, "cpu_us": cpu / n * 1e6}


def run_threads(concurrency: int, n: int, setup: dict[str, Any]) -> dict[str, float]:
    import threading

    import urllib3

    pm = urllib3.PoolManager(maxsize=concurrency, block=True)
    urls = setup["urls"]
    lock = threading.Lock()

    def burst(count: int) -> None:
        next_i = 0

        def worker() -> None:
            nonlocal next_i
            while True:
                with lock:
                    i = next_i
                    next_i += 1
                if i >= count:
                    return
                data = pm.request("GET", urls[i % len(urls)], retries=False).data
                if len(data) != SIZE:
                    raise RuntimeError(f"got {len(data)} bytes")

        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    burst(max(200, 2 * concurrency))
    cpu0, t0 = process_cpu(), time.perf_counter()
    burst(n)
    wall, cpu = time.perf_counter() - t0, process_cpu() - cpu0
    pm.clear()
    return {"rate": n / wall, "cpu_us": cpu / n * 1e6}


def child(engine: str, levels: list[int], n: int, setup_path: str) -> None:
    setup = json.loads(Path(setup_path).read_text())
    out: dict[int, dict[str, float]] = {}
    for c in levels:
        if engine == "urllib3-threads":
            out[c] = run_threads(c, n, setup)
        else:
            out[c] = asyncio.run(run_async(engine, c, n, setup))
    print(json.dumps(out))


# --- the parent: server, rounds, table -----------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--requests", type=int, default=2000, help="GETs per level (2000)")
    parser.add_argument("--levels", default="8,32,128", help="requests in flight (8,32,128)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="engines to compare")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    if args.child:
        child(args.child, levels, args.requests, args.setup)
        return
    engines = [e for e in args.engines.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines: {', '.join(sorted(unknown))}")
    workdir = tempfile.mkdtemp(prefix="s3lite-async-bench-")
    try:
        results = _measure(args, engines, levels, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _table(args, engines, levels, results)


def _measure(
    args: argparse.Namespace, engines: list[str], levels: list[int], workdir: str
) -> Results:
    with small_objects(workdir, OBJECTS, SIZE) as setup:
        return run_rounds(
            __file__, engines, levels, args.rounds, setup, ["--requests", str(args.requests)]
        )


def _table(
    args: argparse.Namespace, engines: list[str], levels: list[int], results: Results
) -> None:
    title = (
        f"{args.requests} concurrent 1 KiB GETs of presigned URLs per level, "
        f"medians of {args.rounds} interleaved rounds"
    )
    labels = {e: ENGINES[e] for e in engines}
    columns = [("rate", "{level}: GET/s"), ("cpu_us", "{level}: CPU µs/GET")]
    print(median_table(title, labels, levels, results, columns))


if __name__ == "__main__":
    main()
