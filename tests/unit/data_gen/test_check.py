"""The import check: each finding reproduced on a small export, in both layouts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_gen.__main__ import main
from data_gen.check import CheckReport, Finding, check_dataset, read_checked
from tests.unit.data_gen.exports import OWN, PROTOTYPE, Export, clean_export, iso, write

LAYOUTS = pytest.mark.parametrize("layout", [OWN, PROTOTYPE])


def run(tmp_path: Path, layout: str, mutate: Callable[[Export], None] | None = None) -> CheckReport:
    ex = clean_export()
    if mutate is not None:
        mutate(ex)
    return check_dataset(write(ex, tmp_path / layout, layout))


def only(report: CheckReport, code: str, rule: str | None = None) -> Finding:
    found = [f for f in report.findings if f.code == code and (rule is None or rule in f.rules)]
    assert len(found) == 1, (code, rule, [f.line() for f in report.findings])
    return found[0]


def absent(report: CheckReport, code: str, rule: str | None = None) -> bool:
    return not any(f.code == code and (rule is None or rule in f.rules) for f in report.findings)


def shift(ts: str, **delta: float) -> str:
    return iso(datetime.fromisoformat(ts) + timedelta(**delta))


@LAYOUTS
def test_a_clean_export_has_only_the_expected_notes(tmp_path: Path, layout: str) -> None:
    report = run(tmp_path, layout)
    assert report.ok and report.payments == 120
    for code in (
        "payment_outside_session",
        "payment_before_signup",
        "event_after_session_end",
        "device_unique_per_payment",
        "no_cart_before_payment",
        "unknown_id",
        "timestamp_without_zone",
    ):
        assert absent(report, code), code
    # Portugal (three zones) and the United States took their primary zone; GB (UK) and FR not.
    guessed = {f.message.split()[0]: f for f in report.findings if f.code == "zone_guessed"}
    assert set(guessed) == {"PT", "US"}
    assert guessed["PT"].severity == "warning" and guessed["PT"].rows == 10
    assert "Europe/Lisbon" in guessed["PT"].message
    assert guessed["US"].examples == ("C002", "C006", "C010")
    labels = only(report, "labels")
    assert (report.frauds, labels.rows, labels.severity) == (17, 120, "info")
    assert report.prevalence == pytest.approx(17 / 120)
    assert only(report, "few_frauds").severity == "warning"  # 17 < 50
    assert only(report, "rule_never_fires", "VELOCITY_HIGH").effect == "blind"
    rates = {r.rule_id: r.fire_rate for r in report.rules}
    assert rates["FIRST_PAYMENT"] == pytest.approx(1 / 3)
    assert rates["MOBILE_DEVICE"] == pytest.approx(0.25)


@LAYOUTS
def test_payment_outside_its_session(tmp_path: Path, layout: str) -> None:
    def mutate(ex: Export) -> None:
        for pid in ("PAY0011", "PAY0050"):
            p = ex.payment(pid)
            p["attempt_ts"] = shift(ex.session(p["session_id"])["end_ts"], minutes=1)

    f = only(run(tmp_path, layout, mutate), "payment_outside_session")
    assert (f.severity, f.rows, sorted(f.examples)) == ("warning", 2, ["PAY0011", "PAY0050"])
    assert (f.rules, f.effect) == (("FAST_CHECKOUT",), "meaningless")


@LAYOUTS
def test_payment_before_signup(tmp_path: Path, layout: str) -> None:
    def mutate(ex: Export) -> None:
        c = ex.customer("C003")  # GB, written GB in both layouts
        c["country"] = "GB"
        c["signup_ts"] = shift(ex.payment("PAY0031")["attempt_ts"], hours=1)

    f = only(run(tmp_path, layout, mutate), "payment_before_signup")
    assert (f.rows, f.examples, f.rules, f.effect) == (
        2,
        ("PAY0030", "PAY0031"),
        ("NEW_CUSTOMER",),
        "blind",
    )


@LAYOUTS
def test_event_after_session_end(tmp_path: Path, layout: str) -> None:
    def mutate(ex: Export) -> None:
        e = next(e for e in ex.events if e["event_id"] == "E00722")  # S0072's payment_attempt
        e["event_timestamp"] = shift(ex.session("S0072")["end_ts"], seconds=30)

    f = only(run(tmp_path, layout, mutate), "event_after_session_end")
    assert (f.rows, f.examples, f.where) == (1, ("E00722",), "events.jsonl, column event_timestamp")


@LAYOUTS
def test_device_ids_unique_per_payment_make_new_device_meaningless(
    tmp_path: Path, layout: str
) -> None:
    def mutate(ex: Export) -> None:
        for p in ex.payments:
            p["device_id"] = "dev-" + p["payment_id"]

    report = run(tmp_path, layout, mutate)
    f = only(report, "device_unique_per_payment")
    assert (f.rows, f.rules, f.effect) == (120, ("NEW_DEVICE",), "meaningless")
    # ... which the engine confirms: it fires on every payment but a customer's first.
    often = only(report, "rule_fires_too_often", "NEW_DEVICE")
    assert often.rows == 80 and "67%" in often.message


@LAYOUTS
def test_no_add_to_cart_before_payment_blinds_fast_checkout(tmp_path: Path, layout: str) -> None:
    def mutate(ex: Export) -> None:
        ex.events = [e for e in ex.events if e["event_type"] != "add_to_cart"]

    report = run(tmp_path, layout, mutate)
    f = only(report, "no_cart_before_payment")
    assert (f.rows, f.rules, f.effect) == (120, ("FAST_CHECKOUT",), "blind")
    fast = next(r for r in report.rules if r.rule_id == "FAST_CHECKOUT")
    assert fast.inputs["add_to_cart"] == 0 and fast.missing == ("add_to_cart",)
    assert only(report, "rule_input_missing", "FAST_CHECKOUT").effect == "blind"


@LAYOUTS
def test_a_cart_after_the_payment_does_not_count(tmp_path: Path, layout: str) -> None:
    def mutate(ex: Export) -> None:
        e = next(e for e in ex.events if e["event_id"] == "E01001")  # S0100's add_to_cart
        e["event_timestamp"] = shift(ex.payment("PAY0100")["attempt_ts"], seconds=1)

    f = only(run(tmp_path, layout, mutate), "no_cart_before_payment")
    assert (f.rows, f.examples) == (1, ("PAY0100",))


@LAYOUTS
def test_references_to_unknown_ids_are_warnings_with_examples(tmp_path: Path, layout: str) -> None:
    def mutate(ex: Export) -> None:
        ex.payment("PAY0020")["session_id"] = "S404"
        next(e for e in ex.events if e["event_id"] == "E00000")["session_id"] = "S405"

    report = run(tmp_path, layout, mutate)
    assert report.ok
    found = {f.where: f for f in report.findings if f.code == "unknown_id"}
    assert found["payments.csv, column session_id"].examples == ("S404",)
    assert found["events.jsonl, column session_id"].rules == ("FAST_CHECKOUT",)


@LAYOUTS
@pytest.mark.parametrize(
    ("what", "code", "where"),
    [
        ("payment", "duplicate_id", "payments.csv, column payment_id"),
        ("customer", "unknown_id", "payments.csv, column customer_id"),
        ("event", "duplicate_id", "events.jsonl, column event_id"),
    ],
)
def test_duplicated_ids_and_unknown_customers_are_refused(
    tmp_path: Path, layout: str, what: str, code: str, where: str
) -> None:
    def mutate(ex: Export) -> None:
        if what == "payment":
            ex.payment("PAY0012")["payment_id"] = "PAY0011"
        elif what == "customer":
            ex.payment("PAY0012")["customer_id"] = "C999"
        else:
            ex.events[5]["event_id"] = ex.events[4]["event_id"]

    report = run(tmp_path, layout, mutate)
    assert not report.ok
    f = only(report, code)
    assert (f.severity, f.where) == ("error", where)
    assert "line" in f.message or "row" in f.message


@LAYOUTS
def test_read_checked_reads_once_and_returns_the_dataset_with_its_report(
    tmp_path: Path, layout: str
) -> None:
    good = write(clean_export(), tmp_path / "good", layout)
    ds, report = read_checked(good)
    assert ds is not None and len(ds.payments) == report.payments == 120
    assert report.ok and report.codes() == check_dataset(good).codes()

    bad_export = clean_export()
    bad_export.payment("PAY0012")["payment_id"] = "PAY0011"
    ds, report = read_checked(write(bad_export, tmp_path / "bad", layout))
    assert ds is None and not report.ok
    assert only(report, "duplicate_id").where == "payments.csv, column payment_id"


@LAYOUTS
def test_timestamps_without_a_zone_are_read_as_utc_and_reported(
    tmp_path: Path, layout: str
) -> None:
    def mutate(ex: Export) -> None:
        for pid in ("PAY0000", "PAY0011"):
            p = ex.payment(pid)
            p["attempt_ts"] = p["attempt_ts"].removesuffix("Z")
        ex.payment("PAY0022")["attempt_ts"] = ex.payment("PAY0022")["attempt_ts"][:-1] + "+00:00"

    f = only(run(tmp_path, layout, mutate), "timestamp_without_zone")
    assert (f.rows, f.examples, f.severity) == (2, ("PAY0000", "PAY0011"), "warning")
    assert "UNUSUAL_HOUR" in f.rules


@LAYOUTS
def test_unlabelled_export(tmp_path: Path, layout: str) -> None:
    def mutate(ex: Export) -> None:
        for p in ex.payments:
            p["is_fraud"] = ""

    report = run(tmp_path, layout, mutate)
    f = only(report, "labels")
    assert (f.severity, report.labelled, report.frauds) == ("warning", False, 0)
    assert absent(report, "few_frauds")


@LAYOUTS
def test_geo_mismatch_on_most_payments_is_flagged(tmp_path: Path, layout: str) -> None:
    def mutate(ex: Export) -> None:
        for p in ex.payments:
            p["payment_country"] = "BR" if p["payment_country"] != "BR" else "AR"

    f = only(run(tmp_path, layout, mutate), "rule_fires_too_often", "GEO_MISMATCH")
    assert (f.rows, f.effect) == (120, "meaningless")


@LAYOUTS
def test_an_unknown_country_is_refused_with_its_place(tmp_path: Path, layout: str) -> None:
    def mutate(ex: Export) -> None:
        ex.customer("C004")["country"] = "XX"

    f = only(run(tmp_path, layout, mutate), "unreadable")
    assert f.severity == "error"
    assert f.message == (
        "customers.csv line 6, column country: 'XX' is not an ISO 3166-1 alpha-2 country code"
    )


@LAYOUTS
@pytest.mark.parametrize(
    ("value", "detail", "french"),
    [
        ("NaN", "'NaN' is not a number", "'NaN' n'est pas un nombre"),
        ("inf", "'inf' is not a finite number", "'inf' n'est pas un nombre fini"),
        ("", "required value is empty", "valeur obligatoire vide"),
    ],
)
def test_a_payment_amount_that_is_no_number_refuses_the_import_at_its_place(
    tmp_path: Path, layout: str, value: str, detail: str, french: str
) -> None:
    def mutate(ex: Export) -> None:
        ex.payment("PAY0012")["amount"] = value

    report = run(tmp_path, layout, mutate)
    assert not report.ok
    f = only(report, "bad_number" if value else "unreadable")
    assert (f.severity, f.where) == ("error", "payments.csv, column amount")
    assert f.message == f"payments.csv line 7, column amount: {detail}"
    # Where and why in the reader's language, the value as the file holds it.
    assert f.message_in("fr") == f"payments.csv ligne 7, colonne amount : {french}"
    assert (f.params["file"], f.params["line"], f.params["column"]) == (
        "payments.csv",
        7,
        "amount",
    )
    assert f.params["detail"] == detail  # the English reason, for a machine


@LAYOUTS
@pytest.mark.parametrize("events", ["jsonl", "parquet"])
def test_a_nan_event_amount_refuses_the_import_naming_file_row_and_column(
    tmp_path: Path, layout: str, events: str
) -> None:
    """Event amounts are optional (a page view has none), so a NaN there would read as "no
    amount": the check reads them to refuse it before a load or a replay trips on it."""
    ex = clean_export()
    ex.events[4]["amount"] = float("nan")  # an add_to_cart: json.dumps writes NaN
    directory = write(ex, tmp_path / layout, layout)
    column = "amount" if layout == OWN else "cart_value"
    if events == "parquet":
        jsonl = directory / "events.jsonl"
        records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
        pq.write_table(pa.Table.from_pylist(records), directory / "events.parquet")  # NaN kept
        jsonl.unlink()
    _, report = read_checked(directory)  # the tables read well: the events refuse it

    assert not report.ok
    f = only(report, "bad_number")
    place = "events.parquet row 5" if events == "parquet" else "events.jsonl line 5"
    assert f.message == f"{place}, column {column}: 'nan' is not a number"


