"""Versioned rule sets: exactly one active, every change a new version, nothing edited in place.

Versions are numbered by the database; the stored body is ``RuleSet.to_dict()`` with
``version`` set to that number, so an alert's ``ruleset_version`` names the row that scored it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db._sql import serialize_writers
from db.errors import DbError, RulesetConflict, RulesetNotFound
from db.models import RulesetRow
from detector.rules import RuleSet, default_ruleset

SYSTEM_AUTHOR = "system"
# What the database stores for the versions it writes itself (front ends show them in words).
DEFAULT_LABEL = "default"
DEFAULT_NOTE = "built-in defaults"
ROLLBACK_LABEL = "rollback to v{version}"
# Advisory lock key for publishers ("KVTR").
_PUBLISH_LOCK = 0x4B565452


@dataclass(frozen=True)
class RulesetInfo:
    version: int
    label: str
    fingerprint: str
    author: str
    note: str
    created_at: datetime
    active: bool


def active_ruleset(session: Session) -> tuple[int, RuleSet]:
    """The active version and its rule set; on an empty table, version 1 = the defaults."""
    row = _active_row(session)
    if row is None:
        serialize_writers(session, _PUBLISH_LOCK, RulesetRow.__tablename__)
        # Another process may have seeded while this one waited for the lock.
        row = _active_row(session)
        if row is None:
            if session.scalar(select(func.count()).select_from(RulesetRow)):
                raise DbError("rulesets: versions exist but none is active; publish one")
            row = _insert(session, default_ruleset(), SYSTEM_AUTHOR, DEFAULT_NOTE,
                          label=DEFAULT_LABEL)  # fmt: skip
    return row.version, _ruleset_of(row)


def active_version(session: Session) -> int | None:
    """The active version's number alone (None: none is active yet): what a consumer that
    holds a rule set asks twice a second, without loading and parsing the rule set."""
    return session.scalar(select(RulesetRow.version).where(RulesetRow.active))


def publish_ruleset(
    session: Session, ruleset: RuleSet, author: str, note: str = "", *, label: str | None = None
) -> int:
    """Store ``ruleset`` as a new active version (the previous one is deactivated); the caller
    commits.  ``label`` defaults to the rule set's own version string (e.g. ``"custom"``)."""
    serialize_writers(session, _PUBLISH_LOCK, RulesetRow.__tablename__)
    session.execute(update(RulesetRow).where(RulesetRow.active).values(active=False))
    row = _insert(session, ruleset, author, note, label=label or ruleset.version)
    return row.version


def rollback_ruleset(session: Session, version: int, author: str, note: str = "") -> int:
    """Publish a copy of an earlier version as a new version; history is never rewritten."""
    old = get_ruleset(session, version)
    return publish_ruleset(session, old, author, note, label=ROLLBACK_LABEL.format(version=version))


def get_ruleset(session: Session, version: int) -> RuleSet:
    row = session.get(RulesetRow, version)
    if row is None:
        raise RulesetNotFound(version)
    return _ruleset_of(row)


def list_rulesets(session: Session) -> list[RulesetInfo]:
    """Every version, newest first."""
    rows = session.scalars(select(RulesetRow).order_by(RulesetRow.version.desc()))
    return [ruleset_info(r) for r in rows]


def ruleset_info(row: RulesetRow) -> RulesetInfo:
    return RulesetInfo(
        version=row.version,
        label=row.label,
        fingerprint=row.fingerprint,
        author=row.author,
        note=row.note or "",
        created_at=row.created_at,
        active=row.active,
    )


def _active_row(session: Session) -> RulesetRow | None:
    return session.scalars(select(RulesetRow).where(RulesetRow.active)).one_or_none()


def _insert(session: Session, ruleset: RuleSet, author: str, note: str, label: str) -> RulesetRow:
    row = RulesetRow(
        label=label,
        body=ruleset.to_dict(),
        fingerprint=ruleset.fingerprint(),
        author=author,
        note=note or None,
        active=True,
    )
    session.add(row)
    try:
        session.flush()  # assigns the version number
    except IntegrityError as exc:
        raise RulesetConflict(f"concurrent publish of another rule set: {exc.orig}") from None
    # A new dict, not an in-place edit: the JSON column only notices reassignment.
    row.body = {**row.body, "version": str(row.version)}
    session.flush()
    return row


def _ruleset_of(row: RulesetRow) -> RuleSet:
    return RuleSet.from_dict(row.body, version=str(row.version))
