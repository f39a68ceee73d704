"""Reading journeys in a real browser: index, category, comparison; keyboard, phone, dark mode."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Site, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_reader_goes_from_index_to_category_to_comparison_pick_and_verdict(
    site: Site, page: Page
) -> None:
    page.goto(site("/"))
    expect(page).to_have_title("Nice Pick")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pick with confidence")
    screenshot(page, "index")

    category = page.locator(".category-block h2 a").first
    category_name = category.inner_text()
    category.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(category_name)
    assert "/category/" in page.url
    screenshot(page, "category")

    card = page.locator(".summary-card :is(h2, h3) a").first
    title = card.inner_text()
    card.click()
    assert "/compare/" in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    pick = page.locator(".pick-badge strong").inner_text()
    assert pick
    # The pick is the highlighted option, and the verdict and bottom line name it.
    expect(page.locator(".option-card.is-pick h2")).to_contain_text(pick)
    expect(page.get_by_role("heading", name="The Verdict")).to_be_visible()
    expect(page.locator(".bottom-line .winner")).to_have_text(f"{pick} wins")
    screenshot(page, "comparison")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_tag_and_not_found_pages_render(site: Site, page: Page, urls: dict[str, str]) -> None:
    page.goto(site(urls["tag"]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tagged")
    screenshot(page, "tag")
    response = page.goto(site(urls["not-found"]))
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("We could not find that page")
    screenshot(page, "not-found")


def test_reader_searches_from_the_header_and_opens_a_result(site: Site, page: Page) -> None:
    page.goto(site("/"))
    title = page.locator(".summary-card :is(h2, h3) a").first.inner_text()
    word = title.split()[0]
    box = page.get_by_role("search").first.get_by_role("searchbox")
    box.fill(word)
    box.press("Enter")
    page.wait_for_url("**/search?q=*")
    results = page.locator(".search-results .summary-card h2 a")
    expect(results.first).to_be_visible()
    assert word.lower() in " ".join(results.all_inner_texts()).lower()
    screenshot(page, "search")
    target = results.filter(has_text=title).first
    target.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    assert "/compare/" in page.url


def test_option_best_and_search_pages_render(site: Site, page: Page, urls: dict[str, str]) -> None:
    for name in ("option", "best", "search"):
        response = page.goto(site(urls[name]))
        assert response is not None and response.status == 200, name
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        screenshot(page, name)


def test_keyboard_reaches_skip_link_first_and_focus_is_always_visible(
    site: Site, page: Page, urls: dict[str, str]
) -> None:
    page.goto(site(urls["comparison"]))
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    expect(page.locator(".skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    seen = 0
    for _ in range(15):
        page.keyboard.press("Tab")
        state = page.evaluate(
            """() => {
              const el = document.activeElement;
              const style = getComputedStyle(el);
              const box = el.getBoundingClientRect();
              return {tag: el.tagName, inMain: !!el.closest('main'),
                      outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
                      w: box.width, h: box.height};
            }"""
        )
        if state["tag"] == "BODY":
            break
        seen += 1
        # After the skip link, focus moves on inside the main content.
        assert state["inMain"] or seen > 5, state
        assert state["outline"] != "none" and state["width"] >= 2, state
        assert state["w"] > 0 and state["h"] > 0, state
    assert seen >= 3


def test_phone_width_never_scrolls_sideways(
    site: Site, urls: dict[str, str], new_context: Callable[..., BrowserContext]
) -> None:
    phone = new_context(viewport={"width": 375, "height": 740}, is_mobile=True).new_page()
    for name, path in urls.items():
        phone.goto(site(path))
        overflow = phone.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert overflow[0] <= overflow[1], f"{name} ({path}) scrolls sideways: {overflow}"
        screenshot(phone, f"phone-{name}")


def test_dark_mode_uses_the_dark_palette(
    site: Site, urls: dict[str, str], new_context: Callable[..., BrowserContext]
) -> None:
    dark = new_context(color_scheme="dark").new_page()
    light = new_context(color_scheme="light").new_page()
    backgrounds = {}
    for mode, tab in (("dark", dark), ("light", light)):
        tab.goto(site(urls["comparison"]))
        backgrounds[mode] = tab.evaluate("getComputedStyle(document.body).backgroundColor")
        screenshot(tab, f"comparison-{mode}")
    assert backgrounds["dark"] == "rgb(16, 19, 26)"
    assert backgrounds["light"] == "rgb(255, 255, 255)"
    text = dark.evaluate("getComputedStyle(document.body).color")
    assert text == "rgb(233, 236, 242)"
