"""One language at a time: every page, rendered in French and in English, shows no string that
belongs only to the other language's catalogue, and no raw field name or status code.

The check is built from the catalogue itself: each English template (split at its format
fields) that appears in no French template is English-only; finding it, as whole words, in
anything the French render shows (titles, labels, options, captions, table headers and cells,
chart titles, axes, legends and category labels) is a leak, and the same the other way round.
Data values stored in the database (customer ids, countries, devices, notes) are not words of
either catalogue, except codes such as statuses, which must reach the screen as labels.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from desk import formats, queue, tuning
from detector.common.i18n import CATALOGUE
from tests.unit.pages.conftest import add_user, app_test, assert_clean

PAGES = (
    "pages/1_alert_queue.py",
    "pages/2_insights.py",
    "pages/3_rule_tuning.py",
    "pages/4_dataset_studio.py",
    "pages/5_pipeline.py",
    "pages/6_audit.py",
    "pages/7_users.py",
)
_FIELD = re.compile(r"\{[^{}]*\}")
# A raw column or detail name ("alert_id", "row_version") or an unlabelled code
# ("PENDING_REVIEW"): no catalogue holds them, so they are looked for by shape.
# Protobuf fields that name elements for the browser, never shown.
_NOT_SHOWN = {"id", "form_id", "fragment_id", "key"}
_FILE_NAME = re.compile(r"^[\w.-]+\.(?:csv|parquet|jsonl?|zip)$")
_RAW_NAME = re.compile(r"^(?:[a-z]+(?:_[a-z0-9]+)+|[A-Z]+(?:_[A-Z]+)+)$")


def _fragments(template: str) -> list[str]:
    """The literal runs of a template between its format fields, those long enough to be
    words of a language (at least four letters)."""
    out = []
    for part in _FIELD.split(template):
        part = part.strip(" \t\n·:;,.()[]«»\"'-–—/+=%?!…")
        if sum(ch.isalpha() for ch in part) >= 4:
            out.append(part)
    return out


def _words(frag: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(frag) + r"(?!\w)")


def only_in(lang: str) -> dict[str, str]:
    """Fragment -> catalogue key, for the fragments of ``lang``'s texts that appear in no text
    of the other language."""
    mine, other = (0, 1) if lang == "fr" else (1, 0)
    others = [pair[other] for pair in CATALOGUE.values()]
    found: dict[str, str] = {}
    for key, pair in CATALOGUE.items():
        for frag in _fragments(pair[mine]):
            if frag in found:
                continue
            pattern = _words(frag)
            if not any(pattern.search(text) for text in others):
                found[frag] = key
    return found


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a protobuf message, a parsed JSON value or a frame."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "{[":
            try:
                yield from _strings(json.loads(text))
                return
            except ValueError:
                pass
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in {"hovertemplate", "texttemplate"}:  # format codes, not words
                yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif hasattr(value, "ListFields"):
        for field, v in value.ListFields():
            if field.type == field.TYPE_BYTES or field.name in _NOT_SHOWN:
                continue
            if field.is_repeated:
                for item in v:
                    yield from _strings(item)
            else:
                yield from _strings(v)


def _table(proto: Any, frame: pd.DataFrame) -> Iterator[str]:
    """The headers (their configured labels) and text cells of the columns a table shows."""
    config = json.loads(proto.columns or "{}") if hasattr(proto, "columns") else {}
    # A grid writes "None" for a missing value unless it is given a placeholder.
    says_none = not (hasattr(proto, "HasField") and proto.HasField("placeholder"))
    order = list(getattr(proto, "column_order", [])) or [str(c) for c in frame.columns]
    for name in order:
        cfg = config.get(name, {})
        if cfg.get("hidden") or name not in frame.columns:
            continue
        yield str(cfg.get("label", name))
        for v in frame[name].tolist():
            if isinstance(v, str):
                yield v
            elif says_none and (v is None or (isinstance(v, float) and v != v)):
                yield "None"  # what the grid shows for a missing value


def shown(at: AppTest) -> list[tuple[str, str]]:
    """``(element type, string)`` for everything the run put on screen, except what a file
    preview shows (a tab named after a file: its rows as the file holds them)."""
    out: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        if _FILE_NAME.match(str(getattr(node, "label", "") or "")):
            return
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", type(node).__name__)
        if proto is not None:
            out.extend((kind, s) for s in _strings(proto))
        if kind in {"arrow_data_frame", "dataframe", "table"}:
            out.extend((kind, s) for s in _table(proto, node.value))

    walk(at._tree)
    return out


def leaks(at: AppTest, lang: str) -> list[str]:
    foreign = only_in("en" if lang == "fr" else "fr")
    big = re.compile("|".join(_words(f).pattern for f in sorted(foreign, key=len, reverse=True)))
    found = set()
    for kind, text in shown(at):
        for m in big.finditer(text):
            found.add(f"{kind}: {m.group(0)!r} ({foreign[m.group(0)]}) in {text[:120]!r}")
        if _RAW_NAME.match(text.strip()):
            found.add(f"{kind}: raw name {text!r}")
        if text == "None":
            found.add(f"{kind}: a raw None")
    return sorted(found)


# Streamlit's own words, in English whatever the language, unless a page says otherwise: a
# form's "Press Enter to submit form", a date picker's "YYYY/MM/DD", a multiselect's "Choose
# options" and "Select all"; and a printf number format ("%.3f") writes a decimal point.
_PRINTF_DECIMALS = re.compile(r"%[-+ 0#]*\d*\.[1-9]\d*[fFeEgG]")
# Named grid formats that Streamlit writes in the browser's language, not the desk's.
_BROWSER_FORMATS = {"localized", "percent", "dollar", "euro", "yen", "compact", "bytes"}
# A d3 percent format in a figure ("%{y:.1%}", tickformat ".0%"): Plotly glues the sign to the
# number whatever the figure's separators ("33,3%"); French writes "33,3 %".
_D3_PERCENT = re.compile(r"(?:^|:)[^{}:]*%(?:$|})")
_FORMAT_KEYS = {"tickformat", "hoverformat", "valueformat", "hovertemplate", "texttemplate"}


def _percent_formats(spec: Any, where: str = "figure") -> Iterator[str]:
    """Where a figure spec lets Plotly write a percentage itself: a d3 "%" format, or a pie
    whose slices or hovers show Plotly's own percent (its default ``textinfo``)."""
    if isinstance(spec, dict):
        if spec.get("type") == "pie":
            if "texttemplate" not in spec and "percent" in str(spec.get("textinfo", "percent")):
                yield f"{where}: a pie's own percent labels"
            if "hovertemplate" not in spec:
                yield f"{where}: a pie's own percent hover"
        for key, value in spec.items():
            if key in _FORMAT_KEYS and isinstance(value, str):
                fields = re.findall(r"%\{[^}]*\}", value) if "template" in key else [value]
                for field in fields:
                    if _D3_PERCENT.search(field):
                        yield f"{where} {key}: {value!r} glues % to the number"
            else:
                yield from _percent_formats(value, f"{where}.{key}")
    elif isinstance(spec, list):
        for item in spec:
            yield from _percent_formats(item, where)


