"""nginx (tests/proxy.py) serves the assets wherever the checkout lives.

As root, nginx's workers run as ``nobody``: a checkout under a folder others cannot enter (a
clone in /root; here, pytest's 0700 temp folder) must not turn every asset into a 403.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.pg import free_port
from tests.proxy import nginx

pytestmark = pytest.mark.slow


def test_assets_in_a_folder_only_the_owner_can_enter_are_served(tmp_path: Path) -> None:
    private = tmp_path / "private-checkout"
    private.mkdir(mode=0o700)
    static = private / "static"
    shutil.copytree(ROOT / "static", static)
    assert not private.stat().st_mode & stat.S_IXOTH
    if os.geteuid() != 0:
        pytest.skip("only root's nginx hands requests to workers of another user")
    with nginx(free_port(), [free_port()], static) as proxy:
        response = httpx.get(f"{proxy.url}/static/site.css", timeout=10)
    assert response.status_code == 200, response.text[:200]
    assert response.content == (static / "site.css").read_bytes()
