"""Rule set versions: seeded defaults, publish, rollback, exactly one active."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.errors import RulesetNotFound
from db.models import RulesetRow
from db.rulesets import (
    active_ruleset,
    get_ruleset,
    list_rulesets,
    publish_ruleset,
    rollback_ruleset,
)
from detector.rules import default_ruleset


def _active_count(session: Session) -> int:
    return session.scalar(select(func.count()).where(RulesetRow.active)) or 0


def test_an_empty_table_gets_the_defaults_as_version_1(session: Session) -> None:
    version, ruleset = active_ruleset(session)
    session.commit()
    assert version == 1
    assert ruleset.version == "1"
    assert ruleset.fingerprint() == default_ruleset().fingerprint()
    [info] = list_rulesets(session)
    assert (info.version, info.author, info.active) == (1, "system", True)
    assert active_ruleset(session)[0] == 1  # not seeded twice
    assert len(list_rulesets(session)) == 1


def test_publish_makes_a_new_active_version(session: Session) -> None:
    active_ruleset(session)
    tuned = default_ruleset().with_points({"NEW_DEVICE": 55})
    version = publish_ruleset(session, tuned, "rita", "more weight on new devices")
    session.commit()
    assert version == 2
    active_version, active = active_ruleset(session)
    assert active_version == 2
    assert active.version == "2"
    assert active.config("NEW_DEVICE").points == 55
    stored = session.get(RulesetRow, 2)
    assert stored is not None and stored.body["version"] == "2"
    assert stored.fingerprint == tuned.fingerprint()
    assert [(i.version, i.active, i.author) for i in list_rulesets(session)] == [
        (2, True, "rita"), (1, False, "system"),
    ]  # fmt: skip
    assert _active_count(session) == 1


def test_rollback_publishes_a_copy_of_an_old_version(session: Session) -> None:
    active_ruleset(session)
    publish_ruleset(session, default_ruleset().with_points({"GEO_MISMATCH": 80}), "rita", "")
    version = rollback_ruleset(session, 1, "rita", "v2 raised too many alerts")
    session.commit()
    assert version == 3
    active_version, active = active_ruleset(session)
    assert active_version == 3 and active.version == "3"
    assert active.fingerprint() == get_ruleset(session, 1).fingerprint()
    assert active.config("GEO_MISMATCH").points == default_ruleset().config("GEO_MISMATCH").points
    newest = list_rulesets(session)[0]
    assert (newest.label, newest.note) == ("rollback to v1", "v2 raised too many alerts")
    assert len(list_rulesets(session)) == 3 and _active_count(session) == 1


def test_publish_on_an_empty_table_starts_at_version_1(session: Session) -> None:
    assert publish_ruleset(session, default_ruleset().with_points({"FIRST_PAYMENT": 5}), "a") == 1
    assert active_ruleset(session)[1].config("FIRST_PAYMENT").points == 5


def test_unknown_versions_are_refused(session: Session) -> None:
    active_ruleset(session)
    with pytest.raises(RulesetNotFound):
        get_ruleset(session, 42)
    with pytest.raises(RulesetNotFound):
        rollback_ruleset(session, 42, "rita", "")
    assert active_ruleset(session)[0] == 1
