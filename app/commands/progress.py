"""The build's progress bar: rate and time left on a terminal, nothing in a log or a pipe."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[int, int], None]


@contextmanager
def progress_bar() -> Iterator[Progress | None]:
    """A progress bar with the rate and time left on a terminal's stderr; None elsewhere
    (a CI log, a pipe), where redrawing a bar would only fill the log."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import (
        Progress as Bar,
    )

    with Bar(
        TextColumn("building"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files, about"),
        TimeRemainingColumn(),
        TextColumn("left"),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("build", total=None)

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield show
