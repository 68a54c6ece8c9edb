"""The `s3lite` command line (also `python -m s3lite`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(objects=args.objects, size_mib=args.size_mib, out=sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s3lite",
        description="A small, fast client for S3-compatible object storage and Backblaze B2.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="start a throwaway local SeaweedFS and show s3lite at work against it",
        description=(
            "Starts a temporary SeaweedFS server on 127.0.0.1 (from the dev tools), uploads, "
            "lists, streams and deletes objects, prints what it did and how fast, then stops "
            "the server and removes its data."
        ),
    )
    demo.add_argument("--objects", type=int, default=200, help="small objects to write (200)")
    demo.add_argument(
        "--size-mib", type=int, default=64, help="size of the streamed large object in MiB (64)"
    )
    demo.set_defaults(func=_demo)
    return parser


def _version() -> str:
    from . import __version__

    return f"s3lite {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
