"""Command line: ``python -m db upgrade``, ``python -m db downgrade REV [--force]``,
``python -m db load DIR``, and the accounts:
``python -m db create-user NAME --role ROLE`` and ``python -m db set-password NAME``.  The
password is asked twice on a terminal, or read from one line of stdin with
``--password-stdin``; it never appears on the command line (where ``ps`` would show it).
API tokens: ``python -m db create-token NAME [--expires 30d|2027-01-31] [--label TEXT]``
prints the token once (only its hash is stored), ``list-tokens [NAME]``, ``revoke-token ID``.

Without ``--url`` the database is the settings' one (``KVT_DATABASE_URL``, else SQLite under
the data directory).  Exit status: 0 done, 1 database failure, 2 bad input (arguments, URL,
dataset or password), 3 ``list-users`` found no account.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from data_gen.check import ImportRefused, read_checked
from data_gen.errors import DataGenError
from db import accounts, migrate, tokens
from db import audit as trail
from db.engine import make_engine
from db.errors import DbError
from db.loader import LoadProgress, LoadReport, load_dataset
from db.models import ROLES
from db.types import utc_now
from detector.common.settings import SettingsError, load_settings

EXIT_DB = 1
EXIT_INPUT = 2
EXIT_NO_USERS = 3


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    app_role = getattr(args, "app_role", None)
    try:
        url = args.url
        if url is None and args.command in ("upgrade", "downgrade"):
            # Schema changes run as the owner role; the app's role gets its privileges.
            settings = load_settings()
            url = settings.owner_db_url
            app_role = app_role or migrate.app_role(settings)
        engine = make_engine(url)
    except (DbError, SettingsError) as exc:
        return _fail(str(exc), EXIT_INPUT)
    try:
        if args.command == "upgrade":
            migrate.upgrade(engine, app_role=app_role)
            granted = f", privileges granted to {app_role}" if app_role else ""
            print(f"schema at {migrate.current_revision(engine)} ({_where(engine.url)}){granted}")
            return 0
        if args.command == "downgrade":
            try:
                migrate.downgrade(engine, args.revision, force=args.force)
            except migrate.DowngradeRefused as exc:
                return _fail(str(exc), EXIT_INPUT)
            print(f"schema at {migrate.current_revision(engine)} ({_where(engine.url)})")
            return 0
        if args.command in ("create-user", "set-password"):
            migrate.upgrade(engine)
            return _account(engine, args)
        if args.command == "list-users":
            migrate.upgrade(engine)
            return _list_users(engine)
        if args.command in ("create-token", "list-tokens", "revoke-token"):
            migrate.upgrade(engine)
            return _token_command(engine, args)
        dataset, check = read_checked(args.dataset)
        print(check.render(), file=sys.stderr)
        if dataset is None or not check.ok:
            raise ImportRefused(check)
        progress = _Progress(sys.stderr)
        report = load_dataset(
            engine, args.dataset, replace=args.replace, progress=progress, dataset=dataset
        )
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
    up.add_argument(
        "--url", help="SQLAlchemy database URL (default: the settings' owner URL, else the app's)"
    )
    up.add_argument(
        "--app-role",
        help="PostgreSQL role to grant the app's privileges to (default: the user of "
        "KVT_DATABASE_URL when KVT_DATABASE_OWNER_URL names another)",
    )
    down = sub.add_parser(
        "downgrade", help="go back to a revision (refuses to drop audit/decision/account rows)"
    )
    down.add_argument("revision", help="target revision, e.g. 0003, or base")
    down.add_argument(
        "--force", action="store_true", help="drop audit, decision and account rows if needed"
    )
    down.add_argument(
        "--url", help="SQLAlchemy database URL (default: the settings' owner URL, else the app's)"
    )
    load = sub.add_parser("load", help="bulk-load a dataset directory (idempotent)")
    load.add_argument("dataset", help="dataset directory (own layout or prototype export)")
    load.add_argument("--url", help="SQLAlchemy database URL (default: from the settings)")
    load.add_argument(
        "--replace",
        action="store_true",
        help="empty the dataset tables first (default: keep stored rows, add only new ones)",
    )
    users = sub.add_parser("list-users", help=f"list the accounts (exit {EXIT_NO_USERS}: none yet)")
    users.add_argument("--url", help="SQLAlchemy database URL (default: from the settings)")
    for name, text in (
        ("create-user", "create an account (the first admin, typically)"),
        ("set-password", "set a new password for an account (e.g. a locked-out admin)"),
    ):
        acc = sub.add_parser(name, help=text)
        acc.add_argument("username")
        if name == "create-user":
            acc.add_argument("--role", required=True, choices=ROLES)
            acc.add_argument("--display-name", default=None)
        acc.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )
        acc.add_argument("--url", help="SQLAlchemy database URL (default: from the settings)")
    tok = sub.add_parser("create-token", help="create an API token for an account (shown once)")
    tok.add_argument("username")
    tok.add_argument(
        "--expires", default=None, help="lifetime in days (30d) or a UTC date (2027-01-31)"
    )
    tok.add_argument("--label", default=None, help="what the token is for (e.g. checkout)")
    tok.add_argument("--url", help="SQLAlchemy database URL (default: from the settings)")
    lst = sub.add_parser("list-tokens", help="list API tokens (never their secrets)")
    lst.add_argument("username", nargs="?", default=None)
    lst.add_argument("--url", help="SQLAlchemy database URL (default: from the settings)")
    rev = sub.add_parser("revoke-token", help="revoke an API token by its id")
    rev.add_argument("token_id", type=int)
    rev.add_argument("--url", help="SQLAlchemy database URL (default: from the settings)")
    return ap


def parse_expiry(text: str | None, now: datetime | None = None) -> datetime | None:
    """``30d`` (days from now) or an ISO date/time (UTC when no zone is given)."""
    if text is None:
        return None
    now = now or utc_now()
    value = text.strip()
    if value[:-1].isdigit() and value.endswith("d"):
        days = int(value[:-1])
        if not 1 <= days <= 3650:
            raise tokens.TokenError("expires: between 1d and 3650d")
        return now + timedelta(days=days)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise tokens.TokenError(
            f"expires: {value[:40]!r} is neither a number of days (30d) nor a date (2027-01-31)"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _token_command(engine: Engine, args: argparse.Namespace) -> int:
    actor = f"cli:{_os_user()}"
    with Session(engine) as session:
        try:
            if args.command == "list-tokens":
                for t in tokens.list_tokens(session, args.username):
                    state = "revoked" if t.revoked_at else "active"
                    expires = f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never"
                    print(f"{t.id:>5} {t.prefix}… {t.username:<24} {state:<8} expires {expires}"
                          f" {t.label or ''}".rstrip())  # fmt: skip
                return 0
            if args.command == "revoke-token":
                token = tokens.revoke_token(session, args.token_id, actor)
                entry = trail.Entry(actor, trail.TOKEN_REVOKE, target=token.username,
                                    detail={"token_id": token.id})  # fmt: skip
                done = f"revoked token {token.id} of {token.username}"
            else:
                new = tokens.create_token(
                    session,
                    args.username,
                    actor,
                    label=args.label,
                    expires_at=parse_expiry(args.expires),
                )
                entry = trail.Entry(actor, trail.TOKEN_CREATE, target=new.username,
                                    detail={"token_id": new.id, "label": args.label})  # fmt: skip
                done = new.secret
        except accounts.AccountError as exc:
            return _fail(str(exc), EXIT_INPUT)
        trail.record(session, entry)
        session.commit()
    if args.command == "create-token":
        # The secret alone on stdout (scripts capture it); the rest on stderr.
        print(done)
        print(f"token {new.id} for {new.username}: shown once, store it now "
              f"({_where(engine.url)})", file=sys.stderr)  # fmt: skip
    else:
        print(f"{done} ({_where(engine.url)})")
    return 0


def _account(engine: Engine, args: argparse.Namespace) -> int:
    try:
        username = accounts.normalize_username(args.username)
        password = _password(args.password_stdin)
        accounts.check_password(password, username)
    except accounts.AccountError as exc:
        return _fail(str(exc), EXIT_INPUT)
    actor = f"cli:{_os_user()}"
    with Session(engine) as session:
        try:
            if args.command == "create-user":
                accounts.create_user(
                    session,
                    username,
                    args.role,
                    password,
                    display_name=args.display_name,
                    created_by=actor,
                )
                entry = trail.Entry(actor, trail.USER_CREATE, target=username,
                                    detail={"role": args.role})  # fmt: skip
                done = f"created {username} ({args.role})"
            else:
                accounts.set_password(session, username, password)
                revoked = tokens.revoke_all(session, username, actor)
                entry = trail.Entry(actor, trail.USER_PASSWORD, target=username,
                                    detail={"tokens_revoked": revoked})  # fmt: skip
                done = f"new password set for {username}"
        except accounts.AccountError as exc:
            return _fail(str(exc), EXIT_INPUT)
        trail.record(session, entry)
        session.commit()
    print(f"{done} ({_where(engine.url)})")
    return 0


def _list_users(engine: Engine) -> int:
    with Session(engine) as session:
        users = accounts.list_users(session)
    for u in users:
        state = "active" if u.active else "disabled"
        print(f"{u.username:<24} {u.role:<10} {state}")
    return 0 if users else EXIT_NO_USERS


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise accounts.AccountError("password: no terminal to ask on; use --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise accounts.AccountError("password: the two entries differ")
    return first


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


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
