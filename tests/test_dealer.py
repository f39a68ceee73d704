"""A build's pages dealt to its processes a few at a time, from both ends of one list."""

from __future__ import annotations

from app.commands import workers
from app.commands.dealer import Dealer, by_folder, with_twins

URLS = [
    "/",
    "/.json",
    *(u for n in range(30) for u in (f"/compare/a-vs-{n}", f"/compare/a-vs-{n}.json")),
    "/tag/speed",
    "/tag/speed.json",
    "/tag/speed?page=2",
    "/tag/speed.json?page=2",
    *(u for n in range(20) for u in (f"/option/o{n}", f"/option/o{n}.json")),
    "/sitemap.xml",
    "/feed.xml",
]


def test_a_page_and_its_twin_stay_together_and_the_rest_alone() -> None:
    groups = with_twins(URLS)
    assert groups[0] == ["/", "/.json"]
    assert ["/tag/speed?page=2", "/tag/speed.json?page=2"] in groups
    assert groups[-2:] == [["/sitemap.xml"], ["/feed.xml"]]
    assert [url for group in groups for url in group] == URLS


def test_the_largest_folder_comes_first_and_the_second_largest_last() -> None:
    tops = [group[0].split("/")[1].partition("?")[0] for group in by_folder(with_twins(URLS))]
    assert tops[:30] == ["compare"] * 30
    assert tops[-20:] == ["option"] * 20
    # The others between, in the order the list had them.
    assert tops[30:-20] == ["", "tag", "tag", "sitemap.xml", "feed.xml"]


def test_two_ends_taken_in_turn_cover_every_url_once() -> None:
    dealer = Dealer(URLS, chunk=3)
    front, back = dealer.urls(from_back=False), dealer.urls(from_back=True)
    taken: list[str] = []
    for source in [front, back] * len(URLS):
        taken.extend(next(source, "") for _ in range(2))
    taken = [url for url in taken if url]
    assert sorted(taken) == sorted(URLS)
    # The front begins with the comparisons, the back with the option pages.
    assert taken[0].startswith("/compare/") and taken[2].startswith("/option/")


def test_a_forked_process_and_its_parent_share_the_list_without_overlap() -> None:
    dealer = Dealer(URLS, chunk=2)
    child = workers.start(lambda: list(dealer.urls(from_back=True)))
    mine = list(dealer.urls(from_back=False))
    (theirs,) = workers.collect([child])
    assert sorted(mine + theirs) == sorted(URLS)
    assert not set(mine) & set(theirs)
    for twin_of_page in ("/compare/a-vs-3.json", "/option/o7.json"):
        page = twin_of_page.removesuffix(".json")
        assert (page in mine) == (twin_of_page in mine)
