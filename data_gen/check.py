"""The import check: what in a dataset would make the rules' verdicts wrong, and which rules.

    python -m data_gen check DIR [--json]

Every import (``python -m db load``, the dataset studio, the backtest) runs it first.  Each
finding has a severity (``error``: the dataset is refused; ``warning``: imported, but read the
finding; ``info``: a fact worth knowing), how many rows it concerns, a few example ids, and the
rules it makes *meaningless* (they fire for a reason unrelated to fraud) or *blind* (they cannot
fire).  Every check is vectorised over whole columns; the per-rule firing rates come from the
real engine run on a sample of customers (all of them in a small dataset), since a rule's state
is per customer and a customer's payments are then scored exactly as in a full run.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from babel import Locale
from babel.numbers import format_decimal, format_percent

from data_gen import normalize as nz
from data_gen import schema
from data_gen.errors import DataGenError
from data_gen.feed import activities_from, merge_in_time_order, payments_of
from data_gen.readers import EVENTS_EITHER, Dataset, DatasetError, Zoneless, read_dataset
from detector.common.i18n import LANGS, text
from detector.engine import Detector
from detector.rules import RULE_IDS, RuleSet, default_ruleset

Severity = Literal["error", "warning", "info"]
Effect = Literal["meaningless", "blind", ""]
EXAMPLES = 3
MIN_FRAUDS = 50  # below this, tuned points and out-of-sample figures are noise
FIRE_TOO_OFTEN = 0.5
SAMPLE_PAYMENTS = 10_000  # payments scored to measure each rule's firing rate
DEVICE_UNIQUE_SHARE = 0.5
MIN_SCORED = 50  # fewer payments say nothing about how often a rule fires
# Rules reading each timestamp column: a local time exported without its zone shifts them.
_TIME_RULES: dict[str, tuple[str, ...]] = {
    "attempt_ts": ("UNUSUAL_HOUR", "FAST_CHECKOUT", "NEW_CUSTOMER"),
    "signup_ts": ("NEW_CUSTOMER",),
    "event_timestamp": ("FAST_CHECKOUT",),
}


@dataclass(frozen=True)
class Finding:
    """One finding; its wording is the catalogue's ``key`` filled with ``params`` (raw numbers
    and names: what ``--json`` gives to a machine), rendered in French or English on demand."""

    code: str
    severity: Severity
    key: str  # catalogue key of the wording (a code may have several)
    params: dict[str, Any]
    rows: int
    examples: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    effect: Effect = ""
    where: str = ""  # file (and column) the finding is about

    def message_in(self, lang: str) -> str:
        return text(self.key, lang, **_fields(self.params, lang))

    @property
    def message(self) -> str:
        return self.message_in("en")

    def line(self, lang: str = "en") -> str:
        head = f"{self.severity.upper():7} {self.code}: {self.message_in(lang)}"
        if self.examples:
            head += f" (e.g. {', '.join(self.examples)})"
        if self.rules:
            head += f" -> {', '.join(self.rules)} {self.effect}"
        return head


def _number(value: float, lang: str, decimals: int = 0) -> str:
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=lang if lang in LANGS else "en")


def _percent(share: float, lang: str, decimals: int = 0) -> str:
    """Babel's percentage, as the desk writes it elsewhere: "96 %" (a no-break space) / "96%"."""
    locale = lang if lang in LANGS else "en"
    base = Locale.parse(locale).percent_formats[None].pattern  # "#,##0 %" in French
    head, _, tail = base.rpartition("0")
    pattern = f"{head}0.{'0' * decimals}{tail}" if decimals else base
    return format_percent(share, pattern, locale=locale)


def file_in(file: str, lang: str) -> str:
    """A file's name as a reader sees it: the missing events file is "events.jsonl or
    events.parquet", the "or" in ``lang``."""
    if file == EVENTS_EITHER:
        return text(
            "chk.events_either", lang, jsonl=schema.EVENTS_FILE, parquet=schema.EVENTS_PARQUET
        )
    return file


# Fractions among the params, with the decimals they are shown with.
_PERCENTS = {"people": 0, "prevalence": 2, "rate": 0}


