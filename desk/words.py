"""Stored names and codes in words: a column or detail name ("row_version") as its label, a
code ("PENDING_REVIEW", "auth.sign_in", "wrong") as the language says it, a value as the
language writes it.  Audit details, an alert's fields and timeline entries are shown through
here, so that no page prints a raw name, a code or JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from db.alerts import CONFLICT_ACTION
from desk import formats
from desk.auth import Permission
from desk.insights import ACTION_LABELS
from detector.common import i18n

__all__ = ["action_label", "field_label", "fields_text", "outcome_label", "value_text"]

# Field name -> the catalogue key of its label (several names share the words of a column
# the pages already show).
FIELD_KEYS: dict[str, str] = {
    "alert_id": "queue.col.id",
    "payment_id": "col.payment",
    "order_id": "fld.order_id",
    "product_id": "fld.product_id",
    "event_id": "fld.event_id",
    "event_ts": "queue.col.time",
    "alert_ts": "fld.alert_ts",
    "customer_id": "queue.customer",
    "session_id": "fld.session_id",
    "device": "ax.device",
    "device_id": "fld.device_id",
    "utm_source": "ax.utm_source",
    "country": "ax.country",
    "card_bin": "fld.card_bin",
    "ip_hash": "fld.ip_hash",
    "amount": "col.amount",
    "currency": "queue.h.currency",
    "score": "queue.col.score",
    "severity": "ax.severity",
    "ruleset_version": "sidebar.ruleset",
    "ruleset": "sidebar.ruleset",
    "status": "queue.status",
    "decision": "ax.action",
    "decided_by": "queue.h.decided_by",
    "decided_at": "fld.decided_at",
    "notes": "queue.note",
    "note": "queue.note",
    "row_version": "fld.row_version",
    "created_at": "fld.created_at",
    "updated_at": "fld.updated_at",
    "dataset": "st.dataset",
    # audit details
    "action": "au.action",
    "actor": "au.actor",
    "from": "queue.h.from",
    "to": "queue.h.to",
    "result": "au.outcome",
    "role": "us.role",
    "active": "us.active",
    "copy_of": "fld.copy_of",
    "fingerprint": "fld.fingerprint",
    "token_id": "us.token_pick",
    "label": "us.tcol.label",
    "why": "fld.why",
    "client": "fld.client",
    "what": "fld.what",
    "seed": "st.seed",
    "scale": "st.scale",
    "overwrite": "st.overwrite",
    "source": "pipe.source",
    "layout": "fld.layout",
    "payments": "st.payments",
    "rows": "st.check.rows",
    "inserted": "fld.inserted",
    "speed": "st.speed",
    "from_status": "queue.h.from",
    "to_status": "queue.h.to",
    "status_now": "fld.status_now",
    "expected_version": "fld.expected_version",
    "version_now": "fld.version_now",
    "decision_id": "fld.decision_id",
    "utm_campaign": "fld.utm_campaign",
    "rules": "queue.reason",
    "unknown_customer": "fld.unknown_customer",
    # what the rules measured (detector/conditions.py)
    "earlier_payments": "fld.earlier_payments",
    "account_age_days": "fld.account_age_days",
    "local_time": "fld.local_time",
    "tz": "fld.tz",
    "span_min": "fld.span_min",
    "known_devices": "fld.known_devices",
    "mean": "fld.mean",
    "ratio": "fld.ratio",
    "seconds": "fld.seconds",
    "payment_country": "fld.payment_country",
    "profile_country": "fld.profile_country",
    "earlier_failures": "fld.earlier_failures",
    "window_days": "fld.window_days",
    "last_failure_h": "fld.last_failure_h",
}
# Codes a field may hold, by field: the family of catalogue keys that names them.
_CODES: dict[str, str] = {
    "status": "status.",
    "from": "status.",
    "to": "status.",
    "from_status": "status.",
    "to_status": "status.",
    "status_now": "status.",
    "severity": "severity.",
    "role": "role.",
    "result": "result.",
    "what": "what.",
    "why": "why_refused.",
    "kind": "kind.",
}
# Numbers that name something: written as stored, never grouped ("seed 4 242", no).
_IDS = {"seed", "token_id", "copy_of", "row_version", "decision_id", "expected_version",
        "version_now"}  # fmt: skip
AUDIT_ACTIONS: dict[str, str] = {  # audit action -> key; refusals use the permission's words
    "alert.decide": "audit.alert.decide",
    "ruleset.publish": "audit.ruleset.publish",
    "ruleset.rollback": "audit.ruleset.rollback",
    "user.create": "audit.user.create",
    "user.role": "audit.user.role",
    "user.active": "audit.user.active",
    "user.password": "audit.user.password",
    "auth.sign_in": "audit.auth.sign_in",
    "auth.sign_out": "audit.auth.sign_out",
    "auth.token": "audit.auth.token",
    "data.change": "audit.data.change",
    "token.create": "audit.token.create",
    "token.revoke": "audit.token.revoke",
    "payment.score": "audit.payment.score",
}


def field_label(name: str, lang: str) -> str:
    key = FIELD_KEYS.get(name)
    return i18n.text(key, lang) if key else name.replace("_", " ")


def _code(family: str, value: str, lang: str) -> str | None:
    key = f"{family}{value}"
    return i18n.text(key, lang) if key in i18n.CATALOGUE else None


def value_text(name: str, value: Any, lang: str) -> str:
    """``value`` of the field ``name`` as the language writes it."""
    if value is None or value == "":
        return "–"
    if name == "rules" and isinstance(value, list | tuple):
        return ", ".join(_code("rule.", str(r), lang) or str(r) for r in value)
    if isinstance(value, bool):
        return i18n.text("yes" if value else "no", lang)
    if isinstance(value, datetime):
        return formats.moment(value, lang, seconds=True)
    if isinstance(value, date):
        return formats.day(value, lang)
    if isinstance(value, int) and name not in {"seed", "token_id", "copy_of", "row_version"}:
        return formats.number(value, lang)
    if isinstance(value, float):
        return formats.number(
            value, lang, 2 if name == "amount" else 0 if value.is_integer() else 2
        )
    if name in {"action", "decision"} and isinstance(value, str):
        key = ACTION_LABELS.get(value, "queue.h.conflict" if value == CONFLICT_ACTION else "")
        return i18n.text(key, lang) if key else value
    family = _CODES.get(name)
    if family is not None and isinstance(value, str):
        return _code(family, value, lang) or value
    return str(value)


def fields_text(detail: Mapping[str, Any], lang: str) -> str:
    """``Label: value`` pairs of a detail (an audit event's, a timeline entry's), one line."""
    sep = " : " if lang == "fr" else ": "
    return " · ".join(
        f"{field_label(k, lang)}{sep}{value_text(k, v, lang)}" for k, v in detail.items()
    )


def action_label(action: str, lang: str) -> str:
    """An audit action ("auth.sign_in") in words; a refusal names the permission refused."""
    key = AUDIT_ACTIONS.get(action)
    if key is not None:
        return i18n.text(key, lang)
    perm = next((p for p in Permission if p.name.lower() == action), None)
    if perm is not None:
        return i18n.text("audit.refused", lang, what=i18n.text(f"perm.{perm.name}", lang))
    return action


def outcome_label(outcome: str, lang: str) -> str:
    return _code("outcome.", outcome, lang) or outcome
