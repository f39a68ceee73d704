"""The ``nicepick`` command: turns flags into settings and hands off to the module doing the work.

Heavy modules are imported inside each command so ``nicepick --help`` stays instant. The
flags themselves are ``app/cli_args.py``'s.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.cli_args import Command, parser, refused_settings
from app.collector import paused_gc

if TYPE_CHECKING:
    from app.settings import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    # Flags become NICEPICK_* variables so every worker process builds the same Settings.
    if args.content:
        os.environ["NICEPICK_CONTENT_DIR"] = args.content
    if args.reload:
        os.environ["NICEPICK_RELOAD"] = "true"
        # An editor must see a save on the next load, never a browser-cached copy.
        os.environ.setdefault("NICEPICK_CACHE_SECONDS", "0")
    if args.drafts:
        os.environ["NICEPICK_DRAFTS"] = "true"
    from app.settings import Settings

    settings = Settings()  # fail fast, before uvicorn starts, on a bad setting
    if _refuse_missing_content("serve", settings.content_dir):
        return 1
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if args.workers > 1:
        _multiprocess_metrics(settings.data_dir / "metrics")
    # On PostgreSQL, refuse an old schema here, once, with a plain message; the embedded
    # SQLite file is upgraded by each worker's start-up (app.feedback.service) anyway.
    if not settings.resolved_database_url.startswith("sqlite") and _prepare_schema(settings):
        return 1
    from app.feedback.tokens import SecretKeyRequired, load_secret

    try:  # each worker would stop on this too, with a traceback; say it once, plainly
        load_secret(
            settings.secret_key, settings.data_dir, database_url=settings.resolved_database_url
        )
    except SecretKeyRequired as exc:
        print(f"nicepick serve: {exc}", file=sys.stderr)
        return 1
    from app.logs import logging_config
    from app.web.server import uvicorn_options

    uvicorn.run(
        "app.main:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        # Our formatter in every worker; our access lines (app/web/observe.py) replace
        # uvicorn's, which know neither the route template nor the request id.
        log_config=logging_config(settings.log_format, args.log_level),
        access_log=False,
        proxy_headers=False,  # client addresses are resolved by our trusted-proxy rule
        ws="none",  # the site has no websockets; not loading a protocol saves start-up time
        # Preview event streams stay open; do not let them hold a Ctrl-C for long.
        timeout_graceful_shutdown=2 if args.reload else None,
        server_header=False,
        # h11 with a bounded head and a deadline for it (app/web/server.py says why).
        **uvicorn_options(settings),
    )
    return 0


def _multiprocess_metrics(folder: Path) -> None:
    """Have every worker keep its metric values in files under ``folder``, for a scrape of
    any one worker to add them up (prometheus_client's multiprocess mode). Emptied first:
    files of a previous run's processes would be counted again (its documentation says to
    wipe the folder between runs). Set before any worker imports prometheus_client, which
    reads the variable at import."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder.resolve())


def _refuse_missing_content(command: str, folder: Path) -> bool:
    """Say so and refuse when the content folder is missing: serving (or building) an empty
    site would look healthy while every page is a 404. The app refuses to start as well
    (``ContentFolderMissing``); this is the same message without a traceback."""
    from app.content.sources import ContentFolderMissing

    if folder.is_dir():
        return False
    print(f"nicepick {command}: {ContentFolderMissing(folder)}", file=sys.stderr)
    return True


def _content_dir(args: argparse.Namespace) -> Path:
    """The folder named on the command line, else NICEPICK_CONTENT_DIR, else ``content``."""
    given = getattr(args, "dir", None) or args.content
    if given:
        return Path(given)
    from app.settings import Settings

    return Settings().content_dir


