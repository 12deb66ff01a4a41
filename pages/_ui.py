"""Shared UI helpers of the desk pages: the runtime, language, labels and the sidebar.

Pages import from here (``from pages._ui import runtime, t, sidebar, ...``); nothing here
holds business logic: that lives in ``desk``.  Any string that comes from data or users is
rendered with ``st.text``/``st.code``/dataframes, or passed through :func:`inert` first when
``st.markdown`` cannot be avoided.
"""

from __future__ import annotations

import functools
import html
import re
import weakref
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import pages._web as web
from desk import (
    AccountError,
    DatabaseError,
    DataGenError,
    Permission,
    Principal,
    Runtime,
    auth,
    formats,
    i18n,
    pipeline,
    studio,
)

PRINCIPAL_KEY = "principal"
_CHECKED_IN = "_principal_checked_in"  # (a weak reference to) the run that last checked
ASKED_FOR_KEY = "_asked_for"  # the URL the browser asked for before signing in
_COOKIE_TRIED = "_session_cookie_tried"
SIDEBAR_REFRESH_S = 5

# Okabe & Ito's colours (pages/_charts.OKABE_ITO): each stays distinct for colour-blind
# readers; one colour per status, and "investigating" is no longer a second red.
SEVERITY_COLOURS: dict[str, str] = {"HIGH": "#D55E00", "MEDIUM": "#E69F00", "LOW": "#F0E442"}
STATUS_COLOURS: dict[str, str] = {
    "PENDING_REVIEW": "#56B4E9",
    "INVESTIGATING": "#CC79A7",
    "APPROVED": "#009E73",
    "BLOCKED": "#D55E00",
}


# --------------------------------------------------------------------------- runtime


@st.cache_resource(show_spinner=False)
def runtime() -> Runtime:
    """The process-wide runtime (database, settings, detector thread); created once."""
    return Runtime.create()


# --------------------------------------------------------------------------- language


def lang() -> str:
    """The session's language; a new browser session (a reload, the sign-in's redirect)
    starts from the language cookie the switch leaves."""
    value = st.session_state.get("lang")
    if value not in i18n.LANGS:
        value = web.lang_cookie()
    return value if value in i18n.LANGS else i18n.DEFAULT_LANG


def t(key: str, **fmt: object) -> str:
    """:func:`desk.i18n.text` in the language this browser session chose."""
    return i18n.text(key, lang(), **fmt)


def num(value: float, digits: int = 0) -> str:
    """A number as the session's language writes it (7 530 / 7,530)."""
    return formats.number(value, lang(), digits)


def pct(share: float, digits: int = 1) -> str:
    """A share (0.031) as a percentage in the session's language (3,1 % / 3.1%)."""
    return formats.percent(share, lang(), digits)


def signed(text: str) -> str:
    """A formatted difference with its sign, "+" included (metric deltas)."""
    return text if text.startswith("-") else f"+{text}"


def day_short(value: date) -> str:
    """A day on a chart axis, without the year ("2 nov." / "2 Nov")."""
    return formats.day_short(value, lang())


def separators() -> str:
    """Plotly's decimal and group signs for the session's language."""
    return formats.plotly_separators(lang())


def day(value: date) -> str:
    return formats.day(value, lang())


def when(value: datetime, seconds: bool = False) -> str:
    """A date and time in the session's language (in the zone ``value`` is in)."""
    return formats.moment(value, lang(), seconds)


def picker_day() -> str:
    """``format`` of every ``st.date_input``: the session language's short date."""
    return formats.picker_day(lang())


def grid_time(seconds: bool = False) -> str:
    """``format`` of every ``DatetimeColumn``: the session language's date, 24-hour clock."""
    return formats.grid_moment(lang(), seconds)


def money(value: float | None) -> str:
    """An amount with two decimals as the session's language writes it ("1 000,00"), for a
    grid cell: Streamlit's number formats write a decimal point (printf) or follow the
    browser's language ("localized"), never the desk's.  A grid that sorts amounts keeps the
    number and shows this text over it (a Styler format, ``pages/_queue_live._styled``)."""
    return "" if value is None else formats.number(value, lang(), 2)


