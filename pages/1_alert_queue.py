"""Alert queue: live cards and table, filters, one alert's detail and the analyst's actions.

State that must survive the live refresh (filters, page, notes) lives in plain
``st.session_state`` keys (``q_*``) bound to widgets with ``_ui.bind``; the selection is one
:class:`~desk.selection.Selection` (``pages._queue_live``); the detail and the decisions
are in ``pages._queue_detail``.  A link ``?alert=ALT-…`` opens that alert.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from desk import Permission, datasets
from desk import queue as q
from pages._datasets import picker, show_dataset
from pages._queue_detail import detail_panel
from pages._queue_live import (
    FILTER_DEFAULTS,
    SEL,
    facets,
    filters_ui,
    live_queue,
    overview,
    selection,
)
from pages._ui import inert, init_state, renew, require, runtime, sidebar, t

STATE_DEFAULTS: dict[str, Any] = {
    **FILTER_DEFAULTS,
    "q_sort": "score_desc",
    "q_page": 1,
    "q_note": "",
    "q_bulk_note": "",
}
URL_SEEN = "q_url_alert"  # the ?alert= value last opened or written


def _open_from_link() -> None:
    """A link (or a reload) naming an alert opens it, once; later changes of selection are
    written back to the address bar so a reload shows the same alert."""
    wanted = st.query_params.get("alert")
    if not wanted or wanted == st.session_state.get(URL_SEEN):
        return
    st.session_state[URL_SEEN] = wanted
    if wanted == selection().focus:
        return
    version = q.load_versions(runtime(), [wanted]).get(wanted)
    if version is None:
        st.warning(t("queue.no_such", alert_id=inert(wanted)))
        return
    st.session_state[SEL] = selection().opened(wanted, version)
    show_dataset(datasets.dataset_of(runtime(), wanted))  # the queue around it is its own


def _write_link() -> None:
    focus = selection().focus
    if st.query_params.get("alert") != focus:
        if focus is None:
            st.query_params.pop("alert", None)
        else:
            st.query_params["alert"] = focus
    st.session_state[URL_SEEN] = focus


sidebar()
require(Permission.READ_QUEUE)
init_state(STATE_DEFAULTS)
st.session_state.pop("q_rerun_app", None)  # a full run already refreshes everything
st.title(t("nav.queue"))
_open_from_link()
_url = runtime().settings.db_url
filters_ui(facets(_url, overview(_url, picker(then=lambda: renew("q_page", 1)))))
live_queue()
st.divider()
detail_panel()
_write_link()
