"""Distributed-lock acquisition latency (median, p99): uncontended, and with N contending
processes, per backend and protocol -- SeaweedFS with the conditional and the sequential
protocol, the B2 test server (tests/b2server.py) with the sequential one. Run by hand, not in
CI; everything is local (loopback) and the figures depend on the machine's load.

    uv run python benchmarks/lock_latency.py
    uv run python benchmarks/lock_latency.py --uncontended 200 --contenders 8 --rounds 25

Uncontended: one process acquires and releases `--uncontended` times; only acquire() is timed.
Contended: `--contenders` processes each acquire/hold `--hold` ms/release `--rounds` times, all
starting together; the time each acquire() takes (mostly waiting for the others) is recorded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS

CHILD = r"""
import json, os, sys, time
cfg = json.loads(sys.argv[1])
if cfg["kind"] == "s3":
    from s3lite import S3Session
    session = S3Session(cfg["access_key"], cfg["secret_key"], endpoint_url=cfg["endpoint"],
                        bucket=cfg["bucket"])
else:
    from s3lite.b2 import B2Session
    session = B2Session(cfg["key_id"], cfg["key"], bucket=cfg["bucket"], api_url=cfg["api_url"])
lock = session.lock("bench", protocol=cfg["protocol"])
lock.acquire(); lock.release()  # warm: connections, authorization, protocol probe
print("READY", flush=True)
while not os.path.exists(cfg["go"]):
    time.sleep(0.005)
waits = []
for _ in range(cfg["rounds"]):
    started = time.perf_counter()
    lock.acquire()
    waits.append(time.perf_counter() - started)
    time.sleep(cfg["hold"])
    lock.release()
print(json.dumps(waits), flush=True)
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def uncontended(session: Any, protocol: str, runs: int) -> list[float]:
    lock = session.lock("bench-solo", protocol=protocol)
    lock.acquire()  # warm: connections, authorization, protocol probe
    lock.release()
    waits = []
    for _ in range(runs):
        started = time.perf_counter()
        lock.acquire()
        waits.append(time.perf_counter() - started)
        lock.release()
    return waits


def contended(config: dict[str, Any], contenders: int, rounds: int, hold: float) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        go = Path(tmp) / "go"
        cfg = {**config, "go": str(go), "rounds": rounds, "hold": hold}
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, json.dumps(cfg)], stdout=subprocess.PIPE, text=True
            )
            for _ in range(contenders)
        ]
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "READY"
        started = time.perf_counter()
        go.touch()
        waits: list[float] = []
        for child in children:
            assert child.stdout is not None
            waits.extend(json.loads(child.stdout.readline()))
            child.wait()
        elapsed = time.perf_counter() - started
    print(f"    {contenders * rounds} acquisitions in {elapsed:.1f} s", file=sys.stderr)
    return waits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uncontended", type=int, default=100, help="solo acquisitions (100)")
    parser.add_argument("--contenders", type=int, default=8, help="contending processes (8)")
    parser.add_argument("--rounds", type=int, default=25, help="acquisitions per contender (25)")
    parser.add_argument("--hold", type=float, default=0.005, help="seconds held (0.005)")
    parser.add_argument("--only", default="", help="comma-separated: s3-conditional,...")
    args = parser.parse_args()

    from b2server import B2TestServer
    from s3lite.lock import probe_conditional_writes

    rows = []
    with LocalSeaweedFS() as seaweed, B2TestServer() as b2server:
        s3 = S3Session(seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url)
        s3.create_bucket("lock-bench")
        s3.bucket = "lock-bench"
        started = time.perf_counter()
        support = probe_conditional_writes(s3, "probe.lock/")
        probe = time.perf_counter() - started
        print(f"SeaweedFS conditional writes ({probe:.2f} s to probe): {support}")
        key_id, key = b2server.create_account()
        b2server.create_bucket(key_id, key, "lock-bench")
        from s3lite.b2 import B2Session

        b2 = B2Session(key_id, key, bucket="lock-bench", api_url=b2server.api_url)
        s3_config = {
            "kind": "s3", "endpoint": seaweed.endpoint_url, "access_key": seaweed.access_key,
            "secret_key": seaweed.secret_key, "bucket": "lock-bench",
        }  # fmt: skip
        b2_config = {
            "kind": "b2", "api_url": b2server.api_url, "key_id": key_id, "key": key,
            "bucket": "lock-bench",
        }  # fmt: skip
        cases = [
            ("s3-conditional", s3, s3_config, "conditional"),
            ("s3-sequential", s3, s3_config, "sequential"),
            ("b2-sequential", b2, b2_config, "sequential"),
        ]
        only = {name for name in args.only.split(",") if name}
        for name, session, config, protocol in cases:
            if only and name not in only:
                continue
            print(f"{name}:", file=sys.stderr)
            solo = uncontended(session, protocol, args.uncontended)
            crowd = contended(
                {**config, "protocol": protocol}, args.contenders, args.rounds, args.hold
            )
            rows.append((name, solo, crowd))

    header = (
        f"{'backend/protocol':<16} | {'uncontended median':>18} {'p99':>8} | "
        f"{args.contenders} contenders: {'median':>8} {'p99':>8}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, solo, crowd in rows:
        solo_ms = (
            f"{statistics.median(solo) * 1000:>15.1f} ms {percentile(solo, 0.99) * 1000:>5.1f} ms"
        )
        crowd_ms = (
            f"{statistics.median(crowd) * 1000:>6.0f} ms {percentile(crowd, 0.99) * 1000:>5.0f} ms"
        )
        print(f"{name:<16} | {solo_ms} | {'':>14}{crowd_ms}")
    print(
        f"\n(uncontended: {args.uncontended} acquisitions; contended: {args.contenders} "
        f"processes x {args.rounds} acquisitions, each held {args.hold * 1000:g} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
