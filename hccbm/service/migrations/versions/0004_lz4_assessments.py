"""PostgreSQL: compress stored assessments with lz4 instead of pglz.

An assessment is ~17 KB of JSON, so PostgreSQL compresses it out of line (TOAST) on every
insert. With the default pglz that cost ~0.5 ms of server CPU per insert; lz4 ~0.3 ms in all,
for 6 % more disk (docs/benchmarks.md). Rows already stored keep their compression. SQLite,
and a PostgreSQL built without lz4, are left as they are.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The JSON columns large enough to be compressed.
COLUMNS = (("assessments", "result"), ("assessments", "patient_data"), ("patient_versions", "data"))


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    # PostgreSQL 14+ built with lz4 lists it among default_toast_compression's values.
    found = bind.execute(
        sa.text(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND 'lz4' = ANY(enumvals)"
        )
    ).first()
    return found is not None


def upgrade() -> None:
    if _lz4_available():
        for table, column in COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        for table, column in COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION pglz")
