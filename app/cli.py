"""The ``nicepick`` command: turns flags into settings and hands off to the module doing the work.

Heavy modules are imported inside each command so ``nicepick --help`` stays instant.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    # Flags become NICEPICK_* variables so every worker process builds the same Settings.
    if args.content:
        os.environ["NICEPICK_CONTENT_DIR"] = args.content
    if args.reload:
        os.environ["NICEPICK_RELOAD"] = "true"
    if args.drafts:
        os.environ["NICEPICK_DRAFTS"] = "true"
    from app.settings import Settings

    settings = Settings()  # fail fast, before uvicorn starts, on a bad setting
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    uvicorn.run(
        "app.main:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        proxy_headers=False,  # client addresses are resolved by our trusted-proxy rule
        server_header=False,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nicepick", description="Nice Pick: comparison guides from Markdown."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the site over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--content", metavar="DIR", help="content folder (NICEPICK_CONTENT_DIR)")
    serve.add_argument("--reload", action="store_true", help="live preview: re-read changed files")
    serve.add_argument("--drafts", action="store_true", help="show drafts, marked as such")
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(handler=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