def streamlit_english(at: AppTest, lang: str) -> list[str]:
    """What Streamlit would write in English (or with the wrong decimal sign) on this page:
    the options of its widgets, read from what the run sent to the browser."""
    picker = formats.picker_day(lang)
    moments = {formats.grid_moment(lang), formats.grid_moment(lang, seconds=True)}
    found: list[str] = []

    def decimals(where: str, fmt: str) -> None:
        if lang == "fr" and _PRINTF_DECIMALS.search(fmt):
            found.append(f"{where}: {fmt!r} writes a decimal point")

    def walk(node: Any) -> None:
        kind = getattr(node, "type", "")
        proto = getattr(node, "proto", None)
        where = f"{kind} {getattr(proto, 'label', '') or ''!r}"
        if kind == "form" and proto.form.enter_to_submit:
            found.append(f"form {proto.form.form_id!r}: 'Press Enter to submit form'")
        elif kind == "date_input" and proto.format != picker:
            found.append(f"{where}: date format {proto.format!r}, not {picker!r}")
        elif kind == "multiselect":
            if not proto.placeholder:
                found.append(f"{where}: 'Choose options'")
            if proto.select_all:
                found.append(f"{where}: 'Select all'")
        elif kind == "selectbox" and not proto.HasField("default") and not proto.placeholder:
            found.append(f"{where}: 'Choose an option'")
        elif kind in {"slider", "number_input"}:
            decimals(where, proto.format)
        elif kind == "plotly_chart" and lang == "fr":
            found.extend(_percent_formats(json.loads(proto.spec), f"chart {proto.id[-12:]!r}"))
        elif kind in {"arrow_data_frame", "dataframe", "table"} and proto is not None:
            if hasattr(proto, "HasField") and not proto.HasField("placeholder"):
                found.append(f"{where}: 'None' in a missing value's cell (no placeholder)")
            for name, cfg in json.loads(getattr(proto, "columns", "") or "{}").items():
                typed = cfg.get("type_config", {})
                fmt = str(typed.get("format", ""))
                if typed.get("type") in {"datetime", "date"} and fmt not in moments:
                    found.append(f"{where} column {name!r}: date format {fmt!r}")
                decimals(f"{where} column {name!r}", fmt)
                if fmt in _BROWSER_FORMATS:
                    found.append(f"{where} column {name!r}: {fmt!r} is the browser's language")
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return sorted(found)


