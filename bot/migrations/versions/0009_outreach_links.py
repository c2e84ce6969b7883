"""outreach links (reserved)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:35:00

Reserved for the outreach-links slice of issue 6 (deep links and posters, a contact's source).
"""

from __future__ import annotations

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
