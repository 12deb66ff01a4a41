"""The rule-tuning page's service layer: editor table, instant backtest, comparison, suggestion,
publishing and history.  No Streamlit here.

Speed comes from the hit matrix (`detector.backtest`): it depends on the rule *parameters*
only, so the page builds it once per ``(dataset, params_fingerprint)`` and a change of points,
enabled flags or thresholds only re-scores (a table lookup) and re-evaluates.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data_gen.feed import dataset_events
from data_gen.readers import Dataset, read_dataset
from db import audit as trail
from db.models import RulesetRow
from db.rulesets import (
    RulesetInfo,
    active_ruleset,
    publish_ruleset,
    rollback_ruleset,
    ruleset_info,
)
from desk.auth import Permission, Principal, authorize
from desk.formats import plain
from desk.handle import Handle
from detector.backtest import HitMatrix, hit_matrix_from_events, params_fingerprint
from detector.common.i18n import text
from detector.errors import RuleSetError
from detector.evaluation import (
    BacktestMetrics,
    UnlabelledSummary,
    evaluate,
    pr_curve,
    unlabelled_summary,
)
from detector.rules import MAX_POINTS, RULE_DEFS, RULE_IDS, RuleDef, RuleSet
from detector.suggest import Objective

if TYPE_CHECKING:
    from desk.runtime import Runtime
from detector.tuning import (
    HOLDOUT_SEED_OFFSET,
    SuggestReport,
    holdout_dataset,
    own_suggest_report,
    suggest_report,
    validation_method,
)
from detector.validation import Spread

MAX_PARAMS = max(len(r.params) for r in RULE_DEFS)  # 2
EDITOR_COLUMNS: tuple[str, ...] = (
    "rule_id",
    "label",
    "enabled",
    "points",
    *(c for i in range(1, MAX_PARAMS + 1) for c in (f"param{i}", f"value{i}")),
)
EXAMPLE_ROWS = 50
TUNING_LABEL = "tuning"  # the label of a version published from the tuning page
EDITOR_FIELDS: tuple[str, ...] = ("alert_threshold", "high_threshold")  # beside the rules


def rule_label(rule: RuleDef, lang: str) -> str:
    return text(rule.label_key, lang)


def _param_label(rule: RuleDef, name: str, lang: str) -> str:
    return text(rule.param_label_key(name), lang)


# --------------------------------------------------------------------------- editor table


def editor_frame(ruleset: RuleSet, lang: str) -> pd.DataFrame:
    """One row per rule: id, label, enabled, points, then (parameter, value) pairs; a
    parameter's name shows its bounds, e.g. ``window (minutes) [1–1440]``."""
    rows = []
    for rule, cfg in zip(RULE_DEFS, ruleset.rules, strict=True):
        row: dict[str, Any] = {
            "rule_id": rule.id,
            "label": rule_label(rule, lang),
            "enabled": cfg.enabled,
            "points": cfg.points,
        }
        for i in range(MAX_PARAMS):
            if i < len(rule.params):
                spec = rule.params[i]
                name = _param_label(rule, spec.name, lang)
                lo, hi = plain(spec.minimum, lang), plain(spec.maximum, lang)
                row[f"param{i + 1}"] = f"{name} [{lo}–{hi}]"
                row[f"value{i + 1}"] = float(cfg.params[spec.name])
            else:
                row[f"param{i + 1}"] = ""
                row[f"value{i + 1}"] = None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(EDITOR_COLUMNS))
    for i in range(1, MAX_PARAMS + 1):
        frame[f"value{i}"] = frame[f"value{i}"].astype("float64")
    return frame


@dataclass(frozen=True)
class Problem:
    """An invalid value: ``where`` for people (rule label › field), ``path`` as in rule files."""

    where: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class EditorError(ValueError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in problems))


def _number(value: Any) -> float | None:
    """A finite number, or None for empty / non-numeric cells."""
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _check_whole(
    where: str,
    path: str,
    value: Any,
    lo: float,
    hi: float,
    lang: str,
    problems: list[Problem],
    integer: bool = True,
) -> float | None:
    v = _number(value)
    if v is None:
        problems.append(Problem(where, path, text("err.not_number", lang, value=value)))
        return None
    if integer and v != int(v):
        problems.append(Problem(where, path, text("err.whole", lang, value=plain(v, lang))))
        return None
    if not lo <= v <= hi:
        msg = text("err.bounds", lang, lo=plain(lo, lang), hi=plain(hi, lang), value=plain(v, lang))
        problems.append(Problem(where, path, msg))
        return None
    return v


