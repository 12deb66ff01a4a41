"""Text rendering of backtest metrics for the command line, in English or French."""

from __future__ import annotations

from detector.common.i18n import LANGS, text
from detector.errors import EvaluationError
from detector.evaluation import BacktestMetrics, UnlabelledSummary, safe_ratio

# The report's words: keys of the one catalogue (detector.common.i18n), by the name the layout uses.
_KEYS: dict[str, str] = {
    "title": "report.title",
    "payments": "st.payments",
    "frauds": "st.frauds",
    "alerts": "m.alerts",
    "tp_fp_fn": "report.tp_fp_fn",
    "precision": "m.precision",
    "recall": "m.recall",
    "f1": "m.f1",
    "incidents": "report.incidents",
    "inc_recall": "report.inc_recall",
    "inc_precision": "report.inc_precision",
    "inc_f1": "report.inc_f1",
    "ap": "report.ap",
    "amount": "report.amount",
    "severity": "report.severity",
    "review": "report.review",
    "beyond": "report.beyond",
    "day": "report.day",
    "reviewed": "report.reviewed",
    "omitted": "report.omitted",
    "rule": "ax.rule",
    "hits": "report.hits",
    "hit_rate": "report.hit_rate",
    "lift": "report.lift",
    "scenario": "report.scenario",
    "caught": "report.caught",
    "threshold": "report.threshold",
    "rate": "report.rate",
    "curve": "report.curve",
}


