"""Command line: ``python -m db upgrade [--url URL]`` and ``python -m db load DIR [--url URL]``.

Without ``--url`` the database is the settings' one (``KVT_DATABASE_URL``, else SQLite under
the data directory).  Exit status: 0 done, 1 database failure, 2 bad input (arguments, URL or
dataset).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from data_gen.errors import DataGenError
from db import migrate
from db.engine import make_engine
from db.errors import DbError
from db.loader import LoadProgress, LoadReport, load_dataset

EXIT_DB = 1
EXIT_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        engine = make_engine(args.url)
    except DbError as exc:
        return _fail(str(exc), EXIT_INPUT)
    try:
        if args.command == "upgrade":
            migrate.upgrade(engine)
            print(f"schema at {migrate.current_revision(engine)} ({_where(engine.url)})")
            return 0
        progress = _Progress(sys.stderr)
        report = load_dataset(engine, args.dataset, replace=args.replace, progress=progress)
        progress.finish()
        print(_summary(report))
        return 0
    except DataGenError as exc:
        return _fail(f"dataset: {exc}", EXIT_INPUT)
    except (DbError, SQLAlchemyError) as exc:
        return _fail(f"database {_where(engine.url)}: {_first_line(exc)}", EXIT_DB)
    finally:
        engine.dispose()


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m db", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="create or upgrade the schema to the latest revision")
    up.add_argument("--url", help="SQLAlchemy database URL (default: from the settings)")
    load = sub.add_parser("load", help="bulk-load a dataset directory (idempotent)")
    load.add_argument("dataset", help="dataset directory (own layout or prototype export)")
    load.add_argument("--url", help="SQLAlchemy database URL (default: from the settings)")
    load.add_argument(
        "--replace",
        action="store_true",
        help="empty the dataset tables first (default: keep stored rows, add only new ones)",
    )
    return ap


class _Progress:
    """One status line, rewritten in place on a terminal, one line per table otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last = ""

    def __call__(self, p: LoadProgress) -> None:
        line = (
            f"{p.table:<12} {p.table_done:>10,}/{p.table_total:,} rows | "
            f"total {p.done:,}/{p.total:,} | {p.rows_per_s:,.0f} rows/s"
        )
        if self.tty:
            self.out.write("\r" + line.ljust(len(self.last)))
        elif p.table_done == p.table_total:
            self.out.write(line + "\n")
        self.out.flush()
        self.last = line

    def finish(self) -> None:
        if self.tty and self.last:
            self.out.write("\n")


def _summary(report: LoadReport) -> str:
    lines = [f"{t.table:<12} {t.rows:>10,} rows, {t.inserted:>10,} new" for t in report.tables]
    mode = "replaced" if report.replaced else "merged"
    lines.append(
        f"{mode}: {report.rows:,} rows ({report.inserted:,} new) in "
        f"{report.read_s + report.write_s:.2f} s (read {report.read_s:.2f} s, "
        f"write {report.write_s:.2f} s), {report.rows_per_s:,.0f} rows/s"
    )
    return "\n".join(lines)


def _where(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
