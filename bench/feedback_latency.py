"""POST latency of the feedback form while the mail server is slow.

Starts aiosmtpd with a handler that takes ``--smtp-delay`` seconds (default 2) per message and
``nicepick serve`` on a free port, posts ``--warmup`` notes (timed apart: a fresh process's
first requests), then ``--notes`` notes (``--concurrency`` at a time) and prints p50/p99 of the
POST, then how much mail had arrived: delivery is off the request path, so the figures stay in
milliseconds however slow the mail server is.

    python -m bench.feedback_latency [--notes 200] [--concurrency 4] [--smtp-delay 2] [--warmup 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from bs4 import BeautifulSoup

from bench.common import free_port, site_env, start_server


class SlowMailbox:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(self.delay)
        self.received += 1
        return "250 OK"


def write_content(folder: Path) -> str:
    from tests.conftest import GOOD

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    return "vim-vs-emacs"


async def post_notes(
    url: str, token: str, notes: int, concurrency: int, *, warmup: int = 0
) -> tuple[list[float], list[float]]:
    """Post ``warmup`` notes, then ``notes`` more; the seconds each POST took, per phase."""
    async with httpx.AsyncClient(timeout=30) as client:

        async def phase(numbers: range) -> list[float]:
            timings: list[float] = []
            queue = iter(numbers)

            async def worker() -> None:
                for n in queue:
                    data = {"option": "Emacs", "message": f"Benchmark note {n}.", "token": token}
                    started = time.perf_counter()
                    response = await client.post(url, data=data)
                    timings.append(time.perf_counter() - started)
                    if response.status_code != 303:
                        raise SystemExit(
                            f"unexpected {response.status_code}: {response.text[:300]}"
                        )

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return timings

        # The first POSTs of a fresh process and client open the connections and run every
        # code path for the first time (tens of ms, once); timed apart, they would be most of
        # the p99 of a few hundred notes. Their slowest is printed too.
        cold = await phase(range(warmup))
        return cold, await phase(range(warmup, warmup + notes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--smtp-delay", type=float, default=2.0)
    parser.add_argument(
        "--warmup", type=int, default=8, help="notes posted first and timed apart (default 8)"
    )
    args = parser.parse_args()

    mailbox = SlowMailbox(args.smtp_delay)
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    with tempfile.TemporaryDirectory(prefix="nicepick-bench-") as tmp:
        slug = write_content(Path(tmp) / "content")
        port = free_port()
        env = site_env(
            Path(tmp) / "var",
            content=Path(tmp) / "content",
            NICEPICK_SMTP_HOST="127.0.0.1",
            NICEPICK_SMTP_PORT=str(smtp_port),
            NICEPICK_SMTP_TLS="none",
            NICEPICK_FEEDBACK_MIN_SECONDS="0",
            NICEPICK_FEEDBACK_RATE="100000/minute",
        )
        log = Path(tmp) / "server.log"
        process = start_server(env, port, args=("--log-level", "warning"), log=log, timeout=30)
        try:
            base = f"http://127.0.0.1:{port}/compare/{slug}"
            page = BeautifulSoup(httpx.get(base).text, "html.parser")
            field = page.select_one('#feedback input[name="token"]')
            assert field is not None
            started = time.perf_counter()
            cold, timings = asyncio.run(
                post_notes(
                    f"{base}/feedback",
                    str(field["value"]),
                    args.notes,
                    args.concurrency,
                    warmup=args.warmup,
                )
            )
            elapsed = time.perf_counter() - started
            delivered = mailbox.received
        finally:
            process.terminate()
            process.wait(timeout=20)
            controller.stop()
    ms = sorted(t * 1000 for t in timings)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(
        f"feedback POST, SMTP server taking {args.smtp_delay:g} s per message, "
        f"{args.notes} notes, {args.concurrency} at a time:"
    )
    print(f"  p50 {statistics.median(ms):.1f} ms   p99 {p99:.1f} ms   max {ms[-1]:.1f} ms")
    if cold:
        print(f"  first {len(cold)} notes (warm-up, not above): slowest {max(cold) * 1000:.1f} ms")
    stored = len(cold) + args.notes
    print(f"  all {stored} notes stored in {elapsed:.2f} s ({stored / elapsed:.0f}/s)")
    print(f"  mail delivered meanwhile: {delivered} (the rest waits in the outbox)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
