"""``python -m app`` is the same as the ``nicepick`` command."""

from app.cli import main

raise SystemExit(main())
