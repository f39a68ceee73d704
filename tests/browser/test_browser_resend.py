"""The form's nonce in a real browser: our script gives each reader their own, and a note whose
answer was lost on the way back is sent again by the script and stored once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def nonce_field(page: Page) -> tuple[str, str | None]:
    field = page.locator('#feedback input[name="nonce"]')
    return field.input_value(), field.get_attribute("data-nonce")


def readers_counted(page: Page) -> int:
    """The disagreement meter's total (every stored note of the page)."""
    heading = page.locator("#meter-title")
    if heading.count() == 0:
        return 0
    match = re.match(r"(\d+)", heading.inner_text())
    assert match is not None
    return int(match.group(1))


def test_each_reader_with_javascript_gets_a_nonce_of_their_own(
    site: Site, new_context: Callable[..., BrowserContext], urls: dict[str, str]
) -> None:
    pages = [new_context(java_script_enabled=js).new_page() for js in (True, True, False)]
    for page in pages:
        page.goto(site(urls["comparison"]))
    first, second, without = (nonce_field(page) for page in pages)
    assert without[1] == "page"  # the page's own, shared by everyone who got these bytes
    assert first[1] is None and second[1] is None
    assert len({first[0], second[0], without[0]}) == 3


def test_a_note_whose_answer_was_lost_is_resent_by_the_script_and_stored_once(
    site: Site, new_context: Callable[..., BrowserContext], urls: dict[str, str]
) -> None:
    page = new_context().new_page()
    page.goto(site(urls["comparison"]))
    before = readers_counted(page)
    posts: list[str] = []

    def lose_the_first_answer(route: Route) -> None:
        posts.append(route.request.method)
        if len(posts) == 1:
            route.fetch()  # the server stores the note and answers...
            route.abort("connectionreset")  # ...and the answer never arrives
        else:
            route.continue_()

    page.route(re.compile(r".*/feedback$"), lose_the_first_answer)
    marker = uuid.uuid4().hex
    page.locator(".feedback-form .choice label").filter(has_not_text="(our pick)").first.click()
    page.locator("#fb-message").fill(f"Sent once, answered twice. {marker}")
    page.get_by_role("button", name="Send to the editors").click()

    expect(page.locator("#feedback-thanks")).to_be_visible()
    assert posts == ["POST", "POST"]  # the script fell back to the plain form post
    assert readers_counted(page) == before + 1
    assert site.mailbox.find(marker) is not None