def ruleset_from_editor(
    frame: pd.DataFrame,
    alert_threshold: Any,
    high_threshold: Any,
    lang: str,
    version: str = "draft",
) -> RuleSet:
    """The rule set the editor describes, or :class:`EditorError` listing every invalid value
    (rule label and field, what is wrong); nothing partial is ever returned."""
    problems: list[Problem] = []
    by_id = {str(r["rule_id"]): r for r in frame.to_dict("records")}
    body: dict[str, Any] = {"rules": {}}
    for rule in RULE_DEFS:
        label = rule_label(rule, lang)
        row = by_id.get(rule.id)
        if row is None:
            problems.append(Problem(label, f"rules.{rule.id}", text("err.missing_rule", lang)))
            continue
        points_where = f"{label} › {text('queue.points', lang)}"
        points = _check_whole(
            points_where,
            f"rules.{rule.id}.points",
            row.get("points"),
            0,
            MAX_POINTS,
            lang,
            problems,
        )
        enabled = row.get("enabled")
        if not isinstance(enabled, bool | np.bool_):
            where = f"{label} › {text('col.enabled', lang)}"
            problems.append(
                Problem(where, f"rules.{rule.id}.enabled", text("err.bool", lang, value=enabled))
            )
        params: dict[str, float] = {}
        for i, spec in enumerate(rule.params):
            where = f"{label} › {_param_label(rule, spec.name, lang)}"
            v = _check_whole(
                where,
                f"rules.{rule.id}.params.{spec.name}",
                row.get(f"value{i + 1}"),
                spec.minimum,
                spec.maximum,
                lang,
                problems,
                integer=spec.integer,
            )
            if v is not None:
                params[spec.name] = int(v) if spec.integer else v
        if points is not None:
            body["rules"][rule.id] = {
                "points": int(points),
                "enabled": bool(enabled),
                "params": params,
            }
    thresholds = []
    for key, value in zip(EDITOR_FIELDS, (alert_threshold, high_threshold), strict=True):
        v = _check_whole(text(f"field.{key}", lang), key, value, 1, 10 * MAX_POINTS, lang, problems)
        thresholds.append(v)
    alert, high = thresholds
    if alert is not None and high is not None and alert > high:
        where = f"{text('field.alert_threshold', lang)} / {text('field.high_threshold', lang)}"
        msg = text("err.order", lang, alert=plain(alert, lang), high=plain(high, lang))
        problems.append(Problem(where, "thresholds", msg))
    if problems:
        raise EditorError(problems)
    body["alert_threshold"] = int(thresholds[0])  # type: ignore[arg-type]
    body["high_threshold"] = int(thresholds[1])  # type: ignore[arg-type]
    try:
        return RuleSet.from_dict(body, version=version)
    except RuleSetError as exc:  # a check above missed it: still say where
        raise EditorError([Problem(str(exc).split(":", 1)[0], "", str(exc))]) from None


# --------------------------------------------------------------------------- datasets


def dataset_stamp(path: Path) -> str:
    """Changes when the dataset's files change (a re-generated dataset under the same name)."""
    parts = []
    for name in ("manifest.json", "payments.csv", "events.jsonl", "events.parquet"):
        p = path / name
        if p.exists():
            st = p.stat()
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


@dataclass(frozen=True, eq=False)
class LoadedDataset:
    """A dataset with its events in the engine's order: the input of every hit matrix."""

    dataset: Dataset
    events: list[Any]


def load_dataset_events(path: str | Path) -> LoadedDataset:
    ds = read_dataset(path)
    return LoadedDataset(ds, dataset_events(ds))


def build_matrix(loaded: LoadedDataset, ruleset: RuleSet) -> HitMatrix:
    return hit_matrix_from_events(loaded.dataset, loaded.events, ruleset)


def matrix_key(ruleset: RuleSet) -> str:
    return params_fingerprint(ruleset)


def holdout_path(data_dir: Path, dataset: Path) -> Path:
    return data_dir / "holdouts" / f"{dataset.name}-seed+{HOLDOUT_SEED_OFFSET}"


