"""The "ask for a comparison" page: a form, its token, and what the reader typed (no twin).

Reached from the small "Compare X with Y" form on category pages and on a search with no
results (a GET that fills in the two names), so those cached pages carry no token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel

if TYPE_CHECKING:  # types only: the page takes the feedback view as a value
    from app.feedback.request_form import RequestForm
    from app.feedback.service import RequestView


@dataclass(frozen=True, slots=True)
class RequestPage:
    TEMPLATE: ClassVar[str] = "request.html"

    # What the reader typed (or the two names the small form passed), with any errors.
    form: RequestForm
    # The form's token and page nonce; None where no feedback service runs.
    view: RequestView | None
    thanks: bool
    canonical: str
    # The reader's own nonce on a re-rendered form, so a resend is the same sending.
    nonce: str | None = None
    json_url: str = ""  # a form, not content: no JSON twin

    def as_json(self) -> RequestPageJson:
        return RequestPageJson(thanks=self.thanks, errors=dict(self.form.errors))


class RequestPageJson(BaseModel):
    thanks: bool
    errors: dict[str, str]


def build(
    form: RequestForm,
    view: RequestView | None,
    *,
    thanks: bool,
    site_url: str,
    nonce: str | None = None,
) -> RequestPage:
    return RequestPage(
        form=form, view=view, thanks=thanks, canonical=f"{site_url}/request", nonce=nonce
    )
