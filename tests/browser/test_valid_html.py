"""Every page type is valid HTML by the Nu Html Checker (vnu), the W3C validator's engine.

vnu comes from the npm package ``vnu-jar`` pinned in package.json (``make browser``
installs it) and runs on the machine's Java; one run checks every page.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import Site
from tests.live import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def rejected_note(site: Site, path: str) -> str:
    """The comparison page as re-rendered for a note that is too short (422)."""
    page = httpx.get(site(path), timeout=10).text
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token is not None
    form = {"option": "", "message": "short", "email": "no", "token": token.group(1)}
    response = httpx.post(site(f"{path}/feedback"), data=form, timeout=10)
    assert response.status_code == 422
    return response.text


def test_every_page_type_is_valid_html(site: Site, urls: dict[str, str], tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None or not VNU.exists():
        pytest.fail("vnu needs Java and node_modules/vnu-jar: run `make browser`")
    pages = urls | {"docs": "/docs", "search-nothing": "/search?q=zqxjkv"}
    files = []
    for name, path in pages.items():
        response = httpx.get(site(path), timeout=10)
        assert response.status_code in (200, 404), (name, response.status_code)
        files.append(tmp_path / f"{name}.html")
        files[-1].write_text(response.text, encoding="utf-8")
    files.append(tmp_path / "comparison-422.html")
    files[-1].write_text(rejected_note(site, urls["comparison"]), encoding="utf-8")
    run = subprocess.run(
        [java, "-jar", str(VNU), "--format", "json", "--errors-only", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(run.stderr or run.stdout)["messages"]
    errors = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}"
        for m in messages
        if m.get("type") == "error"
    ]
    assert errors == [], "\n".join(errors)
    assert len(files) == len(pages) + 1
