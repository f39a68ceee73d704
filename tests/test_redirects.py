"""Every redirect points at NICEPICK_SITE_URL whatever the Host header says; probes answer on
any host."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from app.commands.export import export_site
from app.main import create_app
from app.settings import Settings
from app.web.redirects import CanonicalHostMiddleware, site_location
from tests.conftest import GOOD
from tests.discovery_content import write

SITE = "https://nicepick.test"
EVIL = {"host": "evil.example"}
Write = Callable[[str, str], Path]


def client_for(settings: Settings, write_content: Write, **update: object) -> TestClient:
    write_content("vim-vs-emacs.md", GOOD.replace("published:", "aliases: [vi]\npublished:"))
    # TestClient speaks plain http, like an app behind a TLS-terminating proxy.
    return TestClient(create_app(settings.model_copy(update=update)), follow_redirects=False)


@pytest.fixture(params=[False, True], ids=["host-redirect-off", "host-redirect-on"])
def client(
    request: pytest.FixtureRequest, settings: Settings, write_content: Write
) -> Iterator[TestClient]:
    with client_for(settings, write_content, redirect_host=request.param) as test_client:
        yield test_client


# (method, path, status, Location) for a request whose Host header is the attacker's.
REDIRECTS = [
    pytest.param("GET", "/compare/vim-vs-emacs/", 301, f"{SITE}/compare/vim-vs-emacs", id="slash"),
    pytest.param(
        "GET", "/category/dev-tools/?page=1", 301, f"{SITE}/category/dev-tools?page=1", id="slash-q"
    ),
    pytest.param("HEAD", "/tag/editors/", 301, f"{SITE}/tag/editors", id="slash-head"),
    pytest.param(
        "GET", "/compare/v%69m-vs-emacs/", 301, f"{SITE}/compare/v%69m-vs-emacs", id="enc"
    ),
    pytest.param(
        "GET", "/compare/emacs-vs-vim", 301, f"{SITE}/compare/vim-vs-emacs", id="reversed"
    ),
    pytest.param("GET", "/compare/vi", 301, f"{SITE}/compare/vim-vs-emacs", id="alias"),
    pytest.param("GET", "/api/comparisons/", 301, f"{SITE}/api/comparisons", id="api-slash"),
]


@pytest.mark.parametrize(("method", "path", "status", "location"), REDIRECTS)
def test_redirects_are_built_from_the_site_url_never_the_host_header(
    client: TestClient, method: str, path: str, status: int, location: str
) -> None:
    response = client.request(method, path, headers=EVIL)
    if client.app.state.site.settings.redirect_host:  # type: ignore[attr-defined]
        # The wrong host is answered first, with the same path on the site's host.
        location = f"{SITE}{path}"
    assert (response.status_code, response.headers["location"]) == (status, location)
    assert "evil.example" not in response.headers["location"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "//evil.example/", id="protocol-relative"),
        pytest.param("GET", "/no-such-route/", id="unknown"),
        pytest.param("GET", "/", id="root"),
        pytest.param("POST", "/compare/vim-vs-emacs/feedback/", id="post-keeps-its-body"),
        # An encoded slash is part of the name: stripping it from the raw path left the same
        # URL, a redirect to itself.
        pytest.param("GET", "/compare/vim-vs-emacs%2F", id="encoded-slash"),
        pytest.param("GET", "/tag/editors%2F%2F", id="encoded-slashes"),
    ],
)
def test_no_slash_redirect_where_no_route_matches(
    settings: Settings, write_content: Write, method: str, path: str
) -> None:
    with client_for(settings, write_content) as client:
        response = client.request(method, path, headers=EVIL)
    assert "location" not in response.headers
    assert response.status_code in (200, 404, 405)


def test_the_notes_form_redirects_to_the_site_url(settings: Settings, write_content: Write) -> None:
    with client_for(settings, write_content) as client:
        page = client.get("/compare/vim-vs-emacs")
        token = page.text.split('name="token" value="', 1)[1].split('"', 1)[0]
        response = client.post(
            "/compare/vim-vs-emacs/feedback",
            data={"token": token, "option": "Emacs", "message": "Org mode decides it for me."},
            headers=EVIL,
        )
    assert response.status_code == 303
    assert response.headers["location"] == f"{SITE}/compare/vim-vs-emacs?thanks=1#feedback"


def test_the_api_next_link_ignores_a_host_header_naming_a_path(
    settings: Settings, write_content: Write
) -> None:
    for index in range(60):
        write(settings.content_dir, [f"A{index}", f"B{index}"], tags=["editors"])
    with client_for(settings, write_content) as client:
        body = client.get(
            "/api/comparisons?tag=editors&junk=1", headers={"host": "evil.example/api/x"}
        ).json()
    assert body["next"] == f"{SITE}/api/comparisons?tag=editors&page=2"


@pytest.mark.parametrize(
    ("site_url", "path", "location"),
    [
        ("https://nicepick.dev", "/compare/x", "https://nicepick.dev/compare/x"),
        ("https://nicepick.dev/", "//evil.example/x", "https://nicepick.dev/evil.example/x"),
        # Local development: the path alone, so a server on any port sends readers to itself.
        ("http://127.0.0.1:8000", "/compare/x?y=1", "/compare/x?y=1"),
        ("http://localhost:8000", "//evil.example/x", "/evil.example/x"),
    ],
)
def test_site_location(site_url: str, path: str, location: str) -> None:
    assert site_location(site_url, path) == location


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
@pytest.mark.parametrize("host", ["10.0.0.5:8000", "127.0.0.1:8000", "evil.example"])
def test_probes_answer_on_any_host(
    settings: Settings, write_content: Write, path: str, host: str
) -> None:
    with client_for(settings, write_content, redirect_host=True) as client:
        response = client.get(path, headers={"host": host})
    assert response.status_code == 200
    assert "location" not in response.headers


def test_the_export_names_redirect_targets_by_path(
    settings: Settings, write_content: Write, tmp_path: Path
) -> None:
    text = GOOD.replace("published:", "aliases: [vi]\npublished:")
    # A page that links to its old address: the export follows the link to the redirect.
    text = text.replace("Vim is everywhere you log in.", "Vim is everywhere ([vi](/compare/vi)).")
    write_content("vim-vs-emacs.md", text)
    export_site(settings, tmp_path / "out", cards=False, jobs=1)
    rules = (tmp_path / "out" / "_redirects").read_text(encoding="utf-8").splitlines()
    assert "/compare/vi /compare/vim-vs-emacs 301" in rules
    assert all(SITE not in rule for rule in rules)


def test_an_asterisk_request_is_never_redirected_to_a_made_up_url() -> None:
    """``OPTIONS *`` names no path: "https://site*" is no URL; the app answers it."""
    reached: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["path"])

    middleware = CanonicalHostMiddleware(app, site_url=SITE)
    scope: Scope = {
        "type": "http",
        "method": "OPTIONS",
        "path": "*",
        "raw_path": b"*",
        "query_string": b"",
        "headers": [(b"host", b"evil.example")],
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        raise AssertionError(f"answered by the middleware: {message}")

    asyncio.run(middleware(scope, receive, send))
    assert reached == ["*"]
