"""status watches, agency events, verification codes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:30:00

Proactive status updates (issue 6, slice 2): who waits on which agency record, the agencies'
signed status webhooks kept once by event id, and the verification codes of finished documents
(stored as HMACs) that the public page /verifikasi checks.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('status_watches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('agency', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_status', sa.String(length=32), nullable=True),
    sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agency', 'kind', 'ref', 'contact_id',
                        name='uq_status_watches_record_contact')
    )
    op.create_index(op.f('ix_status_watches_contact_id'), 'status_watches', ['contact_id'],
                    unique=False)
    op.create_index('ix_status_watches_record', 'status_watches', ['agency', 'kind', 'ref'],
                    unique=False)
    op.create_table('agency_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agency', 'event_id', name='uq_agency_events_event')
    )
    op.create_table('verification_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('agency', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('document_label', sa.String(length=80), nullable=False),
    sa.Column('holder_initials', sa.String(length=16), nullable=False),
    sa.Column('office', sa.String(length=120), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )


def downgrade() -> None:
    op.drop_table('verification_codes')
    op.drop_table('agency_events')
    op.drop_index('ix_status_watches_record', table_name='status_watches')
    op.drop_index(op.f('ix_status_watches_contact_id'), table_name='status_watches')
    op.drop_table('status_watches')
