"""Live preview's edits patch the running site: after any sequence of them, every page, listing,
search answer and problem is what a fresh start on the same files gives.

One site stays up and takes each edit through ``Site.reload_files`` (what the watcher calls),
its pages served before each edit so the patched caches, not fresh ones, answer after it;
a second site is started afresh on the same folder after each edit, and both must agree byte
for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.content.library import Library
from app.main import create_app
from app.settings import Settings
from app.site import Site
from tests.conftest import FakeClock
from tests.discovery_content import comparison_md

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SEARCHES = ("tool", "kafka", "lightweight", "pick workload", "renamed", "zeta")

Edit = Callable[[Path], set[Path]]


def _write(folder: Path, name: str, text: str) -> set[Path]:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return {path}


def _replace(folder: Path, name: str, old: str, new: str) -> set[Path]:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return {path}


def _remove(folder: Path, name: str) -> set[Path]:
    path = folder / name
    path.unlink()
    return {path}


def _rename(folder: Path, name: str, to: str) -> set[Path]:
    (folder / name).rename(folder / to)
    return {folder / name, folder / to}


# Each edit as an editor would make it; together they walk every kind of change.
EDITS: list[tuple[str, Edit]] = [
    ("body", lambda f: _replace(f, "kafka-vs-pulsar.md", "widely used", "lightweight and used")),
    ("title", lambda f: _replace(f, "kafka-vs-pulsar.md", "title: ", "title: Renamed ")),
    (
        "two prose edits in a row",
        lambda f: (
            _replace(f, "redis-vs-memcached.md", "safer default", "zeta default")
            | _replace(f, "kafka-vs-rabbitmq.md", "long history", "zeta history")
        ),
    ),
    ("tags", lambda f: _replace(f, "kafka-vs-pulsar.md", "tags: [queues", "tags: [streams")),
    ("category", lambda f: _replace(f, "redis-vs-memcached.md", "Databases", "Caches")),
    ("pick", lambda f: _replace(f, "kafka-vs-rabbitmq.md", "pick: Kafka", "pick: RabbitMQ")),
    (
        "add",
        lambda f: _write(f, "nats-vs-kafka.md", comparison_md(["NATS", "Kafka"], tags=["queues"])),
    ),
    ("delete", lambda f: _remove(f, "nats-vs-kafka.md")),
    ("rename", lambda f: _rename(f, "redis-vs-valkey.md", "valkey-vs-redis.md")),
    ("draft", lambda f: _replace(f, "kafka-vs-pulsar.md", "published:", "draft: true\npublished:")),
    ("draft off", lambda f: _replace(f, "kafka-vs-pulsar.md", "draft: true\n", "")),
    ("breaks", lambda f: _replace(f, "kafka-vs-pulsar.md", "pick: Kafka", "pick: Nope")),
    ("prose while broken", lambda f: _replace(f, "kafka-vs-pulsar.md", "Renamed", "Still")),
    ("mends", lambda f: _replace(f, "kafka-vs-pulsar.md", "pick: Nope", "pick: Kafka")),
    ("dead link", lambda f: _replace(f, "kafka-vs-rabbitmq.md", "zeta", "[z](/compare/no-such)")),
    ("link mended", lambda f: _replace(f, "kafka-vs-rabbitmq.md", "/compare/no-such", "/")),
    (
        "alias",
        lambda f: _replace(f, "kafka-vs-pulsar.md", "published:", "aliases: [kp]\npublished:"),
    ),
    ("prose with alias", lambda f: _replace(f, "kafka-vs-pulsar.md", "Still", "Again")),
    ("same pair, loser edited", lambda f: _replace(f, "memcached-vs-redis.md", "long", "short")),
    ("day", lambda f: _replace(f, "kafka-vs-pulsar.md", "2025-03-01", "2026-07-01")),
    # Pages that come and go with no other file contending (patched, not rebuilt; see
    # PATCHED below), and some that do contend (rebuilt).
    (
        "add, first in path order, new groups",
        lambda f: _write(
            f,
            "aaa-vs-bbb.md",
            comparison_md(["Aaa", "Bbb"], category="Alpha", tags=["new", "queues"]),
        ),
    ),
    (
        "add, newest, first of its tags",
        lambda f: _write(
            f,
            "nats-vs-zmq.md",
            comparison_md(
                ["NATS", "ZMQ"], tags=["zeta", "queues", "cache"], published="2026-05-30"
            ),
        ),
    ),
    (
        "re-date to another past day",
        lambda f: _replace(f, "nats-vs-zmq.md", "2026-05-30", "2024-01-01"),
    ),
    ("re-date to the future", lambda f: _replace(f, "nats-vs-zmq.md", "2024-01-01", "2026-09-01")),
    ("re-date back", lambda f: _replace(f, "nats-vs-zmq.md", "2026-09-01", "2025-03-01")),
    (
        "add in a subfolder",
        lambda f: _write(
            f / "sub", "kafka-vs-zmq.md", comparison_md(["Kafka", "ZMQ"], tags=["queues"])
        ),
    ),
    (
        "add a draft",
        lambda f: _write(
            f, "mqtt-vs-amqp.md", comparison_md(["MQTT", "AMQP"], extra_front="draft: true\n")
        ),
    ),
    ("draft published", lambda f: _replace(f, "mqtt-vs-amqp.md", "draft: true\n", "")),
    ("added page breaks", lambda f: _replace(f, "aaa-vs-bbb.md", "pick: Aaa", "pick: Nope")),
    ("broken page edited", lambda f: _replace(f, "aaa-vs-bbb.md", "long history", "short")),
    ("broken page mended", lambda f: _replace(f, "aaa-vs-bbb.md", "pick: Nope", "pick: Aaa")),
    ("add a broken file", lambda f: _write(f, "broken-vs-file.md", "---\ntitle: [\n")),
    ("remove the broken file", lambda f: _remove(f, "broken-vs-file.md")),
    (
        "add with an alias",
        lambda f: _write(
            f,
            "etcd-vs-consul.md",
            comparison_md(["etcd", "Consul"], extra_front="aliases: [ec, ec]\n"),
        ),
    ),
    ("remove with an alias", lambda f: _remove(f, "etcd-vs-consul.md")),
    (
        "add with another page's other order as an alias",
        lambda f: _write(
            f,
            "etcd-vs-zk.md",
            comparison_md(["etcd", "ZK"], extra_front="aliases: [pulsar-vs-kafka]\n"),
        ),
    ),
    ("remove the page with that alias", lambda f: _remove(f, "etcd-vs-zk.md")),
    ("remove a subfolder's page", lambda f: _remove(f / "sub", "kafka-vs-zmq.md")),
    (
        "link to a page to come",
        lambda f: _replace(f, "kafka-vs-rabbitmq.md", "safer default", "[l](/compare/ab-vs-cd)"),
    ),
    ("the linked page comes", lambda f: _write(f, "ab-vs-cd.md", comparison_md(["Ab", "Cd"]))),
    ("the linked page goes", lambda f: _remove(f, "ab-vs-cd.md")),
    (
        "same options as another, added",
        lambda f: _write(
            f, "zmq-vs-nats.md", comparison_md(["ZMQ", "NATS"], published="2020-01-01")
        ),
    ),
    ("same options, removed", lambda f: _remove(f, "zmq-vs-nats.md")),
    ("remove the first page", lambda f: _remove(f, "aaa-vs-bbb.md")),
    ("remove the newest page", lambda f: _remove(f, "nats-vs-zmq.md")),
]
# Edits patched into the running site (``Library.replaced``), not rebuilt: pages that came,
# went or moved with no other file contending.
PATCHED = {
    "add, first in path order, new groups",
    "add, newest, first of its tags",
    "re-date to another past day",
    "re-date to the future",
    "re-date back",
    "add in a subfolder",
    "add a draft",
    "draft published",
    "added page breaks",
    "broken page edited",
    "broken page mended",
    "add a broken file",
    "remove the broken file",
    "add with an alias",
    "remove with an alias",
    "remove a subfolder's page",
    "remove the first page",
    "remove the newest page",
}


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    files = {
        "kafka-vs-pulsar.md": comparison_md(["Kafka", "Pulsar"], tags=["queues", "streams"]),
        "kafka-vs-rabbitmq.md": comparison_md(
            ["Kafka", "RabbitMQ"], tags=["queues"], published="2025-02-01"
        ),
        "redis-vs-memcached.md": comparison_md(
            ["Redis", "Memcached"], category="Databases", tags=["cache"], published="2025-01-01"
        ),
        "redis-vs-valkey.md": comparison_md(
            ["Redis", "Valkey"], category="Databases", tags=["cache"], published="2025-04-01"
        ),
        # The same pair as redis-vs-memcached, published later: an error on this file.
        "memcached-vs-redis.md": comparison_md(
            ["Memcached", "Redis"], category="Databases", published="2025-05-01"
        ),
        "sqlite-vs-postgres.md": comparison_md(
            ["SQLite", "Postgres"], category="Databases", tags=["sql"], published="2027-01-01"
        ),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _settings(content: Path, data: Path) -> Settings:
    root = Path(__file__).resolve().parent.parent
    return Settings(
        content_dir=content,
        data_dir=data,
        templates_dir=root / "templates",
        static_dir=root / "static",
        site_url="https://nicepick.test",
        redirect_host=False,
        _env_file=None,
    )


def _started(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, clock=FakeClock(NOW)), follow_redirects=False)


def _paths(library: Library) -> list[str]:
    """Every page a reader can reach on this library, HTML and JSON."""
    comparisons = list(library.comparisons.values())
    groups = {kind: Library.group(comparisons, kind) for kind in ("category", "tag", "option")}
    paths = ["/", "/comparisons", "/tags", "/categories", "/sitemap.xml", "/feed.xml"]
    paths += [f"/compare/{slug}" for slug in library.comparisons]
    paths += [f"/compare/{alias}" for alias in library.by_alias]
    paths += [
        "/compare/" + "-vs-".join(reversed(slug.split("-vs-"))) for slug in library.comparisons
    ]
    paths += [f"/category/{name}" for name in groups["category"]]
    paths += [f"/best/{name}" for name in groups["category"]]
    paths += [f"/tag/{name}" for name in groups["tag"]]
    paths += [f"/option/{name}" for name in groups["option"]]
    paths += [f"/search?q={words}" for words in SEARCHES]
    return paths + [f"{path}.json" for path in paths if "?" not in path and "." not in path[1:]]


# Each response's own: the CSP nonce, and the feedback form's signed token and its time.
_PER_RESPONSE = re.compile(
    rb'(nonce="|name="token" value="|name="nonce" value="|name="started" value=")[^"]*"'
)


def _served(client: TestClient, paths: list[str]) -> dict[str, tuple[int, bytes]]:
    served = {}
    for path in paths:
        response = client.get(path)
        served[path] = (response.status_code, _PER_RESPONSE.sub(rb"\1", response.content))
    return served


def _library_state(site: Site) -> dict[str, object]:
    library = site.library
    return {
        "comparisons": list(library.comparisons.items()),
        "by_pair": library.by_pair,
        "by_alias": library.by_alias,
        "files": [(path, parsed.comparison) for path, parsed in library.files.items()],
        "problems by file": {path: library.problems_for(path) for path in library.files},
        "problems": sorted(library.problems, key=repr),
        "visible": site.visible(),
        # In order: listings show groups in it.
        "groups": {
            kind: list(site.grouped(kind).items()) for kind in ("category", "tag", "option")
        },
    }


def test_any_sequence_of_edits_serves_what_a_fresh_start_serves(
    content: Path, tmp_path: Path
) -> None:
    with _started(_settings(content, tmp_path / "live")) as client:
        site: Site = client.app.state.site  # type: ignore[attr-defined]
        _served(client, _paths(site.library))  # every cache built before the first edit
        for number, (name, edit) in enumerate(EDITS):
            site.reload_files(edit(content))
            if name in PATCHED:
                assert site.library.version in site.library.replaced, name
            with _started(_settings(content, tmp_path / f"fresh-{number}")) as fresh:
                fresh_site: Site = fresh.app.state.site  # type: ignore[attr-defined]
                assert _library_state(site) == _library_state(fresh_site), name
                paths = sorted(set(_paths(fresh_site.library)) | set(_paths(site.library)))
                got, want = _served(client, paths), _served(fresh, paths)
            for path in paths:
                assert got[path] == want[path], f"after {name!r}: {path} differs"
        # The point of the patches: most of these edits were swapped in, not rebuilt.
        assert len(site.library.replaced) >= 8
