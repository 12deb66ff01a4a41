"""The dataset picker the queue, insights and pipeline pages share: which dataset's alerts
they show.  One choice for the session (``st.session_state["ds_view"]``); until the user
picks one, it follows the default (the live stream, else the dataset replayed, else the
latest scored), so a new replay shows up without a click.

A chosen dataset is in the address too (``?dataset=shop-a``), on whichever of those pages
shows it: a reload, a shared link or a bookmark opens the page on it (after sign-in: the
sign-in keeps the query string), and a page reached from another one writes it again."""

from __future__ import annotations

import functools

import streamlit as st

from desk import datasets, i18n
from pages._ui import bind, lang, renew, runtime, t

VIEW = "ds_view"
PINNED = "ds_pinned"  # the user chose: the default no longer moves the picker
PARAM = "dataset"  # the address's ?dataset=
URL_SEEN = "ds_url"  # the ?dataset= value last opened or written


@st.cache_data(ttl=3, show_spinner=False)
def choices(db_url: str) -> tuple[datasets.AlertDataset, ...]:
    return datasets.load_alert_datasets(runtime())


def label(name: str, code: str) -> str:
    if name == datasets.LIVE_DATASET:
        return i18n.text("ds.live", code)
    if name == datasets.UNATTRIBUTED_DATASET:
        return i18n.text("ds.unattributed", code)
    return name


def _option(counts: dict[str, int], code: str, name: str) -> str:
    return i18n.text("ds.option", code, name=label(name, code), n=f"{counts.get(name, 0):,}")


def _pinned() -> None:
    st.session_state[PINNED] = True


def current() -> str | None:
    """The dataset the pages show now (without drawing the picker)."""
    got = choices(runtime().settings.db_url)
    names = [d.name for d in got]
    ss = st.session_state
    if ss.get(PINNED) and ss.get(VIEW) in names:
        return str(ss[VIEW])
    return datasets.page_default(runtime(), got)


def show_dataset(name: str | None) -> None:
    """Show ``name`` from now on, as if the user had picked it (a link to one of its alerts)."""
    if name is not None:
        renew(VIEW, name)
        st.session_state[PINNED] = True


def _open_from_link(names: list[str]) -> None:
    """A link (or a reload) naming a dataset shows it, once: a later pick is written back to
    the address rather than undone by it.  A name without alerts is left to the default."""
    wanted = st.query_params.get(PARAM)
    if not wanted or wanted == st.session_state.get(URL_SEEN):
        return
    st.session_state[URL_SEEN] = wanted
    if wanted in names:
        show_dataset(wanted)


def _write_link(shown: str) -> None:
    """The address names the dataset the user chose (none while the default is shown: a
    link then follows the default too)."""
    value = shown if st.session_state.get(PINNED) else None
    if st.query_params.get(PARAM) != value:
        if value is None:
            st.query_params.pop(PARAM, None)
        else:
            st.query_params[PARAM] = value
    st.session_state[URL_SEEN] = value


def picker(then: object = None) -> str | None:
    """Draw the picker (nothing when no alert exists) and return the dataset shown."""
    got = choices(runtime().settings.db_url)
    _open_from_link([d.name for d in got])
    want = current()
    if want is None:
        return None
    _write_link(want)
    if st.session_state.get(VIEW) != want:
        renew(VIEW, want)
    names = [d.name for d in got]
    counts = {d.name: d.alerts for d in got}

    def chosen() -> None:
        _pinned()
        if callable(then):
            then()

    st.selectbox(
        t("st.dataset"),
        names,
        index=names.index(want),
        format_func=functools.partial(_option, counts, lang()),
        help=t("ds.pick_help"),
        **bind(VIEW, chosen, per_lang=True),
    )
    return want