def share(value: float | None, digits: int = 1) -> str:
    """A share for a grid cell, as text for the reason :func:`money` gives (Streamlit's
    "percent" format follows the browser's language); "" for none (NaN included)."""
    return "" if value is None or pd.isna(value) else formats.percent(value, lang(), digits)


def form(key: str, *, clear_on_submit: bool = False) -> Any:
    """``st.form`` without Enter-to-submit: Streamlit writes "Press Enter to submit form"
    under every text field of a form that allows it, in English whatever the language."""
    return st.form(key, clear_on_submit=clear_on_submit, enter_to_submit=False)


def _label(family: str, value: str, code: str | None) -> str:
    """The label of a data value (``status.BLOCKED``), or the value itself when the catalogue
    has none (e.g. an empty status).  ``code``: bind the language when Streamlit calls a
    ``format_func`` later."""
    key = f"{family}.{value}"
    return i18n.text(key, code or lang()) if key in i18n.CATALOGUE else value


def status_label(status: str, code: str | None = None) -> str:
    return _label("status", status, code)


def severity_label(sev: str, code: str | None = None) -> str:
    return _label("severity", sev, code)


def state_label(state: str, code: str | None = None) -> str:
    """The detector's state (``running``, ``waiting_for_broker``...) in words."""
    return _label("state", state, code)


def source_label(source: str) -> str:
    """Where the detector reads: ``replay:demo`` → "rejeu de demo"; a broker's name as is."""
    kind, _, name = source.partition(":")
    if kind != "replay":
        return source
    return t("source.replay_of", name=name) if name else t("source.replay")


def rule_label(rule_id: str, code: str | None = None) -> str:
    return _label("rule", rule_id, code)


# --------------------------------------------------------------------------- who is signed in


def current_user(touch: bool = True) -> Principal | None:
    """The signed-in principal of this browser session, None once signed out or ended.

    Every refresh re-checks it against the database (:func:`auth.refresh`): a disabled
    account, a role or password change, a sign-out elsewhere or an expiry ends it here at the
    next run, fragments included.  After a reload the browser's session cookie (HttpOnly,
    read here, set by the web route of ``serve.py``) resumes it."""
    ss = st.session_state
    who = ss.get(PRINCIPAL_KEY)
    if not isinstance(who, Principal):
        who = _from_cookie()
        if who is None:
            return None
        ss[PRINCIPAL_KEY] = who
        return who
    run = _this_run()
    checked = ss.get(_CHECKED_IN)
    if run is not None and callable(checked) and checked() is run and not who.expired():
        # Already asked the database in this very run (app.py, then the page, the sidebar).
        who = who.touched() if touch else who
    else:
        try:
            who = auth.refresh(runtime(), who, touch)
        except auth.SessionEnded as exc:
            del ss[PRINCIPAL_KEY]
            ss["signed_out_expired" if exc.why == "expired" else "signed_out_ended"] = True
            return None
        except DatabaseError:
            return None  # cannot tell: nothing is shown this run; the next one asks again
        ss[_CHECKED_IN] = _ref(run)
    ss[PRINCIPAL_KEY] = who
    return who


def _this_run() -> object | None:
    """An object that exists once per script run, fragment runs included (Streamlit makes a
    new fragment coordinator for each); None when it cannot tell, and then every call
    checks.  A time-based shortcut instead would let a click right after a refresh through
    unchecked."""
    ctx = get_script_run_ctx()
    return getattr(ctx, "parallel_coordinator", None) if ctx is not None else None


def _ref(run: object | None) -> Callable[[], object | None] | None:
    if run is None:
        return None
    try:
        return weakref.ref(run)  # a weak one: a dead run's id could be reused by the next
    except TypeError:
        return None


def _from_cookie() -> Principal | None:
    raw = web.session_cookie()
    if not raw or st.session_state.get(_COOKIE_TRIED) == raw:
        return None
    st.session_state[_COOKIE_TRIED] = raw  # a dead cookie is looked up once, not every run
    rt = runtime()
    token = auth.cookie_token(
        web.cookie_secret(rt.settings.session_secret, rt.settings.data_dir), raw
    )
    if token is None:
        return None
    s = rt.settings
    try:
        return auth.resume(
            rt,
            token,
            idle=timedelta(minutes=s.session_idle_min),
            max_age=timedelta(hours=s.session_max_h),
        )
    except DatabaseError:
        return None


