"""s3lite's fsspec filesystem beside s3fs (and obstore's fsspec adapter), in one run on one local
SeaweedFS: import time, ls of a 10,000-key prefix, cat_ranges of 1,000 random 64 KiB ranges over
100 objects, pd.read_parquet of a 256 MiB dataset, put/get of a 1 GiB file.

Every measurement runs in its own process (so each reports its own peak RSS), the clients
interleaved round by round; figures are medians (of 3 repeats in each process for ls,
cat_ranges and read_parquet, so the first call's set-up is not what is timed). s3fs pins an
older botocore than the dev tools' boto3, so it is added for this run only:

    uv run --with s3fs==2026.9.0 python benchmarks/fsspec_bench.py
    uv run --with s3fs==2026.9.0 python benchmarks/fsspec_bench.py --rounds 3 --quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS

BUCKET = "fsbench"
LS_PREFIX = "ls10k"
RANGES_PREFIX = "ranges"
PARQUET_PREFIX = "parquet"
BIG_KEY = "big/1gib.bin"
MiB = 1024 * 1024

IMPORTS = {
    "s3lite": "import s3lite.fs",
    "s3fs": "import s3fs",
    "obstore": "import obstore.fsspec",
}

#: Runs in a child process: builds one filesystem, times one operation, prints JSON.
CHILD = r"""
import json, os, random, statistics, sys, time

def peak_rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")

args = json.loads(sys.argv[1])
client, op, ep, ak, sk = args["client"], args["op"], args["endpoint"], args["ak"], args["sk"]
if client == "s3lite":
    from s3lite.fs import S3LiteFileSystem
    fs = S3LiteFileSystem(key=ak, secret=sk, client_kwargs={"endpoint_url": ep})
elif client == "s3fs":
    import s3fs
    fs = s3fs.S3FileSystem(key=ak, secret=sk, client_kwargs={"endpoint_url": ep})
else:
    from obstore.fsspec import FsspecStore
    fs = FsspecStore(
        "s3",
        config={"endpoint": ep, "access_key_id": ak, "secret_access_key": sk,
                "region": "us-east-1", "virtual_hosted_style_request": False},
        client_options={"allow_http": True},
    )
bucket = args["bucket"]
times = []
nbytes = 0
for _ in range(args["repeat"]):
    if op == "ls":
        fs.invalidate_cache()
        t = time.perf_counter()
        n = len(fs.ls(f"{bucket}/{args['prefix']}", detail=True))
        times.append(time.perf_counter() - t)
        assert n == args["expect"], n
    elif op == "cat_ranges":
        rng = random.Random(args["seed"] + len(times))
        paths, starts, ends = [], [], []
        for _ in range(args["n_ranges"]):
            k = rng.randrange(args["n_objects"])
            s = rng.randrange(args["object_size"] - args["range_size"])
            paths.append(f"{bucket}/{args['prefix']}/{k:03d}")
            starts.append(s)
            ends.append(s + args["range_size"])
        t = time.perf_counter()
        out = fs.cat_ranges(paths, starts, ends)
        times.append(time.perf_counter() - t)
        assert all(isinstance(b, bytes) and len(b) == args["range_size"] for b in out)
        nbytes = args["n_ranges"] * args["range_size"]
    elif op == "read_parquet":
        import pandas as pd
        fs.invalidate_cache()
        t = time.perf_counter()
        df = pd.read_parquet(f"{bucket}/{args['prefix']}", filesystem=fs)
        times.append(time.perf_counter() - t)
        assert len(df) == args["expect"], len(df)
        nbytes = args["nbytes"]
        del df
    elif op == "put":
        t = time.perf_counter()
        fs.put_file(args["local"], f"{bucket}/{args['key']}")
        times.append(time.perf_counter() - t)
        nbytes = os.path.getsize(args["local"])
    elif op == "get":
        out_path = args["local"] + "." + client
        t = time.perf_counter()
        fs.get_file(f"{bucket}/{args['key']}", out_path)
        times.append(time.perf_counter() - t)
        nbytes = os.path.getsize(out_path)
        os.remove(out_path)
