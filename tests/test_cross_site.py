"""Cross-site posts: another website cannot make its visitors' browsers post notes.

One table of header combinations a browser (or a forger) may send with the form. Each case
says whether the note is accepted (303, a row in the database) or refused (403, no row, no
rate-limit hit, the page re-rendered with the reader's text kept and the reason shown).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.feedback.service import Feedback
from app.main import create_app
from app.settings import Settings
from app.web.notes import CROSS_SITE_MESSAGE, origin_of
from tests.conftest import GOOD, ROOT

SLUG = "vim-vs-emacs"
SITE = "https://nicepick.test"  # NICEPICK_SITE_URL; the test client talks to http://testserver


@dataclass(frozen=True)
class Case:
    id: str
    headers: dict[str, str] = field(default_factory=dict)
    accepted: bool = True


CASES = [
    # Accepted: same-origin posts, old browsers, and exported pages on the site's origin.
    Case("no-origin-no-fetch-metadata"),
    Case("origin-is-the-site-url", {"Origin": SITE}),
    Case("origin-is-the-site-url-upper-case", {"Origin": "HTTPS://NicePick.test"}),
    # A local run reached by another loopback name than its site URL's (localhost for
    # 127.0.0.1): the host the browser asked for is its origin.
    Case("loopback-host-requested", {"Host": "localhost:8000", "Origin": "http://localhost:8000"}),
    Case("loopback-ip-requested", {"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8000"}),
    Case("fetch-same-origin", {"Sec-Fetch-Site": "same-origin"}),
    Case("fetch-none-typed-by-the-user", {"Sec-Fetch-Site": "none"}),
    Case("origin-and-same-origin", {"Origin": SITE, "Sec-Fetch-Site": "same-origin"}),
    # The static export on the site's origin posting to a separate feedback endpoint: the
    # browser calls that cross-site (or same-site), but the Origin is the site's own.
    Case("export-page-to-endpoint", {"Origin": SITE, "Sec-Fetch-Site": "cross-site"}),
    Case("export-page-to-subdomain", {"Origin": SITE, "Sec-Fetch-Site": "same-site"}),
    # Refused.
    Case("foreign-origin", {"Origin": "https://evil.example"}, False),
    Case(
        "foreign-origin-cross-site",
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        False,
    ),
    Case(
        "foreign-origin-claims-same-origin",
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
        False,
    ),
    Case("null-origin-sandboxed-frame", {"Origin": "null"}, False),
    Case("site-host-as-a-prefix", {"Origin": "https://nicepick.test.evil.example"}, False),
    Case("site-host-as-a-suffix", {"Origin": "https://evilnicepick.test"}, False),
    Case("subdomain-of-the-site", {"Origin": "https://blog.nicepick.test"}, False),
    Case("wrong-scheme", {"Origin": "http://nicepick.test"}, False),
    Case("wrong-port", {"Origin": "https://nicepick.test:8443"}, False),
    Case("empty-origin", {"Origin": ""}, False),
    Case("fetch-cross-site-without-origin", {"Sec-Fetch-Site": "cross-site"}, False),
    Case("fetch-same-site-without-origin", {"Sec-Fetch-Site": "same-site"}, False),
    # DNS rebinding (an outside review): a page on evil.example, its name pointed at our
    # address, posts with its own Host and Origin, to use readers' addresses past the limit.
    Case(
        "rebound-host-and-origin", {"Host": "evil.example", "Origin": "http://evil.example"}, False
    ),
    Case("the-test-clients-own-host", {"Origin": "http://testserver"}, False),
    # A Host header that is no host: not our origin, and no 500 that loses the reader's text.
    Case("malformed-host-port", {"Host": "x:abc", "Origin": "http://x:abc"}, False),
    Case("malformed-host-bracket", {"Host": "[", "Origin": "http://evil.example"}, False),
    Case("host-port-out-of-range", {"Host": "x:99999", "Origin": "http://x:99999"}, False),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("cross-site")
    content = root / "content"
    content.mkdir()
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    settings = Settings(
        _env_file=None,
        content_dir=content,
        data_dir=root / "var",
        templates_dir=ROOT / "templates",
        static_dir=ROOT / "static",
        site_url=SITE,
        secret_key="cross-site-secret-0123456789abcdef",
        feedback_min_seconds=0,
        feedback_rate="100000/minute",
        redirect_host=False,  # the test client's host is not the site's
    )
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_cross_site_posts_are_refused(client: TestClient, case: Case) -> None:
    feedback: Feedback = client.app.state.feedback  # type: ignore[attr-defined]
    page = BeautifulSoup(client.get(f"/compare/{SLUG}").text, "html.parser")
    token = page.select_one('#feedback input[name="token"]')
    assert token is not None
    message = f"Org mode beats everything. {uuid.uuid4().hex}"
    form = {"option": "Emacs", "message": message, "name": "Ada", "token": str(token["value"])}
    before = len(feedback.store.notes())

    response = client.post(f"/compare/{SLUG}/feedback", data=form, headers=case.headers)

    notes = feedback.store.notes()
    if case.accepted:
        assert response.status_code == 303, response.text[:300]
        assert len(notes) == before + 1 and notes[-1].message == message
        return
    assert response.status_code == 403
    assert len(notes) == before, "a cross-site note was stored"
    refused = BeautifulSoup(response.text, "html.parser")
    errors = refused.find(id="feedback-errors")
    assert errors is not None and CROSS_SITE_MESSAGE in errors.get_text(" ", strip=True)
    textarea = refused.select_one("#fb-message")
    assert textarea is not None and textarea.get_text() == message
    name = refused.select_one("#fb-name")
    assert name is not None and name.get("value") == "Ada"


def test_refused_posts_do_not_use_up_the_readers_limit(tmp_path: Path) -> None:
    """A forging site could otherwise lock readers out (the limit counts every attempt)."""
    content = tmp_path / "content"
    content.mkdir()
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    settings = Settings(
        _env_file=None,
        content_dir=content,
        data_dir=tmp_path / "var",
        templates_dir=ROOT / "templates",
        static_dir=ROOT / "static",
        site_url=SITE,
        secret_key="cross-site-secret-0123456789abcdef",
        feedback_min_seconds=0,
        feedback_rate="2/10minutes",
        redirect_host=False,
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        page = BeautifulSoup(client.get(f"/compare/{SLUG}").text, "html.parser")
        token = page.select_one('#feedback input[name="token"]')
        assert token is not None
        form = {"option": "Emacs", "message": "A note long enough.", "token": str(token["value"])}
        post = f"/compare/{SLUG}/feedback"
        forged = [
            client.post(post, data=form, headers={"Origin": "https://evil.example"}).status_code
            for _ in range(5)
        ]
        own = [client.post(post, data=form, headers={"Origin": SITE}).status_code for _ in range(3)]
    assert forged == [403] * 5
    assert own == [303, 303, 429]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://nicepick.dev", "https://nicepick.dev"),
        ("https://NicePick.dev:443/", "https://nicepick.dev"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:80/x", "http://[::1]"),
        ("http://x:abc", None),
        ("http://[", None),
        ("http://x:99999", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
