"""The queue's selection value: one source for the grid, the picker and the detail."""

from __future__ import annotations

from desk.selection import Selection

V = {"A": 1, "B": 1, "C": 3, "D": 1}


def test_the_newest_addition_is_shown_and_versions_are_those_seen() -> None:
    s = Selection().with_ids(["A"], V).with_ids(["A", "C"], V)
    assert (s.ids, s.focus, s.seen()) == (("A", "C"), "C", [("A", 1), ("C", 3)])
    assert s.generation == 2


def test_removing_the_shown_alert_shows_another_selected_one_or_none() -> None:
    s = Selection().with_ids(["A", "B"], V)
    assert s.with_ids(["A"], V).focus == "A"
    assert s.focus_on("A").with_ids(["A"], V).focus == "A"
    assert s.with_ids([], V).focus is None


def test_a_grid_replaces_only_the_rows_it_shows() -> None:
    s = Selection().with_ids(["D"], V)  # D is on another page
    s = s.from_grid(("A", "B", "C"), [0, 2], V)
    assert s.ids == ("D", "A", "C") and s.focus == "C"
    s = s.from_grid(("A", "B", "C"), [2], V)  # A unticked
    assert s.ids == ("D", "C") and s.focus == "C"
    assert s.from_grid(("A", "B", "C"), [7, -1], V).ids == ("D",)  # positions out of range


def test_removed_alerts_never_keep_a_version() -> None:
    s = Selection().with_ids(["A"], V).with_ids([], V).with_ids(["B"], V)
    assert s.ids == ("B",) and s.version("A") is None and s.focus == "B"


def test_focus_only_on_a_selected_alert() -> None:
    s = Selection().with_ids(["A", "B"], V)
    assert s.focus_on("Z") is s
    moved = s.focus_on("A")
    assert moved.focus == "A" and moved.ids == s.ids and moved.generation == s.generation + 1


def test_a_link_opens_one_alert_and_decisions_update_versions() -> None:
    s = Selection().with_ids(["A", "B"], V).opened("C", 3)
    assert (s.ids, s.focus, s.seen()) == (("C",), "C", [("C", 3)])
    s = s.decided({"C": 4, "Z": 9})
    assert s.seen() == [("C", 4)]


def test_dropped_alerts_leave_with_a_notice() -> None:
    s = Selection().with_ids(["A", "B"], V)
    d = s.dropped(["B"], "queue.gone")
    assert (d.ids, d.focus, d.notice) == (("A",), "A", "queue.gone")
    assert s.dropped(["Z"]) is s