def require(permission: Permission) -> Principal:
    """The signed-in principal if it may ``permission`` (checked by the service layer against
    the database's current role), else a message and the end of this run."""
    who = current_user()
    try:
        return auth.authorize(runtime(), who, permission)
    except auth.Refused as exc:
        if who is None:
            ss = st.session_state
            if ss.get("signed_out_expired"):
                st.info(t("in.expired"))
            elif ss.get("signed_out_ended"):
                st.info(t("in.ended"))
            else:
                st.info(said(exc))
        else:
            st.error(t("in.refused", why=said(exc)))
        st.stop()
        raise  # st.stop() raises; this line only tells type checkers so


def refuse(permission: Permission) -> Callable[[], None]:
    """A page body that only says the signed-in user may not ``permission`` (and audits it)."""

    def body() -> None:
        require(permission)

    return body


def live(run_every: float) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """``st.fragment(run_every=...)`` that re-checks the session before each refresh: once
    the session has ended the whole app reruns (to the sign-in page) instead of the fragment
    showing more data."""

    def wrap(body: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(body)
        def checked() -> None:
            if current_user(touch=False) is None:
                if PRINCIPAL_KEY not in st.session_state:
                    st.rerun(scope="app")  # ended: the app shows the sign-in page
                return  # the database did not answer: skip this refresh, not the session
            body()

        return st.fragment(run_every=run_every)(checked)

    return wrap


def said(exc: Exception) -> str:
    """Why an action was refused or failed, in the session's language when the error says
    it with a catalogue key (account and sign-in errors, refusals, the studio's errors, a
    dataset that could not be read); else as it is."""
    if isinstance(exc, auth.Forbidden):
        who = exc.username + (f" ({t(f'role.{exc.role}')})" if exc.role else "")
        return t("in.forbidden", who=who, what=t(f"perm.{exc.permission.name}"))
    if isinstance(exc, studio.StudioError | DataGenError):
        return studio.error_text(exc, lang())
    key = getattr(exc, "key", "")
    return t(key, **getattr(exc, "fields", {})) if key else str(exc)


def refused(exc: auth.Refused) -> None:
    st.error(t("in.refused", why=said(exc)))


def sign_out() -> None:
    """End the session on the server (the cookie then opens nothing), forget this browser
    session's state, and let the browser drop its cookie (the sign-out route)."""
    who = current_user(touch=False)
    if who is not None:
        auth.sign_out(runtime(), who)
    keep = lang()  # everything else of the session goes: filters, notes, selections
    cookie = web.session_cookie()
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state["lang"] = keep
    st.session_state[_COOKIE_TRIED] = cookie  # revoked: not to be resumed in this session
    st.session_state[web.GO_KEY] = web.SIGN_OUT_PATH


# --------------------------------------------------------------------------- safe text

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:$>])")


def inert(text: object) -> str:
    """``text`` escaped so that ``st.markdown`` shows it literally: no markdown, no HTML, no
    Streamlit directives (``:red[...]``, ``:material/...:``), no LaTeX, single line."""
    s = " ".join(str(text).split())
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return html.escape(s, quote=True)


# --------------------------------------------------------------------------- state

WIDGET_PREFIX = "_w_"
GEN_PREFIX = "_gen_"


def init_state(defaults: Mapping[str, Any]) -> None:
    """Give each key its default unless the session already has a value."""
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def widget_key(key: str, per_lang: bool = False) -> str:
    """The key of the widget :func:`bind` binds to ``key`` (it changes with :func:`renew`)."""
    wkey = WIDGET_PREFIX + key
    if per_lang:
        wkey += f".{lang()}"
    gen = st.session_state.get(GEN_PREFIX + key, 0)
    return f"{wkey}#{gen}" if gen else wkey