def ensure_holdout(loaded: LoadedDataset, data_dir: Path) -> Path:
    """The hold-out dataset of ``loaded`` (same generator parameters, seed + 1000), generated
    once under ``data_dir/holdouts`` and reused."""
    out = holdout_path(data_dir, loaded.dataset.path)
    if (out / "manifest.json").is_file():
        return out
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    holdout_dataset(loaded.dataset, tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


# --------------------------------------------------------------------------- instant backtest


@dataclass(frozen=True, eq=False)
class Backtest:
    """What the page shows for one rule set on one dataset.  ``metrics`` is None (and
    ``summary`` set) when the dataset has no labels."""

    metrics: BacktestMetrics | None
    summary: UnlabelledSummary | None
    pr: pd.DataFrame  # threshold, precision, recall
    thresholds: pd.DataFrame  # threshold, alerts, alert_rate, precision, recall, f1
    rules: pd.DataFrame  # rule_id, points, hits, in_alerts, decisive, precision, recall
    scenarios: pd.DataFrame  # scenario, payments, caught, recall, incidents, incident_recall
    per_day: pd.DataFrame  # day, alerts, capacity
    alerts: int
    alert_rate: float
    alerts_per_day: float
    days_over_capacity: int


def backtest(hm: HitMatrix, ruleset: RuleSet, capacity: int) -> Backtest:
    weights = np.asarray(ruleset.weights, dtype=np.int64)
    scores = hm.scores(weights)
    hits = hm.hits
    alerted = scores >= ruleset.alert_threshold
    n = hm.n
    # A rule is decisive for an alert when the alert would drop without its points.
    decisive = (
        hits & alerted[:, None] & ((scores[:, None] - weights[None, :]) < ruleset.alert_threshold)
    )
    in_alerts = np.count_nonzero(hits & alerted[:, None], axis=0)
    days = hm.days
    uniq_days, day_idx = np.unique(days, return_inverse=True)
    per_day_alerts = np.bincount(day_idx[alerted], minlength=len(uniq_days))
    per_day = pd.DataFrame(
        {"day": uniq_days.astype(str), "alerts": per_day_alerts, "capacity": capacity}
    )
    alerts = int(alerted.sum())
    base = {
        "alerts": alerts,
        "alert_rate": alerts / n if n else 0.0,
        "alerts_per_day": float(per_day_alerts.mean()) if len(per_day_alerts) else 0.0,
        "days_over_capacity": int(np.count_nonzero(per_day_alerts > capacity)),
        "per_day": per_day,
    }
    rules = pd.DataFrame(
        {
            "rule_id": list(RULE_IDS),
            "points": weights,
            "hits": np.count_nonzero(hits, axis=0),
            "in_alerts": in_alerts,
            "decisive": np.count_nonzero(decisive, axis=0),
        }
    )
    if hm.labels is None:
        summary = unlabelled_summary(
            scores, hits, RULE_IDS, ruleset.alert_threshold, high_threshold=ruleset.high_threshold
        )
        empty = pd.DataFrame()
        return Backtest(None, summary, empty, empty, rules, empty, **base)
    metrics = evaluate(
        hm.eval_input(weights),
        ruleset.alert_threshold,
        capacity,
        high_threshold=ruleset.high_threshold,
    )
    curve = pr_curve(scores, hm.labels)
    pr = pd.DataFrame(
        {"threshold": curve.thresholds, "precision": curve.precision, "recall": curve.recall}
    )
    thresholds = pd.DataFrame(
        [
            (p.threshold, p.alerts, p.alert_rate, p.precision, p.recall, p.f1)
            for p in metrics.threshold_curve
        ],
        columns=["threshold", "alerts", "alert_rate", "precision", "recall", "f1"],
    )
    rules["precision"] = [r.precision for r in metrics.rules]
    rules["recall"] = [r.recall for r in metrics.rules]
    scenarios = pd.DataFrame(
        [
            (s.scenario, s.payments, s.payments_caught, s.recall, s.incidents, s.incident_recall)
            for s in metrics.scenarios
        ],
        columns=["scenario", "payments", "caught", "recall", "incidents", "incident_recall"],
    )
    return Backtest(metrics, None, pr, thresholds, rules, scenarios, **base)


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True, eq=False)
class Comparison:
    new_alerts: int
    dropped: int
    new_frauds: int  # labelled frauds among the new alerts (0 when unlabelled)
    dropped_frauds: int
    examples: pd.DataFrame  # change, payment_id, customer_id, time, amount, old/new score…


