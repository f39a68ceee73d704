"""Debian's nginx in front of test instances, configured by rendering ``deploy/nginx.conf``.

The rendering does what ``envsubst`` does in ``deploy/docker-compose.yml``: it replaces only our
``${NAME}`` placeholders, so the tests run the very file an operator deploys.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "nginx.conf"
NGINX = Path("/usr/sbin/nginx")
PLACEHOLDERS = (
    "NICEPICK_LISTEN",
    "NICEPICK_UPSTREAM_SERVERS",
    "NICEPICK_STATIC_DIR",
    "NGINX_RUN_DIR",
    "NGINX_ERROR_LOG",
    "NGINX_ACCESS_LOG",
    "NGINX_MIME_TYPES",
)


def render(template: str, values: Mapping[str, str]) -> str:
    """envsubst with an explicit variable list: other ``$names`` belong to nginx."""
    missing = [name for name in PLACEHOLDERS if name not in values]
    assert not missing, f"no value for {missing}"
    text = re.sub(
        r"\$\{([A-Z_]+)\}",
        lambda m: values[m.group(1)] if m.group(1) in PLACEHOLDERS else m.group(0),
        template,
    )
    return text


def upstream_lines(ports: Sequence[int]) -> str:
    return " ".join(f"server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;" for port in ports)


@dataclass
class Nginx:
    port: int
    run_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def error_log(self) -> str:
        path = self.run_dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def nginx(port: int, upstream_ports: Sequence[int], static_dir: Path) -> Iterator[Nginx]:
    """nginx on ``port`` balancing the given instance ports; stopped on exit."""
    if not NGINX.exists():
        pytest.skip(f"no nginx at {NGINX}")
    # Not under pytest's tmp_path: as root, nginx workers run as nobody and must enter it.
    run_dir = Path(tempfile.mkdtemp(prefix="nicepick-nginx-"))
    run_dir.chmod(0o755)
    # A copy of the assets, readable by everyone: the checkout may sit where those workers
    # cannot enter (a clone in /root, pytest's 0700 tmp_path), which gave them 403s.
    served = run_dir / "static"
    shutil.copytree(static_dir, served)
    for path in [served, *served.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    values = {
        "NICEPICK_LISTEN": f"127.0.0.1:{port}",
        "NICEPICK_UPSTREAM_SERVERS": upstream_lines(upstream_ports),
        "NICEPICK_STATIC_DIR": str(served),
        "NGINX_RUN_DIR": str(run_dir),
        "NGINX_ERROR_LOG": str(run_dir / "error.log"),
        "NGINX_ACCESS_LOG": "off",
        "NGINX_MIME_TYPES": "/etc/nginx/mime.types",
    }
    config = run_dir / "nginx.conf"
    config.write_text(render(CONFIG.read_text(), values))
    command = [str(NGINX), "-p", str(run_dir), "-e", str(run_dir / "error.log"), "-c", str(config)]
    subprocess.run([*command, "-t", "-q"], check=True, capture_output=True)
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    server = Nginx(port=port, run_dir=run_dir, process=process)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{server.url}/static/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"nginx did not start:\n{server.error_log()}") from None
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for leftover in sorted(run_dir.rglob("*"), reverse=True):
            if leftover.is_dir():
                os.rmdir(leftover)
            else:
                leftover.unlink()
        run_dir.rmdir()


class Instance:
    """One ``nicepick serve`` on a fixed port, which a test may kill -9 and start again."""

    def __init__(self, port: int, env: Mapping[str, str], log: Path) -> None:
        self.port = port
        self.env = dict(env)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> Instance:
        command = [
            str(ROOT / ".venv" / "bin" / "nicepick"),
            "serve",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        if not Path(command[0]).exists():
            command = [sys.executable, "-m", "app", *command[1:]]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"instance exited:\n{self.log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"instance did not start:\n{self.log.read_text()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9: no drain, no lease handed back."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> int | None:
        """SIGTERM, as an orchestrator stops an instance; returns the exit code."""
        if self.process is None:
            return None
        self.process.terminate()
        try:
            return self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
