"""The persistent parse cache: a warm start parses nothing, an edit re-parses one file."""

from __future__ import annotations

import dataclasses
import os
import pickle
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.content import parallel
from app.content.bodies import UNREAD, LazyComparison, LazyOption
from app.content.cache import STALE_AT_MOST, ParseCache
from app.content.library import Library
from app.content.model import Comparison, Option
from app.content.parallel import Cancel, Cancelled, prime
from app.content.sources import SourceFile, discover
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD, ROOT, comparison_text


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def three_files(folder: Path) -> None:
    write(folder, "vim-vs-emacs.md", GOOD)
    write(
        folder,
        "nano-vs-micro.md",
        comparison_text(title="Nano vs Micro").replace("Vim", "Nano").replace("Emacs", "Micro"),
    )
    write(folder, "broken.md", "no front matter here\n")


def test_warm_start_parses_nothing_and_gives_the_same_library(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    cache_file = tmp_path / "var" / "parse-cache.marshal"
    cold_cache = ParseCache(cache_file)
    cold = Library.load(content, cold_cache)
    assert cold_cache.parses == 3 and cache_file.is_file()

    warm_cache = ParseCache(cache_file)
    warm = Library.load(content, warm_cache)
    assert warm_cache.parses == 0 and warm_cache.hits == 3
    assert warm.comparisons == cold.comparisons
    assert warm.problems == cold.problems
    assert set(warm.comparisons) == {"vim-vs-emacs", "nano-vs-micro"}


def holds_bodies(thing: Comparison | Option) -> bool:
    """Whether the object's own body slots hold text (the dataclass's slot, not the file):
    a lazy object's hold the ``UNREAD`` marker until the dataclass's constructor fills them."""
    name = "intro" if isinstance(thing, Comparison) else "pros"
    return type(thing).__mro__[1].__dict__[name].__get__(thing) is not UNREAD


def test_a_warm_start_leaves_the_bodies_in_the_cache_file_until_read(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    cache_file = tmp_path / "parse-cache.marshal"
    cold = Library.load(content, ParseCache(cache_file)).comparisons["vim-vs-emacs"]
    warm = Library.load(content, ParseCache(cache_file)).comparisons["vim-vs-emacs"]
    assert isinstance(warm, LazyComparison) and isinstance(warm.options[0], LazyOption)
    # The objects hold no body of their own: the dataclass's slots are empty...
    assert not holds_bodies(warm) and not holds_bodies(warm.options[0])
    # ...and reading a field brings the text back from the file.
    assert warm.intro == cold.intro and warm.intro.startswith("Both editors")
    assert warm.options[1].pros == cold.options[1].pros
    assert warm.use_cases == cold.use_cases and warm.bottom_line == cold.bottom_line
    assert warm == cold and cold == warm and hash(warm) == hash(cold)
    assert {warm, cold} == {cold}
    # Read, the text still is not kept by the object: the next read asks the file again.
    assert not holds_bodies(warm) and not holds_bodies(warm.options[1])
    # A copy made through the constructor holds its text, and equals the lazy one.
    copied = dataclasses.replace(warm, title=warm.title)
    assert holds_bodies(copied) and copied == warm and copied.intro == cold.intro


def test_a_cold_load_also_leaves_its_bodies_in_the_saved_file(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    parsed = Library.load(content).comparisons["vim-vs-emacs"]
    cache = ParseCache(tmp_path / "parse-cache.marshal")
    cold = Library.load(content, cache)
    assert cache.parses == 3
    comparison = cold.comparisons["vim-vs-emacs"]
    assert isinstance(comparison, LazyComparison)
    assert cold.files[content / "vim-vs-emacs.md"].comparison is comparison
    assert not holds_bodies(comparison)
    assert comparison == parsed and comparison.verdict == parsed.verdict


def test_bodies_read_from_a_replaced_cache_file_stay_readable(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    cache_file = tmp_path / "parse-cache.marshal"
    Library.load(content, ParseCache(cache_file))
    first = Library.load(content, ParseCache(cache_file)).comparisons["vim-vs-emacs"]
    write(content, "nano-vs-micro.md", comparison_text(title="Nano vs Micro, again"))
    Library.load(content, ParseCache(cache_file))  # saves a new file in the old one's place
    assert first.options[0].pros == (
        "Starts in **under 50 ms**",
        "Ships on nearly every Unix host as `vi`",
    )
    assert first.bottom_line == "Vim is everywhere you log in."


def test_a_lazy_comparison_copies_and_pickles_as_a_whole_one(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    cache_file = tmp_path / "parse-cache.marshal"
    cold = Library.load(content, ParseCache(cache_file)).comparisons["vim-vs-emacs"]
    warm = Library.load(content, ParseCache(cache_file)).comparisons["vim-vs-emacs"]
    renamed = dataclasses.replace(warm, title="Renamed")
    assert renamed.title == "Renamed" and renamed.verdict == cold.verdict
    assert holds_bodies(renamed)
    assert pickle.loads(pickle.dumps(warm)) == cold
    cache_file.unlink()  # a copy holds its bodies itself
    assert pickle.loads(pickle.dumps(warm)).intro == cold.intro


def test_pages_from_a_warm_start_are_byte_for_byte_those_of_a_cold_one(
    settings: Settings,
) -> None:
    three_files(settings.content_dir)
    paths = ["/compare/vim-vs-emacs", "/compare/vim-vs-emacs.json", "/option/vim", "/search?q=vim"]

    def pages() -> list[bytes]:
        with TestClient(create_app(settings)) as client:
            return [client.get(path).content for path in paths]

    cold = pages()
    assert (settings.data_dir / "parse-cache.marshal").is_file()
    assert pages() == cold


def test_editing_one_file_reparses_only_that_file(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    cache_file = tmp_path / "parse-cache.marshal"
    Library.load(content, ParseCache(cache_file))

    write(content, "vim-vs-emacs.md", GOOD.replace("A modal editor.", "A modal editor, still."))
    cache = ParseCache(cache_file)
    library = Library.load(content, cache)
    assert cache.parses == 1
    assert "still" in library.comparisons["vim-vs-emacs"].options[0].description


def test_a_few_edited_files_leave_the_cache_file_alone_and_are_parsed_again(
    tmp_path: Path,
) -> None:
    # Writing the whole file after each edit cost ~50 ms of every incremental build at
    # 10,000 pages; parsing the few edited files again costs a fraction of a millisecond each.
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    cache_file = tmp_path / "parse-cache.marshal"
    Library.load(content, ParseCache(cache_file))
    written = cache_file.stat().st_ino  # a save renames a new file over it
    write(content, "vim-vs-emacs.md", GOOD.replace("A modal editor.", "A modal editor, still."))
    for _load in range(2):
        cache = ParseCache(cache_file)
        library = Library.load(content, cache)
        assert cache.parses == 1
        assert "still" in library.comparisons["vim-vs-emacs"].options[0].description
    assert cache_file.stat().st_ino == written


def test_a_file_rewritten_with_its_saved_size_and_mtime_is_parsed_again(tmp_path: Path) -> None:
    # An outside review: the saved entry stayed (one edit is too few to write the file);
    # new text of the original size with the original mtime put back (touch -r, rsync -t)
    # passed the stat check and the page showed the original text. The change time, which
    # no one sets back, is checked too.
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    cache_file = tmp_path / "parse-cache.marshal"
    Library.load(content, ParseCache(cache_file))
    path = content / "vim-vs-emacs.md"
    original = path.read_text()
    stat = path.stat()
    write(content, "vim-vs-emacs.md", original.replace("A modal editor.", "A modal editor, now."))
    Library.load(content, ParseCache(cache_file))
    same_size = original.replace("A modal editor.", "A MODAL EDITOR.")
    assert len(same_size) == len(original)
    write(content, "vim-vs-emacs.md", same_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    cache = ParseCache(cache_file)
    library = Library.load(content, cache)
    assert cache.parses == 1
    assert library.comparisons["vim-vs-emacs"].options[0].description == "A MODAL EDITOR."


def test_more_than_a_few_edited_files_or_one_gone_are_saved(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    names = [f"page-{number}.md" for number in range(STALE_AT_MOST + 1)]
    for name in names:
        write(content, name, "no front matter here\n")
    cache_file = tmp_path / "parse-cache.marshal"
    Library.load(content, ParseCache(cache_file))
    for name in names:
        write(content, name, "still no front matter\n")
    edited = ParseCache(cache_file)
    Library.load(content, edited)
    assert edited.parses == len(names)
    again = ParseCache(cache_file)
    Library.load(content, again)
    assert again.parses == 0 and again.hits == len(names)

    (content / names[0]).unlink()
    Library.load(content, ParseCache(cache_file))
    assert len(ParseCache(cache_file).entries) == len(names) - 1


def test_touched_but_unchanged_file_is_hashed_not_parsed(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    cache_file = tmp_path / "parse-cache.marshal"
    Library.load(content, ParseCache(cache_file))
    path = content / "vim-vs-emacs.md"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    cache = ParseCache(cache_file)
    Library.load(content, cache)
    assert cache.parses == 0


def test_damaged_or_foreign_cache_file_means_a_full_parse(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    cache_file = tmp_path / "parse-cache.marshal"
    cache_file.write_bytes(b"not marshal data")
    cache = ParseCache(cache_file)
    library = Library.load(content, cache)
    assert cache.parses == 3 and len(library.comparisons) == 2
    assert ParseCache(cache_file).entries  # rewritten in a readable form


def test_deleted_files_leave_the_cache(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    three_files(content)
    cache_file = tmp_path / "parse-cache.marshal"
    Library.load(content, ParseCache(cache_file))
    (content / "broken.md").unlink()
    Library.load(content, ParseCache(cache_file))
    assert {Path(key).name for key in ParseCache(cache_file).entries} == {
        "vim-vs-emacs.md",
        "nano-vs-micro.md",
    }


def test_importing_the_parse_cache_reads_no_source_file() -> None:
    # A fresh interpreter: this one has imported the module (and maybe used it) already.
    script = (
        "from app.content import cache\n"
        "print(cache.code_version.cache_info().currsize)\n"
        "cache.code_version()\n"
        "print(cache.code_version.cache_info().currsize)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["0", "1"]


def shipped_and_broken(folder: Path) -> list[SourceFile]:
    """The shipped comparisons (bodies of every kind) and a few broken files, discovered."""
    shutil.copytree(ROOT / "content", folder, ignore=shutil.ignore_patterns("authors"))
    write(folder, "broken.md", "no front matter here\n")
    write(folder, "no-verdict.md", GOOD.split("## Verdict")[0])
    return discover(folder)


def saved_entries(cache_file: Path) -> dict[str, object]:
    """Each saved entry by path: its short fields and problems, and its bodies read back."""
    cache = ParseCache(cache_file)
    found: dict[str, object] = {}
    for key, entry in cache.entries.items():
        comparison, problems = cache.parse(Path(key), entry.display, lambda: (None, []))
        bodies = None
        if comparison is not None:
            options = [(o.description, o.pros, o.cons) for o in comparison.options]
            bodies = (comparison.intro, comparison.verdict, comparison.use_cases, options)
        found[key] = (comparison, problems, bodies)
    assert cache.parses == 0  # every entry came from the file
    return found


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_bodies_written_by_worker_processes_are_saved_as_a_serial_parse_saves_them(
    tmp_path: Path, start_method: str
) -> None:
    sources = shipped_and_broken(tmp_path / "content")
    serial_file, parallel_file = tmp_path / "serial" / "c.marshal", tmp_path / "var" / "c.marshal"
    Library.scan(tmp_path / "content", ParseCache(serial_file), sources=sources)
    primed = ParseCache(parallel_file)
    assert prime(primed, sources, today=None, jobs=2, start_method=start_method) == len(sources)
    # Before the save: the comparisons read their bodies from the workers' spool files.
    loaded = Library.scan(tmp_path / "content", primed, sources=sources)
    assert primed.parses == len(sources) and primed.hits == len(sources)
    serial = Library.scan(tmp_path / "content", sources=sources)
    assert loaded.comparisons == serial.comparisons and loaded.problems == serial.problems
    assert any(c.intro and c.use_cases for c in loaded.comparisons.values())
    assert saved_entries(parallel_file) == saved_entries(serial_file)
    assert os.listdir(parallel_file.parent) == ["c.marshal"]  # no spool file left behind


def test_a_parse_saved_before_the_library_reads_it_is_decoded_once(tmp_path: Path) -> None:
    # The server saves a cold parse before loading the library from it: the comparisons then
    # come with their bodies in the cache file, and none is read a second time to swap it.
    sources = shipped_and_broken(tmp_path / "content")
    cache = ParseCache(tmp_path / "var" / "c.marshal")
    assert prime(cache, sources, today=None, jobs=2) == len(sources)
    cache.save()
    loaded = Library.load(tmp_path / "content", cache, sources=sources)
    assert cache.hits == len(sources) and cache.parses == len(sources)
    assert all(cache.stored(str(source.path)) is None for source in sources)  # nothing to swap
    assert not any(holds_bodies(c) for c in loaded.comparisons.values())
    serial = Library.scan(tmp_path / "content", sources=sources)
    assert loaded.comparisons == serial.comparisons and loaded.problems == serial.problems
    assert os.listdir(tmp_path / "var") == ["c.marshal"]


def test_workers_spool_elsewhere_when_the_cache_folder_cannot_be_made(tmp_path: Path) -> None:
    sources = shipped_and_broken(tmp_path / "content")
    (tmp_path / "var").write_text("a file where the data folder should be\n")
    primed = ParseCache(tmp_path / "var" / "c.marshal")
    assert prime(primed, sources, today=None, jobs=2) == len(sources)  # still in workers
    loaded = Library.scan(tmp_path / "content", primed, sources=sources)  # cannot save: logged
    assert loaded.comparisons == Library.scan(tmp_path / "content", sources=sources).comparisons


def test_a_parse_removes_spool_folders_left_by_a_killed_parse_but_not_a_running_ones(
    tmp_path: Path,
) -> None:
    sources = shipped_and_broken(tmp_path / "content")
    var = tmp_path / "var"
    # A process that is gone (its pid reaped) left a spool full of bodies; a running one
    # (this test's parent, standing in for another server on the same data folder) has one.
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = var / f".spool-{dead.pid}-abc"
    running = var / f".spool-{os.getppid()}-def"
    for folder in (orphan, running):
        folder.mkdir(parents=True)
        (folder / "0").write_bytes(b"bodies" * 1000)
    primed = ParseCache(var / "c.marshal")
    assert prime(primed, sources, today=None, jobs=2) == len(sources)
    assert not orphan.exists()
    assert (running / "0").exists()


def test_a_parse_leaves_alone_spool_like_names_it_did_not_make(tmp_path: Path) -> None:
    # A pid too large for the system (OverflowError from os.kill stopped ``nicepick check``
    # with a traceback), a superscript digit (ValueError from int(), the same), and a
    # symbolic link to a folder and a file, both with a dead pid.
    sources = shipped_and_broken(tmp_path / "content")
    var = tmp_path / "var"
    var.mkdir()
    huge = var / ".spool-99999999999999999999-abc"
    huge.mkdir()
    superscript = var / ".spool-\u00b2-abc"  # isdigit(), but int() refuses it
    superscript.mkdir()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "precious").write_text("not a spool\n")
    dead = subprocess.Popen(["true"])
    dead.wait()
    (var / f".spool-{dead.pid}-link").symlink_to(kept, target_is_directory=True)
    (var / f".spool-{dead.pid}-file").write_text("a file\n")
    primed = ParseCache(var / "c.marshal")
    assert prime(primed, sources, today=None, jobs=2) == len(sources)
    assert huge.is_dir() and superscript.is_dir()
    assert (kept / "precious").read_text() == "not a spool\n"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_workers_spool_within_the_open_files_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A spool file per chunk stays open until the save: at 250,000 files (1,000 chunks of
    # 250) the usual limit of 1,024 descriptors ran out and the rest was parsed in one
    # process. Here: a chunk of one file each (34 spool files) under a limit of what is open
    # now and 24 more (earlier tests may have left many open: the budget counts the free ones).
    sources = shipped_and_broken(tmp_path / "content")
    monkeypatch.setattr(parallel, "_CHUNK", 1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 24, hard))
    try:
        primed = ParseCache(tmp_path / "var" / "c.marshal")
        made = prime(primed, sources, today=None, jobs=2)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert made == len(sources) > 24
    loaded = Library.scan(tmp_path / "content", primed, sources=sources)
    assert loaded.comparisons == Library.scan(tmp_path / "content", sources=sources).comparisons


def test_a_parse_removes_a_spool_folder_left_by_an_earlier_process_with_its_own_pid(
    tmp_path: Path,
) -> None:
    # A container's server is pid 1 again after it was killed mid-parse: the folder its
    # killed run left names this very pid, and was kept as if in use, on every restart.
    sources = shipped_and_broken(tmp_path / "content")
    var = tmp_path / "var"
    left = var / f".spool-{os.getpid()}-abc"
    left.mkdir(parents=True)
    (left / "0").write_bytes(b"bodies" * 1000)
    primed = ParseCache(var / "c.marshal")
    assert prime(primed, sources, today=None, jobs=2) == len(sources)
    assert not left.exists()
    assert os.listdir(var) == []  # its own spool folder gone too (nothing saved yet)


def test_a_parse_cancelled_before_it_starts_parses_nothing_and_says_so(tmp_path: Path) -> None:
    # A server stopped before its background load reached the parse: no pool is started,
    # and the load is told to stop rather than parse everything in-process instead.
    sources = shipped_and_broken(tmp_path / "content")
    primed = ParseCache(tmp_path / "var" / "c.marshal")
    cancel = Cancel()
    assert cancel.set() is False  # no parse was running
    with pytest.raises(Cancelled):
        prime(primed, sources, today=None, jobs=2, cancel=cancel)
    assert all(primed.lacks(source.path, source.display) for source in sources)
    assert not (tmp_path / "var").exists() or not list((tmp_path / "var").iterdir())


def test_links_to_listings_are_kept_in_the_cache(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    text = GOOD.replace("A modal editor.", "A modal editor ([more](/tag/modal)).")
    write(content, "vim-vs-emacs.md", text)
    cache_file = tmp_path / "parse-cache.marshal"
    cold = Library.load(content, ParseCache(cache_file)).comparisons["vim-vs-emacs"]
    warm_cache = ParseCache(cache_file)
    warm = Library.load(content, warm_cache).comparisons["vim-vs-emacs"]
    found = next(x for x in text.splitlines() if "/tag/modal" in x)
    line, column = text.splitlines().index(found) + 1, found.index("/tag/modal") + 1
    assert warm_cache.hits == 1
    assert cold.listing_links == warm.listing_links == ((line, column, "tag", "modal", ""),)
