"""``python -m app`` is the same as the ``nicepick`` command."""

from app.cli import command

raise SystemExit(command())
