"""Files written whole or not at all (``app/atomic.py``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.atomic import write_atomic, write_atomic_and_open


def read_all(descriptor: int) -> bytes:
    return os.pread(descriptor, 1 << 20, 0)


def test_a_file_is_written_whole_in_parts_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    target = tmp_path / "cache.marshal"
    write_atomic(target, [b"head", b"-", b"bodies"])
    assert target.read_bytes() == b"head-bodies"
    assert os.listdir(tmp_path) == ["cache.marshal"]


def test_the_descriptor_reads_the_file_written_even_after_another_is_renamed_over_it(
    tmp_path: Path,
) -> None:
    # Two servers on one data folder saving their caches at once: each must go on reading
    # its own file's bodies, not the other's that now holds the name.
    target = tmp_path / "cache.marshal"
    ours = write_atomic_and_open(target, b"our cache")
    try:
        write_atomic(target, b"their newer cache")
        assert target.read_bytes() == b"their newer cache"
        assert read_all(ours) == b"our cache"
    finally:
        os.close(ours)


def test_a_failed_write_leaves_neither_a_temporary_file_nor_an_open_descriptor(
    tmp_path: Path,
) -> None:
    def parts_then_failure() -> Iterator[bytes]:
        yield b"half of a file"
        raise OSError(28, "No space left on device")

    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match="No space"):
        write_atomic_and_open(tmp_path / "cache.marshal", parts_then_failure())
    assert os.listdir(tmp_path) == []
    assert set(os.listdir("/proc/self/fd")) == before