def compare(
    draft_hm: HitMatrix,
    draft: RuleSet,
    active_hm: HitMatrix,
    active: RuleSet,
    limit: int = EXAMPLE_ROWS,
) -> Comparison:
    """Which payments the draft would newly alert and which it would drop, against the active
    rule set (each scored with its own hit matrix: parameters may differ)."""
    new_s = draft_hm.scores(draft.weights)
    old_s = active_hm.scores(active.weights)
    new_a, old_a = new_s >= draft.alert_threshold, old_s >= active.alert_threshold
    added, dropped = new_a & ~old_a, old_a & ~new_a
    labels = draft_hm.labels if draft_hm.labels is not None else np.zeros(draft_hm.n, bool)

    def rows(mask: np.ndarray, change: str) -> pd.DataFrame:
        idx = np.flatnonzero(mask)
        # Highest new (or old, for drops) score first: the most consequential changes.
        key = new_s[idx] if change == "new" else old_s[idx]
        idx = idx[np.argsort(-key, kind="stable")][:limit]
        return pd.DataFrame(
            {
                "change": change,
                "payment_id": draft_hm.payment_ids[idx],
                "customer_id": draft_hm.customer_ids[idx],
                "time": pd.to_datetime(draft_hm.ts_ms[idx], unit="ms", utc=True),
                "amount": draft_hm.amounts[idx],
                "score_active": old_s[idx],
                "score_draft": new_s[idx],
                "is_fraud": labels[idx] if draft_hm.labels is not None else None,
                "scenario": draft_hm.scenarios[idx],
            }
        )

    return Comparison(
        new_alerts=int(added.sum()),
        dropped=int(dropped.sum()),
        new_frauds=int(np.count_nonzero(added & labels)),
        dropped_frauds=int(np.count_nonzero(dropped & labels)),
        examples=pd.concat([rows(added, "new"), rows(dropped, "dropped")], ignore_index=True),
    )


# --------------------------------------------------------------------------- suggestion


def suggest(
    train: HitMatrix,
    holdout: HitMatrix,
    holdout_label: str,
    current: RuleSet,
    objective: Objective,
    capacity: int,
) -> SuggestReport:
    """Fit points and a threshold on ``train``; judge both rule sets on ``holdout``."""
    return suggest_report(train, holdout, holdout_label, current, objective, capacity)


def judged_on_own_labels(dataset: Dataset) -> bool:
    """An imported dataset is judged on its own labels; a generated one on its hold-out."""
    return validation_method(dataset) != "holdout"


def suggest_own(
    hm: HitMatrix, current: RuleSet, objective: Objective, capacity: int
) -> SuggestReport:
    """Fit and judge on the dataset's own labels: time split, plus customer-grouped CV."""
    return own_suggest_report(hm, current, objective, capacity)


def validation_spread(report: SuggestReport, lang: str) -> pd.DataFrame | None:
    """Per metric: current and suggested mean ± std across the CV folds, and the range."""
    v = report.validation
    if v is None or not v.folds:
        return None

    def cell(s: Spread) -> str:
        return f"{s.mean:.1%} ± {s.std:.1%}"

    return pd.DataFrame(
        {
            text("tun.cv_metric", lang): [text(f"m.{m}", lang) for m in v.spread_after],
            text("tun.cv_current", lang): [cell(s) for s in v.spread_before.values()],
            text("tun.cv_suggested", lang): [cell(s) for s in v.spread_after.values()],
            text("tun.cv_range", lang): [
                f"{s.low:.1%}..{s.high:.1%}" for s in v.spread_after.values()
            ],
        }
    )


def suggestion_points(report: SuggestReport, lang: str) -> pd.DataFrame:
    rows = [
        (rule_label(rule, lang), before, after)
        for rule, before, after in zip(
            RULE_DEFS, report.current.weights, report.suggested.weights, strict=True
        )
    ]
    rows.append(
        (
            text("field.alert_threshold", lang),
            report.current.alert_threshold,
            report.suggested.alert_threshold,
        )
    )
    rows.append(
        (
            text("field.high_threshold", lang),
            report.current.high_threshold,
            report.suggested.high_threshold,
        )
    )
    return pd.DataFrame(rows, columns=["what", "before", "after"])


def suggestion_holdout(report: SuggestReport) -> pd.DataFrame:
    names = ("alert_rate", "precision", "recall", "f1", "average_precision", "incident_recall")
    b, a = report.holdout_before, report.holdout_after
    return pd.DataFrame(
        {
            "metric": list(names),
            "before": [float(getattr(b, k)) for k in names],
            "after": [float(getattr(a, k)) for k in names],
        }
    )


