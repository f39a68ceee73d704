"""The collector's pause: nested and overlapping pauses leave it as the first found it."""

from __future__ import annotations

import gc

from app.collector import paused_gc


def test_pauses_that_overlap_leave_the_collector_on() -> None:
    # An outside review: thread A pauses, thread B pauses, A ends, B ends: B's end, which
    # found the collector off, turned it off again for good.
    assert gc.isenabled()
    first, second = paused_gc(), paused_gc()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_resume_collects_inside_a_pause_and_the_outer_end_turns_it_on() -> None:
    with paused_gc():
        with paused_gc() as inner:
            assert not gc.isenabled()
            inner.resume()  # a build that renders every page
            assert gc.isenabled()
    assert gc.isenabled()
