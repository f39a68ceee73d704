"""Every page at phone and desktop widths, light and dark: nothing scrolls sideways, the pick
and its reason are on a phone's first screen, controls are visible (non-text contrast 3:1),
and the feedback form keeps the reader's words without JavaScript.

Full-page screenshots of every page type at 390 and 1366 px go to test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ViewportSize, expect

from tests.browser.conftest import ARTIFACTS, Site
from tests.live import eventually, live_server, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = [320, 390, 1366]
SCHEMES = ["light", "dark"]
PHONE: ViewportSize = {"width": 390, "height": 844}


def every_page(urls: dict[str, str]) -> dict[str, str]:
    """The page types the conftest finds, plus the API docs and a search that finds nothing."""
    return urls | {"docs": "/docs", "search-nothing": "/search?q=zqxjkv"}


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(
    site: Site,
    urls: dict[str, str],
    new_context: Callable[..., BrowserContext],
    width: int,
    scheme: str,
) -> None:
    page = new_context(viewport={"width": width, "height": 844}, color_scheme=scheme).new_page()
    wide: dict[str, tuple[int, int]] = {}
    for name, path in every_page(urls).items():
        page.goto(site(path))
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        if scroll > inner:
            wide[f"{name} {path}"] = (scroll, inner)
        if width in (390, 1366):
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"{name}-{width}-{scheme}.png"
            page.screenshot(path=str(shot), full_page=True)
    assert not wide, f"pages wider than the window at {width} px: {wide}"


@pytest.mark.parametrize("width", [320, 1366])
def test_the_open_categories_menu_fits_the_window(
    site: Site, urls: dict[str, str], new_context: Callable[..., BrowserContext], width: int
) -> None:
    page = new_context(viewport={"width": width, "height": 700}).new_page()
    page.goto(site(urls["category"]))
    # The header's menu, not the footer's link to /categories.
    page.get_by_role("navigation", name="Categories").get_by_text("Categories").click()
    menu = page.locator('nav[aria-label="Categories"] ul')
    expect(menu).to_be_visible()
    box = menu.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def shipped_comparisons(site: Site) -> list[str]:
    """Every visible comparison, from the API (following ``next``)."""
    slugs: list[str] = []
    url: str | None = site("/api/comparisons")
    while url:
        data = httpx.get(url, timeout=10).json()
        slugs += [item["slug"] for item in data["items"]]
        url = data.get("next")
    return slugs


def test_every_comparison_shows_pick_and_reason_on_a_phones_first_screen(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    slugs = shipped_comparisons(site)
    assert len(slugs) >= 10
    page = new_context(viewport=PHONE, is_mobile=True).new_page()
    below: dict[str, float] = {}
    for slug in slugs:
        page.goto(site(f"/compare/{slug}"))
        bottom = page.evaluate(
            """() => Math.max(...['.pick-name', '.glance-reason'].map(
                   s => document.querySelector(s).getBoundingClientRect().bottom))"""
        )
        if bottom > PHONE["height"]:
            below[slug] = bottom
        expect(page.locator(".glance-reason")).not_to_be_empty()
    assert not below, f"pick or reason below the first screen: {below}"


def test_side_by_side_shows_a_hint_only_while_columns_are_hidden(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    path = "/compare/postgresql-vs-mysql-vs-sqlite"
    phone = new_context(viewport={"width": 320, "height": 700}).new_page()
    phone.goto(site(path))
    expect(phone.locator("#side-by-side .scroll-hint")).to_be_visible()
    first = phone.locator("#side-by-side tbody th").first
    before = first.bounding_box()
    phone.locator("#side-by-side .table-scroll").evaluate("el => el.scrollBy(200, 0)")
    after = first.bounding_box()
    assert before is not None and after is not None
    assert after["x"] == before["x"], "the row labels scrolled away with the options"
    desk = new_context(viewport={"width": 1366, "height": 900}).new_page()
    desk.goto(site(path))
    expect(desk.locator("#side-by-side .scroll-hint")).to_be_hidden()


# --- non-text contrast (WCAG 1.4.11) ---------------------------------------------------------

_RGB = re.compile(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)")


def luminance(css: str) -> float:
    match = _RGB.match(css)
    assert match is not None, css
    channels = []
    for value in match.groups():
        c = float(value) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: str, two: str) -> float:
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


BACKGROUND = """(el) => {
    for (let node = el.parentElement; node; node = node.parentElement) {
        const bg = getComputedStyle(node).backgroundColor;
        if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') return bg;
    }
    return getComputedStyle(document.body).backgroundColor;
}"""


@pytest.mark.parametrize("scheme", SCHEMES)
def test_inputs_focus_ring_and_highlight_have_3_to_1_contrast(
    site: Site, urls: dict[str, str], new_context: Callable[..., BrowserContext], scheme: str
) -> None:
    page = new_context(color_scheme=scheme).new_page()
    page.goto(site(urls["comparison"]))
    measured: dict[str, float] = {}
    for selector in ("#fb-message", "#fb-name", "#fb-email", "#site-search-q"):
        field = page.locator(selector)
        border = field.evaluate("el => getComputedStyle(el).borderTopColor")
        measured[selector] = contrast(border, field.evaluate(BACKGROUND))
    field = page.locator("#fb-name")
    field.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus by keyboard, so :focus-visible applies
    ring = field.evaluate("el => getComputedStyle(el).outlineColor")
    measured["focus ring"] = contrast(ring, field.evaluate(BACKGROUND))
    page.goto(site(urls["search-results"]))
    mark = page.locator(".snippet mark").first
    line = mark.evaluate("el => getComputedStyle(el).borderBottomColor")
    measured["<mark> underline"] = contrast(line, mark.evaluate(BACKGROUND))
    low = {name: round(ratio, 2) for name, ratio in measured.items() if ratio < 3}
    assert not low, f"non-text contrast under 3:1 in {scheme} mode: {low}"


# --- the feedback form without JavaScript -----------------------------------------------------


def test_without_javascript_an_invalid_note_opens_at_its_errors(
    site: Site, urls: dict[str, str], new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(site(urls["comparison"]))
    page.locator("#fb-message").fill("Too short")
    page.get_by_role("button", name="Send to the editors").click()
    summary = page.locator("#feedback-errors")
    expect(summary).to_be_in_viewport()
    expect(page.locator("#feedback-title")).to_be_in_viewport()
    expect(page.locator("#fb-message")).to_have_value("Too short")
    # That address opened again (shared, or typed: a GET) goes to the form on its page.
    assert page.url == site(f"{urls['comparison']}/feedback#feedback")
    again = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    again.goto(page.url)
    assert again.url == site(f"{urls['comparison']}#feedback")
    expect(again.locator("#feedback-title")).to_be_in_viewport()


def test_without_javascript_the_thanks_notice_folds_the_form_away(
    site: Site, urls: dict[str, str], new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(site(urls["comparison"]))
    page.locator(".feedback-form .choice label").last.click()
    page.locator("#fb-message").fill("The last option suits one-person projects far better.")
    page.get_by_role("button", name="Send to the editors").click()
    expect(page.locator("#feedback-thanks")).to_be_in_viewport()
    expect(page.locator("#fb-message")).to_be_hidden()
    page.get_by_text("Send another note").click()
    expect(page.locator("#fb-message")).to_be_visible()


@pytest.fixture(scope="module")
def strict_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server that takes one note a minute from a reader; its URL."""
    data = tmp_path_factory.mktemp("strict")
    env = server_env(data / "var", NICEPICK_FEEDBACK_RATE="1/minute")
    with live_server(env, data / "server.log") as server:
        yield server.url


