"""Problems found in one content file, each at its line and column."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.content.model import Problem, Severity


@dataclass
class Collector:
    """The problems of one file, in the order found."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    # (option, list kind, item index) -> line, so a warning points at the item it is about
    item_lines: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def add(self, line: int, column: int, message: str, severity: Severity = "error") -> None:
        self.problems.append(Problem(self.path, line, column, severity, message))

    @property
    def has_errors(self) -> bool:
        return any(problem.severity == "error" for problem in self.problems)


def shorten(value: object, limit: int = 60) -> str:
    """A value quoted back in a message, cut so no message grows with the file."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
