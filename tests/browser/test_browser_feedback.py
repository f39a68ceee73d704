"""Disagreeing in a real browser, with and without JavaScript: the note reaches the editors'
mailbox, and a mistake is shown next to its field with the reader's text kept."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Site, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODES = [pytest.param(True, id="javascript"), pytest.param(False, id="no-javascript")]


def open_comparison(
    site: Site, new_context: Callable[..., BrowserContext], comparison: str, javascript: bool
) -> Page:
    page = new_context(java_script_enabled=javascript).new_page()
    page.goto(site(comparison))
    return page


def fill_note(page: Page, *, message: str, name: str = "", email: str = "") -> str:
    """Pick the option that is not our pick; return its name."""
    choice = page.locator(".feedback-form .choice label").filter(has_not_text="(our pick)").first
    option = choice.inner_text().strip()
    choice.click()
    page.locator("#fb-message").fill(message)
    if name:
        page.locator("#fb-name").fill(name)
    if email:
        page.locator("#fb-email").fill(email)
    return option


@pytest.mark.parametrize("javascript", MODES)
def test_reader_sends_a_disagreement_and_the_editors_get_the_mail(
    site: Site, new_context: Callable[..., BrowserContext], urls: dict[str, str], javascript: bool
) -> None:
    comparison = urls["comparison"]
    page = open_comparison(site, new_context, comparison, javascript)
    marker = uuid.uuid4().hex
    message = f"Your pick ignores cold starts on small hosts. {marker} — שלום 👍"
    option = fill_note(page, message=message, name="Zoë 🦊", email="zoe@example.org")
    if javascript:
        page.evaluate("window.stayedOnPage = true")
    page.get_by_role("button", name="Send to the editors").click()

    thanks = page.locator("#feedback-thanks")
    expect(thanks).to_be_visible()
    expect(thanks).to_contain_text("your note is with the editors")
    assert f"{comparison}?thanks=1" in page.url
    if javascript:
        # The script swapped the section in place: no page load happened.
        assert page.evaluate("window.stayedOnPage") is True
        expect(thanks).to_be_focused()
    # The notice is read with its heading: both on screen, and the form folded away.
    expect(page.locator("#feedback-title")).to_be_in_viewport()
    expect(thanks).to_be_in_viewport()
    expect(page.locator("#fb-message")).to_be_hidden()
    screenshot(page, f"feedback-thanks-{'js' if javascript else 'nojs'}")

    mail = site.mailbox.find(marker)
    assert mail is not None, "the note never reached the SMTP server"
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert message in text  # emoji and right-to-left text arrive intact
    assert f"Reader picks: {option}" in text
    assert "Name:         Zoë 🦊" in text
    assert mail["Reply-To"] == "zoe@example.org"


@pytest.mark.parametrize("javascript", MODES)
def test_invalid_note_shows_the_error_next_to_the_field_and_keeps_the_text(
    site: Site, new_context: Callable[..., BrowserContext], urls: dict[str, str], javascript: bool
) -> None:
    page = open_comparison(site, new_context, urls["comparison"], javascript)
    message = f"Kept text {uuid.uuid4().hex}: with a line\nbreak and ✓ marks."
    # The browser's own check accepts this address; ours wants a real domain name.
    fill_note(page, message=message, name="Ada", email="ada@localhost")
    page.get_by_role("button", name="Send to the editors").click()

    error = page.locator("#fb-email-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("you@example.com")
    # Next to its field: inside the same field group, and the input points at it.
    field = page.locator(".field").filter(has=page.locator("#fb-email"))
    expect(field.locator("#fb-email-error")).to_have_count(1)
    email = page.locator("#fb-email")
    expect(email).to_have_attribute("aria-invalid", "true")
    assert "fb-email-error" in (email.get_attribute("aria-describedby") or "")
    # Everything the reader typed is still there.
    expect(page.locator("#fb-message")).to_have_value(message)
    expect(page.locator("#fb-name")).to_have_value("Ada")
    expect(email).to_have_value("ada@localhost")
    expect(page.locator("#feedback-errors")).to_be_visible()
    screenshot(page, f"feedback-error-{'js' if javascript else 'nojs'}")
    # Nothing went out for a refused note.
    assert site.mailbox.find(message, timeout=0.5) is None