def post_note(url: str, slug: str, message: str) -> httpx.Response:
    """A note sent as a browser without script sends it, after reading the page's token."""
    page = httpx.get(f"{url}/compare/{slug}", timeout=10).text
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token is not None
    form = {"option": "Caddy" if "caddy" in slug else "Emacs", "message": message}
    return httpx.post(
        f"{url}/compare/{slug}/feedback", data=form | {"token": token.group(1)}, timeout=10
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_reader_over_the_rate_limit_keeps_the_text_and_learns_when_to_resend(
    strict_site: str, browser: Browser, javascript: bool
) -> None:
    # This reader's one note of the minute (or a 429 when an earlier test sent it).
    assert post_note(strict_site, "nginx-vs-caddy", "A first note, long enough.").status_code in (
        303,
        429,
    )
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    try:
        page = context.new_page()
        page.goto(f"{strict_site}/compare/nginx-vs-caddy")
        words = f"Second note, {'with' if javascript else 'without'} script: keep every word."
        page.locator(".feedback-form .choice label").first.click()
        page.locator("#fb-message").fill(words)
        page.get_by_role("button", name="Send to the editors").click()
        notice = page.locator("#feedback-errors")
        expect(notice).to_contain_text("please send it again in a minute")
        expect(notice).to_be_in_viewport()
        expect(page.locator("#fb-message")).to_have_value(words)
    finally:
        context.close()


def test_the_rate_limited_answer_says_when_in_retry_after(strict_site: str) -> None:
    post_note(strict_site, "vim-vs-emacs", "Org mode is worth it, said once.")
    refused = post_note(strict_site, "vim-vs-emacs", "Org mode is worth it, said twice.")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert "Org mode is worth it, said twice." in refused.text


def test_printing_leaves_out_header_and_form_and_prints_where_links_go(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context().new_page()
    page.goto(site("/compare/nginx-vs-caddy"))
    page.emulate_media(media="print")
    for part in (".site-header", "#feedback", ".jump-links"):
        expect(page.locator(part)).to_be_hidden()
    expect(page.locator(".glance")).to_be_visible()
    # Shipped pages link out only from their sources (another part's): add one to the intro.
    after = page.evaluate(
        """() => {
            const link = document.createElement('a');
            link.href = 'https://www.postgresql.org/docs/';
            link.textContent = 'the manual';
            document.querySelector('.comparison .intro').append(link);
            return getComputedStyle(link, '::after').content;
        }"""
    )
    assert "https://www.postgresql.org/docs/" in after


@pytest.mark.parametrize("width", [320, 1366])
def test_the_meters_bars_line_up_whichever_row_is_our_pick(
    site: Site, new_context: Callable[..., BrowserContext], width: int
) -> None:
    note = f"Nginx still serves my cache best, at {width} px."
    assert post_note(site.url, "nginx-vs-caddy", note).is_redirect
    # The page shows the count once this instance's meter has it (within a second); asked
    # outside the browser, whose HTTP cache would keep the page from before the note.
    assert eventually(
        lambda: "<meter" in httpx.get(site("/compare/nginx-vs-caddy"), timeout=10).text
    )
    page = new_context(viewport={"width": width, "height": 800}).new_page()
    page.goto(site("/compare/nginx-vs-caddy"))
    boxes = [bar.bounding_box() for bar in page.locator(".disagreement-meter meter").all()]
    assert len(boxes) == 2 and all(boxes)
    assert len({(round(b["x"]), round(b["width"])) for b in boxes if b}) == 1, boxes


@pytest.fixture(scope="module")
def long_words_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose content `check` passes with words longer than a phone is wide: a
    "why" holding a long URL, a profile's platform written as one word."""
    from tests.conftest import ROOT

    root = tmp_path_factory.mktemp("long-words")
    content = root / "content"
    (content / "options").mkdir(parents=True)
    page = (ROOT / "content" / "nginx-vs-caddy.md").read_text(encoding="utf-8")
    url = "https://docs.example.org/reference/configuration/index.html"
    page = re.sub(r"(?m)^why: .*$", f'why: "It reads {url} once"', page, count=1)
    (content / "nginx-vs-caddy.md").write_text(page, encoding="utf-8")
    profile = (ROOT / "content" / "options" / "nginx.md").read_text(encoding="utf-8")
    profile = re.sub(
        r"(?m)^platforms: .*$", "platforms: [Linux, WindowsSubsystemForLinuxEverywhere]", profile
    )
    (content / "options" / "nginx.md").write_text(profile, encoding="utf-8")
    env = server_env(root / "var", content_dir=content)
    with live_server(env, root / "server.log") as server:
        yield server.url


@pytest.mark.parametrize("scheme", SCHEMES)
def test_words_longer_than_a_phone_is_wide_wrap_instead_of_scrolling(
    long_words_site: str, new_context: Callable[..., BrowserContext], scheme: str
) -> None:
    # An outside review: the pick's reason and a profile's facts sat in grid columns as wide
    # as their longest word (578 and 411 px on a 320 px phone).
    page = new_context(viewport={"width": 320, "height": 700}, color_scheme=scheme).new_page()
    for path in ("/compare/nginx-vs-caddy", "/option/nginx"):
        response = page.goto(long_words_site + path)
        assert response is not None and response.status == 200
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= 320, f"{path} is {scroll} px wide"
    page.goto(long_words_site + "/compare/nginx-vs-caddy")
    assert "docs.example.org" in page.locator(".glance-reason").inner_text()
