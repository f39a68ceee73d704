"""The "ask for a comparison" form: two names and an optional reason in, errors out (no HTTP).

A request is stored as a note of kind ``request`` (``app/feedback/store.py``) and mailed
through the same outbox, under the same protections as a disagreement: form token, honeypot,
rate limit and the cross-site rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.feedback.form import HONEYPOT, contact_errors, control_error, is_one_line

NAME_MAX = 80  # an option's name: "Apache HTTP Server" is 18
REASON_MAX = 2000
# The slug a request's form token is issued for: no comparison page can have it (slugs are
# made of letters, digits and dashes), so a page's token never passes for a request's.
TOKEN_SLUG = "/request"


@dataclass(slots=True)
class RequestForm:
    """What the reader asked for, kept to re-fill the form, and the errors by field name."""

    first: str = ""
    second: str = ""
    reason: str = ""
    name: str = ""
    email: str = ""
    token: str = ""
    honeypot: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> RequestForm:
        return cls(
            first=fields.get("first", "")[: NAME_MAX * 4],
            second=fields.get("second", "")[: NAME_MAX * 4],
            reason=fields.get("reason", "").replace("\r\n", "\n").replace("\r", "\n"),
            name=fields.get("name", ""),
            email=fields.get("email", "").strip(),
            token=fields.get("token", ""),
            honeypot=fields.get(HONEYPOT, ""),
        )

    @property
    def is_bot(self) -> bool:
        return bool(self.honeypot.strip())

    @property
    def title(self) -> str:
        """The asked-for page's title, as the editors' mail and ``feedback list`` show it."""
        return f"{self.first.strip()} vs {self.second.strip()}"

    def validate(self) -> bool:
        """Fill ``errors`` in the form's order; True when the request may be stored."""
        errors: dict[str, str] = {}
        for name, label in (("first", "the first"), ("second", "the second")):
            value = getattr(self, name).strip()
            if not value:
                errors[name] = f"Name {label} tool, library or technique."
            elif not is_one_line(value):
                errors[name] = control_error(value, "A name") or "A name must fit on one line."
            elif len(value) > NAME_MAX:
                errors[name] = f"Please keep a name under {NAME_MAX} characters."
        if not errors and self.first.strip().casefold() == self.second.strip().casefold():
            errors["second"] = "Name two different things to compare."
        reason = self.reason.strip()
        if (refused := control_error(reason, "Your text")) is not None:
            errors["reason"] = refused
        elif len(reason) > REASON_MAX:
            errors["reason"] = (
                f"Please keep it under {REASON_MAX} characters (yours has {len(reason)})."
            )
        errors.update(contact_errors(self.name, self.email))
        self.errors = errors
        return not errors
