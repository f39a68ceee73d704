"""The rate limit counts an IPv6 client by its /64: one subscriber's network, not one address.

Notes go through the real app behind a trusted proxy (so ``X-Forwarded-For`` chooses the
client), and the outcome is read from the answers and the rows in the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.feedback.ratelimit import client_key
from app.feedback.service import Feedback
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD, ROOT

SLUG = "vim-vs-emacs"


@pytest.mark.parametrize(
    ("address", "prefix", "key"),
    [
        ("2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::ffff", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2:3:4:5:6", 56, "2001:db8:1::/56"),
        ("2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6/128"),
        ("::ffff:192.0.2.7", 64, "192.0.2.7"),  # IPv4-mapped: the IPv4 client it is
        ("192.0.2.7", 64, "192.0.2.7"),
        ("testclient", 64, "testclient"),
    ],
)
def test_client_key(address: str, prefix: int, key: str) -> None:
    assert client_key(address, ipv6_prefix=prefix) == key


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    content = tmp_path / "content"
    content.mkdir()
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    settings = Settings(
        _env_file=None,
        content_dir=content,
        data_dir=tmp_path / "var",
        templates_dir=ROOT / "templates",
        static_dir=ROOT / "static",
        secret_key="rate-limit-networks-secret-0123456789",
        feedback_min_seconds=0,
        feedback_rate="3/10minutes",
        trusted_proxies=["127.0.0.1"],
        redirect_host=False,
    )
    app = create_app(settings)
    with TestClient(app, follow_redirects=False, client=("127.0.0.1", 40000)) as test_client:
        yield test_client


def post_from(client: TestClient, address: str) -> int:
    page = BeautifulSoup(client.get(f"/compare/{SLUG}").text, "html.parser")
    token = page.select_one('#feedback input[name="token"]')
    assert token is not None
    form = {"option": "Emacs", "message": f"note {uuid.uuid4().hex}", "token": str(token["value"])}
    response = client.post(
        f"/compare/{SLUG}/feedback", data=form, headers={"X-Forwarded-For": address}
    )
    return response.status_code


def test_fresh_addresses_in_one_ipv6_64_share_one_limit(client: TestClient) -> None:
    same_64 = [f"2001:db8:aa:bb::{index:x}" for index in range(1, 6)]
    assert [post_from(client, address) for address in same_64] == [303, 303, 303, 429, 429]
    # Another /64 is another subscriber; IPv4 addresses are still counted one by one.
    assert post_from(client, "2001:db8:aa:bc::1") == 303
    assert [post_from(client, f"192.0.2.{index}") for index in range(1, 5)] == [303] * 4
    feedback: Feedback = client.app.state.feedback  # type: ignore[attr-defined]
    assert len(feedback.store.notes()) == 3 + 1 + 4


def test_an_ipv4_mapped_address_counts_with_its_ipv4_address(client: TestClient) -> None:
    statuses = [post_from(client, "192.0.2.50") for _ in range(3)]
    assert statuses + [post_from(client, "::ffff:192.0.2.50")] == [303, 303, 303, 429]