# --------------------------------------------------------------------------- versions


@dataclass(frozen=True)
class Change:
    what: str
    before: str
    after: str


def diff_rulesets(old: RuleSet | None, new: RuleSet, lang: str) -> list[Change]:
    """What changed from ``old`` to ``new``: points, enabled flags, parameters, thresholds."""
    if old is None:
        return [Change(text("diff.initial", lang), "", "")]
    out: list[Change] = []
    for key in EDITOR_FIELDS:
        a, b = getattr(old, key), getattr(new, key)
        if a != b:
            out.append(Change(text(f"field.{key}", lang), str(a), str(b)))
    for rule, a, b in zip(RULE_DEFS, old.rules, new.rules, strict=True):
        label = rule_label(rule, lang)
        if a.points != b.points:
            out.append(
                Change(f"{label} › {text('queue.points', lang)}", str(a.points), str(b.points))
            )
        if a.enabled != b.enabled:
            out.append(
                Change(
                    f"{label} › {text('col.enabled', lang)}",
                    text("yes" if a.enabled else "no", lang),
                    text("yes" if b.enabled else "no", lang),
                )
            )
        for spec in rule.params:
            va, vb = a.params.get(spec.name), b.params.get(spec.name)
            if va != vb:
                where = f"{label} › {_param_label(rule, spec.name, lang)}"
                before, after = (("–" if v is None else plain(v, lang)) for v in (va, vb))
                out.append(Change(where, before, after))
    return out


@dataclass(frozen=True)
class VersionEntry:
    info: RulesetInfo
    ruleset: RuleSet
    changes: tuple[Change, ...]


def history(
    session: Session, lang: str, limit: int | None = None, offset: int = 0
) -> list[VersionEntry]:
    """Versions, newest first (``limit`` of them after skipping ``offset``), each with its
    diff against the version before it; one query."""
    stmt = select(RulesetRow).order_by(RulesetRow.version.desc()).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit + 1)  # one more: the predecessor of the oldest shown
    rows = list(session.scalars(stmt))
    sets = [RuleSet.from_dict(r.body, version=str(r.version)) for r in rows]
    out = []
    for i, row in enumerate(rows[:limit] if limit is not None else rows):
        prev = sets[i + 1] if i + 1 < len(sets) else None
        changes = tuple(diff_rulesets(prev, sets[i], lang))
        out.append(VersionEntry(ruleset_info(row), sets[i], changes))
    return out


def version_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(RulesetRow)) or 0)


def versions(rt: Runtime) -> int:
    """How many rule-set versions were published."""
    with rt.sessions() as session:
        return version_count(session)


def history_page(rt: Runtime, lang: str, limit: int, offset: int = 0) -> list[VersionEntry]:
    """:func:`history` of the runtime's database."""
    with rt.sessions() as session:
        return history(session, lang, limit=limit, offset=offset)


def current(rt: Handle) -> tuple[int, RuleSet]:
    with rt.sessions() as session:
        version, rs = active_ruleset(session)
        session.commit()  # the first call seeds version 1
        return version, rs


def publish(rt: Handle, ruleset: RuleSet, who: Principal | None, note: str = "") -> int:
    """Store ``ruleset`` as the new active version; the detector picks it up at its next
    ruleset poll.  Returns the version number.  Raises :class:`Refused` unless ``who`` may
    publish; the version's author is ``who``'s account name."""
    me = authorize(rt, who, Permission.PUBLISH_RULES)
    with rt.sessions() as session:
        version = publish_ruleset(session, ruleset, me.username, note, label=TUNING_LABEL)
        trail.record(
            session,
            trail.Entry(me.username, trail.RULESET_PUBLISH, trail.OK, f"v{version}", me.role,
                        {"note": note, "fingerprint": ruleset.fingerprint()}),
        )  # fmt: skip
        session.commit()
        return version


def rollback(rt: Handle, version: int, who: Principal | None, note: str = "") -> int:
    """Publish a copy of ``version`` as a new version (history is never rewritten)."""
    me = authorize(rt, who, Permission.PUBLISH_RULES, f"v{version}")
    with rt.sessions() as session:
        new = rollback_ruleset(session, version, me.username, note)
        trail.record(
            session,
            trail.Entry(me.username, trail.RULESET_ROLLBACK, trail.OK, f"v{new}", me.role,
                        {"note": note, "copy_of": version}),
        )  # fmt: skip
        session.commit()
        return new
