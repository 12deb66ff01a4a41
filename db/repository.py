"""The storage functions the detector service and the desk call; one import for all of them.

Every function takes a ``Session`` and works in its transaction: the caller commits (except
for the audit line of a losing decision, which ``decide`` commits on its own).
"""

from __future__ import annotations

from db.alerts import (
    ACTION_STATUS,
    Action,
    AlertFilters,
    AlertSort,
    AlertStats,
    alert_history,
    count_alerts,
    decide,
    get_alert,
    list_alerts,
    stats,
)
from db.detector_store import (
    DeadLetterRecord,
    OutboxRecord,
    alert_id_for,
    count_outbox,
    delete_outbox,
    known_customers,
    load_offsets,
    load_outbox,
    load_states,
    save_batch,
)
from db.errors import (
    AlertNotFound,
    DbError,
    DecisionConflict,
    OffsetConflict,
    RulesetConflict,
    RulesetNotFound,
)
from db.models import LIVE_DATASET, UNATTRIBUTED_DATASET
from db.rulesets import (
    RulesetInfo,
    active_ruleset,
    get_ruleset,
    list_rulesets,
    publish_ruleset,
    rollback_ruleset,
)

__all__ = [
    "ACTION_STATUS",
    "LIVE_DATASET",
    "UNATTRIBUTED_DATASET",
    "Action",
    "AlertFilters",
    "AlertNotFound",
    "AlertSort",
    "AlertStats",
    "DbError",
    "DeadLetterRecord",
    "DecisionConflict",
    "OffsetConflict",
    "OutboxRecord",
    "RulesetConflict",
    "RulesetInfo",
    "RulesetNotFound",
    "active_ruleset",
    "alert_history",
    "alert_id_for",
    "count_alerts",
    "count_outbox",
    "decide",
    "delete_outbox",
    "get_alert",
    "get_ruleset",
    "known_customers",
    "list_alerts",
    "list_rulesets",
    "load_offsets",
    "load_outbox",
    "load_states",
    "publish_ruleset",
    "rollback_ruleset",
    "save_batch",
    "stats",
]
