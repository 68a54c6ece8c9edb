"""What the concurrency benchmarks share: one local SeaweedFS holding small objects, each
client measured in a child process of its own, rounds interleaved (the order rotates every
round), and a table of medians.

A child is this same script run as `script --child NAME --setup FILE ARGS...`; it prints one
JSON line last: {level: {metric: value}}.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUCKET = "bench"

#: client -> level -> metric -> one value per round
Results = dict[str, dict[int, dict[str, list[float]]]]


def cpu() -> float:
    """This process's CPU seconds (user + sys, all threads), at the clock's full precision."""
    return time.process_time()


@contextmanager
def small_objects(workdir: str, objects: int, size: int) -> Iterator[dict[str, Any]]:
    """Start SeaweedFS in `workdir`, store `objects` objects of `size` random bytes, and yield
    what a child needs: endpoint, keys, the keys' presigned GET URLs, and keys to PUT with
    their presigned PUT URLs. The setup is also written to `setup_path` for the children."""
    from s3lite import S3Session
    from s3lite.devserver import LocalSeaweedFS

    with LocalSeaweedFS(data_dir=os.path.join(workdir, "weed")) as server:
        s3 = S3Session(
            server.access_key, server.secret_key, endpoint_url=server.endpoint_url, bucket=BUCKET
        )
        s3.create_bucket(BUCKET)
        payload = os.urandom(size)
        keys = [f"small-{i}" for i in range(objects)]
        for key in keys:
            s3.put_object(key, payload)
        put_keys = [f"put-{i}" for i in range(objects)]
        setup = {
            "endpoint": server.endpoint_url,
            "access_key": server.access_key,
            "secret_key": server.secret_key,
            "bucket": BUCKET,
            "size": size,
            "keys": keys,
            "urls": [s3.presign("GET", key, 3600) for key in keys],
            "put_keys": put_keys,
            "put_urls": [s3.presign("PUT", key, 3600) for key in put_keys],
        }
        s3.close()
        setup["setup_path"] = os.path.join(workdir, "setup.json")
        Path(setup["setup_path"]).write_text(json.dumps(setup))
        yield setup


def run_rounds(
    script: str,
    clients: Sequence[str],
    levels: Sequence[int],
    rounds: int,
    setup: dict[str, Any],
    child_args: Sequence[str] = (),
    launcher: dict[str, list[str]] | None = None,
) -> Results:
    """Run each client's child `rounds` times, interleaved, and collect its figures.

    `launcher` gives, per client, the command that runs Python for it (default: this
    interpreter), e.g. a `uv run --with ...` for a peer that cannot share the environment."""
    results: Results = {c: {n: {} for n in levels} for c in clients}
    for r in range(rounds):
        order = list(clients[r % len(clients) :]) + list(clients[: r % len(clients)])
        for client in order:
            python = (launcher or {}).get(client, [sys.executable])
            proc = subprocess.run(
                [*python, script, "--child", client, "--setup", setup["setup_path"],
                 "--levels", ",".join(map(str, levels)), *child_args],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            lines = proc.stdout.strip().splitlines()
            if not lines or not lines[-1].startswith("{"):
                print(
                    f"{client} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr[-3000:]}",
                    file=sys.stderr,
                )
                continue
            if proc.returncode != 0:  # obstore's runtime may abort at interpreter exit
                print(f"{client} exited {proc.returncode} after measuring", file=sys.stderr)
            for level, metrics in json.loads(lines[-1]).items():
                for metric, value in metrics.items():
                    results[client][int(level)].setdefault(metric, []).append(value)
            print(f"round {r + 1}: {client} done", file=sys.stderr)
    return results


def median_table(
    title: str,
    labels: dict[str, str],
    levels: Sequence[int],
    results: Results,
    columns: Sequence[tuple[str, str]],
) -> str:
    """A Markdown table: one row per client, per level the medians of `columns`
    ((metric, header) pairs; a header may use {level})."""
    header = ["client"]
    for level in levels:
        header += [h.format(level=level) for _, h in columns]
    rows = []
    for client, label in labels.items():
        cells = [label]
        for level in levels:
            for metric, _ in columns:
                values = results.get(client, {}).get(level, {}).get(metric, [])
                cells.append(f"{statistics.median(values):,.0f}" if values else "-")
        rows.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    out = [f"\n### {title}\n"]
    out.append("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        out.append("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(out)
