"""Shared security state: failed sign-ins (rate limit) and accepted CDS Hooks JWT ids (replay).

Both lived in each worker process before; with several workers a client could spread its
attempts (or replay a token) across processes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 17:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failures_key", "login_failures", ["key_hash", "at"])
    op.create_table(
        "cds_seen_jti",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("cds_seen_jti")
    op.drop_index("ix_login_failures_key", table_name="login_failures")
    op.drop_table("login_failures")
