"""The alert queue's detail panel and its decisions.

A decision button is drawn for one alert at one row version: its key and its label carry
both, so a click always means the alert the user saw (a click on a button the panel no longer
draws does nothing).  Re-deciding an alert already approved or blocked, and every bulk action,
first opens a dialog naming what will change.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from desk import Refused, words
from desk import queue as q
from pages._queue_live import SEL, selection
from pages._ui import (
    bind,
    current_user,
    inert,
    lang,
    renew,
    rule_label,
    runtime,
    said,
    status_label,
    t,
    widget_key,
)

ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("APPROVE", "queue.approve", "✅"),
    ("BLOCK", "queue.block", "⛔"),
    ("INVESTIGATE", "queue.investigate", "🔎"),
)
DECIDED = ("APPROVED", "BLOCKED")
# The audit trail's actions in words; any other (a lost race) reads as a conflict.
DECISION_LABELS = {action: key for action, key, _ in ACTIONS}
FLASH = "q_flash"
# (kind, action, ((id, version), ...), how many already decided, target) awaiting a yes
CONFIRM = "q_confirm"


def _label(action: str) -> str:
    return t(next(k for a, k, _ in ACTIONS if a == action))


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def _note(key: str) -> str:
    return str(st.session_state.get(widget_key(key), st.session_state.get(key, "")))


def _decide(seen: list[tuple[str, int]], action: str, note_key: str) -> None:
    """Decide ``seen`` exactly (ids at the versions shown) and keep the report for the place
    where the user acted."""
    try:
        result = q.decide_many(runtime(), seen, action, current_user(), _note(note_key))  # type: ignore[arg-type]
    except Refused as exc:
        st.session_state[FLASH] = [("error", inert(said(exc)))]
        return
    st.session_state[FLASH] = _messages(result)
    if result.updated:
        renew(note_key, "")
        st.session_state[SEL] = selection().decided(q.load_versions(runtime(), result.updated))
    st.cache_data.clear()


def _on_action(alert_id: str, version: int, action: str, decided: bool) -> None:
    """A decision button's callback: its arguments are the alert and version it was drawn
    for, whatever the panel shows by the time the click arrives (a stale version is then a
    conflict, reported, never an overwrite)."""
    if decided:
        st.session_state[CONFIRM] = ("redecide", action, ((alert_id, version),), 0, alert_id)
    else:
        _decide([(alert_id, version)], action, "q_note")


def _messages(result: q.ActionResult) -> list[tuple[str, str]]:
    msgs: list[tuple[str, str]] = []
    if result.updated:
        ids = ", ".join(result.updated[:10]) + (" …" if len(result.updated) > 10 else "")
        done = t("queue.done", action=_label(result.action), n=len(result.updated))
        msgs.append(("success", f"{done} {inert(ids)}"))
    if len(result.conflicts) == 1 and not result.updated:
        c = result.conflicts[0]
        msgs.append(
            (
                "error",
                t(
                    "queue.conflict",
                    alert_id=inert(c.alert_id),
                    status=status_label(c.status),
                    actor=inert(c.actor),
                ),
            )
        )
    elif result.conflicts:
        ids = ", ".join(c.alert_id for c in result.conflicts[:20])
        msgs.append(("error", f"{t('queue.conflicts', n=len(result.conflicts))} {inert(ids)}"))
    msgs += [("warning", t("queue.not_found", alert_id=inert(a))) for a in result.missing]
    msgs += [("error", inert(err)) for err in result.errors]
    return msgs


def _show_flash() -> None:
    """Feedback where the user acted: under the buttons, and as a toast."""
    for level, text in st.session_state.pop(FLASH, []):
        getattr(st, level)(text)
        st.toast(text, icon="✅" if level == "success" else "⚠️")


def _redecide(action: str, seen: tuple[tuple[str, int], ...], _decided: int, _target: str) -> None:
    ((alert_id, _seen_version),) = seen
    detail = q.load_detail(runtime(), alert_id)
    if detail is None:
        st.warning(t("queue.no_such", alert_id=inert(alert_id)))
        return
    last = next((d for d in reversed(detail.decisions) if d.to_status in DECIDED), None)
    st.warning(
        t(
            "queue.redecide",
            alert_id=inert(alert_id),
            status=status_label(str(detail.fields["status"])),
            actor=inert(last.actor if last else detail.fields["decided_by"] or "?"),
            at=_fmt(last.at if last else detail.fields["decided_at"]),
            action=_label(action),
        )
    )
    note = last.note if last else detail.fields["notes"]
    if note:
        st.caption(t("queue.previous_note"))
        st.text(note)
    _confirm_buttons(list(seen), action, "q_note", "q_redecide")


def _bulk(action: str, seen: tuple[tuple[str, int], ...], decided: int, target: str) -> None:
    if not seen:
        st.info(t("queue.no_open", what=inert(target)) if target else t("queue.bulk_none"))
        _confirm_buttons([], action, "q_bulk_note", "q_bulk_confirm")
        return
    st.markdown(t("queue.bulk_confirm", action=_label(action), n=len(seen)))
    st.code("\n".join(a for a, _ in seen), language=None, height=min(40 + 22 * len(seen), 260))
    if decided:
        st.warning(t("queue.bulk_decided", n=decided))
    _confirm_buttons(list(seen), action, "q_bulk_note", "q_bulk_confirm")


def _confirm_buttons(seen: list[tuple[str, int]], action: str, note_key: str, key: str) -> None:
    c1, c2 = st.columns(2)
    if seen and c1.button(
        t("queue.confirm", action=_label(action)),
        key=f"{key}_{action}",
        type="primary",
        width="stretch",
    ):
        st.session_state.pop(CONFIRM, None)
        _decide(seen, action, note_key)
        st.rerun()
    if c2.button(t("queue.cancel"), key=f"{key}_cancel", width="stretch"):
        st.session_state.pop(CONFIRM, None)
        st.rerun()


def _dismissed() -> None:
    st.session_state.pop(CONFIRM, None)


def _confirmation() -> None:
    """The decision awaiting a yes, in a dialog, until it is confirmed, cancelled or closed
    (kept in the session so that a rerun meanwhile does not lose it)."""
    pending = st.session_state.get(CONFIRM)
    if pending is None:
        return
    kind, action, seen, decided, target = pending
    body, title = (
        (_redecide, "queue.redecide_title") if kind == "redecide" else (_bulk, "queue.bulk_title")
    )
    st.dialog(t(title), width="medium", on_dismiss=_dismissed)(body)(action, seen, decided, target)


def actions(detail: q.AlertDetail) -> None:
    alert_id, version = detail.alert_id, detail.row_version
    status = str(detail.fields["status"])
    st.markdown(f"**{t('queue.actions')}**")
    st.caption(
        t(
            "queue.deciding_on",
            alert_id=inert(alert_id),
            status=status_label(status),
            version=version,
        )
    )
    st.text_area(t("queue.note"), value=st.session_state["q_note"], height=80, **bind("q_note"))
    for action, key, icon in ACTIONS:
        st.button(
            f"{icon} {t('queue.act', action=t(key), alert_id=alert_id)}",
            key=f"q_act_{action}_{alert_id}_{version}",
            on_click=_on_action,
            args=(alert_id, version, action, status in DECIDED),
            type="primary" if action == "BLOCK" else "secondary",
            width="stretch",
        )
    _confirmation()
    _show_flash()
    with st.expander(t("queue.bulk")):
        _bulk_ui(detail)


def _bulk_ui(detail: q.AlertDetail) -> None:
    ss = st.session_state
    st.text_area(t("queue.bulk_note"), value=ss["q_bulk_note"], height=68, **bind("q_bulk_note"))
    sel = selection()
    targets: list[tuple[str, str, str]] = [("sel", t("queue.bulk_selected", n=len(sel.ids)), "")]
    for what, value, label in (
        ("customer", detail.fields["customer_id"], "queue.bulk_customer"),
        ("device", detail.fields["device_id"] or "", "queue.bulk_device"),
    ):
        wkey = f"q_bulk_{what}_{detail.alert_id}"
        targets.append((what, "", st.text_input(t(label), value=value, key=wkey).strip()))
    for what, caption, value in targets:
        if caption:
            st.caption(caption)
        cols = st.columns(len(ACTIONS))
        for col, (action, key, icon) in zip(cols, ACTIONS, strict=True):
            col.button(
                f"{icon} {t(key)}",
                key=f"q_bulk_{what}_{action}",
                on_click=_on_bulk,
                args=(what, value, action),
                disabled=not sel.ids if what == "sel" else not value,
                width="stretch",
            )


def _on_bulk(what: str, value: str, action: str) -> None:
    """List what a bulk action would change (ids at their current versions): the dialog
    shows exactly that list and a confirmation decides exactly it."""
    if what == "sel":
        seen, decided = q.bulk_preview(runtime(), selection().seen())
    elif what == "customer":
        seen, decided = q.bulk_preview(runtime(), customer_id=value)
    else:
        seen, decided = q.bulk_preview(runtime(), device_id=value)
    st.session_state[CONFIRM] = ("bulk", action, seen, decided, value)


def detail_panel() -> None:
    sel = selection()
    st.subheader(t("queue.detail"))
    if sel.notice:
        st.info(t(sel.notice))
    if sel.focus is None:
        st.info(t("queue.pick_one"))
        return
    if len(sel.ids) > 1:
        key = f"q_focus_{sel.generation}"
        st.selectbox(
            t("queue.open"),
            sel.ids,
            index=sel.ids.index(sel.focus),
            key=key,
            on_change=lambda: _focus(key),
        )
    view = q.load_alert(runtime(), sel.focus)
    if view is None:
        st.session_state[SEL] = sel.dropped([sel.focus], "queue.gone")
        st.rerun()
    _body(view)


def _focus(key: str) -> None:
    st.session_state[SEL] = selection().focus_on(st.session_state[key])


def _table(rows: list[dict[str, Any]], empty: str) -> None:
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder="")
    else:
        st.caption(empty)


def _body(view: q.AlertView) -> None:
    detail, history = view.detail, view.history
    f = detail.fields
    if f.get("unknown_customer"):
        st.warning(t("queue.unknown_customer", customer=inert(f["customer_id"])))
    left, right = st.columns([1, 1])
    with left:
        st.dataframe(
            pd.DataFrame(
                {
                    t("field"): [words.field_label(k, lang()) for k in f],
                    t("value"): [words.value_text(k, v, lang()) for k, v in f.items()],
                }
            ),
            hide_index=True,
            placeholder="",
            height=35 * (len(f) + 1) + 3,
        )
    with right:
        st.markdown(f"**{t('queue.breakdown')}** — {f['score']} pts")
        fr = lang() == "fr"
        st.dataframe(
            pd.DataFrame(
                {
                    t("ax.rule"): [rule_label(r.rule_id) for r in detail.reasons],
                    t("queue.points"): [r.points for r in detail.reasons],
                    t("queue.measured"): [
                        words.fields_text(r.values, lang()) for r in detail.reasons
                    ],
                    t("queue.detail_col"): [
                        r.detail_fr if fr else r.detail_en for r in detail.reasons
                    ],
                }
            ),
            hide_index=True,
            placeholder="",
        )
        actions(detail)
    st.markdown(f"**{t('queue.audit')}**")
    _table(
        [
            {
                t("au.col.at"): _fmt(d.at),
                t("au.actor"): d.actor,
                t("au.action"): t(DECISION_LABELS.get(d.action, "queue.h.conflict")),
                t("queue.h.from"): status_label(d.from_status or ""),
                t("queue.h.to"): status_label(d.to_status or ""),
                t("queue.note"): d.note or "",
            }
            for d in detail.decisions
        ],
        t("queue.no_audit"),
    )
    h1, h2 = st.columns(2)
    with h1:
        st.markdown(f"**{t('queue.history')}: {t('queue.payments')}**")
        _table(
            [
                {
                    t("col.payment"): p.payment_id,
                    t("col.time"): _fmt(p.attempt_ts),
                    t("col.amount"): p.amount,
                    t("queue.h.currency"): p.currency or "",
                    t("ax.method"): p.method or "",
                    t("queue.h.result"): words.value_text("result", p.result, lang()),
                    t("ax.country"): p.country or "",
                    t("ax.device"): p.device or "",
                }
                for p in history.payments
            ],
            t("queue.no_payments"),
        )
    with h2:
        st.markdown(f"**{t('queue.earlier_alerts')}**")
        _table(
            [
                {
                    t("queue.col.id"): a.alert_id,
                    t("col.time"): _fmt(a.event_ts),
                    t("queue.col.score"): a.score,
                    t("queue.status"): status_label(a.status),
                    t("queue.h.decided_by"): a.decided_by or "",
                }
                for a in history.alerts
            ],
            t("queue.no_earlier"),
        )
    _timeline(view.timeline)


def _timeline(tl: q.SessionTimeline | None) -> None:
    st.markdown(f"**{t('queue.timeline')}**")
    if tl is None:
        st.info(t("queue.no_session"))
        return
    if not tl.has_clickstream:
        st.info(t("queue.no_clickstream"))
    if tl.problem:
        st.code(tl.problem, language=None, wrap_lines=True)
    if tl.events:
        _table(
            [
                {
                    t("col.time"): _fmt(e.ts),
                    t("queue.h.kind"): words.value_text("kind", e.kind, lang()),
                    t("queue.detail_col"): words.fields_text(e.detail, lang()),
                }
                for e in tl.events
            ],
            "",
        )
