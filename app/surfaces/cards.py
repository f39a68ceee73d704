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

from app.atomic import write_atomic
from app.content.model import Comparison

# Pillow is imported when the first card is drawn, not at start-up: its ~20 ms of imports were
# on the path to a (re)started server's first page, which needs no card.
if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

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


# A card shows at most three lines of title; no line holds more than ~60 characters even of
# the narrowest glyphs at these sizes, so text past this many characters can never be drawn.
# Cutting it first bounds every measurement below, whatever an editor writes (a 100,000-
# character word made Pillow allocate a text mask past its decompression-bomb limit).
_MAX_CHARACTERS = 400


def _fit(draw: ImageDraw.ImageDraw, text: str, face: Font, width: int, suffix: str = "") -> int:
    """How many leading characters of ``text`` (plus ``suffix``) fit in ``width`` pixels.

    A binary search: ~9 measurements for 400 characters, where trimming one character at a
    time measured every prefix (quadratic in the length of the word).
    """
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if draw.textlength(text[:middle] + suffix, font=face) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: Font, width: int, lines: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels, at most ``lines`` lines, the last one ellipsised.

    A word wider than a line is cut where the line ends, so no drawn line is ever wider
    than the card.
    """
    clipped = len(text) > _MAX_CHARACTERS
    words = text[:_MAX_CHARACTERS].split()
    out: list[str] = []
    current = ""
    complete = not clipped
    pending = list(reversed(words))
    while pending:
        word = pending.pop()
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=face) <= width:
            current = candidate
            continue
        if current:
            out.append(current)
            current = ""
            pending.append(word)
        else:  # a single word wider than the line: cut it, carry the rest
            cut = max(1, _fit(draw, word, face, width))
            out.append(word[:cut])
            if cut < len(word):
                pending.append(word[cut:])
        if len(out) == lines:
            complete = not pending and not current
            current = ""
            break
    if current and len(out) < lines:
        out.append(current)
    if out and not complete:
        last = out[-1]
        out[-1] = last[: _fit(draw, last, face, width, "…")].rstrip() + "…"
    return out


def draw_card(comparison: Comparison, *, site_name: str) -> bytes:
    """The PNG bytes of the card."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    margin = 72
    inner = WIDTH - 2 * margin
    draw.rectangle((0, 0, WIDTH, 10), fill=_ACCENT)
    header_face = font(30)
    header = _wrap(draw, f"◆ {site_name}  ·  {comparison.category}", header_face, inner, 1)
    draw.text((margin, 56), header[0] if header else "", font=header_face, fill=_MUTED)
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
    return _png(image)


@lru_cache(maxsize=4)
def plain_card(site_name: str) -> bytes:
    """The site's name alone: the card of a comparison whose own card cannot be drawn."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 10), fill=_ACCENT)
    face = font(68, bold=True)
    lines = _wrap(draw, site_name, face, WIDTH - 144, 1)
    draw.text((72, 270), lines[0] if lines else "", font=face, fill=_TEXT)
    return _png(image)


def _png(image: Image.Image) -> bytes:
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
            body = self._draw(comparison)
            self._write(key, body)
        with self._lock:
            self._memory[key] = body
            while len(self._memory) > self._max_entries:
                self._memory.popitem(last=False)
        return body

    def _draw(self, comparison: Comparison) -> bytes:
        """The card, or the site's plain card if drawing this one fails: a card always renders
        (its page links it in og:image), and one odd title must not be a 500."""
        try:
            return draw_card(comparison, site_name=self.site_name)
        except Exception:
            log.exception("cannot draw the card of %s; using the plain card", comparison.slug)
            return plain_card(self.site_name)

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
            # Write then rename, so a concurrent reader never sees half a PNG; a failed write
            # (a full disk) leaves no temporary file behind.
            write_atomic(path, body)
        except OSError as exc:  # a read-only data folder still serves cards from memory
            log.warning("cannot keep social card %s: %s", path, exc)