def _check(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from app.commands.check import check, format_report, format_stale, stale

    today = datetime.now(UTC).date()
    if args.stale is not None:
        found = stale(_content_dir(args), args.stale, today=today)
        print(format_stale(found, args.stale))
        return 1 if args.strict and found else 0
    cache_dir = None
    if not args.no_cache:
        from app.settings import Settings

        cache_dir = Settings().data_dir
    report = check(_content_dir(args), cache_dir, strict=args.strict, today=today)
    print(format_report(report, args.format))
    return report.exit_code(strict=args.strict)


def _build(args: argparse.Namespace) -> int:
    # The modules imported and the build's bookkeeping live until the command ends and make
    # next to no cycles; a build that renders every page collects while it does
    # (export.export_site).
    with paused_gc():
        return _build_paused(args)


def _build_paused(args: argparse.Namespace) -> int:
    from app.settings import Settings

    overrides: dict[str, object] = {}
    if args.content:
        overrides["content_dir"] = Path(args.content)
    if args.base_url:
        overrides["site_url"] = args.base_url
    # Validated like the environment, so a bad --base-url fails with the same message.
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if _refuse_missing_content("build", settings.content_dir):
        return 1
    from app.commands.out_folder import out_problem

    refused = out_problem(
        Path(args.out), content_dir=settings.content_dir, data_dir=settings.data_dir
    )
    if refused is not None:
        print(f"nicepick build: {refused}", file=sys.stderr)
        return 1
    from app.commands.manifest import unfinished
    from app.commands.out_folder import OutBusy, writing_alone
    from app.commands.workers import BuildProcessFailed

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.CRITICAL)  # problems are listed below, once
    out = Path(args.out)
    try:
        with writing_alone(out):
            return _build_with(args, settings)
    except OutBusy as busy:
        print(f"nicepick build: {busy}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # stdout's reader went away: main's to handle
    except (OSError, BuildProcessFailed) as error:
        # The system's, not the content's: a full disk, a read-only folder, OUT taken away.
        print(f"nicepick build: cannot finish the build: {error}", file=sys.stderr)
        with suppress(OSError):
            if unfinished(out):
                print(
                    f"nicepick build: {out} holds a build stopped halfway; "
                    "the next build writes every file again",
                    file=sys.stderr,
                )
        return 1
    finally:
        root.setLevel(level)  # the command may run inside a longer-lived process (tests)


def _build_with(args: argparse.Namespace, settings: Settings) -> int:
    _warn(settings)
    from app.commands.quick_record import UNREAD, MaybeRead, current_record

    record: MaybeRead = UNREAD
    if not args.full:
        # Edits to pages' bodies only: rewritten without the app (app/commands/quick.py).
        from app.commands.quick import quick_build

        record = current_record(Path(args.out), settings.data_dir)
        quick = quick_build(
            settings,
            Path(args.out),
            cards=not args.no_cards,
            precompress=args.precompress,
            record=record,
        )
        if quick is not None:
            return _built(args, quick)

    from app.commands.export import ContentErrors, export_site, progress_bar

    try:
        with progress_bar() as progress:
            summary = export_site(
                settings,
                Path(args.out),
                progress=progress,
                cards=not args.no_cards,
                precompress=args.precompress,
                jobs=args.jobs,
                allow_errors=args.allow_errors,
                incremental=not args.full,
                record=record,
                held=_HELD_UNTIL_EXIT if args.exit_unfreed else None,
            )
    except ContentErrors as errors:
        for problem in errors.problems:  # as `nicepick check` prints them
            print(problem, file=sys.stderr)
        print(
            f"nicepick build: {len(errors.problems)} content errors, nothing written "
            "(fix them, or --allow-errors to build without those pages)",
            file=sys.stderr,
        )
        return 1
    return _built(args, summary)


class _Built(Protocol):
    """What the closing lines need of a build's summary (export's or the quick build's)."""

    forms_until: float | None
    skipped: list[tuple[str, int]]


def _warn(settings: Settings) -> None:
    """Print what an operator must hear before publishing (``export.build_warnings``)."""
    if settings.feedback_endpoint and settings.secret_key:
        return  # nothing to say: export.py (and the app it imports) stays unloaded
    from app.commands.export import build_warnings

    for warning in build_warnings(settings):
        print(f"nicepick build: WARNING: {warning}", file=sys.stderr)


def _built(args: argparse.Namespace, summary: _Built) -> int:
    """The closing lines of a build, quick or not."""
    from datetime import UTC, datetime

    print(f"wrote {args.out}: {summary}")
    if summary.forms_until is not None:
        until = datetime.fromtimestamp(summary.forms_until, UTC).date().isoformat()
        print(f"exported forms are accepted until {until}: rebuild before then")
    for url, status in summary.skipped[:20]:
        print(f"  skipped {url} ({status})", file=sys.stderr)
    return 0


def _new(args: argparse.Namespace) -> int:
    from app.commands.scaffold import ScaffoldError, scaffold

    try:
        path = scaffold(args.title, _content_dir(args), category=args.category)
    except ScaffoldError as exc:
        print(f"nicepick new: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _db(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import make_engine, schema_status, upgrade
    from app.settings import Settings

    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        status = upgrade(engine) if args.action == "upgrade" else schema_status(engine)
    except SQLAlchemyError as exc:
        print(f"nicepick db {args.action}: cannot reach the database: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    state = "current" if status.is_current else f"behind (head is {status.head})"
    print(f"{status.current or 'empty'} ({state})")
    return 0 if status.is_current or args.action == "current" else 1


def _prepare_schema(settings: Settings) -> int:
    """Upgrade the embedded SQLite file, or refuse to serve an old PostgreSQL schema."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import SchemaBehind, make_engine, prepare_schema

    engine = make_engine(settings.resolved_database_url)
    try:
        prepare_schema(engine)
    except SchemaBehind as exc:
        print(f"nicepick serve: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        # Pages do not need the database; start anyway and let /readyz tell the balancer.
        logging.getLogger(__name__).warning("database unreachable at start: %s", exc)
    finally:
        engine.dispose()
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from app.feedback import commands
    from app.settings import Settings

    if args.action == "export":
        return commands.export_csv(Settings(), path=args.csv, out=sys.stdout)
    return commands.list_notes(
        Settings(), slug=args.slug, as_json=args.json, out=sys.stdout, requests=args.requests
    )


def _outbox(args: argparse.Namespace) -> int:
    from app.feedback import commands
    from app.settings import Settings

    return commands.show_outbox(Settings(), retry=args.retry, out=sys.stdout)


HANDLERS: dict[str, Command] = {
    "serve": _serve,
    "check": _check,
    "new": _new,
    "build": _build,
    "db": _db,
    "feedback": _feedback,
    "outbox": _outbox,
}


# Commands whose process ends once they return: the ``nicepick`` command exits after them
# without freeing what they made. A build of 10,000 comparisons holds about a million objects
# (the library, the last and the new manifest), and freeing them one by one took 20-45 ms of
# a one-second incremental build (bench/RESULTS.md). Nothing of theirs waits for the exit
# when they succeed: files are written and closed as they go, forked processes joined, the app
# closed. A failed build exits as any process does: its forked processes may still be
# running, and the exit ends them (multiprocessing's own exit handler).
_EXIT_UNFREED = frozenset({"build", "check"})
_HELD_UNTIL_EXIT: list[object] = []  # a build's objects, not freed as it returns (export_site)


def command() -> int:
    """The ``nicepick`` entry point (and ``python -m app``): ``main``, exiting at once after
    the commands of ``_EXIT_UNFREED`` succeed; Ctrl-C stops it with a line, not a traceback."""
    try:
        return main(exit_unfreed=True)
    except KeyboardInterrupt:
        print("nicepick: stopped", file=sys.stderr)
        _end_by_sigint()
        raise  # not reached: the signal ended the process


def _end_by_sigint() -> None:
    """End this process by SIGINT, as an interrupted command should: a shell running it in a
    loop or a script then stops too (an exit status of 130 reads as a command that chose to
    exit). Its forked processes are ended first, as a normal exit would."""
    import multiprocessing
    import signal

    for child in multiprocessing.active_children():
        child.terminate()
        child.join(5)
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


def main(argv: Sequence[str] | None = None, *, exit_unfreed: bool = False) -> int:
    """Run one command; ``exit_unfreed``: end the process when a command of ``_EXIT_UNFREED``
    returns (never inside a longer-lived process: tests call ``main`` in theirs)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parser(HANDLERS).parse_args(argv)
    args.exit_unfreed = exit_unfreed and args.command in _EXIT_UNFREED
    if args.exit_unfreed:
        # Off for the command's life, but while a full build renders (``paused_gc.resume``):
        # nothing is freed at its end, and the collector, back on as a build's
        # pause ended, first walked the million objects it made (~25 ms).
        gc.disable()
    handler: Command = args.handler
    from pydantic import ValidationError

    try:
        code = handler(args)
        sys.stdout.flush()  # here, not at exit, where a closed pipe fails outside this ``try``
        if args.exit_unfreed and code == 0:
            logging.shutdown()
            sys.stderr.flush()
            os._exit(code)
        return code
    except ValidationError as error:
        base_url = bool(getattr(args, "base_url", None))
        for line in refused_settings(error, args.command, base_url=base_url):
            print(line, file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``nicepick outbox | head``): stop quietly, as Unix tools do.
        # stdout is pointed at /dev/null so the interpreter's final flush fails no more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool a pipe stopped


if __name__ == "__main__":
    sys.exit(command())
