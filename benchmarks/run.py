"""s3lite beside boto3, minio-py, obstore, s3func and raw urllib3, in one run on one local
SeaweedFS. Figures are medians of several interleaved rounds; ratios are what to read.

    uv run python benchmarks/run.py                     # everything
    uv run python benchmarks/run.py --sections small    # import, cold, small, hot, large
    uv run python benchmarks/run.py --sections hot,large --baseline-src ../other/src

`hot` (benchmarks/hotpath.py) runs each client row in its own process: 1 KiB GET/PUT on one
thread and GETs on 32 threads against the raw-urllib3 floor, import and cold start;
`--baseline-src` adds s3lite rows run from another checkout's src (before/after, one run).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS
from table import Table

BUCKET = "bench"
SMALL = os.urandom(1024)


# --- clients ---------------------------------------------------------------------------------


@dataclass
class Client:
    """One library, set up to GET and PUT small objects against the server."""

    name: str
    get: Callable[[str], bytes]
    put: Callable[[str, bytes], Any]


def make_clients(server: LocalSeaweedFS) -> list[Client]:
    ak, sk, url = server.access_key, server.secret_key, server.endpoint_url
    clients: list[Client] = []

    # raw urllib3 sending presigned requests: the floor (no signing at all per request)
    import urllib3

    signer = S3Session(ak, sk, endpoint_url=url, bucket=BUCKET)
    pm = urllib3.PoolManager(maxsize=10)
    get_urls = {f"small-{i}": signer.presign("GET", f"small-{i}", 3600) for i in range(64)}
    put_urls = {f"put-{i}": signer.presign("PUT", f"put-{i}", 3600) for i in range(64)}

    def raw_get(key: str) -> bytes:
        return pm.request("GET", get_urls[key]).data  # type: ignore[no-any-return]

    def raw_put(key: str, data: bytes) -> Any:
        return pm.request("PUT", put_urls[key], body=data)

    clients.append(Client("urllib3 (presigned)", raw_get, raw_put))

    s3 = S3Session(ak, sk, endpoint_url=url, bucket=BUCKET)
    clients.append(Client("s3lite", lambda k: s3.get_object(k, stream=False).data, s3.put_object))

    import boto3

    b3 = boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=ak, aws_secret_access_key=sk,
        region_name="us-east-1",
    )  # fmt: skip
    clients.append(
        Client(
            "boto3",
            lambda k: b3.get_object(Bucket=BUCKET, Key=k)["Body"].read(),
            lambda k, d: b3.put_object(Bucket=BUCKET, Key=k, Body=d),
        )
    )

    from minio import Minio

    mc = Minio(url.split("//", 1)[1], ak, sk, secure=False, region="us-east-1")

    def minio_get(key: str) -> bytes:
        resp = mc.get_object(BUCKET, key)
        try:
            return resp.read()  # type: ignore[no-any-return]
        finally:
            resp.close()
            resp.release_conn()

    clients.append(
        Client("minio-py", minio_get, lambda k, d: mc.put_object(BUCKET, k, io.BytesIO(d), len(d)))
    )

    import obstore
    from obstore.store import S3Store

    store = S3Store(
        BUCKET, endpoint=url, access_key_id=ak, secret_access_key=sk, region="us-east-1",
        virtual_hosted_style_request=False, client_options={"allow_http": True},
    )  # fmt: skip
    clients.append(
        Client(
            "obstore",
            lambda k: bytes(obstore.get(store, k).bytes()),
            lambda k, d: obstore.put(store, k, d),
        )
    )

    import s3func

    sf = s3func.S3Session(
        access_key_id=ak, access_key=sk, bucket=BUCKET, endpoint_url=url, stream=False
    )
    clients.append(Client("s3func", lambda k: sf.get_object(k).data, sf.put_object))
    return clients


# --- measurements ------------------------------------------------------------------------------


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The children's environment: bytecode caching on, as on a normal install."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra or {})
    return env


def _python(code: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env=env or _env(),
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


IMPORTS = {
    "urllib3": "import urllib3",
    "s3lite (import s3lite)": "import s3lite",
    "s3lite (from s3lite import S3Session)": "from s3lite import S3Session",
    "s3lite (S3Session ready to send, urllib3 included)": (
        "from s3lite import S3Session; "
        "S3Session('AKID', 'secret', endpoint_url='http://127.0.0.1:9').transport.pool_manager"
    ),
    "s3lite (from s3lite import AsyncS3Session, httptools included)": (
        "from s3lite import AsyncS3Session"
    ),
    "boto3": "import boto3",
    "minio-py": "import minio",
    "obstore": "import obstore",
    "s3func": "import s3func",
}


def _have_async() -> bool:
    """Whether the asyncio API (the async extra and AsyncS3Session) is here."""
    import importlib.util

    try:
        return importlib.util.find_spec("s3lite.aio.s3") is not None and (
            importlib.util.find_spec("httptools") is not None
        )
    except ImportError:
        return False


def bench_import(runs: int) -> Table:
    _python("import urllib3, s3lite.s3, boto3, minio, obstore, s3func; print('warm')")  # caches
    samples: dict[str, list[float]] = {name: [] for name in IMPORTS}
    for _ in range(runs):
        for name, stmt in IMPORTS.items():
            code = f"import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
            samples[name].append(float(_python(code)))
    base = statistics.median(samples["urllib3"])
    table = Table("Import time (fresh process, median)", ["import", "ms", "× urllib3"])
    for name, values in samples.items():
        med = statistics.median(values)
        table.rows.append([name, f"{med * 1000:.1f}", f"{med / base:.2f}"])
    return table


COLD = {
    "s3lite": (
        "from s3lite import S3Session\n"
        "s = S3Session(AK, SK, endpoint_url=URL, bucket='bench')\n"
        "s.get_object('small-0', stream=False).data"
    ),
    "s3lite async": (
        "import asyncio\nfrom s3lite import AsyncS3Session\n"
        "async def first_byte():\n"
        "    async with AsyncS3Session(AK, SK, endpoint_url=URL, bucket='bench') as s:\n"
        "        await (await s.get_object('small-0')).read()\n"
        "asyncio.run(first_byte())"
    ),
    "boto3": (
        "import boto3\n"
        "c = boto3.client('s3', endpoint_url=URL, aws_access_key_id=AK,"
        " aws_secret_access_key=SK, region_name='us-east-1')\n"
        "c.get_object(Bucket='bench', Key='small-0')['Body'].read()"
    ),
    "minio-py": (
        "from minio import Minio\n"
        "m = Minio(URL.split('//')[1], AK, SK, secure=False, region='us-east-1')\n"
        "r = m.get_object('bench', 'small-0'); r.read(); r.close()"
    ),
    "obstore": (
        "import obstore\nfrom obstore.store import S3Store\n"
        "st = S3Store('bench', endpoint=URL, access_key_id=AK, secret_access_key=SK,"
        " region='us-east-1', virtual_hosted_style_request=False,"
        " client_options={'allow_http': True})\n"
        "obstore.get(st, 'small-0').bytes()"
    ),
    "s3func": (
        "import s3func\n"
        "s = s3func.S3Session(access_key_id=AK, access_key=SK, bucket='bench', endpoint_url=URL,"
        " stream=False)\n"
        "s.get_object('small-0').data"
    ),
}

if not _have_async():  # its rows need the asyncio API
    del IMPORTS["s3lite (from s3lite import AsyncS3Session, httptools included)"]
    del COLD["s3lite async"]


def bench_cold(server: LocalSeaweedFS, runs: int) -> Table:
    env = _env({"B_AK": server.access_key, "B_SK": server.secret_key, "B_URL": server.endpoint_url})
    samples: dict[str, list[float]] = {name: [] for name in COLD}
    for _ in range(runs):
        for name, body in COLD.items():
            code = (
                "import time; t0 = time.perf_counter()\nimport os\n"
                "AK, SK, URL = os.environ['B_AK'], os.environ['B_SK'], os.environ['B_URL']\n"
                f"{body}\nprint(time.perf_counter() - t0)"
            )
            samples[name].append(float(_python(code, env)))
    base = statistics.median(samples["boto3"])
    table = Table(
        "Cold start to first byte (new process: import, client, one GET; median)",
        ["client", "ms", "× boto3"],
    )
    for name, values in samples.items():
        med = statistics.median(values)
        table.rows.append([name, f"{med * 1000:.1f}", f"{med / base:.2f}"])
    return table


def bench_small(clients: list[Client], rounds: int, ops: int) -> Table:
    keys = [f"small-{i}" for i in range(64)]
    puts = [f"put-{i}" for i in range(64)]
    rates: dict[str, dict[str, list[float]]] = {c.name: {"get": [], "put": []} for c in clients}
    cpu: dict[str, list[float]] = {c.name: [] for c in clients}
    for client in clients:  # warm up connections and caches
        for i in range(20):
            client.put(puts[i % 64], SMALL)
            client.get(keys[i % 64])
    for _ in range(rounds):
        for client in clients:
            t, c = time.perf_counter(), time.process_time()
            for i in range(ops):
                client.get(keys[i % 64])
            rates[client.name]["get"].append(ops / (time.perf_counter() - t))
            get_cpu = time.process_time() - c
            t, c = time.perf_counter(), time.process_time()
            for i in range(ops):
                client.put(puts[i % 64], SMALL)
            rates[client.name]["put"].append(ops / (time.perf_counter() - t))
            cpu[client.name].append((get_cpu + time.process_time() - c) / (2 * ops))
    floor = rates["urllib3 (presigned)"]
    floor_get, floor_put = statistics.median(floor["get"]), statistics.median(floor["put"])
    boto_cpu = statistics.median(cpu["boto3"])
    table = Table(
        f"Small objects (1 KiB), one thread, {ops} ops × {rounds} rounds (median)",
        ["client", "GET/s", "× floor", "PUT/s", "× floor", "CPU µs/req", "CPU × boto3"],
    )
    for client in clients:
        g = statistics.median(rates[client.name]["get"])
        p = statistics.median(rates[client.name]["put"])
        u = statistics.median(cpu[client.name])
        table.rows.append(
            [client.name, f"{g:,.0f}", f"{g / floor_get:.2f}", f"{p:,.0f}",
             f"{p / floor_put:.2f}", f"{u * 1e6:,.0f}", f"{u / boto_cpu:.2f}"]
        )  # fmt: skip
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument("--ops", type=int, default=300, help="small requests per round (300)")
    parser.add_argument("--sections", default="import,cold,small,hot,large")
    parser.add_argument("--large-mib", type=int, default=1024, help="large object size (1024)")
    parser.add_argument("--json", help="also write the tables to this JSON file")
    parser.add_argument("--baseline-src", help="another checkout's src: its s3lite rows too")
    parser.add_argument("--threads-ops", type=int, default=2000, help="32-thread GETs (2000)")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    tables: list[Table] = []
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)
    if "import" in sections:
        tables.append(bench_import(max(args.rounds * 3, 9)))
        print(tables[-1].render(), flush=True)
    with LocalSeaweedFS() as server:
        setup = S3Session(
            server.access_key, server.secret_key, endpoint_url=server.endpoint_url, bucket=BUCKET
        )
        setup.create_bucket()
        for i in range(64):
            setup.put_object(f"small-{i}", SMALL)
        if "cold" in sections:
            tables.append(bench_cold(server, max(args.rounds * 2, 7)))
            print(tables[-1].render(), flush=True)
        if "small" in sections:
            tables.append(bench_small(make_clients(server), args.rounds, args.ops))
            print(tables[-1].render(), flush=True)
        baseline = str(Path(args.baseline_src).absolute()) if args.baseline_src else None
        if "hot" in sections:
            import hotpath

            tables.append(hotpath.bench_start(server, max(args.rounds, 5), baseline))
            print(tables[-1].render(), flush=True)
            tables.append(
                hotpath.bench_requests(server, args.rounds, args.ops, args.threads_ops, baseline)
            )
            print(tables[-1].render(), flush=True)
        if "large" in sections:
            import large

            for table in large.bench_large(server, args.large_mib, args.rounds, baseline):
                tables.append(table)
                print(table.render(), flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps([{"title": t.title, "columns": t.columns, "rows": t.rows} for t in tables])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
