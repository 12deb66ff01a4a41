"""Rule sets for integrations: read the versions, publish one from its JSON, roll back.

Publication and rollback are the tuning page's own use cases (:func:`desk.tuning.publish`,
:func:`~desk.tuning.rollback`: same permission, same audit line); this module adds the
authorized reads and the parsing of a rule set sent as JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from db.errors import RulesetConflict, RulesetNotFound
from db.rulesets import (
    DEFAULT_LABEL,
    DEFAULT_NOTE,
    ROLLBACK_LABEL,
    SYSTEM_AUTHOR,
    RulesetInfo,
    active_ruleset,
    get_ruleset,
    list_rulesets,
)
from desk import tuning
from desk.auth import Permission, Principal, authorize
from desk.handle import Handle
from detector.common import i18n
from detector.errors import RuleSetError
from detector.rules import RuleSet

__all__ = [
    "RuleSetError",
    "RulesetConflict",
    "RulesetInfo",
    "RulesetNotFound",
    "VersionBody",
    "Words",
    "get_version",
    "list_versions",
    "publish_json",
    "rollback",
    "words",
]


@dataclass(frozen=True)
class Words:
    """A version's label, author and note as a page shows them."""

    label: str
    author: str
    note: str


# Labels the desk itself writes; anything else (an integration's own label) shows as stored.
_LABELS = {DEFAULT_LABEL: "rs.label.default", tuning.TUNING_LABEL: "rs.label.tuning"}
_ROLLBACK = re.compile(re.escape(ROLLBACK_LABEL).replace(r"\{version\}", r"(\d+)"))


def words(lang: str, label: str, author: str, note: str = "") -> Words:
    """The words the database stores for the versions it writes itself ("default", "system",
    "built-in defaults", "rollback to v1") in ``lang``; a person's label and note as written."""
    if label in _LABELS:
        label = i18n.text(_LABELS[label], lang)
    elif m := _ROLLBACK.fullmatch(label):
        label = i18n.text("rs.label.rollback", lang, v=m.group(1))
    system = author == SYSTEM_AUTHOR
    if system and note == DEFAULT_NOTE:
        note = i18n.text("rs.note.defaults", lang)
    return Words(label, i18n.text("rs.author.system", lang) if system else author, note)


@dataclass(frozen=True)
class VersionBody:
    info: RulesetInfo
    body: dict[str, Any]  # the rule set as a rule file holds it (RuleSet.to_dict)


def list_versions(rt: Handle, who: Principal | None) -> list[RulesetInfo]:
    authorize(rt, who, Permission.READ_QUEUE)
    with rt.sessions() as session:
        active_ruleset(session)  # seeds version 1 on a fresh database
        session.commit()
        return list_rulesets(session)


def get_version(rt: Handle, who: Principal | None, version: int) -> VersionBody | None:
    authorize(rt, who, Permission.READ_QUEUE, f"v{version}")
    with rt.sessions() as session:
        info = next((i for i in list_rulesets(session) if i.version == version), None)
        if info is None:
            return None
        return VersionBody(info, get_ruleset(session, version).to_dict())


def publish_json(rt: Handle, who: Principal | None, body: Mapping[str, Any], note: str = "") -> int:
    """Raises :class:`detector.errors.RuleSetError` naming the JSON path of a bad value
    (after the permission check: a refused caller learns nothing about the body)."""
    authorize(rt, who, Permission.PUBLISH_RULES)
    return tuning.publish(rt, RuleSet.from_dict(body), who, note)


def rollback(rt: Handle, who: Principal | None, version: int, note: str = "") -> int:
    return tuning.rollback(rt, version, who, note)
