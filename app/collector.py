"""Pausing Python's cyclic garbage collector while many long-lived objects are made.

Each collection of the oldest generation walks every container alive: loading a library of
10,000 comparisons, or a build's bookkeeping over them, makes hundreds of thousands that live
as long as the process and form next to no cycles, so the collector triggered by their
allocations only walked them again and again (bench/RESULTS.md).
"""

from __future__ import annotations

import gc


class paused_gc:
    """Context manager: no garbage collection while many long-lived objects are created.

    ``resume`` collects again from there on, even inside another pause: for work whose
    garbage grows with the library (a build rendering every page) rather than staying
    bounded. The block's end turns collection back on when it was on at the start, and
    never off: two threads' pauses that overlap must not leave it off for good (an outside
    review: thread A pauses, B pauses, A ends, B ends)."""

    def __enter__(self) -> paused_gc:
        self.was_enabled = gc.isenabled()
        self.thresholds: tuple[int, int, int] | None = None
        gc.disable()
        return self

    def resume(self, *, oldest: bool = True) -> None:
        """Collect again. ``oldest=False``: the young generations only, until the block ends.
        A build's rendering keeps adding to what it holds until its end (what it wrote, links
        checked): in a 10,000-comparison build, the 23 collections of the oldest generation
        that its allocations triggered walked all of it each time and took 1.3 of its 1.9 s of
        collecting, and found next to nothing (its garbage dies young); the most memory held
        was the same without them."""
        gc.enable()
        if not oldest and self.thresholds is None:
            self.thresholds = gc.get_threshold()
            young, middle, _ = self.thresholds
            gc.set_threshold(young, middle, NEVER)

    def __exit__(self, *exc: object) -> None:
        if self.thresholds is not None:
            gc.set_threshold(*self.thresholds)
        if self.was_enabled:
            gc.enable()


# The oldest generation's threshold that no run reaches: collections of the middle one since
# the last full collection (CPython counts them in an int).
NEVER = 2**31 - 1
