"""The `s3lite` command line beside `aws s3` (aws-cli) and rclone on many small files, on one
local SeaweedFS: 2,000 files of 4 KiB (by default) copied up (`cp -r`), copied down, synced
with nothing to do, and deleted (`rm -r`).

Each tool runs with its default settings, and again with the same parallelism (`--parallel`,
default 16: s3lite `--jobs`, aws-cli `max_concurrent_requests`, rclone `--transfers` and
`--checkers`). Figures are medians of interleaved rounds (each round runs every tool once, in
a rotating order); RSS is the peak resident size of the tool's process (median of rounds).
The tools come from the dev dependencies; rclone is configured through environment
variables only, and aws-cli through a temporary config file: no user configuration is read.
Python bytecode is compiled first (as an installed package has it), so that neither Python
tool pays for compiling its modules on every start.

    uv run python benchmarks/cli.py                  # 2,000 x 4 KiB, 3 rounds
    uv run python benchmarks/cli.py --files 500 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS

BUCKET = "cli-bench"
OPS = ("cp -r up", "cp -r down", "sync, nothing to do", "rm -r")


@dataclass
class Tool:
    """One command-line tool in one setting: how to run each operation."""

    name: str
    env: dict[str, str]
    #: op name -> argv, given (local dir, remote prefix, download dir)
    argv: Callable[[str, str, str, str], list[str]]


def _bin(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable))
    if found is None:
        raise SystemExit(f"{name} not found beside {sys.executable}: run `uv sync` first")
    return found


def make_tools(server: LocalSeaweedFS, parallel: int, work: Path) -> list[Tool]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_", "B2_"))}
    creds = {"AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key}
    endpoint = server.endpoint_url
    s3lite, aws, rclone = _bin("s3lite"), _bin("aws"), _bin("rclone")

    s3lite_env = {**base, **creds, "AWS_ENDPOINT_URL": endpoint}

    def s3lite_argv(jobs: list[str]) -> Callable[[str, str, str, str], list[str]]:
        def argv(op: str, local: str, remote: str, down: str) -> list[str]:
            url = f"s3://{BUCKET}/{remote}/"
            return {
                "cp -r up": [s3lite, "cp", "-r", "-q", *jobs, local, url],
                "cp -r down": [s3lite, "cp", "-r", "-q", *jobs, url, down],
                "sync, nothing to do": [s3lite, "sync", "-q", *jobs, local, url],
                "rm -r": [s3lite, "rm", "-r", "-q", *jobs, url],
            }[op]

        return argv

    aws_configs = {}
    for label, extra in (
        ("default", ""),
        ("parallel", f"  max_concurrent_requests = {parallel}\n"),
    ):
        path = work / f"aws-{label}.ini"
        path.write_text("[default]\nregion = us-east-1\n" + (f"s3 =\n{extra}" if extra else ""))
        aws_configs[label] = {
            **base, **creds, "AWS_CONFIG_FILE": str(path),
            "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"),
        }  # fmt: skip

    def aws_argv(op: str, local: str, remote: str, down: str) -> list[str]:
        url = f"s3://{BUCKET}/{remote}/"
        common = ["--endpoint-url", endpoint, "--only-show-errors"]
        return {
            "cp -r up": [aws, "s3", "cp", "--recursive", *common, local, url],
            "cp -r down": [aws, "s3", "cp", "--recursive", *common, url, down],
            "sync, nothing to do": [aws, "s3", "sync", *common, local, url],
            "rm -r": [aws, "s3", "rm", "--recursive", *common, url],
        }[op]

    rclone_env = {
        **base,
        "RCLONE_CONFIG": str(work / "rclone-none.conf"),
        "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": server.access_key,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": server.secret_key,
        "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint,
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
    }

    def rclone_argv(flags: list[str]) -> Callable[[str, str, str, str], list[str]]:
        def argv(op: str, local: str, remote: str, down: str) -> list[str]:
            url = f"bench:{BUCKET}/{remote}"
            return {
                "cp -r up": [rclone, "copy", "-q", *flags, local, url],
                "cp -r down": [rclone, "copy", "-q", *flags, url, down],
                "sync, nothing to do": [rclone, "sync", "-q", *flags, local, url],
                "rm -r": [rclone, "purge", "-q", *flags, url],
            }[op]

        return argv

    n = str(parallel)
    return [
        Tool("s3lite", s3lite_env, s3lite_argv([])),
        Tool("aws s3", aws_configs["default"], aws_argv),
        Tool("rclone", rclone_env, rclone_argv([])),
        Tool(f"s3lite -j{n}", s3lite_env, s3lite_argv(["--jobs", n])),
        Tool(f"aws s3 ({n})", aws_configs["parallel"], aws_argv),
        Tool(f"rclone ({n})", rclone_env, rclone_argv(["--transfers", n, "--checkers", n])),
    ]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; (seconds, peak RSS in MiB). A failure stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def compile_bytecode() -> None:
    """Byte-compile the environment and s3lite once, as pip does at install time (a
    PYTHONDONTWRITEBYTECODE environment would otherwise compile every module on every run)."""
    import site
    import sysconfig

    import s3lite

    paths = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    paths.add(os.path.dirname(s3lite.__file__))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", *sorted(paths)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096, help="bytes per file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=16)
    args = parser.parse_args()
    compile_bytecode()

    with tempfile.TemporaryDirectory(prefix="s3lite-cli-bench-") as tmp, LocalSeaweedFS() as server:
        work = Path(tmp)
        local = work / "files"
        for i in range(args.files):
            sub = local / f"d{i % 20:02d}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"file-{i:05d}.bin").write_bytes(os.urandom(args.size))
        past = time.time() - 3600  # older than the uploads: a sync has nothing to do
        for path in local.rglob("*"):
            os.utime(path, (past, past))
        session = S3Session(server.access_key, server.secret_key, endpoint_url=server.endpoint_url)
        session.create_bucket(BUCKET)
        tools = make_tools(server, args.parallel, work)
        times: dict[str, dict[str, list[float]]] = {t.name: {op: [] for op in OPS} for t in tools}
        rss: dict[str, list[float]] = {t.name: [] for t in tools}
        for round_no in range(args.rounds):
            order = tools[round_no % len(tools) :] + tools[: round_no % len(tools)]
            for tool in order:
                remote = tool.name.replace(" ", "-").replace("(", "").replace(")", "")
                down = work / f"down-{remote}"
                shutil.rmtree(down, ignore_errors=True)
                peak = 0.0
                for op in OPS:
                    argv = tool.argv(op, str(local), remote, str(down))
                    seconds, mib = timed(argv, tool.env)
                    times[tool.name][op].append(seconds)
                    peak = max(peak, mib)
                    if op == "cp -r down":
                        got = sum(1 for p in down.rglob("*") if p.is_file())
                        if got != args.files:
                            raise SystemExit(f"{tool.name}: downloaded {got} of {args.files}")
                rss[tool.name].append(peak)
                left = sum(1 for _ in session.list_objects(remote + "/", bucket=BUCKET))
                if left:
                    raise SystemExit(f"{tool.name}: rm -r left {left} objects")
                print(f"round {round_no + 1}: {tool.name} done", file=sys.stderr, flush=True)
        session.delete_bucket(BUCKET)
        session.close()

    kib = args.size // 1024
    print(
        f"\n{args.files} files x {kib} KiB on one local SeaweedFS, median of {args.rounds} "
        f"interleaved rounds (seconds; lower is better)\n"
    )
    header = ["tool", *OPS, "peak RSS MiB"]
    rows = [
        [t.name, *(f"{statistics.median(times[t.name][op]):.2f}" for op in OPS),
         f"{statistics.median(rss[t.name]):.0f}"]
        for t in tools
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print("\nspeed-up of s3lite (aws time / s3lite time; rclone time / s3lite time):")
    half = len(tools) // 2
    for setting, group in (("default", tools[:half]), ("same parallelism", tools[half:])):
        parts = []
        for op in OPS:
            s = statistics.median(times[group[0].name][op])
            a = statistics.median(times[group[1].name][op])
            r = statistics.median(times[group[2].name][op])
            parts.append(f"{op}: {a / s:.1f}x aws, {r / s:.1f}x rclone")
        print(f"  {setting}: " + "; ".join(parts))


if __name__ == "__main__":
    main()
