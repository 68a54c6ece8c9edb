"""Large transfers: a file uploaded and downloaded by each client, each in its own process
(so peak memory is the client's own), same concurrency (8) and part size (8 MiB).

Used by run.py (`--sections large`); also runnable alone:
    uv run python benchmarks/large.py --mib 1024 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
CONCURRENCY = 8
PART = 8 * MiB
BUCKET = "bench-large"

PEAK = """
def peak_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
"""

# Each snippet gets AK, SK, URL, SRC (local file), DST (local file), KEY, and must do OP.
CLIENTS: dict[str, dict[str, str]] = {
    "s3lite": {
        "setup": (
            "from s3lite import S3Session\n"
            "s = S3Session(AK, SK, endpoint_url=URL, bucket=BUCKET, max_pool_connections=8)\n"
        ),
        "upload": "s.upload_file(SRC, KEY, part_size=PART, concurrency=C)",
        "download": "s.download_file(KEY, DST, part_size=PART, concurrency=C)",
    },
    # The core install: zlib's CRC32 (the row above has ISA-L's when `s3lite[fast-crc]` is in).
    "s3lite (zlib CRC32)": {
        "setup": (
            "sys.modules['isal'] = None  # as without the fast-crc extra\n"
            "from s3lite import S3Session\n"
            "s = S3Session(AK, SK, endpoint_url=URL, bucket=BUCKET, max_pool_connections=8)\n"
        ),
        "upload": "s.upload_file(SRC, KEY, part_size=PART, concurrency=C)",
        "download": "s.download_file(KEY, DST, part_size=PART, concurrency=C)",
    },
    # The asyncio API: the parts run concurrently on one event loop (no threads).
    "s3lite async": {
        "setup": (
            "import asyncio\nfrom s3lite import AsyncS3Session\n"
            "async def main(op):\n"
            "    async with AsyncS3Session(AK, SK, endpoint_url=URL, bucket=BUCKET,"
            " max_pool_connections=8) as s:\n"
            "        if op == 'upload':\n"
            "            await s.upload_file(SRC, KEY, part_size=PART, concurrency=C)\n"
            "        else:\n"
            "            await s.download_file(KEY, DST, part_size=PART, concurrency=C)\n"
        ),
        "upload": "asyncio.run(main('upload'))",
        "download": "asyncio.run(main('download'))",
    },
    "boto3": {
        "setup": (
            "import boto3\nfrom boto3.s3.transfer import TransferConfig\n"
            "c = boto3.client('s3', endpoint_url=URL, aws_access_key_id=AK,"
            " aws_secret_access_key=SK, region_name='us-east-1')\n"
            "cfg = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART,"
            " max_concurrency=C)\n"
        ),
        "upload": "c.upload_file(SRC, BUCKET, KEY, Config=cfg)",
        "download": "c.download_file(BUCKET, KEY, DST, Config=cfg)",
    },
    "obstore": {
        "setup": (
            "import obstore\nfrom obstore.store import S3Store\n"
            "st = S3Store(BUCKET, endpoint=URL, access_key_id=AK, secret_access_key=SK,"
            " region='us-east-1', virtual_hosted_style_request=False,"
            " client_options={'allow_http': True})\n"
        ),
        "upload": (
            "from pathlib import Path\n"
            "obstore.put(st, KEY, Path(SRC), chunk_size=PART, max_concurrency=C)"
        ),
        "download": (
            "r = obstore.get(st, KEY)\n"
            "with open(DST, 'wb') as f:\n"
            "    for chunk in r.stream(min_chunk_size=PART):\n"
            "        f.write(chunk)"
        ),
    },
    "minio-py": {
        "setup": (
            "from minio import Minio\n"
            "m = Minio(URL.split('//')[1], AK, SK, secure=False, region='us-east-1')\n"
        ),
        "upload": "m.fput_object(BUCKET, KEY, SRC, part_size=PART, num_parallel_uploads=C)",
        "download": "m.fget_object(BUCKET, KEY, DST)",
    },
    # The ceiling: presigned URLs (no signing in the loop), no checksums, same parallelism.
    "urllib3 (presigned)": {
        "setup": (
            "import urllib3\nfrom concurrent.futures import ThreadPoolExecutor\n"
            "from s3lite import S3Session\n"
            "s = S3Session(AK, SK, endpoint_url=URL, bucket=BUCKET)\n"
            "pm = urllib3.PoolManager(maxsize=C)\n"
            "size = os.path.getsize(SRC) if OP == 'upload' else s.head_object(KEY).content_length\n"
            "n = -(-size // PART)\n"
        ),
        "upload": (
            "mp = s.multipart_backend\n"
            "uid = mp.start(BUCKET, KEY, metadata=None, content_type=None, headers=None,"
            " checksum=False)\n"
            "fd = os.open(SRC, os.O_RDONLY)\n"
            "def put(i):\n"
            "    url = s.presign('PUT', KEY, params={'partNumber': str(i + 1), 'uploadId': uid})\n"
            "    r = pm.request('PUT', url, body=os.pread(fd, PART, i * PART))\n"
            "    return r.headers['ETag'].strip(chr(34))\n"
            "with ThreadPoolExecutor(C) as ex:\n"
            "    etags = list(ex.map(put, range(n)))\n"
            "from s3lite.multipart import PartResult\n"
            "parts = [PartResult(i + 1, 0, e) for i, e in enumerate(etags)]\n"
            "mp.complete(BUCKET, KEY, uid, parts)"
        ),
        "download": (
            "url = s.presign('GET', KEY)\n"
            "fd = os.open(DST, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\n"
            "def get(i):\n"
            "    end = min((i + 1) * PART, size) - 1\n"
            "    r = pm.request('GET', url, headers={'Range': f'bytes={i * PART}-{end}'},"
            " preload_content=False)\n"
            "    off = i * PART\n"
            "    for chunk in r.stream(1 << 20):\n"
            "        os.pwrite(fd, chunk, off)\n"
            "        off += len(chunk)\n"
            "    r.release_conn()\n"
            "with ThreadPoolExecutor(C) as ex:\n"
            "    list(ex.map(get, range(n)))"
        ),
    },
}


def child_code(client: str, op: str) -> str:
    spec = CLIENTS[client]
    return (
        PEAK
        + "import json, os, sys, time\n"
        + "AK, SK, URL = os.environ['B_AK'], os.environ['B_SK'], os.environ['B_URL']\n"
        + "SRC, DST, KEY, OP = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]\n"
        + f"BUCKET, PART, C = {BUCKET!r}, {PART}, {CONCURRENCY}\n"
        + spec["setup"]
        + "import resource\nru0 = resource.getrusage(resource.RUSAGE_SELF)\n"
        + "CPU0 = ru0.ru_utime + ru0.ru_stime\n"
        + "t = time.perf_counter()\n"
        + spec[op]
        + "\nimport resource\nru = resource.getrusage(resource.RUSAGE_SELF)\n"
        + "print(json.dumps({'seconds': time.perf_counter() - t, 'peak_mib': peak_mib(),"
        + " 'cpu': ru.ru_utime + ru.ru_stime - CPU0}))\n"
    )


def available(client: str) -> bool:
    """Whether this environment can run `client` (the async row needs the async extra and
    an AsyncS3Session with upload_file/download_file)."""
    if client != "s3lite async":
        return True
    try:
        from s3lite.aio.s3 import AsyncS3Session
    except ImportError:
        return False
    return hasattr(AsyncS3Session, "upload_file") and hasattr(AsyncS3Session, "download_file")


def run_child(
    server: Any, client: str, op: str, src: Path, dst: Path, key: str, code_src: str | None = None
) -> dict[str, Any]:
    """One transfer in a fresh process; `code_src` puts another checkout's src first."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(B_AK=server.access_key, B_SK=server.secret_key, B_URL=server.endpoint_url)
    if code_src:
        env["PYTHONPATH"] = os.pathsep.join([code_src, env.get("PYTHONPATH", "")]).rstrip(":")
    out = subprocess.run(
        [sys.executable, "-c", child_code(client, op), str(src), str(dst), key, op],
        capture_output=True, text=True, env=env, check=False, timeout=1800,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"{client} {op} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench_large(
    server: Any,
    mib: int,
    rounds: int,
    baseline: str | None = None,
    clients: list[str] | None = None,
) -> list[Any]:
    """Up and down `mib` MiB per client and round; `baseline` adds s3lite from that src."""
    from s3lite import S3Session
    from table import Table

    setup = S3Session(server.access_key, server.secret_key, endpoint_url=server.endpoint_url)
    setup.create_bucket(BUCKET)
    work = Path(os.environ.get("BENCH_TMP", "/tmp")) / f"s3lite-bench-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    src, dst = work / "src.bin", work / "dst.bin"
    block = os.urandom(MiB)
    with open(src, "wb") as f:
        for i in range(mib):
            f.write(block[i % 251 :] + block[: i % 251])
    size = mib * MiB
    names = [c for c in (clients or list(CLIENTS)) if available(c)]
    row_list = [(c, c, None) for c in names]
    if baseline:
        row_list.insert(1 + names.index("s3lite"), ("s3lite (baseline)", "s3lite", baseline))
    results: dict[str, dict[str, list[float]]] = {
        r: {"up": [], "down": [], "up_rss": [], "down_rss": [], "up_cpu": [], "down_cpu": []}
        for r, _, _ in row_list
    }
    try:
        for turn in range(rounds):
            # Each round starts one row later: the kernel's page-cache work left by one
            # client's 1 GiB file lands on whichever runs next, so no row always follows the same.
            shift = turn % len(row_list)
            for row, client, code_src in row_list[shift:] + row_list[:shift]:
                key = f"large-{client}"
                up = run_child(server, client, "upload", src, dst, key, code_src)
                dst.unlink(missing_ok=True)
                down = run_child(server, client, "download", src, dst, key, code_src)
                if dst.stat().st_size != size:
                    raise RuntimeError(f"{client} downloaded {dst.stat().st_size} bytes")
                dst.unlink()
                setup.delete_object(key, bucket=BUCKET)
                results[row]["up"].append(size / MiB / up["seconds"])
                results[row]["down"].append(size / MiB / down["seconds"])
                results[row]["up_rss"].append(up["peak_mib"])
                results[row]["down_rss"].append(down["peak_mib"])
                results[row]["up_cpu"].append(up["cpu"] * 1024 / mib)  # CPU s per GiB
                results[row]["down_cpu"].append(down["cpu"] * 1024 / mib)
    finally:
        src.unlink(missing_ok=True)
        dst.unlink(missing_ok=True)
        work.rmdir()
    med = {c: {k: statistics.median(v) for k, v in r.items()} for c, r in results.items()}
    # A ratio column needs its reference row; a run of some rows only (--clients) shows "-".
    boto, ceiling = med.get("boto3"), med.get("urllib3 (presigned)")

    def ratio(m: dict[str, float], ref: dict[str, float] | None, k: str) -> str:
        return f"{m[k] / ref[k]:.2f}" if ref is not None else "-"

    table = Table(
        f"Large transfer: {mib} MiB file up and down, concurrency {CONCURRENCY}, "
        f"{PART // MiB} MiB parts, {rounds} rounds (median); client CPU = user+sys of its process",
        ["client", "up MiB/s", "× boto3", "down MiB/s", "× boto3", "CPU s/GiB up/down",
         "CPU × boto3", "CPU × ceiling", "peak RSS up/down MiB", "RSS × boto3"],
    )  # fmt: skip
    for client, m in med.items():
        rss = {"rss": max(m["up_rss"], m["down_rss"])}
        boto_rss = {"rss": max(boto["up_rss"], boto["down_rss"])} if boto is not None else None
        table.rows.append(
            [client, f"{m['up']:,.0f}", ratio(m, boto, "up"),
             f"{m['down']:,.0f}", ratio(m, boto, "down"),
             f"{m['up_cpu']:.2f}/{m['down_cpu']:.2f}",
             f"{ratio(m, boto, 'up_cpu')}/{ratio(m, boto, 'down_cpu')}",
             f"{ratio(m, ceiling, 'up_cpu')}/{ratio(m, ceiling, 'down_cpu')}",
             f"{m['up_rss']:.0f}/{m['down_rss']:.0f}",
             ratio(rss, boto_rss, "rss")]
        )  # fmt: skip
    return [table]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-src", help="another checkout's src: an s3lite row from it")
    parser.add_argument("--clients", help="comma-separated rows (default: all)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from s3lite.devserver import LocalSeaweedFS

    with LocalSeaweedFS() as server:
        clients = args.clients.split(",") if args.clients else None
        baseline = str(Path(args.baseline_src).absolute()) if args.baseline_src else None
        for table in bench_large(server, args.mib, args.rounds, baseline, clients):
            print(table.render(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
