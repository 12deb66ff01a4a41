"""Typed SQLAlchemy models: the schema at migration head.

The migrations in ``db/migrations/versions`` create and upgrade this schema; a test checks that
the two agree.  The dataset tables (customers … payments) mirror an external export, so they
carry no foreign keys: the reader already validates the references the detector relies on, and
alerts must be writable when no dataset was ever loaded (stream-only deployments).  Optional
text that a dataset leaves empty is stored as NULL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import UtcDateTime, json_type, money, utc_now

# Explicit names so that migrations (and batch mode on SQLite) can refer to constraints.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ALERT_STATUSES = ("PENDING_REVIEW", "INVESTIGATING", "APPROVED", "BLOCKED")
SEVERITIES = ("LOW", "MEDIUM", "HIGH")
# The dataset of alerts scored from the Kafka topics (a replay names its dataset), and of
# alerts written before alerts named one (migration 0009); neither is a valid dataset name.
LIVE_DATASET = "live"
UNATTRIBUTED_DATASET = "?"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: json_type(),
    }


# --------------------------------------------------------------------------- dataset tables


class Customer(Base):
    __tablename__ = "customers"

    customer_id: Mapped[str] = mapped_column(String, primary_key=True)
    signup_ts: Mapped[datetime]
    country: Mapped[str] = mapped_column(String)
    timezone: Mapped[str | None] = mapped_column(String)
    preferred_device: Mapped[str | None] = mapped_column(String)
    preferred_source: Mapped[str | None] = mapped_column(String)
    spend_level: Mapped[str | None] = mapped_column(String)
    segment: Mapped[str | None] = mapped_column(String)
    birthdate: Mapped[date | None] = mapped_column(Date)
    is_minor: Mapped[bool] = mapped_column(Boolean)


class Product(Base):
    __tablename__ = "products"

    product_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str | None] = mapped_column(String)
    category: Mapped[str | None] = mapped_column(String)
    is_adult_restricted: Mapped[bool] = mapped_column(Boolean)
    unit_price: Mapped[float] = mapped_column(money())
    created_at: Mapped[datetime | None]


class WebSession(Base):
    """A browsing session (named so as not to clash with the ORM's Session)."""

    __tablename__ = "sessions"
    __table_args__ = (Index(None, "customer_id"),)

    session_id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String)
    start_ts: Mapped[datetime]
    end_ts: Mapped[datetime | None]
    device: Mapped[str | None] = mapped_column(String)
    device_id: Mapped[str | None] = mapped_column(String)
    ip_hash: Mapped[str | None] = mapped_column(String)
    country: Mapped[str | None] = mapped_column(String)
    utm_source: Mapped[str | None] = mapped_column(String)
    utm_campaign: Mapped[str | None] = mapped_column(String)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index(None, "customer_id"),)

    order_id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String)
    session_id: Mapped[str | None] = mapped_column(String)
    payment_id: Mapped[str | None] = mapped_column(String)
    order_ts: Mapped[datetime]
    total_amount: Mapped[float] = mapped_column(money())
    currency: Mapped[str | None] = mapped_column(String)
    shipping_method: Mapped[str | None] = mapped_column(String)
    status: Mapped[str | None] = mapped_column(String)


class OrderItem(Base):
    """One line of an order.  ``line_no`` is the line's position within its order in the file:
    a product may appear on two lines, so (order_id, product_id) is not a key."""

    __tablename__ = "order_items"

    order_id: Mapped[str] = mapped_column(String, primary_key=True)
    line_no: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    product_id: Mapped[str] = mapped_column(String)
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[float] = mapped_column(money())


