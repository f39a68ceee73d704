"""What the benches share: the repo's paths, a free loopback port, ``nicepick serve`` started
as an operator would (``NICEPICK_*`` variables only), waited for on /healthz, and a settled disk
before a timed build.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
NICEPICK = ROOT / ".venv" / "bin" / "nicepick"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def compile_modules() -> None:
    """Compile the project's modules to bytecode before a timed ``nicepick`` run, as
    ``pip install`` does for an installed package. A shell with ``PYTHONDONTWRITEBYTECODE``
    (this project's Dockerfile sets it; so do some CI images) otherwise compiles ~400
    modules at every start of ``python -m app`` from the checkout: ~0.1 s of each
    incremental build that an installed ``nicepick`` never pays."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "app")],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def settle_disk(content: Path) -> None:
    """Before a timed build: every dirty page written back, the kernel's caches emptied where
    we may (root), then ``content`` read, so each builder starts alike. Seen here, on ext4
    without a journal: for a minute after a large folder is deleted, the kernel passes over
    the freed inodes while their table blocks are cached, and a build writing 75,000 files
    right after one ran 5-10x slower in the kernel; whichever builder came after a deletion
    (the previous bench's temp folder) paid for it."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:  # not root: the sync alone
        pass
    for path in content.rglob("*"):
        if path.is_file():
            path.read_bytes()


def site_env(
    data: Path, *, content: Path | None = None, site_url: str | None = None, **extra: str
) -> dict[str, str]:
    """The caller's environment without its NICEPICK_* settings, plus a throwaway site's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICEPICK_")}
    env.update(
        NICEPICK_CONTENT_DIR=str(content or ROOT / "content"),
        NICEPICK_DATA_DIR=str(data),
        NICEPICK_TEMPLATES_DIR=str(ROOT / "templates"),
        NICEPICK_STATIC_DIR=str(ROOT / "static"),
    )
    if site_url:
        env["NICEPICK_SITE_URL"] = site_url
    env.update(extra)
    return env


def start_server(
    env: dict[str, str],
    port: int,
    *,
    args: tuple[str, ...] = (),
    log: Path | None = None,
    timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """``nicepick serve`` on ``port``, once /healthz answers; exits the bench if it never does."""
    command = [str(NICEPICK), "serve", "--port", str(port), *args]
    if not NICEPICK.exists():  # a venv made elsewhere: run the CLI module with this Python
        command = [sys.executable, "-m", "app", *command[1:]]
    if log is None:  # errors still reach the terminal
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    else:
        with log.open("wb") as out:  # the child keeps its own descriptor
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    process.wait()
    detail = f":\n{log.read_text(errors='replace')}" if log else ""
    raise SystemExit(f"server did not start{detail}")


def record(title: str, source: str, lines: list[str]) -> None:
    """Append one section to bench/RESULTS.md, dated and naming the bench that measured it."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(f"\n### {title} ({stamp}, {source})\n\n")
        out.writelines(f"- {line}\n" for line in lines)
