"""The yardstick: a FastAPI route returning constant bytes, served like ``nicepick serve``.

python -m bench.baseline_app --port 8100 --size 9000
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

from app.settings import Settings
from app.web.server import uvicorn_options


def make_app(size: int) -> FastAPI:
    body = (b"<!doctype html><title>x</title>" + b"x" * size)[:size]
    app = FastAPI()

    @app.get("/page")
    async def page() -> Response:
        return Response(body, media_type="text/html; charset=utf-8")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    # The same uvicorn settings app/cli.py gives the site.
    uvicorn.run(
        make_app(args.size),
        host="127.0.0.1",
        port=args.port,
        workers=1,
        log_level=args.log_level,
        proxy_headers=False,
        server_header=False,
        **uvicorn_options(Settings()),  # the same protocol and limits
    )


if __name__ == "__main__":
    main()
