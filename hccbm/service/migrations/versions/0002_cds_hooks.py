"""CDS Hooks: calls (audit detail: hookInstance, issuer, patient, cards) and feedback.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 16:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cds_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recorded", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("hook", sa.String(length=64), nullable=False),
        sa.Column("hook_instance", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=True),
        sa.Column("jti", sa.String(length=255), nullable=True),
        sa.Column("patient_ref", sa.String(length=128), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.String(length=32), nullable=True),
        sa.Column("cards", JSON, nullable=False),
        sa.Column("fetched", JSON, nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cds_calls_hook_instance", "cds_calls", ["hook_instance"])
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=True),
        sa.Column("card_uuid", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("accepted_suggestions", JSON, nullable=False),
        sa.Column("override_reason", JSON, nullable=True),
        sa.Column("outcome_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cds_feedback_card", "cds_feedback", ["card_uuid"])


def downgrade() -> None:
    op.drop_index("ix_cds_feedback_card", table_name="cds_feedback")
    op.drop_table("cds_feedback")
    op.drop_index("ix_cds_calls_hook_instance", table_name="cds_calls")
    op.drop_table("cds_calls")
