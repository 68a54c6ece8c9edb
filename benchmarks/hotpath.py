"""The hot path beside its floor, each client row in its own process, before/after in one run.

1 KiB GET and PUT on one thread (ops/s and client CPU µs per request), 1 KiB GETs from 32
threads on one session (or one PoolManager), `import s3lite` and cold start to first byte.
The floor is raw urllib3 on presigned URLs. With `--baseline-src DIR`, the s3lite rows are
also run from another checkout's `src` (put first on the child's path): one run, one table.

    uv run python benchmarks/hotpath.py --rounds 5 --baseline-src ../baseline/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

BUCKET = "bench"
KEYS = 64

# Each child gets AK, SK, URL, MODE ('one' or 'threads'), OPS; prints one JSON line.
CHILD_SETUP = {
    "urllib3 (presigned)": (
        "import urllib3\n"
        "from s3lite import S3Session\n"
        "signer = S3Session(AK, SK, endpoint_url=URL, bucket=BUCKET)\n"
        "pm = urllib3.PoolManager(maxsize=THREADS)\n"
        "gets = [signer.presign('GET', f'small-{i}', 3600) for i in range(64)]\n"
        "puts = [signer.presign('PUT', f'put-{i}', 3600) for i in range(64)]\n"
        "def get(i): return pm.request('GET', gets[i % 64]).data\n"
        "def put(i): return pm.request('PUT', puts[i % 64], body=DATA)\n"
    ),
    "s3lite": (
        "from s3lite import S3Session\n"
        "s = S3Session(AK, SK, endpoint_url=URL, bucket=BUCKET, max_pool_connections=THREADS)\n"
        "def get(i): return s.get_object(f'small-{i % 64}', stream=False).data\n"
        "def put(i): return s.put_object(f'put-{i % 64}', DATA)\n"
    ),
}

CHILD = """
import json, os, resource, sys, time
AK, SK, URL = os.environ['B_AK'], os.environ['B_SK'], os.environ['B_URL']
MODE, OPS, THREADS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
BUCKET, DATA = 'bench', os.urandom(1024)
{setup}
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
for i in range(30):
    put(i); get(i)
out = {{}}
if MODE == 'one':
    for name, fn in (('get', get), ('put', put)):
        t, c = time.perf_counter(), cpu()
        for i in range(OPS):
            fn(i)
        out[name] = OPS / (time.perf_counter() - t)
        out[name + '_cpu_us'] = (cpu() - c) / OPS * 1e6
else:
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(THREADS) as ex:
        list(ex.map(get, range(THREADS * 4)))
        t, c = time.perf_counter(), cpu()
        list(ex.map(get, range(OPS)))
        out['get'] = OPS / (time.perf_counter() - t)
        out['get_cpu_us'] = (cpu() - c) / OPS * 1e6