@pytest.fixture
def busy_dir(seeded_dir: Path, seeded_template: Path) -> str:
    """The seeded alerts plus what makes every table draw: decisions of each kind (one lost
    to a conflict), a published and a rolled-back rule set, a dataset on disk.  Returns the
    id of a decided alert, for the queue to show in its detail."""
    from pages._ui import runtime

    shutil.copytree(seeded_template / "ds", seeded_dir / "datasets" / "demo")
    rt = runtime()
    boss = add_user("boss", "admin")
    _, page = queue.load_page(rt, queue.build_filters(status=["PENDING_REVIEW"]), "score_desc", 1)
    rows = [(a.alert_id, a.row_version) for a in page.rows]
    # Notes are the users' own words, in no catalogue: "n1"... keeps them out of the check.
    queue.decide_many(rt, rows[:1], "BLOCK", boss, "n1")
    queue.decide_many(rt, rows[1:2], "APPROVE", boss, "n2")
    queue.decide_many(rt, rows[2:3], "INVESTIGATE", boss, "n3")
    queue.decide_many(rt, rows[:1], "APPROVE", boss, "n4")  # stale: a conflict
    _, active = tuning.current(rt)
    stricter = replace(active, alert_threshold=active.alert_threshold + 5)
    tuning.publish(rt, stricter, boss, "n5")
    tuning.rollback(rt, 1, boss, "n6")
    return rows[0][0]


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("path", PAGES)
def test_every_page_speaks_one_language(busy_dir: str, path: str, lang: str) -> None:
    at = app_test(path, username="maud")  # a name that is no word of either language
    at.session_state["lang"] = lang
    at.query_params["alert"] = busy_dir  # the queue shows its detail, decisions included
    at.run()
    assert_clean(at)
    assert len(shown(at)) > 20  # the page drew its content, not a refusal
    found = leaks(at, lang) + streamlit_english(at, lang)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_sign_in_page_speaks_one_language(data_dir: Path, lang: str) -> None:
    add_user("maud", "analyst")  # else the page shows the shell command that makes one
    at = app_test("pages/sign_in.py", role=None)
    at.session_state["lang"] = lang
    at.run()
    assert_clean(at)
    assert at.button[0].label == ("Se connecter" if lang == "fr" else "Sign in")
    found = leaks(at, lang) + streamlit_english(at, lang)
    assert not found, "\n".join(found)


def test_the_check_finds_what_streamlit_writes_in_english() -> None:
    at = AppTest.from_string(
        """
import pandas as pd
import streamlit as st
from datetime import date
with st.form("f"):
    st.text_input("a")
    st.form_submit_button("go")
st.date_input("d", value=date(2025, 1, 2))
st.multiselect("m", ["x", "y"])
st.slider("s", 0.0, 1.0, 0.5, format="%.3f")
st.number_input("n", 0.0, 1.0, 0.5)
st.dataframe(
    pd.DataFrame({"t": [pd.Timestamp("2025-01-02")], "p": [0.5]}),
    column_config={
        "t": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "p": st.column_config.NumberColumn(format="percent"),
    },
)
st.plotly_chart(
    {
        "data": [{"type": "pie", "labels": ["a", "b"], "values": [1, 2]}],
        "layout": {"yaxis": {"tickformat": ".0%"}},
    }
)
st.plotly_chart(
    {
        "data": [
            {"type": "pie", "labels": ["a"], "values": [1], "texttemplate": "%{customdata}",
             "hovertemplate": "%{label}: %{percent:.1%}"},
            {"type": "bar", "x": [1], "y": [0.5], "hovertemplate": "%{y:,d} %{customdata}"},
        ],
    }
)
""",
        default_timeout=30,
    )
    at.run()
    in_both = [
        "dataframe '': 'None' in a missing value's cell (no placeholder)",
        "dataframe '' column 'p': 'percent' is the browser's language",
        "dataframe '' column 't': date format 'YYYY-MM-DD HH:mm'",
        "date_input 'd': date format 'YYYY/MM/DD', not 'DD/MM/YYYY'",
        "form 'f': 'Press Enter to submit form'",
        "multiselect 'm': 'Choose options'",
        "multiselect 'm': 'Select all'",
    ]
    assert streamlit_english(at, "en") == sorted(in_both)
    fr = streamlit_english(at, "fr")
    charts = [f for f in fr if f.startswith("chart ")]
    assert sorted(c.split(": ", 1)[1] for c in charts) == [
        "'%{label}: %{percent:.1%}' glues % to the number",
        "'.0%' glues % to the number",
        "a pie's own percent hover",
        "a pie's own percent labels",
    ]
    assert sorted(f for f in fr if f not in charts) == sorted(
        [
            *in_both,
            "number_input 'n': '%0.2f' writes a decimal point",
            "slider 's': '%.3f' writes a decimal point",
        ]
    )