def _fields(params: dict[str, Any], lang: str) -> dict[str, str]:
    """The template's fields: numbers grouped the language's way, shares as percentages, and
    the composite ``count`` ("n of total (pct)") and ``place`` (file, line, column)."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, dict):
            continue  # a nested template's fields (why_fields)
        if name in _PERCENTS and isinstance(value, float):
            out[name] = _percent(value, lang, _PERCENTS[name])
        elif isinstance(value, int) and not isinstance(value, bool):
            out[name] = _number(value, lang)
        else:
            out[name] = str(value)
    if "n" in params and "total" in params:
        n, total = params["n"], params["total"]
        out["count"] = (
            text("chk.count", lang, n=out["n"], total=out["total"], pct=_percent(n / total, lang))
            if total
            else out["n"]
        )
    if "file" in params and "detail" in params:
        if params.get("why"):  # else a report stored before reasons had keys: English
            out["detail"] = text(params["why"], lang, **_fields(params.get("why_fields", {}), lang))
        place = file_in(str(params["file"]), lang)
        if params.get("line") is not None:
            place = text("chk.place.line", lang, file=place, line=params["line"])
        elif params.get("row") is not None:
            place = text("chk.place.row", lang, file=place, row=params["row"])
        if params.get("column") is not None:
            place = text("chk.place.column", lang, place=place, column=params["column"])
        out["place"] = place
    return out


@dataclass(frozen=True)
class RuleCheck:
    rule_id: str
    inputs: dict[str, float]  # input -> share of payments that have it
    fire_rate: float | None  # share of sampled payments it fires on (None: no payments)
    sampled: int  # payments scored to measure it

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for name, share in self.inputs.items() if share == 0)


@dataclass(frozen=True)
class CheckReport:
    dataset: str
    layout: str
    generated: bool  # written by data_gen (a manifest.json with its parameters)
    payments: int
    labelled: bool
    frauds: int
    prevalence: float
    findings: tuple[Finding, ...]
    rules: tuple[RuleCheck, ...] = ()
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No error: the dataset can be imported."""
        return not self.errors

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def to_dict(self) -> dict[str, Any]:
        """Codes and params for a machine, each finding's English message for a reader."""
        out = asdict(self)
        out["ok"] = self.ok
        for f, finding in zip(out["findings"], self.findings, strict=True):
            f["message"] = finding.message
        for r, rc in zip(out["rules"], self.rules, strict=True):
            r["missing_inputs"] = list(rc.missing)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        """The report :meth:`to_dict` gave (derived entries dropped)."""
        findings = tuple(
            Finding(
                **{k: v for k, v in f.items() if k not in ("message", "examples", "rules")},
                examples=tuple(f["examples"]),
                rules=tuple(f["rules"]),
            )
            for f in data["findings"]
        )
        rules = tuple(
            RuleCheck(r["rule_id"], r["inputs"], r["fire_rate"], r["sampled"])
            for r in data["rules"]
        )
        plain = {k: v for k, v in data.items() if k not in ("findings", "rules", "ok")}
        return cls(**plain, findings=findings, rules=rules)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def render(self) -> str:
        verdict = "REFUSED" if not self.ok else "importable"
        lines = [
            f"{self.dataset} ({self.layout}{', generated' if self.generated else ''}): "
            f"{verdict}, {len(self.errors)} error(s), {len(self.warnings)} warning(s), "
            f"checked in {self.seconds:.1f} s",
        ]
        if self.counts:
            lines.append("  " + "  ".join(f"{k} {v:,}" for k, v in self.counts.items()))
        lines += [f"  {f.line()}" for f in self.findings]
        if self.rules:
            lines.append("  rule           inputs present                          fires on")
            for r in self.rules:
                present = ", ".join(f"{k} {v:.0%}" for k, v in r.inputs.items()) or "-"
                rate = "-" if r.fire_rate is None else f"{r.fire_rate:.1%} of {r.sampled:,}"
                lines.append(f"  {r.rule_id:<14} {present:<39} {rate}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers


def _ids(ids: pd.Series, mask: np.ndarray) -> tuple[str, ...]:
    return tuple(ids[mask].iloc[:EXAMPLES].tolist())


def _by_key(keys: pd.Series, table_keys: pd.Series) -> np.ndarray:
    """Row of ``table_keys`` for each key (-1 when absent or empty)."""
    return np.where((keys == "").to_numpy(), -1, nz.positions(keys, table_keys))


class _Joins:
    """Each reference's rows in its target table, joined once: the reference, timing and rule
    checks join payments and events to sessions and customers alike, and one join of the
    events' 7 million keys costs about a second at scale 100."""

    def __init__(self, ds: Dataset, events: pd.DataFrame) -> None:
        self.frames: dict[str, pd.DataFrame] = {
            "payments.csv": ds.payments,
            "sessions.csv": ds.sessions,
            "orders.csv": ds.orders,
            "order_items.csv": ds.order_items,
            "customers.csv": ds.customers,
            schema.EVENTS_FILE: events,
        }
        self._rows: dict[tuple[str, str, str, str], np.ndarray] = {}

    def rows(self, file: str, column: str, target: str, key: str) -> np.ndarray:
        """Row of ``target`` whose ``key`` each ``file.column`` value names (-1: none, empty)."""
        pair = (file, column, target, key)
        if pair not in self._rows:
            self._rows[pair] = _by_key(self.frames[file][column], self.frames[target][key])
        return self._rows[pair]

    def to_sessions(self, file: str) -> np.ndarray:
        return self.rows(file, "session_id", "sessions.csv", "session_id")

    def to_customers(self, file: str) -> np.ndarray:
        return self.rows(file, "customer_id", "customers.csv", "customer_id")


def _flagged(rows: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """``flags`` (one per target row) at each row; False where the row is -1."""
    return (rows >= 0) & flags[np.maximum(rows, 0)] if len(flags) else np.zeros(len(rows), bool)


def _gather(values: pd.Series, positions: np.ndarray) -> np.ndarray:
    """``values`` at ``positions``; NaT where the position is -1."""
    arr = values.to_numpy()
    out = arr[np.where(positions >= 0, positions, 0)] if len(arr) else arr[:0]
    if not len(arr):
        return np.full(len(positions), np.datetime64("NaT"), dtype="datetime64[ms]")
    return np.where(positions >= 0, out, np.datetime64("NaT"))


def _naive_ms(col: pd.Series) -> np.ndarray:
    return col.dt.tz_convert(None).to_numpy(dtype="datetime64[ms]")


# --------------------------------------------------------------------------- checks


_READ_CODES = {
    "chk.why.duplicate": "duplicate_id",
    "chk.why.unknown_ref": "unknown_id",
    "chk.why.not_number": "bad_number",
    "chk.why.not_finite": "bad_number",
}


def read_failure(exc: DatasetError) -> Finding:
    """The error finding of a dataset that could not be read: where (file, line or row,
    column) and why, as fields; ``detail`` is the English reason, ``why`` and ``why_fields``
    say it in either language."""
    where = exc.file + (f", column {exc.column}" if exc.column else "")
    params: dict[str, Any] = {
        "file": exc.file,
        "line": exc.line,
        "row": exc.row,
        "column": exc.column,
        "detail": exc.message,
    }
    if exc.why:
        params |= {"why": exc.why, "why_fields": dict(exc.fields)}
    return Finding(
        _READ_CODES.get(exc.why, "unreadable"),
        "error",
        "chk.read",
        params,
        1,
        (exc.value,) if exc.value else (),
        where=where,
    )


def _timing_findings(ds: Dataset, events: pd.DataFrame, joins: _Joins) -> list[Finding]:
    out: list[Finding] = []
    pay, ses, cus = ds.payments, ds.sessions, ds.customers
    n = len(pay)
    pay_ts = _naive_ms(pay["attempt_ts"])
    in_session = joins.to_sessions("payments.csv")
    start = _gather(pd.Series(_naive_ms(ses["start_ts"])), in_session)
    end = _gather(pd.Series(_naive_ms(ses["end_ts"])), in_session)
    known = in_session >= 0
    outside = known & ((pay_ts < start) | (~np.isnat(end) & (pay_ts > end)))
    if outside.any():
        out.append(
            Finding(
                "payment_outside_session",
                "warning",
                "chk.payment_outside_session",
                {"n": int(outside.sum()), "total": int(known.sum())},
                int(outside.sum()),
                _ids(pay["payment_id"], outside),
                ("FAST_CHECKOUT",),
                "meaningless",
                "payments.csv, column attempt_ts",
            )
        )
    signup = _gather(pd.Series(_naive_ms(cus["signup_ts"])), joins.to_customers("payments.csv"))
    before = pay_ts < signup
    if before.any():
        out.append(
            Finding(
                "payment_before_signup",
                "warning",
                "chk.payment_before_signup",
                {"n": int(before.sum()), "total": n},
                int(before.sum()),
                _ids(pay["payment_id"], before),
                ("NEW_CUSTOMER",),
                "blind",
                "payments.csv, column attempt_ts",
            )
        )
    ev_session = joins.to_sessions(schema.EVENTS_FILE)
    ev_end = _gather(pd.Series(_naive_ms(ses["end_ts"])), ev_session)
    late = ~np.isnat(ev_end) & (_naive_ms(events["event_timestamp"]) > ev_end)
    if late.any():
        out.append(
            Finding(
                "event_after_session_end",
                "warning",
                "chk.event_after_session_end",
                {"n": int(late.sum()), "total": len(events)},
                int(late.sum()),
                _ids(events["event_id"], late),
                ("FAST_CHECKOUT",),
                "meaningless",
                f"{ds.events_path.name}, column event_timestamp",
            )
        )
    carts = events[
        (events["event_type"] == "add_to_cart").to_numpy() & (events["session_id"] != "").to_numpy()
    ]
    first_cart = (
        pd.Series(_naive_ms(carts["event_timestamp"]), index=carts["session_id"].to_numpy())
        .groupby(level=0)
        .min()
    )
    has_session = (pay["session_id"] != "").to_numpy()
    cart_at = _gather(
        pd.Series(first_cart.to_numpy()),
        _by_key(pay["session_id"], pd.Series(first_cart.index, dtype="str")),
    )
    no_cart = has_session & ~(~np.isnat(cart_at) & (cart_at <= pay_ts))
    if no_cart.any():
        total = int(has_session.sum())
        out.append(
            Finding(
                "no_cart_before_payment",
                "warning",
                "chk.no_cart_before_payment",
                {"n": int(no_cart.sum()), "total": total},
                int(no_cart.sum()),
                _ids(pay["payment_id"], no_cart),
                ("FAST_CHECKOUT",),
                "blind",
                f"{ds.events_path.name}, column event_type",
            )
        )
    return out


def _device_findings(pay: pd.DataFrame) -> list[Finding]:
    with_device = (pay["device_id"] != "").to_numpy()
    repeat = pay["customer_id"].duplicated(keep=False).to_numpy()
    seen_once = ~pay["device_id"].duplicated(keep=False).to_numpy()
    pool = with_device & repeat
    unique = pool & seen_once
    total = int(pool.sum())
    if not total or unique.sum() <= DEVICE_UNIQUE_SHARE * total:
        return []
    return [
        Finding(
            "device_unique_per_payment",
            "warning",
            "chk.device_unique_per_payment",
            {"n": int(unique.sum()), "total": total},
            int(unique.sum()),
            _ids(pay["payment_id"], unique),
            ("NEW_DEVICE",),
            "meaningless",
            "payments.csv, column device_id",
        )
    ]


# (file, column, target file, target key): references the reader accepts when dangling.
_REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("payments.csv", "session_id", "sessions.csv", "session_id"),
    ("payments.csv", "order_id", "orders.csv", "order_id"),
    ("sessions.csv", "customer_id", "customers.csv", "customer_id"),
    ("orders.csv", "customer_id", "customers.csv", "customer_id"),
    ("orders.csv", "session_id", "sessions.csv", "session_id"),
    ("orders.csv", "payment_id", "payments.csv", "payment_id"),
    ("order_items.csv", "order_id", "orders.csv", "order_id"),
    (schema.EVENTS_FILE, "session_id", "sessions.csv", "session_id"),
    (schema.EVENTS_FILE, "customer_id", "customers.csv", "customer_id"),
)
_REFERENCE_RULES: dict[tuple[str, str], tuple[str, ...]] = {
    ("payments.csv", "session_id"): ("FAST_CHECKOUT",),
    (schema.EVENTS_FILE, "session_id"): ("FAST_CHECKOUT",),
    (schema.EVENTS_FILE, "customer_id"): ("FAST_CHECKOUT",),
}
_ID_OF = {
    "payments.csv": "payment_id",
    "sessions.csv": "session_id",
    "orders.csv": "order_id",
    "order_items.csv": "order_id",
    schema.EVENTS_FILE: "event_id",
}


def _reference_findings(ds: Dataset, joins: _Joins) -> list[Finding]:
    out = []
    for file, column, target, key in _REFERENCES:
        values = joins.frames[file][column]
        bad = (joins.rows(file, column, target, key) < 0) & (values != "").to_numpy()
        if not bad.any():
            continue
        name = ds.events_path.name if file == schema.EVENTS_FILE else file
        rules = _REFERENCE_RULES.get((file, column), ())
        out.append(
            Finding(
                "unknown_id",
                "warning",
                "chk.unknown_id",
                {
                    "file": name,
                    "n": int(bad.sum()),
                    "total": len(values),
                    "column": column,
                    "target": target,
                },
                int(bad.sum()),
                tuple(values[bad].iloc[:EXAMPLES].tolist()),
                rules,
                "blind" if rules else "",
                f"{name}, column {column}",
            )
        )
    return out


def _zone_findings(ds: Dataset, zoneless: Zoneless) -> list[Finding]:
    out = []
    for (file, column), n in sorted(zoneless.counts.items()):
        name = ds.events_path.name if file == schema.EVENTS_FILE else file
        out.append(
            Finding(
                "timestamp_without_zone",
                "warning",
                "chk.timestamp_without_zone",
                {"file": name, "n": n, "column": column},
                n,
                tuple(zoneless.examples.get((file, column), ())),
                _TIME_RULES.get(column, ()),
                "meaningless" if column in _TIME_RULES else "",
                f"{name}, column {column}",
            )
        )
    if ds.derived_zones:
        out.append(
            Finding(
                "zone_from_country",
                "info",
                "chk.zone_from_country",
                {"n": ds.derived_zones},
                ds.derived_zones,
                where="customers.csv, column timezone",
            )
        )
    for choice in ds.zone_choices:
        key = "chk.zone_guessed"
        if not choice.zones:
            key = "chk.zone_guessed.none"
        elif choice.share is None:
            key = "chk.zone_guessed.first"
        params: dict[str, Any] = {
            "country": choice.country,
            "zones": choice.zones,
            "zone": choice.zone,
            "people": choice.share,
            "customers": choice.customers,
        }
        out.append(
            Finding(
                "zone_guessed",
                "warning",
                key,
                params,
                choice.customers,
                choice.examples,
                ("UNUSUAL_HOUR",),
                "meaningless",
                "customers.csv, column country",
            )
        )
    return out


def _label_findings(ds: Dataset) -> tuple[list[Finding], int, float]:
    labels = ds.payments["is_fraud"]
    known = labels.notna().to_numpy()
    n_known = int(known.sum())
    frauds = int((labels.fillna(0) == 1).sum())
    prevalence = frauds / n_known if n_known else 0.0
    if not n_known:
        finding = Finding(
            "labels",
            "warning",
            "chk.labels.none",
            {},
            0,
        )
        return [finding], 0, 0.0
    out = [
        Finding(
            "labels",
            "info",
            "chk.labels",
            {"labelled": n_known, "frauds": frauds, "prevalence": prevalence},
            n_known,
        )
    ]
    if n_known < len(labels):
        missing = ~known
        out.append(
            Finding(
                "labels_partial",
                "warning",
                "chk.labels_partial",
                {"n": int(missing.sum()), "total": len(labels)},
                int(missing.sum()),
                _ids(ds.payments["payment_id"], missing),
            )
        )
    if frauds < MIN_FRAUDS:
        out.append(
            Finding(
                "few_frauds",
                "warning",
                "chk.few_frauds",
                {"frauds": frauds, "min": MIN_FRAUDS},
                frauds,
            )
        )
    return out, frauds, prevalence


# --------------------------------------------------------------------------- rules

# What each rule reads beyond the payment's time and customer (always there).
_INPUTS: dict[str, tuple[str, ...]] = {
    "FIRST_PAYMENT": (),
    "NEW_CUSTOMER": ("signup_ts",),
    "UNUSUAL_HOUR": ("timezone",),
    "MOBILE_DEVICE": ("device",),
    "DIRECT_TRAFFIC": ("utm_source",),
    "PAYMENT_FAILED": ("result",),
    "VELOCITY_HIGH": (),
    "NEW_DEVICE": ("device_id",),
    "UNUSUAL_AMOUNT": ("amount",),
    "FAST_CHECKOUT": ("session_id", "add_to_cart"),
    "GEO_MISMATCH": ("payment_country",),
    "REPEAT_DECLINE": ("result",),
}


def _input_shares(ds: Dataset, events: pd.DataFrame, joins: _Joins) -> dict[str, float]:
    pay, n = ds.payments, max(len(ds.payments), 1)
    has_signup = ds.customers["signup_ts"].notna().to_numpy()
    signup = _flagged(joins.to_customers("payments.csv"), has_signup)
    with_cart = events["session_id"][(events["event_type"] == "add_to_cart").to_numpy()]
    return {
        "signup_ts": float(signup.mean()) if len(pay) else 0.0,
        "timezone": 1.0,
        "device": float((pay["device"] != "").sum() / n),
        "utm_source": float((pay["utm_source"] != "").sum() / n),
        "result": 1.0,
        "device_id": float((pay["device_id"] != "").sum() / n),
        "amount": float(pay["amount"].notna().sum() / n),
        "session_id": float((pay["session_id"] != "").sum() / n),
        "add_to_cart": float(nz.member(pay["session_id"], with_cart).sum() / n),
        "payment_country": float((pay["payment_country"] != "").sum() / n),
    }


def _sample(ds: Dataset, limit: int) -> pd.Series:
    """Customers whose payments are scored: all, or a stable pseudo-random subset."""
    codes, uniques = pd.factorize(ds.payments["customer_id"])  # first-seen order
    ids = pd.Series(uniques, dtype="str")
    if len(ds.payments) <= limit:
        return ids
    order = pd.util.hash_pandas_object(ids, index=False).to_numpy().argsort(kind="stable")
    per_customer = np.bincount(codes, minlength=len(ids))
    take = np.searchsorted(np.cumsum(per_customer[order]), limit) + 1
    return ids.iloc[order[:take]]


def _rule_checks(
    ds: Dataset, events: pd.DataFrame, joins: _Joins, ruleset: RuleSet, limit: int
) -> tuple[list[RuleCheck], list[Finding]]:
    shares = _input_shares(ds, events, joins)
    sampled = nz.member(ds.customers["customer_id"], _sample(ds, limit))
    pay = ds.payments[_flagged(joins.to_customers("payments.csv"), sampled)]
    ev = events[_flagged(joins.to_customers(schema.EVENTS_FILE), sampled)]
    sub = replace(ds, payments=pay.reset_index(drop=True), customers=ds.customers[sampled])
    activities = activities_from(ev, set(pay["session_id"].tolist()))
    stream = merge_in_time_order(activities, payments_of(sub))
    _, masks = Detector(ruleset).hit_rows(stream)
    hits = (np.asarray(masks, dtype=np.int64)[:, None] >> np.arange(len(RULE_IDS))) & 1
    rates = hits.mean(axis=0) if len(masks) else np.full(len(RULE_IDS), np.nan)
    checks, findings = [], []
    for rule_id, rate in zip(RULE_IDS, rates, strict=True):
        inputs = {name: shares[name] for name in _INPUTS.get(rule_id, ())}
        rc = RuleCheck(rule_id, inputs, None if np.isnan(rate) else float(rate), len(masks))
        checks.append(rc)
        if rc.missing:
            findings.append(
                Finding(
                    "rule_input_missing",
                    "warning",
                    "chk.rule_input_missing",
                    {"rule": rule_id, "inputs": ", ".join(rc.missing)},
                    len(ds.payments),
                    rules=(rule_id,),
                    effect="blind",
                )
            )
        if rc.fire_rate is None or len(masks) < MIN_SCORED:
            continue
        fired = round(rc.fire_rate * len(masks))
        if rc.fire_rate > FIRE_TOO_OFTEN:
            findings.append(
                Finding(
                    "rule_fires_too_often",
                    "warning",
                    "chk.rule_fires_too_often",
                    {"rule": rule_id, "rate": rc.fire_rate, "scored": len(masks)},
                    fired,
                    rules=(rule_id,),
                    effect="meaningless",
                )
            )
        elif fired == 0:
            findings.append(
                Finding(
                    "rule_never_fires",
                    "warning",
                    "chk.rule_never_fires",
                    {"rule": rule_id, "scored": len(masks)},
                    0,
                    rules=(rule_id,),
                    effect="blind",
                )
            )
    return checks, findings


# --------------------------------------------------------------------------- entry point


class ImportRefused(DataGenError):
    """The import check found errors: the dataset is not imported."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report
        first = report.errors[0]
        more = len(report.errors) - 1
        super().__init__(first.message + (f" (and {more} more error(s))" if more else ""))


def read_checked(
    path: str | Path, ruleset: RuleSet | None = None
) -> tuple[Dataset | None, CheckReport]:
    """Read the dataset once and check it: what an import loads and the report it shows.

    The dataset is None when it could not be read (the report's error says where); the
    caller refuses the import when ``not report.ok`` (see :class:`ImportRefused`).
    """
    t0 = time.perf_counter()
    try:
        ds = read_dataset(path)
    except DatasetError as exc:
        return None, _unreadable(Path(path), exc, t0)
    report = check_dataset(path, ruleset, dataset=ds)
    return ds, replace(report, seconds=time.perf_counter() - t0)  # the read is part of it


def is_generated(path: str | Path) -> bool:
    """True for a dataset written by data_gen: its manifest records the generator's params."""
    manifest = Path(path) / schema.MANIFEST_FILE
    try:
        return "params" in json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def _unreadable(path: Path, exc: DatasetError, t0: float) -> CheckReport:
    return CheckReport(
        str(path),
        "?",
        is_generated(path),
        0,
        False,
        0,
        0.0,
        (read_failure(exc),),
        seconds=time.perf_counter() - t0,
    )


# The amount is read, though no check uses it, so that a NaN in it refuses the import here
# rather than failing a load or a replay half-way.
_EVENT_COLUMNS = (
    "event_id",
    "customer_id",
    "session_id",
    "event_type",
    "event_timestamp",
    "amount",
)


def check_dataset(
    path: str | Path,
    ruleset: RuleSet | None = None,
    *,
    sample_payments: int = SAMPLE_PAYMENTS,
    dataset: Dataset | None = None,
) -> CheckReport:
    """Check the dataset at ``path`` (or the one already read); never raises on bad data."""
    t0 = time.perf_counter()
    path = Path(path)
    generated = is_generated(path)
    try:
        ds = dataset if dataset is not None else read_dataset(path)
        zoneless = Zoneless(
            counts=dict(ds.zoneless.counts),
            examples={k: list(v) for k, v in ds.zoneless.examples.items()},
        )
        events = ds.event_columns(_EVENT_COLUMNS, zoneless)
    except DatasetError as exc:
        return _unreadable(path, exc, t0)
    labels, frauds, prevalence = _label_findings(ds)
    joins = _Joins(ds, events)
    findings = [
        *_reference_findings(ds, joins),
        *_timing_findings(ds, events, joins),
        *_device_findings(ds.payments),
        *_zone_findings(ds, zoneless),
    ]
    rules, rule_findings = _rule_checks(
        ds, events, joins, ruleset or default_ruleset(), sample_payments
    )
    findings += rule_findings
    findings += labels
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: order[f.severity])
    return CheckReport(
        dataset=str(path),
        layout=ds.layout,
        generated=generated,
        payments=len(ds.payments),
        labelled=ds.labelled,
        frauds=frauds,
        prevalence=prevalence,
        findings=tuple(findings),
        rules=tuple(rules),
        seconds=time.perf_counter() - t0,
        counts={
            "customers": len(ds.customers),
            "sessions": len(ds.sessions),
            "payments": len(ds.payments),
            "events": len(events),
        },
    )
