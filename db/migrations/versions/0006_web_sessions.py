"""Server-side browser sessions and sign-in failures of unknown names.

``web_sessions`` lets a reload keep its sign-in (the browser holds a signed, HttpOnly cookie
naming a row here) and lets a password change, a role change or disabling end every open
session of the account.  ``sign_in_failures`` counts failures for names without an account,
so that a lockout cannot tell which names exist.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("handoff_hash", sa.String(64), nullable=True),
        sa.Column("handoff_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_why", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["username"],
            ["users.username"],
            name="fk_web_sessions_username_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
        sa.UniqueConstraint("handoff_hash", name="uq_web_sessions_handoff_hash"),
    )
    op.create_index("ix_web_sessions_username", "web_sessions", ["username"])
    op.create_table(
        "sign_in_failures",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_sign_in_failures"),
    )
    op.create_index("ix_sign_in_failures_updated_at", "sign_in_failures", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_updated_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_index("ix_web_sessions_username", table_name="web_sessions")
    op.drop_table("web_sessions")
