"""What a build wrote: counts for the closing line, and each file's digest for the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExportSummary:
    """What a build wrote, for the closing line and for tests."""

    pages: int = 0  # HTML pages
    files: int = 0  # every file written, siblings excluded
    bytes: int = 0
    gzip_bytes: int = 0
    brotli_bytes: int = 0
    seconds: float = 0.0
    redirects: list[tuple[str, str]] = field(default_factory=list)
    # (url, status) of links that lead nowhere: not the last build's pages that are gone
    # (an incremental build asks for those again, and removes their files: ``removed``)
    skipped: list[tuple[str, int]] = field(default_factory=list)
    removed: int = 0  # the last build's files an incremental build removed
    left_out: int = 0  # content files not built because of their errors (--allow-errors)
    written: dict[str, str] = field(default_factory=dict)  # path in OUT -> digest
    rewritten: list[str] = field(default_factory=list)  # paths whose bytes changed
    incremental: bool = False
    forms_until: float | None = None  # exported forms are accepted until then (epoch seconds)

    def add(self, other: ExportSummary) -> None:
        """Fold in what another process (or round) wrote."""
        self.pages += other.pages
        self.files += other.files
        self.bytes += other.bytes
        self.gzip_bytes += other.gzip_bytes
        self.brotli_bytes += other.brotli_bytes
        self.redirects += other.redirects
        self.skipped += other.skipped
        self.written.update(other.written)
        self.rewritten += other.rewritten

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        mb = 1024 * 1024
        compressed = (
            f" (gzip {self.gzip_bytes / mb:.1f} MB, brotli {self.brotli_bytes / mb:.1f} MB)"
            if self.gzip_bytes or self.brotli_bytes
            else ""
        )
        text = (
            f"{self.pages} pages, {self.files} files, {self.bytes / mb:.1f} MB{compressed}, "
            f"{len(self.redirects)} redirects, {len(self.skipped)} links skipped, "
            f"in {self.seconds:.1f} s ({self.pages_per_second:.0f} pages/s)"
        )
        if self.incremental:
            text += f"; incremental: {len(self.rewritten)} files rewritten"
            if self.removed:
                text += f", {self.removed} removed"
        if self.left_out:
            text += f"; {self.left_out} content files left out because of errors"
        return text