def _labels(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise EvaluationError(f"lang: expected one of {sorted(LANGS)}, got {lang!r}")
    return {name: text(key, lang) for name, key in _KEYS.items()}


def _pct(x: float, lang: str) -> str:
    text = f"{100 * x:.1f}"
    return f"{text.replace('.', ',')} %" if lang == "fr" else f"{text}%"


def _num(x: float, lang: str, decimals: int = 0) -> str:
    text = f"{x:,.{decimals}f}"
    if lang == "fr":
        # French groups thousands with a space and uses a decimal comma.
        text = text.replace(",", " ").replace(".", ",")
    return text


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """First column left-aligned, the others right-aligned (they hold numbers)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [cells[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _fmt_threshold(t: float) -> str:
    return str(int(t)) if float(t).is_integer() else f"{t:g}"


def render_text(
    m: BacktestMetrics, lang: str = "en", *, max_day_rows: int = 14, curve_step: int = 10
) -> str:
    """A compact CLI report: summary, severity, daily review load, rules, scenarios, curve."""
    t = _labels(lang)

    def pct(x: float) -> str:
        return _pct(x, lang)

    def num(x: float, decimals: int = 0) -> str:
        return _num(x, lang, decimals)

    out = [t["title"].format(t=_fmt_threshold(m.threshold), h=_fmt_threshold(m.high_threshold))]
    amounts = f"{num(m.fraud_amount_caught, 2)} / {num(m.fraud_amount_total, 2)}"
    summary = [
        [t["payments"], num(m.payments), ""],
        [t["frauds"], num(m.frauds), pct(m.fraud_rate)],
        [t["alerts"], num(m.alerts), pct(m.alert_rate)],
        [t["tp_fp_fn"], f"{num(m.tp)} / {num(m.fp)} / {num(m.fn)}", ""],
        [t["precision"], pct(m.precision), ""],
        [t["recall"], pct(m.recall), ""],
        [t["f1"], pct(m.f1), ""],
        [t["incidents"], f"{num(m.incidents_caught)} / {num(m.incidents)}", ""],
        [t["inc_recall"], pct(m.incident_recall), ""],
        [t["inc_precision"], pct(m.incident_precision), ""],
        [t["inc_f1"], pct(m.incident_f1), ""],
        [t["ap"], pct(m.average_precision), ""],
        [t["amount"], amounts, pct(m.fraud_amount_share_caught)],
    ]
    # Drop the header and rule lines: the summary is a key/value block.
    out += ["", *_table(["", "", ""], summary)[2:]]

    severity = [[s.severity, num(s.alerts), num(s.frauds), pct(s.precision)] for s in m.severity]
    out += ["", *_table([t["severity"], t["alerts"], t["frauds"], t["precision"]], severity)]

    pk = m.precision_at_k
    review = t["review"].format(
        k=pk.capacity,
        m=pct(pk.mean_precision),
        d=pk.days_with_alerts,
        p=pct(pk.pooled_precision),
    )
    out += ["", review, t["beyond"].format(b=num(pk.alerts_beyond_capacity))]
    days = pk.days[-max_day_rows:] if max_day_rows > 0 else ()
    if days:
        header = [t["day"], t["payments"], t["alerts"], t["reviewed"], t["frauds"], t["precision"]]
        rows = [
            [
                d.day,
                num(d.payments),
                num(d.alerts),
                num(d.reviewed),
                num(d.frauds_reviewed),
                pct(d.precision),
            ]
            for d in days
        ]
        out += _table(header, rows)
    if len(pk.days) > len(days):
        out.append(t["omitted"].format(n=len(pk.days) - len(days)))

    header = [t["rule"], t["hits"], t["hit_rate"], t["precision"], t["lift"], t["recall"]]
    rows = [
        [
            r.rule_id,
            num(r.hits),
            pct(r.hit_rate),
            pct(r.precision),
            num(r.lift, 2),
            pct(r.recall),
        ]
        for r in m.rules
    ]
    out += ["", *_table(header, rows)]

    if m.scenarios:
        header = [t["scenario"], t["payments"], t["caught"], t["recall"]]
        header += ["Incidents", t["caught"], t["inc_recall"]]
        rows = [
            [
                s.scenario,
                num(s.payments),
                num(s.payments_caught),
                pct(s.recall),
                num(s.incidents),
                num(s.incidents_caught),
                pct(s.incident_recall),
            ]
            for s in m.scenarios
        ]
        out += ["", *_table(header, rows)]

    # A sample of the curve plus the current threshold (marked): the full curve is for plots.
    step = max(curve_step, 1)
    shown = [p for p in m.threshold_curve if p.threshold % step == 0 or p.threshold == m.threshold]
    if shown:
        header = ["", t["threshold"], t["alerts"], t["rate"], t["precision"], t["recall"], t["f1"]]
        rows = [
            [
                ">" if p.threshold == m.threshold else "",
                str(p.threshold),
                num(p.alerts),
                pct(p.alert_rate),
                pct(p.precision),
                pct(p.recall),
                pct(p.f1),
            ]
            for p in shown
        ]
        out += ["", t["curve"], *_table(header, rows)]
    return "\n".join(out) + "\n"


def render_unlabelled_text(u: UnlabelledSummary, lang: str = "en") -> str:
    """The unlabelled counterpart of `render_text`: volumes, severity split and rule hits."""
    t = _labels(lang)
    summary = [
        [t["payments"], _num(u.payments, lang), ""],
        [t["alerts"], _num(u.alerts, lang), _pct(u.alert_rate, lang)],
        ["MEDIUM", _num(u.alerts_medium, lang), _pct(safe_ratio(u.alerts_medium, u.alerts), lang)],
        ["HIGH", _num(u.alerts_high, lang), _pct(safe_ratio(u.alerts_high, u.alerts), lang)],
    ]
    rules = [
        [rid, _num(h, lang), _pct(r, lang), _num(a, lang)]
        for rid, h, r, a in zip(
            u.rule_ids, u.rule_hits, u.rule_hit_rates, u.rule_hits_in_alerts, strict=True
        )
    ]
    out = [t["title"].format(t=_fmt_threshold(u.threshold), h=_fmt_threshold(u.high_threshold))]
    out += ["", *_table(["", "", ""], summary)[2:]]
    out += ["", *_table([t["rule"], t["hits"], t["hit_rate"], t["alerts"]], rules)]
    return "\n".join(out) + "\n"