def bind(
    key: str, then: Callable[[], None] | None = None, *, per_lang: bool = False
) -> dict[str, Any]:
    """Widget kwargs that keep a widget's value in ``st.session_state[key]``, a plain key
    that survives fragment refreshes, page switches and widget re-creation (Streamlit drops
    the state of widgets that are not rendered).  Pass the widget its value from
    ``st.session_state[key]``; ``then`` runs after the copy (e.g. reset the page number).

    ``per_lang=True`` for option widgets whose ``format_func`` depends on the language:
    Streamlit keeps their state as the formatted label, so a language switch must start a
    new widget (initialised from ``st.session_state[key]``)."""
    wkey = widget_key(key, per_lang)
    return {"key": wkey, "on_change": _set_from_widget, "args": (key, wkey, then)}


def renew(key: str, value: Any) -> None:
    """Set ``key`` from code (a callback, or the script before the widget is drawn): the
    bound widget is re-created under a new key and shows ``value``.  Setting a widget's own
    state instead would leave the browser showing the old value for some widgets and make
    Streamlit warn about a value set twice."""
    st.session_state[key] = value
    st.session_state[GEN_PREFIX + key] = st.session_state.get(GEN_PREFIX + key, 0) + 1


def reset_state(defaults: Mapping[str, Any]) -> None:
    """Put bound keys back to their defaults (their widgets are re-created)."""
    for key, value in defaults.items():
        renew(key, value)


def _set_from_widget(target: str, widget_key: str, then: Callable[[], None] | None = None) -> None:
    st.session_state[target] = st.session_state[widget_key]
    if then is not None:
        then()


# --------------------------------------------------------------------------- sidebar


def _sidebar_rendered_this_run() -> bool:
    ctx = get_script_run_ctx()
    keys = getattr(getattr(ctx, "shared", None), "widget_user_keys_this_run", None)
    try:
        return keys is not None and WIDGET_PREFIX + "lang" in keys
    except TypeError:
        return False


# Streamlit writes some words itself, in English whatever the language, with no option to
# change them; scoped CSS (by the test ids Streamlit gives these elements) hides or replaces
# them, and nothing else.
# - "Press Enter to apply" (text fields) and "Press Ctrl+Enter to apply" (text areas) under a
#   field being edited outside a form (forms: see :func:`form`): a field applies on Enter or
#   when it loses focus, so the hint is hidden rather than left in the other language.
# - A select box's or multiselect's "No results" (typed text matching no option): the
#   catalogue's words are drawn in its place.
# - The file uploader's "Upload" button, "Drag and drop a file here" (while a file is dragged
#   over it) and "200MB per file • ZIP": the first two say the catalogue's words, the limit
#   and type are in the uploader's own label.
_QUIET_STREAMLIT = (
    "[data-testid='InputInstructions']"
    ":not([data-testid='stForm'] [data-testid='InputInstructions']){display:none}"
    ":is([data-testid='stMultiSelectDropdown'],[data-testid='stSelectboxVirtualDropdown'])"
    " [role='listbox'][data-empty='true'] [role='option']>span{font-size:0}"
    ":is([data-testid='stMultiSelectDropdown'],[data-testid='stSelectboxVirtualDropdown'])"
    " [role='listbox'][data-empty='true'] [role='option']>span::after"
    "{content:%(no_results)s;font-size:0.875rem}"
    "[data-testid='stFileUploaderDropzoneInstructions']{display:none}"
    "[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer']>p"
    "{display:none}"
    "[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer']::after"
    "{content:%(browse)s}"
    "[data-testid='stFileUploaderDropzone']>div:not([data-testid])>span{font-size:0}"
    "[data-testid='stFileUploaderDropzone']>div:not([data-testid])>span::after"
    "{content:%(drop)s;font-size:0.875rem}"
)


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (for ``content``)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def quiet_streamlit() -> str:
    """The style sheet that keeps Streamlit's own English off the page, in the session's
    language (see ``_QUIET_STREAMLIT``)."""
    words = {
        "no_results": t("ui.no_results"),
        "browse": t("ui.browse_file"),
        "drop": t("ui.drop_file"),
    }
    css = _QUIET_STREAMLIT % {k: _css_string(v) for k, v in words.items()}
    return f"<style>{css}</style>"


