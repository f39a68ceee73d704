"""Debian's nginx in front of test instances, configured by rendering ``deploy/nginx.conf``.

The rendering does what ``envsubst`` does in ``deploy/docker-compose.yml``: it replaces only our
``${NAME}`` placeholders, so the tests run the very file an operator deploys.
"""

from __future__ import annotations

import os
import re
import subprocess
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
    values = {
        "NICEPICK_LISTEN": f"127.0.0.1:{port}",
        "NICEPICK_UPSTREAM_SERVERS": upstream_lines(upstream_ports),
        "NICEPICK_STATIC_DIR": str(static_dir.resolve()),
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
