"""outgoing message ref

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:10:00

Outgoing messages are queued before their row is written (the row is off the resident's wait);
the job and the row share `ref`, a random id the gateway makes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('ref', sa.String(length=32), nullable=True))
        batch.create_unique_constraint('uq_messages_ref', ['ref'])


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_constraint('uq_messages_ref', type_='unique')
        batch.drop_column('ref')
