"""The one catalogue: every key in French and English with the same format fields, every text
once, every key used, and every key the code looks up present.

"Used" means a literal key in the source of the front ends, ``desk``, ``detector`` or
``data_gen`` (the import check's findings), or a
member of a family the code builds from data (``rule.<id>``, ``sc.<scenario>``, ...): each
family is listed here with the values it is built from, and must match them exactly.
"""

from __future__ import annotations

import ast
import re
import string
from collections import Counter
from pathlib import Path
from typing import get_args

from data_gen.check import Effect
from data_gen.schema import EVENT_TYPES, FRAUD_SCENARIOS, PAYMENT_RESULTS
from db.accounts import SignIn
from db.audit import OUTCOMES
from db.models import ALERT_STATUSES, ROLES, SEVERITIES
from db.timeline import CONTEXT_KINDS
from desk import insights
from desk.auth import Permission
from desk.tuning import EDITOR_FIELDS
from detector.common.i18n import AREAS, CATALOGUE, LANGS, text
from detector.rules import RULE_DEFS, RULE_IDS
from detector.suggest import OBJECTIVES

ROOT = Path(__file__).resolve().parents[4]
SOURCES = ("app.py", "serve.py", "pages", "api", "desk", "detector", "data_gen")
SORTS = ("score_desc", "score_asc", "time_desc", "time_asc")
# The detector's states (detector/service.py, desk/runtime.py) and the data operations the
# audit trail records (desk/data_ops.py).
STATES = ("starting", "running", "stopped", "failed", "waiting_for_database",
          "waiting_for_broker")  # fmt: skip
DATA_CHANGES = ("generate", "import directory", "import zip", "load", "replay", "stream",
                "stop stream")  # fmt: skip
STUDIO_TABLES = ("customers", "products", "sessions", "orders", "order_items", "payments")
METRICS = ("alert_rate", "precision", "recall", "f1", "average_precision", "incident_recall")

# Keys the code builds: family prefix -> the exact members it may build.
FAMILIES: dict[str, set[str]] = {
    "status.": {f"status.{s}" for s in ALERT_STATUSES},
    "severity.": {f"severity.{s}" for s in SEVERITIES},
    "role.": {f"role.{r}" for r in ROLES},
    "rule.": {f"rule.{r}" for r in RULE_IDS},
    "param.": {f"param.{r.id}.{p.name}" for r in RULE_DEFS for p in r.params},
    "why.": {f"why.{r}" for r in RULE_IDS},
    "sc.": {f"sc.{s}" for s in (*FRAUD_SCENARIOS, "(none)")},
    "ins.by.": {f"ins.by.{d}" for d in insights.DIMENSIONS},
    "obj.": {f"obj.{k}" for k in OBJECTIVES},
    "queue.sort.": {f"queue.sort.{k}" for k in SORTS},
    "field.": {f"field.{k}" for k in EDITOR_FIELDS},
    "ins.precision.": {f"ins.precision.{k}" for k in ("decision_precision", "label_precision")},
    "st.check.": {f"st.check.{e}" for e in get_args(Effect) if e},
    "state.": {f"state.{s}" for s in STATES},
    "kind.": {f"kind.{k}" for k in (*EVENT_TYPES, *CONTEXT_KINDS)},
    "result.": {f"result.{r}" for r in (*PAYMENT_RESULTS, *SignIn)},
    "outcome.": {f"outcome.{o}" for o in OUTCOMES},
    "what.": {f"what.{w}" for w in DATA_CHANGES},
    "why_refused.": {"why_refused.missing", "why_refused.invalid"},
    "perm.": {f"perm.{p.name}" for p in Permission},
    "st.count.": {f"st.count.{k}" for k in STUDIO_TABLES},
    "tun.cmp.": set(),  # members: literal keys and the two below
}
BUILT = {
    *(f"ax.{d}" for d in insights.DIMENSIONS),
    *(f"m.{k}" for k in METRICS),
    *insights.ACTION_LABELS.values(),
    "tun.cmp.new_label",
    "tun.cmp.dropped_label",
}


def _literals() -> set[str]:
    """Every string constant in the sources that is a catalogue key."""
    found: set[str] = set()
    for where in SOURCES:
        p = ROOT / where
        for path in [p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else []:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.add(node.value)
    return found & CATALOGUE.keys()


def _lookups() -> list[tuple[str, str]]:
    """``(file:line, key)`` of every ``t("...")`` / ``text("...", ...)`` call with a literal key."""
    out = []
    for where in SOURCES:
        p = ROOT / where
        for path in [p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else []:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name | ast.Attribute)
                    and (getattr(node.func, "id", None) or getattr(node.func, "attr", None))
                    in ("t", "text")
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                    and re.fullmatch(r"[a-z_]+(\.[A-Za-z_()]+)*", node.args[0].value)
                ):
                    out.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0].value))
    return out


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def test_every_key_has_both_languages_and_the_same_fields() -> None:
    assert LANGS == ("fr", "en")
    assert len(CATALOGUE) > 400
    bad = []
    for key, pair in CATALOGUE.items():
        fr, en = pair
        if not (isinstance(fr, str) and isinstance(en, str) and fr.strip() and en.strip()):
            bad.append(f"{key}: empty or not a (fr, en) pair")
        elif _fields(fr) != _fields(en):
            bad.append(f"{key}: fields {sorted(_fields(fr))} vs {sorted(_fields(en))}")
    assert bad == []


def test_each_text_appears_once() -> None:
    twice = {pair: n for pair, n in Counter(CATALOGUE.values()).items() if n > 1}
    assert twice == {}, "one text, one key: " + str(
        {pair: [k for k, v in CATALOGUE.items() if v == pair] for pair in twice}
    )


def test_areas_do_not_share_keys() -> None:
    assert sum(len(a.TEXT) for a in AREAS) == len(CATALOGUE)


def test_every_key_is_used() -> None:
    used = _literals() | BUILT
    for members in FAMILIES.values():
        used |= members & CATALOGUE.keys()
    unused = sorted(CATALOGUE.keys() - used)
    assert unused == [], f"keys nobody looks up: {unused}"


def test_families_hold_exactly_what_the_code_builds() -> None:
    literals = _literals()
    for prefix, members in FAMILIES.items():
        if not members:
            continue
        have = {k for k in CATALOGUE if k.startswith(prefix)}
        assert members <= have, (prefix, "missing", sorted(members - have))
        # a family's prefix may also start a few literal keys; nothing else
        assert have - members <= literals, (prefix, "stale", sorted(have - members - literals))
    assert CATALOGUE.keys() >= BUILT, sorted(BUILT - CATALOGUE.keys())


def test_every_literal_lookup_names_a_key() -> None:
    lookups = _lookups()
    assert len(lookups) > 300
    missing = [f"{where}: {key}" for where, key in lookups if key not in CATALOGUE]
    assert missing == []


def test_lookup_falls_back_without_breaking() -> None:
    assert text("nav.queue", "fr") == "File d'alertes"
    assert text("nav.queue", "en") == text("nav.queue", "de") == "Alert queue"
    assert text("no.such.key", "fr") == "no.such.key"
    assert text("queue.done", "en", action="Block", n=2) == "Block: 2 alert(s) updated."
    assert text("queue.done", "en", wrong=1) == "{action}: {n} alert(s) updated."