def test_an_absent_event_amount_is_no_finding(tmp_path: Path) -> None:
    report = run(tmp_path, OWN, lambda ex: ex.events[4].update(amount=None))
    assert report.ok and absent(report, "bad_number") and absent(report, "unreadable")


def test_the_issue_prototype_export(tmp_path: Path) -> None:
    """The export the issue describes: own device per payment, payments abroad, outside their
    sessions and before signup, no cart, no bursts."""

    def mutate(ex: Export) -> None:
        for i, p in enumerate(ex.payments):
            p["device_id"] = f"dev{i}"
            p["payment_country"] = "ES" if i % 6 else p["payment_country"]
            p["attempt_ts"] = shift(p["attempt_ts"], days=-100 if i % 2 else 1)
        ex.events = [e for e in ex.events if e["event_type"] != "add_to_cart"]

    report = run(tmp_path, PROTOTYPE, mutate)
    assert report.ok  # imported, with warnings
    assert only(report, "payment_outside_session").rows == 120
    assert only(report, "payment_before_signup").rows == 60
    assert only(report, "device_unique_per_payment").rows == 120
    assert only(report, "no_cart_before_payment").rows == 120
    for rule in ("GEO_MISMATCH", "NEW_DEVICE"):
        assert only(report, "rule_fires_too_often", rule).severity == "warning"
    for rule in ("FAST_CHECKOUT", "VELOCITY_HIGH"):
        assert only(report, "rule_never_fires", rule).effect == "blind"