print(json.dumps({"seconds": statistics.median(times), "bytes": nbytes, "rss": peak_rss_mib()}))
"""


def available_clients() -> list[str]:
    """The clients importable here (s3fs only when added with --with)."""
    found = ["s3lite"]
    for name, stmt in (("s3fs", "import s3fs"), ("obstore", "import obstore.fsspec")):
        probe = subprocess.run([sys.executable, "-c", stmt], capture_output=True, check=False)
        if probe.returncode == 0:
            found.append(name)
        else:
            print(f"{name}: not importable here, left out", file=sys.stderr)
    return found


def compile_bytecode() -> None:
    """Write the .pyc files an installed package has, so imports are timed as users see them
    (with PYTHONDONTWRITEBYTECODE set, or a fresh venv, every import would compile its source)."""
    dirs = [p for p in sys.path if os.path.isdir(p) and ("site-packages" in p or p.endswith("src"))]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", *dirs],
        capture_output=True,
        check=False,
    )


def import_time(client: str, runs: int) -> tuple[float, float]:
    """Median seconds of importing the filesystem's module in a new process, and peak RSS."""
    code = (
        "import time; t = time.perf_counter(); " + IMPORTS[client] + "; "
        "d = time.perf_counter() - t\n"
        "rss = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "print(d, int(rss) / 1024)"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)  # warm caches
    times, rss = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
        seconds, peak = out.stdout.split()
        times.append(float(seconds))
        rss.append(float(peak))
    return statistics.median(times), statistics.median(rss)


def run_child(args: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{args['client']} {args['op']} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def populate(session: S3Session, cfg: dict[str, Any], workdir: Path) -> None:
    """The data every client reads: 10,000 keys, 100 objects, a parquet dataset, a big file."""
    import numpy as np
    import pandas as pd

    session.create_bucket(BUCKET)
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda i: session.put_object(f"{LS_PREFIX}/{i:05d}", b"x", bucket=BUCKET),
                range(cfg["ls_keys"]),
            )
        )
        blob = os.urandom(cfg["object_size"])
        list(
            pool.map(
                lambda i: session.put_object(f"{RANGES_PREFIX}/{i:03d}", blob, bucket=BUCKET),
                range(cfg["n_objects"]),
            )
        )
    rows_per_file = cfg["parquet_bytes"] // cfg["parquet_files"] // 32  # 4 float64 columns
    rng = np.random.default_rng(1)
    for i in range(cfg["parquet_files"]):
        df = pd.DataFrame({c: rng.random(rows_per_file) for c in "abcd"})
        local = workdir / f"part-{i}.parquet"
        df.to_parquet(local, compression=None, row_group_size=256 * 1024)
        session.upload_file(local, f"{PARQUET_PREFIX}/part-{i}.parquet", bucket=BUCKET)
        local.unlink()
    cfg["parquet_rows"] = rows_per_file * cfg["parquet_files"]
    big = workdir / "big.bin"
    with open(big, "wb") as f:
        for _ in range(cfg["big_bytes"] // (64 * MiB)):
            f.write(os.urandom(64 * MiB))
    session.upload_file(big, BIG_KEY, bucket=BUCKET)
    cfg["big_local"] = str(big)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the script")
    opts = parser.parse_args()
    cfg: dict[str, Any] = {
        "ls_keys": 10_000,
        "n_objects": 100,
        "object_size": 4 * MiB,
        "n_ranges": 1_000,
        "range_size": 64 * 1024,
        "parquet_bytes": 256 * MiB,
        "parquet_files": 8,
        "big_bytes": 1024 * MiB,
    }
    if opts.quick:
        cfg.update(ls_keys=1_000, parquet_bytes=32 * MiB, big_bytes=128 * MiB, n_ranges=200)
    clients = available_clients()
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    compile_bytecode()
    imports = {c: import_time(c, 7) for c in clients}

    with tempfile.TemporaryDirectory(prefix="fsbench-") as tmp, LocalSeaweedFS() as server:
        session = S3Session(
            access_key_id=server.access_key,
            access_key=server.secret_key,
            endpoint_url=server.endpoint_url,
            max_pool_connections=16,
        )
        t = time.perf_counter()
        populate(session, cfg, Path(tmp))
        print(f"populated in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        base = {
            "endpoint": server.endpoint_url,
            "ak": server.access_key,
            "sk": server.secret_key,
            "bucket": BUCKET,
        }
        ops: list[tuple[str, dict[str, Any]]] = [
            ("ls", {"prefix": LS_PREFIX, "expect": cfg["ls_keys"], "repeat": 3}),
            (
                "cat_ranges",
                {
                    "prefix": RANGES_PREFIX,
                    "n_ranges": cfg["n_ranges"],
                    "n_objects": cfg["n_objects"],
                    "object_size": cfg["object_size"],
                    "range_size": cfg["range_size"],
                    "seed": 42,
                    "repeat": 3,
                },
            ),
            (
                "read_parquet",
                {
                    "prefix": PARQUET_PREFIX,
                    "expect": cfg["parquet_rows"],
                    "nbytes": cfg["parquet_bytes"],
                    "repeat": 3,
                },
            ),
            ("put", {"local": cfg["big_local"], "key": "big/put.bin", "repeat": 1}),
            ("get", {"local": cfg["big_local"], "key": BIG_KEY, "repeat": 1}),
        ]
        for r in range(opts.rounds):
            order = clients[r % len(clients) :] + clients[: r % len(clients)]
            for op, extra in ops:
                for client in order:
                    result = run_child({**base, **extra, "client": client, "op": op})
                    rows.setdefault(op, {}).setdefault(client, []).append(result)
                    print(f"round {r + 1} {op:12} {client:8} {result}", file=sys.stderr)
        session.close()

    print_table(clients, imports, rows, cfg)
    return 0


def print_table(
    clients: list[str],
    imports: dict[str, tuple[float, float]],
    rows: dict[str, dict[str, list[dict[str, Any]]]],
    cfg: dict[str, Any],
) -> None:
    head = "| what | " + " | ".join(clients) + " | s3lite ÷ s3fs |"
    print(head)
    print("|---" * (len(clients) + 2) + "|")

    def ratio(a: float, b: float | None) -> str:
        return f"{a / b:.2f}×" if b else "n/a"

    cells = [f"{imports[c][0] * 1000:.0f} ms ({imports[c][1]:.0f} MiB)" for c in clients]
    s3fs_import = imports.get("s3fs", (None, None))[0]
    print(
        "| import (new process; peak RSS) | " + " | ".join(cells) + " | "
        + (f"{imports['s3lite'][0] / s3fs_import:.2f}× the time" if s3fs_import else "n/a")
        + " |"
    )  # fmt: skip
    labels = {
        "ls": f"ls of a {cfg['ls_keys']:,}-key prefix",
        "cat_ranges": f"cat_ranges, {cfg['n_ranges']:,} × 64 KiB over {cfg['n_objects']} objects",
        "read_parquet": f"pd.read_parquet, {cfg['parquet_bytes'] // MiB} MiB",
        "put": f"put_file, {cfg['big_bytes'] // MiB} MiB",
        "get": f"get_file, {cfg['big_bytes'] // MiB} MiB",
    }
    for op, label in labels.items():
        per = rows[op]
        med = {c: statistics.median(x["seconds"] for x in per[c]) for c in clients}
        rss = {c: max(x["rss"] for x in per[c]) for c in clients}
        cells = []
        for c in clients:
            if op == "ls":
                cells.append(f"{med[c] * 1000:.0f} ms ({rss[c]:.0f} MiB)")
            else:
                mibs = per[c][0]["bytes"] / MiB / med[c]
                cells.append(f"{mibs:.0f} MiB/s ({rss[c]:.0f} MiB)")
        speedup = ratio(med["s3fs"], med["s3lite"]) if "s3fs" in med else "n/a"
        print(f"| {label} | " + " | ".join(cells) + f" | {speedup} speed |")


if __name__ == "__main__":
    raise SystemExit(main())