print(json.dumps(out))
"""


def _env(server: object | None = None, src: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if server is not None:
        env.update(
            B_AK=server.access_key,  # type: ignore[attr-defined]
            B_SK=server.secret_key,  # type: ignore[attr-defined]
            B_URL=server.endpoint_url,  # type: ignore[attr-defined]
        )
    if src:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _run(code: str, args: list[str], env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
        check=False, timeout=900,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    lines = out.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def rows(baseline: str | None) -> list[tuple[str, str, str | None]]:
    """(row name, client, src) of every row: the floor, s3lite here, s3lite at the baseline."""
    out: list[tuple[str, str, str | None]] = [
        ("urllib3 (presigned)", "urllib3 (presigned)", None),
        ("s3lite", "s3lite", None),
    ]
    if baseline:
        out.append(("s3lite (baseline)", "s3lite", baseline))
    return out


def bench_requests(server: object, rounds: int, ops: int, threads_ops: int, baseline: str | None):
    from table import Table

    samples: dict[str, dict[str, list[float]]] = {}
    for _ in range(rounds):
        for name, client, src in rows(baseline):
            code = CHILD.format(setup=CHILD_SETUP[client])
            env = _env(server, src)
            one = json.loads(_run(code, ["one", str(ops), "10"], env))
            many = json.loads(_run(code, ["threads", str(threads_ops), "32"], env))
            s = samples.setdefault(name, {})
            for k, v in one.items():
                s.setdefault(k, []).append(v)
            s.setdefault("t32", []).append(many["get"])
            s.setdefault("t32_cpu_us", []).append(many["get_cpu_us"])
    med = {n: {k: statistics.median(v) for k, v in s.items()} for n, s in samples.items()}
    floor = med["urllib3 (presigned)"]
    table = Table(
        f"1 KiB requests, each client in its own process, {ops} ops (32 threads: {threads_ops}) "
        f"× {rounds} interleaved rounds (median); floor = raw urllib3 on presigned URLs",
        ["client", "GET/s", "× floor", "PUT/s", "× floor", "CPU µs/GET", "× floor",
         "CPU µs/PUT", "× floor", "32 thr GET/s", "× floor"],
    )  # fmt: skip
    for name, m in med.items():
        table.rows.append(
            [name, f"{m['get']:,.0f}", f"{m['get'] / floor['get']:.2f}", f"{m['put']:,.0f}",
             f"{m['put'] / floor['put']:.2f}", f"{m['get_cpu_us']:,.0f}",
             f"{m['get_cpu_us'] / floor['get_cpu_us']:.2f}", f"{m['put_cpu_us']:,.0f}",
             f"{m['put_cpu_us'] / floor['put_cpu_us']:.2f}", f"{m['t32']:,.0f}",
             f"{m['t32'] / floor['t32']:.2f}"]
        )  # fmt: skip
    return table


COLD = {
    "urllib3 (presigned URL)": (
        "import urllib3\nurllib3.PoolManager().request('GET', os.environ['B_PRESIGNED']).data"
    ),
    "s3lite": (
        "from s3lite import S3Session\n"
        "s = S3Session(AK, SK, endpoint_url=URL, bucket='bench')\n"
        "s.get_object('small-0', stream=False).data"
    ),
    "boto3": (
        "import boto3\n"
        "c = boto3.client('s3', endpoint_url=URL, aws_access_key_id=AK,"
        " aws_secret_access_key=SK, region_name='us-east-1')\n"
        "c.get_object(Bucket='bench', Key='small-0')['Body'].read()"
    ),
}


def bench_start(server: object, rounds: int, baseline: str | None):
    """`import` time and cold start to first byte, each a fresh process."""
    from s3lite import S3Session
    from table import Table

    presigned = S3Session(
        server.access_key,  # type: ignore[attr-defined]
        server.secret_key,  # type: ignore[attr-defined]
        endpoint_url=server.endpoint_url,  # type: ignore[attr-defined]
        bucket=BUCKET,
    ).presign("GET", "small-0", 3600)
    entries: list[tuple[str, str, str, str | None]] = []  # name, import stmt, cold body, src
    entries.append(("urllib3", "import urllib3", COLD["urllib3 (presigned URL)"], None))
    entries.append(("s3lite", "import s3lite", COLD["s3lite"], None))
    if baseline:
        entries.append(("s3lite (baseline)", "import s3lite", COLD["s3lite"], baseline))
    entries.append(("boto3", "import boto3", COLD["boto3"], None))
    imports: dict[str, list[float]] = {}
    cold: dict[str, list[float]] = {}
    for _name, stmt, _, src in entries:  # warm the bytecode caches
        _run(stmt, [], _env(None, src))
    for _ in range(rounds):
        for name, stmt, body, src in entries:
            env = _env(server, src)
            env["B_PRESIGNED"] = presigned
            code = f"import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
            imports.setdefault(name, []).append(float(_run(code, [], env)))
            code = (
                "import time; t0 = time.perf_counter()\nimport os\n"
                "AK, SK, URL = os.environ['B_AK'], os.environ['B_SK'], os.environ['B_URL']\n"
                f"{body}\nprint(time.perf_counter() - t0)"
            )
            cold.setdefault(name, []).append(float(_run(code, [], env)))
    base_i, base_c = statistics.median(imports["urllib3"]), statistics.median(cold["urllib3"])
    boto_c = statistics.median(cold["boto3"])
    table = Table(
        f"Import and cold start to first byte (fresh process each, {rounds} rounds, median)",
        ["client", "import ms", "× urllib3", "cold start ms", "× urllib3", "× boto3"],
    )
    for name, _, _, _ in entries:
        i, c = statistics.median(imports[name]), statistics.median(cold[name])
        table.rows.append(
            [name, f"{i * 1000:.1f}", f"{i / base_i:.2f}", f"{c * 1000:.1f}",
             f"{c / base_c:.2f}", f"{c / boto_c:.2f}"]
        )  # fmt: skip
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ops", type=int, default=1000, help="1-thread requests per round")
    parser.add_argument("--threads-ops", type=int, default=2000, help="32-thread GETs per round")
    parser.add_argument("--baseline-src", help="another checkout's src: s3lite rows from it too")
    args = parser.parse_args()
    from s3lite import S3Session
    from s3lite.devserver import LocalSeaweedFS

    baseline = str(Path(args.baseline_src).absolute()) if args.baseline_src else None
    with LocalSeaweedFS() as server:
        setup = S3Session(
            server.access_key, server.secret_key, endpoint_url=server.endpoint_url, bucket=BUCKET
        )
        setup.create_bucket()
        for i in range(KEYS):
            setup.put_object(f"small-{i}", os.urandom(1024))
        print(bench_start(server, max(args.rounds, 5), baseline).render(), flush=True)
        table = bench_requests(server, args.rounds, args.ops, args.threads_ops, baseline)
        print(table.render(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
