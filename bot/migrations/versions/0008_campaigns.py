"""campaigns (reserved)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:35:00

Reserved for the campaigns slice of issue 6 (broadcasts, recipients, WhatsApp templates).
"""

from __future__ import annotations

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
