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
        gc.disable()
        return self

    def resume(self) -> None:
        gc.enable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()
