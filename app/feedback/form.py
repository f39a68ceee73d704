"""The feedback form: raw fields in, a validated note or per-field errors out (no HTTP)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

MESSAGE_MIN = 10
MESSAGE_MAX = 5000
NAME_MAX = 100
EMAIL_MAX = 254
HONEYPOT = "website"  # a field people never see; bots fill every field they find

# Deliberately narrower than RFC 5322: a plain dot-atom local part and a DNS host name, so an
# address that passes can go into a Reply-To header as it is.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    # The top-level domain: letters, or an internationalised one in its ASCII form (.рф is
    # "xn--p1ai").
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
)
_LINE_BREAKS = re.compile(r"[\r\n\u0085\u2028\u2029]")
# Control characters other than tab and newline have no place in a note: C0, DEL and C1
# (U+0080-U+009F, which some terminals obey as escapes when ``nicepick feedback list`` prints),
# and the invisible controls that reorder text on screen (bidirectional embeddings, overrides
# and isolates, U+202A-U+202E and U+2066-U+2069): in the editors' mail and terminal they can
# make a note, or the name beside it, read otherwise than it was written ("Trojan Source",
# CVE-2021-42574). The marks U+200E and U+200F, which right-to-left typing uses, stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")
_DIRECTION = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


# ``=`` and ``?`` are atext (RFC 5322 3.2.3), but ``=?`` opens an RFC 2047 encoded word, and
# Python's email package decodes encoded words even inside a local part: the address checked
# would not be the address sent (``=?utf-8?q?a=2C_victim=40evil=2Ecom?=@example.com`` goes out
# as two addresses). RFC 2047 section 5 forbids encoded words in an addr-spec, so no real
# address needs the pair; refusing it is simpler and safer than trying to quote it.
_ENCODED_WORD_OPENER = "=?"


def is_safe_email(value: str) -> bool:
    """True for a single, plain address fit for a mail header, that a mail parser reads back
    as exactly this address (no encoded-word syntax)."""
    return (
        len(value) <= EMAIL_MAX
        and _ENCODED_WORD_OPENER not in value
        and _EMAIL.fullmatch(value) is not None
    )


@dataclass(slots=True)
class FeedbackForm:
    """What the reader typed, kept to re-fill the form, and the errors by field name."""

    option: str = ""
    message: str = ""
    name: str = ""
    email: str = ""
    token: str = ""
    honeypot: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> FeedbackForm:
        return cls(
            option=fields.get("option", ""),
            message=fields.get("message", "").replace("\r\n", "\n").replace("\r", "\n"),
            name=fields.get("name", ""),
            email=fields.get("email", "").strip(),
            token=fields.get("token", ""),
            honeypot=fields.get(HONEYPOT, ""),
        )

    @property
    def is_bot(self) -> bool:
        return bool(self.honeypot.strip())

    def validate(self, options: Sequence[str]) -> bool:
        """Fill ``errors``; True when the note may be stored."""
        errors: dict[str, str] = {}
        if self.option not in options:
            errors["option"] = "Choose the option you would pick."
        message = self.message.strip()
        if (refused := control_error(message, "Your message")) is not None:
            errors["message"] = refused
        elif len(message) < MESSAGE_MIN:
            errors["message"] = f"Tell us a little more: at least {MESSAGE_MIN} characters."
        elif len(message) > MESSAGE_MAX:
            errors["message"] = (
                f"Please keep it under {MESSAGE_MAX} characters (yours has {len(message)})."
            )
        errors.update(contact_errors(self.name, self.email))
        self.errors = errors
        return not errors


def is_one_line(text: str) -> bool:
    """No line break and no control character: text fit for a mail header or a title."""
    return not (_LINE_BREAKS.search(text) or _CONTROL.search(text))


def control_error(text: str, subject: str) -> str | None:
    """Why ``text`` (``subject``: "Your message") is refused for its control characters
    other than tab and newline (a note's text may hold line breaks); None if it has none."""
    if _DIRECTION.search(text):
        # Invisible, and usually pasted along with other text: the reader is told what to
        # look for, since nothing shows where they are.
        return (
            f"{subject} contains invisible characters that change the direction of text "
            "(U+202A to U+202E, U+2066 to U+2069), often copied along with it; "
            "please type it again without them."
        )
    if _CONTROL.search(text):
        return f"{subject} contains control characters; please remove them."
    return None


def contact_errors(name: str, email: str) -> dict[str, str]:
    """Errors of the optional name and address fields that every reader's form shares.

    Name and address may end up in mail headers: a line break there is refused, not cleaned,
    so nothing the reader typed is silently changed.
    """
    errors: dict[str, str] = {}
    if _LINE_BREAKS.search(name):
        errors["name"] = "Your name must fit on one line."
    elif (refused := control_error(name, "Your name")) is not None:
        errors["name"] = refused
    elif len(name.strip()) > NAME_MAX:
        errors["name"] = f"Please keep your name under {NAME_MAX} characters."
    if _LINE_BREAKS.search(email):
        errors["email"] = "An email address must fit on one line."
    elif (refused := control_error(email, "Your address")) is not None:
        errors["email"] = refused
    elif email and not is_safe_email(email):
        errors["email"] = "Enter an address like you@example.com, or leave it empty."
    return errors
