"""The ``nicepick`` command line: every command's flags (``parser``), number types that refuse
at once what would fail later, and how a setting ``Settings`` refuses is told to an operator.

``app/cli.py`` runs the commands; this module knows nothing of what they do.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

Command = Callable[[argparse.Namespace], int]


def whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` ("--port 99999" started a
    server that listened nowhere; "--jobs 0" stopped a build with a traceback)."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number} is not between {low} and {high}")
        return number

    return parse


def parser(handlers: Mapping[str, Command]) -> argparse.ArgumentParser:
    """The flags of every command; ``handlers``: the function each command runs, by name."""
    parser = argparse.ArgumentParser(
        prog="nicepick", description="Nice Pick: comparison guides from Markdown."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the site over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=whole(0, 65535), default=8000)
    serve.add_argument("--content", metavar="DIR", help="content folder (NICEPICK_CONTENT_DIR)")
    serve.add_argument("--reload", action="store_true", help="live preview: re-read changed files")
    serve.add_argument("--drafts", action="store_true", help="show drafts, marked as such")
    serve.add_argument("--workers", type=whole(1, 256), default=1, help="worker processes")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(handler=handlers["serve"])

    check = commands.add_parser("check", help="validate every content file, compiler style")
    check.add_argument("dir", nargs="?", metavar="DIR", help="content folder (same as --content)")
    check.add_argument("--content", metavar="DIR", help="content folder (NICEPICK_CONTENT_DIR)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--strict", action="store_true", help="warnings fail the check too")
    check.add_argument(
        "--stale",
        type=whole(0, 100_000),
        metavar="DAYS",
        help="list pages whose facts were last checked over DAYS days ago (exit 1 with --strict)",
    )
    check.add_argument(
        "--no-cache",
        action="store_true",
        help="parse every file (no parse cache in the data folder)",
    )
    check.set_defaults(handler=handlers["check"])

    new = commands.add_parser("new", help='start a comparison: nicepick new "A vs B"')
    new.add_argument("title", help='the options joined by "vs", e.g. "Redis vs Memcached"')
    new.add_argument("--category", help="category name, e.g. Databases")
    new.add_argument("--content", metavar="DIR", help="content folder (NICEPICK_CONTENT_DIR)")
    new.set_defaults(handler=handlers["new"])

    build = commands.add_parser("build", help="write the whole site as static files")
    build.add_argument(
        "out",
        metavar="OUT",
        help="output folder; a build already there (its manifest) is updated in place",
    )
    build.add_argument("--base-url", help="absolute URL the files will be served from")
    build.add_argument("--content", metavar="DIR", help="content folder (NICEPICK_CONTENT_DIR)")
    build.add_argument(
        "--no-cards",
        action="store_true",
        help="leave out the social card PNGs (the slowest part of a large build)",
    )
    build.add_argument(
        "--precompress",
        action="store_true",
        help="also write each text file's .gz and .br forms beside it, for nginx's "
        "gzip_static/brotli_static (static hosts compress by themselves); "
        "give it to every build of OUT",
    )
    build.add_argument(
        "--jobs",
        type=whole(1, 256),
        help="processes sharing the work (default: one per CPU when large)",
    )
    build.add_argument(
        "--allow-errors",
        action="store_true",
        help="build even when content files have errors, leaving those pages out",
    )
    build.add_argument(
        "--full",
        action="store_true",
        help="rebuild every file from scratch, even when OUT holds a previous build",
    )
    build.set_defaults(handler=handlers["build"])

    db = commands.add_parser("db", help="database schema: db upgrade | db current")
    db.add_argument("action", choices=("upgrade", "current"))
    db.set_defaults(handler=handlers["db"])

    feedback = commands.add_parser("feedback", help="readers' notes: feedback list | export")
    feedback_actions = feedback.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = feedback_actions.add_parser("list", help="print notes, newest last")
    listing.add_argument("--slug", help="only notes about this comparison")
    listing.add_argument("--json", action="store_true", help="JSON instead of text")
    listing.add_argument(
        "--requests", action="store_true", help="the comparisons readers asked for instead"
    )
    export = feedback_actions.add_parser("export", help="write every note to a CSV file")
    export.add_argument("--csv", required=True, metavar="FILE", help='CSV file ("-": stdout)')
    feedback.set_defaults(handler=handlers["feedback"])

    outbox = commands.add_parser("outbox", help="mail not yet delivered, with the last error")
    outbox.add_argument("--retry", action="store_true", help="send everything pending now")
    outbox.set_defaults(handler=handlers["outbox"])
    return parser


def refused_settings(error: ValidationError, command: str, *, base_url: bool = False) -> list[str]:
    """One line per setting (the environment, .env or a flag) that ``Settings`` refused,
    named as an operator sets it, instead of pydantic's traceback. ``base_url``: the command
    was given ``--base-url``, which sets the site's URL."""
    lines = []
    for problem in error.errors():
        name = "_".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        given = f"NICEPICK_{name.upper()}"
        if name == "site_url" and base_url:
            given = "--base-url"  # build's flag sets the same setting
        lines.append(f"nicepick {command}: {given}: {message}")
    return lines