def test_cli_check_text_json_and_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(clean_export(), tmp_path / "good", OWN)
    assert main(["check", str(good)]) == 0
    text = capsys.readouterr().out
    assert "importable" in text and "WARNING zone_guessed: PT has 3 time zones" in text

    assert main(["check", str(good), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["payments"] == 120
    assert {"code", "severity", "rows", "examples", "rules", "effect"} <= set(data["findings"][0])

    ex = clean_export()
    ex.payment("PAY0012")["payment_id"] = "PAY0011"
    bad = write(ex, tmp_path / "bad", OWN)
    assert main(["check", str(bad)]) == 1
    assert "REFUSED" in capsys.readouterr().out


def test_findings_read_in_french_and_english_from_the_same_codes_and_params(
    tmp_path: Path,
) -> None:
    report = run(tmp_path, OWN)
    labels = only(report, "labels")
    assert labels.params == {"labelled": 120, "frauds": 17, "prevalence": pytest.approx(17 / 120)}
    assert labels.message_in("en") == "120 labelled payments, 17 frauds (prevalence 14.17%)"
    assert labels.message_in("fr") == (
        "120 paiements étiquetés, 17 fraudes (prévalence 14,17\u00a0%)"
    )
    pt = next(
        f for f in report.findings if f.code == "zone_guessed" and f.params["country"] == "PT"
    )
    assert pt.message_in("fr").startswith(
        "PT a 3 fuseaux horaires : le plus peuplé, Europe/Lisbon (96\u00a0% de ses habitants), "
        "pris pour 10 clients"
    )
    big = Finding(
        "payment_before_signup",
        "warning",
        "chk.payment_before_signup",
        {"n": 12_345, "total": 50_000},
        12_345,
    )
    assert big.message_in("en") == "12,345 of 50,000 (25%) payments precede their customer's signup"
    assert big.message_in("fr") == (
        "12\u202f345 sur 50\u202f000 (25\u00a0%) paiements précèdent l'inscription de leur client"
    )

    ex = clean_export()
    ex.customer("C004")["country"] = "XX"
    refused = only(check_dataset(write(ex, tmp_path / "xx", PROTOTYPE)), "unreadable")
    detail = "'XX' is not an ISO 3166-1 alpha-2 country code"  # the reader's English
    assert refused.params == {
        "file": "customers.csv",
        "line": 6,
        "row": None,
        "column": "country",
        "detail": detail,
        "why": "chk.why.not_country",  # the reason's key and values: either language
        "why_fields": {"value": "'XX'"},
    }
    assert refused.message_in("en") == f"customers.csv line 6, column country: {detail}"
    assert refused.message_in("fr") == (
        "customers.csv ligne 6, colonne country : 'XX' n'est pas un code pays ISO 3166-1 alpha-2"
    )
    stored = CheckReport.from_dict(json.loads(json.dumps(CheckReport(
        "xx", "prototype", False, 0, False, 0, 0.0, (refused,)).to_dict())))  # fmt: skip
    assert stored.findings[0].message_in("fr") == refused.message_in("fr")
    # A report stored before reasons had keys says its reason in English, its place in French.
    old = replace(refused, params={k: v for k, v in refused.params.items() if "why" not in k})
    assert old.message_in("fr") == f"customers.csv ligne 6, colonne country : {detail}"


def test_the_json_report_holds_codes_and_params_and_reads_back(tmp_path: Path) -> None:
    report = run(tmp_path, PROTOTYPE)
    data = json.loads(report.to_json())
    guessed = [f for f in data["findings"] if f["code"] == "zone_guessed"]
    assert {f["params"]["country"] for f in guessed} == {"PT", "US"}
    us = next(f for f in guessed if f["params"]["country"] == "US")
    assert us["params"] == {
        "country": "US",
        "zones": 29,
        "zone": "America/New_York",
        "people": pytest.approx(0.41, abs=0.005),
        "customers": us["rows"],
    }
    assert us["key"] == "chk.zone_guessed" and us["message"].startswith("US has 29 time zones")
    back = CheckReport.from_dict(json.loads(report.to_json()))
    assert back == report


def test_a_generated_dataset_is_clean_and_known_as_generated(tmp_path: Path) -> None:
    from data_gen import GenParams, generate

    generate(tmp_path / "g", GenParams(scale=0.1, days=10))
    report = check_dataset(tmp_path / "g")
    assert report.generated and report.ok
    for code in (
        "payment_outside_session",
        "payment_before_signup",
        "event_after_session_end",
        "device_unique_per_payment",
        "no_cart_before_payment",
        "unknown_id",
        "timestamp_without_zone",
        "zone_guessed",
    ):
        assert absent(report, code), code
