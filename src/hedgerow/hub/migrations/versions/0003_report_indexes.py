"""Index outbound alerts by device: the reports' compromised-device counts look them up.

Partial (outbound alerts only), so the inbound alerts that make up most of ingest do not
maintain it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OUTBOUND = sa.text("direction = 'outbound'")


def upgrade() -> None:
    op.create_index("ix_alerts_outbound_device", "alerts", ["tenant_id", "device", "kind"],
                    postgresql_where=OUTBOUND, sqlite_where=OUTBOUND)


def downgrade() -> None:
    op.drop_index("ix_alerts_outbound_device", table_name="alerts")
