"""The analyst desk's application layer: the one import of every front end.

The Streamlit pages (and any other front end) import this package only; it imports
``db``, ``detector`` and ``data_gen`` and nothing below imports it (``tests/unit/test_layers.py``
checks both).  Use cases live one concern a module (``queue``, ``insights``, ``tuning``,
``studio`` + ``data_ops``, ``pipeline``, ``auth``, ``audit``); ``runtime`` owns the process
state; ``i18n`` holds every user-facing word.  Every use case is given the one kind of
handle a front end holds (:class:`~desk.handle.Handle`: the app's ``Runtime``, the API's
``ApiRuntime``), never a session factory.  The names below are the public API: the
modules themselves, and the few types and constants a page needs to draw its widgets.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from data_gen.errors import DataGenError
from data_gen.generate import REFERENCE_CUSTOMERS
from data_gen.params import DEFAULT_MIX, MAX_SCALE, GenParams
from data_gen.schema import FRAUD_SCENARIOS
from db.accounts import AccountError
from db.errors import DbError
from db.loader import LoadProgress
from db.models import ALERT_STATUSES, ROLES, SEVERITIES
from desk import (
    alert_feed,
    api_runtime,
    audit,
    auth,
    customers,
    data_ops,
    datasets,
    formats,
    insights,
    pipeline,
    queue,
    rulesets,
    runtime,
    scoring,
    stream_health,
    studio,
    tokens,
    tuning,
    words,
)
from desk.api_runtime import ApiRuntime
from desk.auth import Permission, Principal, Refused
from desk.handle import Handle
from desk.runtime import Runtime
from desk.selection import Selection
from detector.backtest import HitMatrix
from detector.common import i18n
from detector.common.settings import SettingsError
from detector.rules import RULE_DEFS, RULE_IDS, RuleSet
from detector.suggest import OBJECTIVES, Objective

# A query failed or the database is down: pages show it instead of a traceback.
DatabaseError = SQLAlchemyError


def startup_problem(exc: BaseException) -> tuple[str, str] | None:
    """Why the runtime could not start, as ``(text key, first line)``; None when ``exc`` is
    not a start-up problem (a bug: let it raise)."""
    if isinstance(exc, OperationalError):
        return "app.db_unreachable", str(exc).splitlines()[0]
    if isinstance(exc, SettingsError | DbError):
        return "app.config_error", str(exc)
    return None


__all__ = [
    "ALERT_STATUSES",
    "DEFAULT_MIX",
    "FRAUD_SCENARIOS",
    "MAX_SCALE",
    "OBJECTIVES",
    "REFERENCE_CUSTOMERS",
    "ROLES",
    "RULE_DEFS",
    "RULE_IDS",
    "SEVERITIES",
    "AccountError",
    "ApiRuntime",
    "DataGenError",
    "DatabaseError",
    "DbError",
    "GenParams",
    "Handle",
    "HitMatrix",
    "LoadProgress",
    "Objective",
    "Permission",
    "Principal",
    "Refused",
    "RuleSet",
    "Runtime",
    "Selection",
    "SettingsError",
    "alert_feed",
    "api_runtime",
    "audit",
    "auth",
    "customers",
    "data_ops",
    "datasets",
    "formats",
    "i18n",
    "insights",
    "pipeline",
    "queue",
    "rulesets",
    "runtime",
    "scoring",
    "startup_problem",
    "stream_health",
    "studio",
    "tokens",
    "tuning",
    "words",
]
