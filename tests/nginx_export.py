"""Debian's nginx serving an exported folder with ``docs/nginx-export.conf`` itself.

The documented file is used as written; only the folder (``/srv/nicepick/site``) and the
listen address are replaced, and the headers snippet it includes is written beside it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.live import ROOT, free_port
from tests.proxy import NGINX

CONFIG = ROOT / "docs" / "nginx-export.conf"
_MAIN = """pid {run}/nginx.pid;
error_log {run}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    include {run}/site.conf;
}}
"""


@contextmanager
def nginx_export(out: Path) -> Iterator[str]:
    """nginx serving ``out`` as the docs say; yields its base URL."""
    if not NGINX.exists():
        pytest.skip(f"no nginx at {NGINX}")
    # Not under pytest's tmp_path: as root, nginx workers run as nobody and must enter it.
    run = Path(tempfile.mkdtemp(prefix="nicepick-export-nginx-"))
    try:
        run.chmod(0o755)
        site = run / "site"
        shutil.copytree(out, site)
        for path in [site, *site.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        (run / "snippets").mkdir()
        (run / "snippets/nicepick-headers.conf").write_text(
            "add_header X-Content-Type-Options nosniff always;\n"
        )
        port = free_port()
        text = CONFIG.read_text()
        assert "/srv/nicepick/site" in text and "listen 80;" in text
        text = text.replace("/srv/nicepick/site", str(site))
        text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
        (run / "site.conf").write_text(text)
        (run / "nginx.conf").write_text(_MAIN.format(run=run))
        command = [str(NGINX), "-p", str(run), "-c", str(run / "nginx.conf")]
        checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 10
            while True:
                try:
                    httpx.get(url + "/robots.txt", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("nginx did not start") from None
                    time.sleep(0.05)
            yield url
        finally:
            process.terminate()
            process.wait(10)
    finally:
        shutil.rmtree(run, ignore_errors=True)
