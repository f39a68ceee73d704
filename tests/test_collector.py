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


def _full_collections_while_holding(many: int, *, oldest: bool) -> int:
    """Full collections the allocation of ``many`` long-lived lists triggers after resume."""
    full = 0

    def count(phase: str, info: dict[str, int]) -> None:
        nonlocal full
        full += phase == "start" and info["generation"] == 2

    gc.callbacks.append(count)
    try:
        with paused_gc() as collector:
            collector.resume(oldest=oldest)
            held = [[n] for n in range(many)]  # a build's growing bookkeeping
    finally:
        gc.callbacks.remove(count)
    assert len(held) == many
    return full


def test_a_build_can_resume_without_walking_what_it_keeps_again_and_again() -> None:
    before = gc.get_threshold()
    assert _full_collections_while_holding(400_000, oldest=True) > 0
    assert _full_collections_while_holding(400_000, oldest=False) == 0
    assert gc.get_threshold() == before  # the pause's end gives full collections back
