"""The alert queue's selection: which alerts are ticked and which one the detail shows.

One value holds all of it, so the grid's ticks, the id picker and the detail panel are drawn
from the same thing and cannot disagree.  Every change makes a new value with a new
``generation``; the widgets that show a selection are keyed by it, and an event from a widget
drawn for an older generation (a grid the user saw before a refresh or another change) is
ignored instead of being applied to the current selection.  Alerts are named by id, with the
``row_version`` seen when they were picked, never by row position.  No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Selection:
    ids: tuple[str, ...] = ()
    # alert id -> row_version when it was picked (or last decided here)
    versions: tuple[tuple[str, int], ...] = ()
    focus: str | None = None  # the alert the detail shows; always one of ``ids`` or None
    generation: int = 0
    # Why the selection was emptied by the app rather than by the user, for a plain message.
    notice: str = field(default="", compare=False)

    def version(self, alert_id: str) -> int | None:
        return dict(self.versions).get(alert_id)

    def seen(self) -> list[tuple[str, int]]:
        """``(alert_id, row_version seen)`` for every selected alert whose version is known."""
        known = dict(self.versions)
        return [(a, known[a]) for a in self.ids if a in known]

    def with_ids(self, ids: Iterable[str], versions: Mapping[str, int]) -> Selection:
        """The user made ``ids`` the selection (``versions``: the rows they saw).  The newest
        addition becomes the alert shown; otherwise the shown one stays while still selected,
        else the last selected one."""
        new = tuple(dict.fromkeys(ids))
        known = dict(self.versions)
        for alert_id in new:
            if alert_id not in known and alert_id in versions:
                known[alert_id] = int(versions[alert_id])
        added = [a for a in new if a not in self.ids]
        if added:
            focus: str | None = added[-1]
        elif self.focus in new:
            focus = self.focus
        else:
            focus = new[-1] if new else None
        return Selection(
            ids=new,
            versions=tuple((a, known[a]) for a in new if a in known),
            focus=focus,
            generation=self.generation + 1,
        )

    def from_grid(
        self, shown: Iterable[str], ticked: Iterable[int], versions: Mapping[str, int]
    ) -> Selection:
        """The grid showing ``shown`` (in row order) now has rows ``ticked``: alerts of other
        pages stay selected, the shown ones are exactly the ticked ones."""
        rows = tuple(shown)
        picked = [rows[i] for i in sorted(set(ticked)) if 0 <= i < len(rows)]
        keep = [a for a in self.ids if a not in rows or a in picked]
        keep += [a for a in picked if a not in keep]
        return self.with_ids(keep, versions)

    def focus_on(self, alert_id: str) -> Selection:
        if alert_id not in self.ids or alert_id == self.focus:
            return self
        return replace(self, focus=alert_id, generation=self.generation + 1, notice="")

    def opened(self, alert_id: str, version: int) -> Selection:
        """Open one alert alone (a link ``?alert=ALT-…``)."""
        return Selection((alert_id,), ((alert_id, int(version)),), alert_id, self.generation + 1)

    def decided(self, new_versions: Mapping[str, int]) -> Selection:
        """After a decision made here: the next one starts from the versions now stored."""
        if not new_versions:
            return self
        known = dict(self.versions) | {a: int(v) for a, v in new_versions.items()}
        return replace(
            self,
            versions=tuple((a, known[a]) for a in self.ids if a in known),
            generation=self.generation + 1,
        )

    def dropped(self, gone: Iterable[str], notice: str = "") -> Selection:
        """Alerts that no longer exist (a dataset was cleared) leave the selection."""
        out = set(gone)
        if not out & set(self.ids):
            return self
        cleared = self.with_ids([a for a in self.ids if a not in out], {})
        return replace(cleared, notice=notice)