class PaymentRow(Base):
    __tablename__ = "payments"
    __table_args__ = (Index(None, "customer_id", "attempt_ts"), Index(None, "attempt_ts"))

    payment_id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String)
    session_id: Mapped[str | None] = mapped_column(String)
    order_id: Mapped[str | None] = mapped_column(String)
    attempt_ts: Mapped[datetime]
    method: Mapped[str | None] = mapped_column(String)
    card_bin: Mapped[str | None] = mapped_column(String)
    payment_country: Mapped[str | None] = mapped_column(String)
    ip_hash: Mapped[str | None] = mapped_column(String)
    device: Mapped[str | None] = mapped_column(String)
    device_id: Mapped[str | None] = mapped_column(String)
    utm_source: Mapped[str | None] = mapped_column(String)
    amount: Mapped[float] = mapped_column(money())
    currency: Mapped[str | None] = mapped_column(String)
    result: Mapped[str] = mapped_column(String)
    decline_reason: Mapped[str | None] = mapped_column(String)
    # Labels: NULL when the dataset is unlabelled.
    is_fraud: Mapped[bool | None] = mapped_column(Boolean)
    fraud_scenario: Mapped[str | None] = mapped_column(String)
    fraud_incident_id: Mapped[str | None] = mapped_column(String)
    # The dataset the row was loaded from (its directory's name, as alerts name it); NULL for
    # rows loaded before migration 0012 recorded it.  The key stays the payment id: the loaded
    # tables are one namespace, as customers, sessions and orders are.
    dataset: Mapped[str | None] = mapped_column(String)


# --------------------------------------------------------------------------- alerts


class Alert(Base):
    """One alert per payment and dataset, whatever the number of re-scores (``alert_id``
    derives from both: ``db.detector_store.alert_id_for``).  Analyst fields are written only
    by ``decide``, guarded by ``row_version`` so that two analysts cannot overwrite each
    other."""

    __tablename__ = "fraud_alerts"
    __table_args__ = (
        # The queue: filter by status (and severity), sort by time or score, page stably.
        Index(None, "status", "severity", "event_ts"),
        Index(None, "status", "event_ts", "alert_id"),
        Index(None, "status", "score", "alert_id"),
        # Unfiltered views and the other filters.
        Index(None, "event_ts", "alert_id"),
        Index(None, "score", "alert_id"),
        Index(None, "severity"),
        Index(None, "customer_id", "event_ts"),
        # Every queue read names one dataset (a replay, or the live topics).
        Index(None, "dataset", "status", "event_ts"),
        # Two datasets may hold the same payment id (migration 0010).
        UniqueConstraint("payment_id", "dataset"),
    )

    alert_id: Mapped[str] = mapped_column(String, primary_key=True)
    payment_id: Mapped[str] = mapped_column(String)
    event_ts: Mapped[datetime]
    alert_ts: Mapped[datetime]
    customer_id: Mapped[str] = mapped_column(String)
    session_id: Mapped[str | None] = mapped_column(String)
    device: Mapped[str | None] = mapped_column(String)
    device_id: Mapped[str | None] = mapped_column(String)
    utm_source: Mapped[str | None] = mapped_column(String)
    country: Mapped[str | None] = mapped_column(String)
    card_bin: Mapped[str | None] = mapped_column(String)
    ip_hash: Mapped[str | None] = mapped_column(String)
    # The customer reference did not list the customer (None: not checked; migration 0008).
    unknown_customer: Mapped[bool | None] = mapped_column(Boolean)
    amount: Mapped[float] = mapped_column(money())
    currency: Mapped[str | None] = mapped_column(String)
    score: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(json_type())
    ruleset_version: Mapped[str] = mapped_column(String)
    dataset: Mapped[str] = mapped_column(String, server_default=LIVE_DATASET)
    status: Mapped[str] = mapped_column(String(16), server_default="PENDING_REVIEW")
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String)
    decided_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    row_version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 - read by the mapper


class AlertCount(Base):
    """Signed deltas of the alert count per (dataset, status, severity, country, device),
    appended by triggers on ``fraud_alerts`` (migration 0011): the sum per group is the
    count.  Written only by those triggers and by :func:`db.alerts.compact_counts`."""

    __tablename__ = "fraud_alert_counts"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    dataset: Mapped[str] = mapped_column(String, index=True)
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    country: Mapped[str | None] = mapped_column(String)
    device: Mapped[str | None] = mapped_column(String)
    n: Mapped[int] = mapped_column(Integer)


class AlertReason(Base):
    """(alert, rule) pairs copied from ``reasons`` at insert: the portable, indexable way to
    filter alerts by rule (a JSON containment query differs per dialect and scans).

    No foreign key: rows are written only by ``save_batch``, from the RETURNING of the very
    insert that created the alert, and the per-row check cost a fifth of a batch's time."""

    __tablename__ = "alert_reasons"
    __table_args__ = (Index(None, "rule_id", "alert_id"),)

    alert_id: Mapped[str] = mapped_column(String, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String, primary_key=True)


