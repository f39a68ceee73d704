"""Social cards: one 1200x630 PNG per comparison (title, options, pick), drawn with Pillow.

A card depends on the comparison's content only, so it is keyed by the content hash: drawn
once, kept in memory and in ``<data_dir>/og/``, and served from there until the file changes.
Fonts come from the machine (DejaVu on Debian) or Pillow's own bundled font; never downloaded.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from app.content.model import Comparison

# Pillow is imported when the first card is drawn, not at start-up: its ~20 ms of imports were
# on the path to a (re)started server's first page, which needs no card.
if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 630
_BACKGROUND = (16, 19, 26)
_TEXT = (233, 236, 242)
_MUTED = (179, 186, 200)
_ACCENT = (138, 180, 255)
_PICK = (111, 220, 159)
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))

Font: TypeAlias = "ImageFont.FreeTypeFont | ImageFont.ImageFont"


@lru_cache(maxsize=16)
def font(size: int, *, bold: bool = False) -> Font:
    """DejaVu Sans if installed, else the font bundled with Pillow (scalable since 10.1)."""
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in _FONT_DIRS:
        path = folder / name
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: Font, width: int, lines: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels, at most ``lines`` lines, the last one ellipsised."""
    words = text.split()
    out: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=face) <= width:
            current = candidate
            continue
        if current:
            out.append(current)
        current = word
        if len(out) == lines:
            break
    if current and len(out) < lines:
        out.append(current)
    if len(out) == lines and " ".join(out).split() != words:
        last = out[-1]
        while last and draw.textlength(last + "…", font=face) > width:
            last = last[:-1]
        out[-1] = last.rstrip() + "…"
    return out


def draw_card(comparison: Comparison, *, site_name: str) -> bytes:
    """The PNG bytes of the card."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    margin = 72
    inner = WIDTH - 2 * margin
    draw.rectangle((0, 0, WIDTH, 10), fill=_ACCENT)
    draw.text((margin, 56), f"◆ {site_name}  ·  {comparison.category}", font=font(30), fill=_MUTED)
    y = 120
    title_face = font(68, bold=True)
    for line in _wrap(draw, comparison.title, title_face, inner, 3):
        draw.text((margin, y), line, font=title_face, fill=_TEXT)
        y += 84
    y += 16
    options_face = font(34)
    options = f"{len(comparison.options)} options: " + "  ·  ".join(comparison.option_names)
    for line in _wrap(draw, options, options_face, inner, 2):
        draw.text((margin, y), line, font=options_face, fill=_MUTED)
        y += 46
    pick_face = font(48, bold=True)
    label = "Nice Pick: "
    label_width = draw.textlength(label, font=pick_face)
    pick = _wrap(draw, comparison.pick, pick_face, int(inner - label_width), 1)
    baseline = HEIGHT - 120
    draw.rounded_rectangle(
        (margin - 24, baseline - 20, WIDTH - margin + 24, baseline + 76), radius=18, outline=_PICK,
        width=4,
    )  # fmt: skip
    draw.text((margin, baseline), label, font=pick_face, fill=_PICK)
    draw.text((margin + label_width, baseline), pick[0] if pick else "", font=pick_face, fill=_TEXT)
    buffer = io.BytesIO()
    # zlib level 6, not optimize=True: ~6% larger files for a third of the time (~60 ms ->
    # ~20 ms a card), which at 10,000 cards is the difference between minutes and seconds.
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


class CardCache:
    """Cards by content hash: a small memory LRU in front of files in ``folder``."""

    def __init__(self, folder: Path | None, *, site_name: str, max_entries: int = 256) -> None:
        self.folder = folder
        self.site_name = site_name
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def card(self, comparison: Comparison) -> bytes:
        key = comparison.content_hash[:32]
        with self._lock:
            cached = self._memory.get(key)
            if cached is not None:
                self._memory.move_to_end(key)
                return cached
        body = self._read(key)
        if body is None:
            body = draw_card(comparison, site_name=self.site_name)
            self._write(key, body)
        with self._lock:
            self._memory[key] = body
            while len(self._memory) > self._max_entries:
                self._memory.popitem(last=False)
        return body

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{key}.png"

    def _read(self, key: str) -> bytes | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def _write(self, key: str, body: bytes) -> None:
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a concurrent reader never sees half a PNG.
            partial = path.with_suffix(f".{threading.get_ident()}.tmp")
            partial.write_bytes(body)
            partial.replace(path)
        except OSError as exc:  # a read-only data folder still serves cards from memory
            log.warning("cannot keep social card %s: %s", path, exc)
