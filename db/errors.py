"""Errors raised by the db package; callers catch :class:`DbError`."""

from __future__ import annotations


class DbError(Exception):
    """Root of every error the db package raises on purpose."""


class OffsetConflict(DbError):
    """A stored consumer offset is not the one the writer expected: another consumer owns the
    partition now (a zombie after a rebalance), so this batch must be rolled back."""

    def __init__(
        self, group_id: str, topic: str, partition: int, expected: int | None, found: int | None
    ) -> None:
        self.group_id = group_id
        self.topic = topic
        self.partition = partition
        self.expected = expected
        self.found = found
        super().__init__(
            f"offset fence: group {group_id!r}, {topic}[{partition}]: expected next_offset "
            f"{_show(expected)}, found {_show(found)}"
        )


class AlertNotFound(DbError, LookupError):
    def __init__(self, alert_id: str) -> None:
        self.alert_id = alert_id
        super().__init__(f"alert {alert_id!r} not found")


class DecisionConflict(DbError):
    """Someone decided on the alert since the analyst loaded it; nothing was overwritten."""

    def __init__(self, alert_id: str, expected: int, current: int, status: str) -> None:
        self.alert_id = alert_id
        self.expected = expected
        self.current = current
        self.status = status
        super().__init__(
            f"alert {alert_id!r} changed since it was read (row_version {expected} → "
            f"{current}, status now {status}); reload it and decide again"
        )


class RulesetNotFound(DbError, LookupError):
    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(f"rule set version {version} not found")


class RulesetConflict(DbError):
    """Two rule sets were published at the same time; the caller's one was not."""


class LoadError(DbError):
    """A dataset cannot be loaded; the message names the file or table."""


def _show(offset: int | None) -> str:
    return "none (no stored offset)" if offset is None else str(offset)