def test_the_check_finds_a_word_of_the_other_language() -> None:
    english = only_in("en")
    french = only_in("fr")
    assert english["Pending review"] == "status.PENDING_REVIEW"
    assert french["En attente de revue"] == "status.PENDING_REVIEW"
    assert "Pipeline" not in english  # the same word in both languages belongs to neither
    at = AppTest.from_string("import streamlit as st\nst.write('Détecteur : stopped')")
    at.run()
    assert leaks(at, "fr") == ["markdown: 'stopped' (state.stopped) in 'Détecteur : stopped'"]


def test_queue_amounts_stay_numbers_shown_the_session_way() -> None:
    """The grid sorts the amount column by its numbers (a text column sorted "1 000,00"
    before "20,00") and shows the Styler's text over them, the desk's way, not the browser's."""
    import streamlit as st

    from pages._queue_live import _styled

    frame = pd.DataFrame({"severity": ["", "", ""], "amount": [1000.0, 20.5, None]})
    for lang, big, small in (("fr", "1\u202f000,00", "20,50"), ("en", "1,000.00", "20.50")):
        st.session_state["lang"] = lang
        styler = _styled(frame)
        assert styler.data["amount"].dtype == "float64"
        html = styler.to_html()
        assert big in html and small in html and "nan" not in html.lower()
    st.session_state.clear()


def _files(tiny: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(tiny.iterdir()) if p.is_file()}


# What the studio refuses, each said by a StudioError key (or a read failure's): a name taken,
# a zip's limits and entries, a file that is missing.
_BAD_ZIPS: dict[str, Any] = {
    "exists": lambda f: f,
    "not-a-zip": lambda f: b"this is not a zip",
    "absolute": lambda f: {**f, "/abs/customers.csv": b"x"},
    "wrong-type": lambda f: {**f, "tool.sh": b"rm -rf /"},
    "twice": lambda f: {**f, "a/payments.csv": f["payments.csv"]},
    "no-events": lambda f: {k: v for k, v in f.items() if k != "events.jsonl"},
}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("case", list(_BAD_ZIPS))
def test_a_studio_error_speaks_the_sessions_language(
    data_dir: Path, seeded_template: Path, case: str, lang: str
) -> None:
    """desk.studio's refusals reach the page as catalogue keys: the French page shows no
    English error (and the English page no French one), the missing events file included."""
    from tests.unit.desk.zips import zip_of

    shutil.copytree(seeded_template / "ds", data_dir / "datasets" / "demo")
    made = _BAD_ZIPS[case](_files(seeded_template / "ds"))
    data = made if isinstance(made, bytes) else zip_of(made)
    at = app_test("pages/4_dataset_studio.py", username="maud")
    at.session_state["lang"] = lang
    at.run()
    at.file_uploader(key="st_upload").upload("upload.zip", data, "application/zip")
    at.text_input(key="st_zip_name").input("demo" if case == "exists" else "other")
    at.run()
    at.button(key="st_import_zip_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error, "the studio showed no error"
    said = "\n".join(c.value for c in at.main.code)
    assert said.strip(), "the error says nothing"
    found = leaks(at, lang)
    assert not found, "\n".join(found)
    if case == "no-events":
        where = " ".join(x.value for x in at.main.text)
        either = (
            "events.jsonl ou events.parquet" if lang == "fr" else "events.jsonl or events.parquet"
        )
        assert either in where and either in said, (where, said)
