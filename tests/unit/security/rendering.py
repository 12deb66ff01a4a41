"""What the hostile-rendering tests look at: everything a page passed through Streamlit's
markdown renderer (must hold no payload un-escaped) and everything it showed as plain text."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.unit.security.payloads import CHART_RENDERED, MARKUP, RENDERED

EVIL = " | ".join(MARKUP)  # every payload in one value


def markdown_bodies(at: AppTest) -> list[str]:
    """Everything the page passed through Streamlit's markdown renderer."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "title", "header",
             "subheader", "expander", "metric", "tabs", "toast")  # fmt: skip
    out: list[str] = []
    for kind in kinds:
        for el in getattr(at, kind):
            for attr in ("value", "label", "body"):
                v = getattr(el, attr, None)
                if isinstance(v, str):
                    out.append(v)
    for side in (at.sidebar.markdown, at.sidebar.caption):
        out += [el.value for el in side]
    return out


def plain_text(at: AppTest) -> str:
    """Everything shown as plain text: text, code and the cells of every table."""
    parts = [el.value for el in (*at.text, *at.code, *at.sidebar.code, *at.sidebar.text)]
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    for box in at.multiselect:
        parts += [str(o) for o in box.options]
    return "\n".join(str(p) for p in parts)


def assert_inert(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    for body in markdown_bodies(at):
        for marker in RENDERED:
            assert marker not in body, (marker, body)


def _elements(node: Any) -> list[Any]:
    out = [node]
    for child in getattr(node, "children", {}).values():
        out += _elements(child)
    return out


def chart_texts(at: AppTest) -> list[str]:
    """Every string in every Plotly figure of the page (labels, categories, hover text)."""
    out: list[str] = []

    def strings(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                strings(v)
        elif isinstance(value, list):
            for v in value:
                strings(v)

    for el in _elements(at.main):
        if getattr(el, "type", None) == "plotly_chart":
            strings(json.loads(el.proto.spec))
    return out


def assert_charts_inert(at: AppTest) -> None:
    for label in chart_texts(at):
        for marker in CHART_RENDERED:
            assert marker not in label, (marker, label)