def sidebar() -> None:
    """Language switch, the signed-in account and live service status (refreshes on its own).

    Idempotent within a run: ``app.py`` renders it, and a page may call it too (so the page
    also works on its own, e.g. under ``AppTest.from_file``)."""
    if _sidebar_rendered_this_run():
        return
    st.html(quiet_streamlit())
    with st.sidebar:
        current = lang()
        st.session_state.setdefault("lang", current)
        st.radio(
            t("sidebar.language"),
            options=list(i18n.LANGS),
            index=i18n.LANGS.index(current),
            format_func=lambda code: code.upper(),
            horizontal=True,
            **bind("lang", then=_lang_changed),
        )
        if st.session_state.pop(_LANG_CHANGED, False):
            web.remember_lang(lang())
        if current_user(touch=False) is None:
            return  # signed out: the language only, nothing about the services
        _account_menu()
        st.divider()
        _service_status()


_LANG_CHANGED = "_lang_changed"


def _lang_changed() -> None:
    st.session_state[_LANG_CHANGED] = True


def _account_menu() -> None:
    who = current_user(touch=False)
    if who is None:
        return
    st.caption(t("me.signed_in", name=inert(who.username), role=t(f"role.{who.role}")))
    # One button a line, full width: side by side, the sidebar cuts their labels.
    if st.button(t("me.sign_out"), key="me_sign_out", icon=":material/logout:", width="stretch"):
        sign_out()
        st.rerun()
    with (
        st.popover(t("in.password"), icon=":material/key:", width="stretch"),
        form("me_password", clear_on_submit=True),
    ):
        current = st.text_input(t("me.current"), type="password", max_chars=256, key="me_current")
        new = st.text_input(t("me.new"), type="password", max_chars=256, key="me_new")
        again = st.text_input(t("me.again"), type="password", max_chars=256, key="me_again")
        if st.form_submit_button(t("me.save")):
            if new != again:
                st.error(t("me.mismatch"))
            else:
                try:
                    auth.change_own_password(runtime(), who, current, new)
                    st.success(t("me.changed"))
                except (auth.Refused, AccountError) as exc:
                    st.error(said(exc))


@live(SIDEBAR_REFRESH_S)
def _service_status() -> None:
    # Live refreshes are not activity: they check the session without extending it.
    rt = runtime()
    snap = rt.snapshot()
    pipeline.record_sample(rt, snap)
    h = pipeline.runtime_health(rt)
    st.caption(t("sidebar.services"))
    rows: list[tuple[str, str]] = [
        (t("sidebar.database"), t("ok") if h.database_ok else t("error")),
    ]
    if h.broker_ok is None:
        rows.append((t("sidebar.broker"), t("sidebar.embedded")))
    else:
        state = t("sidebar.reachable") if h.broker_ok else t("sidebar.unreachable")
        rows.append((t("sidebar.broker"), f"{h.broker} ({state})"))
    rows.append((t("sidebar.detector"), state_label(snap.state)))
    rows.append((t("sidebar.events_s"), num(snap.events_per_s)))
    rows.append((t("sidebar.lag"), num(snap.total_lag)))
    running = snap.state == "running"
    rows.append((t("sidebar.ruleset"), _ruleset_text(rt, snap.ruleset_version if running else "")))
    st.text("\n".join(t("sidebar.line", label=k, value=v) for k, v in rows))
    if not h.database_ok:
        st.code(h.database_error, language=None, wrap_lines=True)
    if h.broker_error:
        st.code(h.broker_error, language=None, wrap_lines=True)
    if snap.last_error:
        when = datetime.fromtimestamp(snap.last_error_at).strftime("%H:%M:%S")
        st.caption(f"{t('sidebar.last_error')} ({when})")
        st.code(snap.last_error, language=None, wrap_lines=True)


def _ruleset_text(rt: Runtime, detector_version: str) -> str:
    """The published active version, and the running detector's one while it switches (it
    checks every half second, idle or not)."""
    info = pipeline.active_ruleset(rt)  # None also when the database is down (said above)
    published = f"v{info.version}" if info is not None else "-"
    if detector_version and info is not None and detector_version != str(info.version):
        return t("sidebar.ruleset_switching", published=published, old=detector_version)
    return published
