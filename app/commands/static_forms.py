"""The comparison pages' feedback section (meter and form) for an export, without the feedback
service: the counts read with the stdlib's sqlite3 (``app/feedback/meter_file.py``).

The service (``app/feedback/service.py``) is what the app renders with, and it imports
SQLAlchemy, which alone costs an incremental build of a few pages more than its rendering.
``StaticForms`` makes the same ``FeedbackView`` from the same parts as ``Feedback.page_part``
after ``export_forms(built_at)`` (the meter since the pick's last change, a token stamped with
the build's time, "cannot send" without an endpoint); the quick build makes it so too
(``app/commands/quick.py``), and the export tests compare such builds with full ones.
``open`` answers None whenever ``read_meters`` cannot see what the store would (not a plain
SQLite file, no notes table yet): the caller then builds with the app and its service.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from app.commands.meters import Counts
from app.content.model import Comparison
from app.feedback.meter_file import read_meters
from app.feedback.tokens import FormTokens, load_secret, site_origin
from app.feedback.view import feedback_view, meter_since
from app.settings import Settings


class MetersUnreadable(Exception):
    """The meter counts could be read when the build started and no longer can."""


class StaticForms:
    """``FeedbackParts`` of pages exported at ``built_at``: the counts of every page
    ``slugs()`` names, read once, when first asked for (after the library's load): the export
    then compares them with the last build's (``app/commands/meters.py``)."""

    def __init__(
        self, settings: Settings, built_at: float, slugs: Callable[[], Iterable[str]]
    ) -> None:
        self.settings = settings
        self.built_at = built_at
        self._slugs = slugs
        self._counts: Counts | None = None
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # as Feedback does: the secret
        secret = load_secret(
            settings.secret_key, settings.data_dir, database_url=settings.resolved_database_url
        )
        self.tokens = FormTokens(
            secret, min_seconds=settings.feedback_min_seconds, site=site_origin(settings.site_url)
        )

    @classmethod
    def open(
        cls, settings: Settings, built_at: float, slugs: Callable[[], Iterable[str]]
    ) -> StaticForms | None:
        """The forms, when ``read_meters`` can read the counts (a read of no page proves the
        file and its table are there); None when only the store can."""
        if read_meters(settings.resolved_database_url, []) is None:
            return None
        return cls(settings, built_at, slugs)

    def counts(self) -> Counts:
        """Each page's counts as ``FeedbackStore.meter_counts`` gives them, read once: the
        pages are rendered with them and the manifest keeps them (``app/commands/meters.py``)."""
        if self._counts is None:
            found = read_meters(self.settings.resolved_database_url, self._slugs())
            if found is None:
                raise MetersUnreadable(self.settings.resolved_database_url)
            self._counts = found
        return self._counts

    def page_part(
        self, comparison: Comparison, thanks: bool
    ) -> tuple[Hashable, Callable[[], Mapping[str, Any]]]:
        change = comparison.last_pick_change
        since = change.day if change is not None else None
        key = ("feedback", self.built_at, since, thanks)

        def values() -> dict[str, Any]:
            meter = meter_since(self.counts().get(comparison.slug, {}), since)
            view = feedback_view(
                comparison,
                meter,
                self.tokens,
                thanks=thanks,
                now=self.built_at,
                exported=True,
                can_send=self.settings.feedback_endpoint is not None,
            )
            return {"feedback": view}

        return key, values
