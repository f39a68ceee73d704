"""Feedback pieces on their own: validation, tokens, client address, backoff, the store."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from app.feedback.form import FeedbackForm, is_safe_email
from app.feedback.outbox import backoff
from app.feedback.request_form import RequestForm
from app.feedback.store import FeedbackStore, NewNote
from app.feedback.tokens import FormTokens, TokenError, load_secret
from app.settings import Settings
from app.web.client import client_address

OPTIONS = ("Vim", "Emacs")


def valid_fields(**overrides: str) -> dict[str, str]:
    fields = {"option": "Emacs", "message": "Emacs does everything.", "name": "", "email": ""}
    fields.update(overrides)
    return fields


def test_valid_form_has_no_errors() -> None:
    form = FeedbackForm.from_fields(valid_fields(email="ada@example.org", name="Ada"))
    assert form.validate(OPTIONS) and form.errors == {}


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("option", "Nano", "Choose the option"),
        ("message", "too short", "at least 10"),
        ("message", "x" * 5001, "under 5000"),
        ("name", "n" * 101, "under 100"),
        ("name", "Ada\r\nBcc: victim@example.org", "one line"),
        ("email", "ada@example.org\nBcc: victim@example.org", "one line"),
        ("email", "ada@example.org, eve@example.org", "like you@example.com"),
        ("email", "ada@@example.org", "like you@example.com"),
        ("email", "<ada@example.org>", "like you@example.com"),
        ("message", "A terminal escape \x9b2J clears the screen", "control characters"),
        ("name", "Ada\x9b31m", "control characters"),
        # Shown as "Note: fine by me" in a mail reader, sent as "Note: em yb enif".
        ("message", "Note: \u202efine by me, keep Vim", "direction of text"),
        ("message", "An isolate \u2066hides\u2069 its order", "direction of text"),
        ("name", "Ada \u202dLovelace", "direction of text"),
        ("email", "ada@example.org\u202e", "direction of text"),
    ],
)
def test_each_bad_field_gets_its_own_error(field: str, value: str, fragment: str) -> None:
    form = FeedbackForm.from_fields(valid_fields(**{field: value}))
    assert not form.validate(OPTIONS)
    assert list(form.errors) == [field] and fragment in form.errors[field]


def test_strict_email_accepts_plain_addresses_only() -> None:
    assert is_safe_email("first.last+tag@mail.example.co.uk")
    assert is_safe_email("ivan@example.xn--p1ai")  # .рф, as its ASCII form spells it
    assert not is_safe_email("ivan@example.xn--")
    assert not is_safe_email("a@b")
    assert not is_safe_email("a b@example.org")
    assert not is_safe_email("a@example.org\r")


def test_token_round_trip_carries_page_version() -> None:
    tokens = FormTokens("s3cret", min_seconds=3)
    token = tokens.issue("a-vs-b", page_hash="abc", page_updated=date(2026, 1, 2), now=1000.0)
    stamp = tokens.check(token, slug="a-vs-b", now=1010.0)
    assert (stamp.page_hash, stamp.page_updated, stamp.rendered_at) == (
        "abc",
        date(2026, 1, 2),
        1000.0,
    )


@pytest.mark.parametrize(
    ("slug", "age", "fragment"),
    [
        ("other-vs-page", 60.0, "another page"),
        ("a-vs-b", 2 * 86400.0, "more than a day"),
        ("a-vs-b", 1.0, "faster than a person"),
    ],
)
def test_token_refusals_read_as_sentences(slug: str, age: float, fragment: str) -> None:
    tokens = FormTokens("s3cret", min_seconds=3)
    token = tokens.issue("a-vs-b", page_hash="abc", page_updated=None, now=1000.0)
    with pytest.raises(TokenError, match=fragment):
        tokens.check(token, slug=slug, now=1000.0 + age)


def test_token_signed_with_another_secret_is_refused() -> None:
    token = FormTokens("one", min_seconds=0).issue("a-vs-b", page_hash="x", page_updated=None)
    with pytest.raises(TokenError, match="could not be verified"):
        FormTokens("two", min_seconds=0).check(token, slug="a-vs-b")


def test_generated_secret_is_private_and_stable(tmp_path: Path) -> None:
    first = load_secret(None, tmp_path)
    assert load_secret(None, tmp_path) == first and len(first) > 40
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    assert load_secret("configured", tmp_path) == "configured"


def request_from(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


def test_client_address_ignores_forwarded_for_from_untrusted_peer() -> None:
    request = request_from("203.0.113.9", "198.51.100.1")
    assert client_address(request, ["10.0.0.0/8"]) == "203.0.113.9"


def test_client_address_takes_rightmost_untrusted_hop_behind_trusted_proxy() -> None:
    request = request_from("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.3")
    assert client_address(request, ["10.0.0.0/8"]) == "198.51.100.7"


def test_a_mistyped_trusted_proxy_stops_the_start_not_each_note() -> None:
    with pytest.raises(ValidationError, match="'10.0.0.0/33' is not an IP address or network"):
        Settings(trusted_proxies="127.0.0.1, 10.0.0.0/33", _env_file=None)
    settings = Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8", _env_file=None)
    assert settings.trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]


def test_a_site_url_with_a_path_is_refused_at_start() -> None:
    # Canonical links and the sitemap named /sub/, while every page's own links started at
    # the root: a site published under a path was broken.
    with pytest.raises(ValidationError, match="without a path"):
        Settings(site_url="https://example.org/nicepick", _env_file=None)
    assert Settings(site_url="https://example.org/", _env_file=None).site_url == (
        "https://example.org"
    )


def test_backoff_doubles_then_caps() -> None:
    delays = [backoff(n, base=30, cap=3600) for n in range(1, 10)]
    assert delays[:4] == [30, 60, 120, 240] and delays[-1] == 3600


def new_note(slug: str = "vim-vs-emacs", pick: str = "Emacs") -> NewNote:
    return NewNote(
        slug=slug,
        title="Vim vs Emacs",
        our_pick="Vim",
        reader_pick=pick,
        message="A message of some length",
        name="",
        email="",
        page_hash="hash",
        page_updated=None,
    )


def test_meter_counts_and_version_follow_new_notes(tmp_path: Path) -> None:
    store = FeedbackStore.from_url(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.create_schema()
    assert store.meter_version("vim-vs-emacs") == 0
    store.add_note(new_note(pick="Emacs"))
    store.add_note(new_note(pick="Emacs"))
    store.add_note(new_note(pick="Vim"))
    store.add_note(new_note(slug="other"))
    assert store.meter_version("vim-vs-emacs") == 3
    meter = store.meter("vim-vs-emacs")
    assert meter.total == 3 and meter.counts == {"Emacs": 2, "Vim": 1}


def test_a_claimed_row_is_not_claimed_again_until_its_lease_ends(tmp_path: Path) -> None:
    store = FeedbackStore.from_url(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store.create_schema()
    note = store.add_note(new_note())
    now = datetime.now(UTC)
    lease = timedelta(seconds=60)
    first = store.claim("worker-a", lease=lease, now=now)
    assert [d.note.id for d in first] == [note.id]
    assert store.claim("worker-b", lease=lease, now=now + timedelta(seconds=30)) == []
    taken_over = store.claim("worker-b", lease=lease, now=now + timedelta(seconds=61))
    assert [d.note.id for d in taken_over] == [note.id]
    store.mark_sent(taken_over[0].outbox_id, "worker-b")
    assert store.claim("worker-c", lease=lease, now=now + timedelta(days=1)) == []
    assert store.outbox_entries() == []


@pytest.mark.parametrize(
    ("earlier", "later", "same"),
    [(0.0, 3599.9, True), (3599.9, 3600.0, False), (7200.0, 10799.0, True), (0.0, 7200.0, False)],
)
def test_window_is_one_clock_hour(earlier: float, later: float, same: bool) -> None:
    from app.feedback.tokens import window

    assert (window(earlier) == window(later)) is same


def test_a_requests_reason_and_names_refuse_what_reorders_text() -> None:
    form = RequestForm.from_fields(
        {"first": "Valkey", "second": "\u202eRedis", "reason": "Why \u202eton", "name": "Ada\u2068"}
    )
    assert not form.validate()
    assert set(form.errors) == {"second", "reason", "name"}
    assert all("direction of text" in error for error in form.errors.values())