class AlertDecision(Base):
    """Append-only audit trail: every decision attempt, including the ones that lost a race
    (action ``CONFLICT``)."""

    __tablename__ = "alert_decisions"
    __table_args__ = (Index(None, "alert_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String, ForeignKey("fraud_alerts.alert_id"))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    note: Mapped[str | None] = mapped_column(Text)


# --------------------------------------------------------------------------- detector


class RulesetRow(Base):
    __tablename__ = "rulesets"
    __table_args__ = (
        # At most one active version, enforced by the database on both dialects.
        Index(
            "uq_rulesets_active",
            "active",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
        {"sqlite_autoincrement": True},  # never reuse a version number
    )

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String)
    body: Mapped[dict[str, Any]] = mapped_column(json_type())
    fingerprint: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    active: Mapped[bool] = mapped_column(Boolean, default=False)


class DetectorStateRow(Base):
    """A customer's state in one dataset: two datasets streamed through the live topics
    (their customer ids overlap) keep apart what they remember (migration 0012)."""

    __tablename__ = "detector_state"

    customer_id: Mapped[str] = mapped_column(String, primary_key=True)
    dataset: Mapped[str] = mapped_column(String, primary_key=True, server_default=LIVE_DATASET)
    state: Mapped[dict[str, Any]] = mapped_column(json_type())
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class ConsumerOffset(Base):
    __tablename__ = "consumer_offsets"

    group_id: Mapped[str] = mapped_column(String, primary_key=True)
    topic: Mapped[str] = mapped_column(String, primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    __table_args__ = (
        # A replayed poison message lands once.
        UniqueConstraint("source_topic", "partition", "offset"),
        Index(None, "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_topic: Mapped[str] = mapped_column(String)
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utc_now)


class OutboxMessage(Base):
    """A Kafka message (alert or dead letter) committed with the batch that produced it and
    deleted once the broker has acknowledged it: the detector's commit never waits for a
    broker, and a crash before the acknowledgement resends it at the next start."""

    __tablename__ = "outbox"

    # Derived from the source (alert id, or topic/partition/offset of a dead letter), so a
    # replayed batch adds no second row.
    id: Mapped[str] = mapped_column(String, primary_key=True)
    topic: Mapped[str] = mapped_column(String)
    key: Mapped[str | None] = mapped_column(String, nullable=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, str] | None] = mapped_column(json_type(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


# --------------------------------------------------------------------------- accounts and audit

ROLES = ("viewer", "analyst", "rule_owner", "admin")


class User(Base):
    """An account of the desk.  Only an Argon2 hash of the password is stored; there is no
    built-in account (the first admin comes from ``python -m db create-user``)."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Throttles password guessing: after a run of failures the account waits (see db.accounts).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class AuditEvent(Base):
    """The append-only audit trail of people's actions: decisions (and lost races), rule-set
    publications and rollbacks, account changes, sign-ins and refused attempts.  The database
    itself refuses UPDATE and DELETE on this table (triggers from migration 0003)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index(None, "at"),
        Index(None, "actor", "at"),
        Index(None, "action", "at"),
        Index(None, "target", "at"),
        {"sqlite_autoincrement": True},  # ids never reused: the order of the trail
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String)
    detail: Mapped[dict[str, Any]] = mapped_column(json_type())


class ApiToken(Base):
    """A bearer token of the REST API, acting as one account with that account's current role.

    Only a SHA-256 of the token is stored: tokens are 256 random bits, so a fast hash cannot be
    reversed by guessing (unlike passwords, which need Argon2), and a lookup costs one index
    probe per request.  ``prefix`` (the token's first characters) lets people tell tokens apart
    in lists without the secret.  Revoked tokens stay, for the audit trail."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index(None, "username"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64), ForeignKey("users.username"))
    label: Mapped[str | None] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None]


class DeskSession(Base):
    """A signed-in browser session, server side.  The browser holds only a signed cookie whose
    token's SHA-256 is ``token_hash``; the sign-in page hands it over through a one-time
    ``handoff_hash`` (see ``desk.auth``).  A session ends when its idle or absolute limit
    passes or when it is revoked: sign-out, a password change, a role change, disabling."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index(None, "username"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.username", ondelete="CASCADE")
    )
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]
    revoked_why: Mapped[str | None] = mapped_column(String(32))


class SignInFailure(Base):
    """Failed sign-ins for names that have no account, counted like an account's, so that a
    lockout answers the same whether the name exists or not."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index(None, "updated_at"),)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
