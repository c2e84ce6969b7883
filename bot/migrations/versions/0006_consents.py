"""consents

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 03:40:00

Residents' consent to messages Pintu sends unasked (city news, their own documents' and
complaints' status, their kecamatan's announcements): topic, the exact wording, when and how it
was given and withdrawn (issue 6).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('wording', sa.Text(), nullable=False),
    sa.Column('wording_version', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_consents_contact_id'), 'consents', ['contact_id'], unique=False)
    op.create_index('uq_consents_active', 'consents', ['contact_id', 'topic'], unique=True,
                    postgresql_where=sa.text('withdrawn_at IS NULL'),
                    sqlite_where=sa.text('withdrawn_at IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_consents_active', table_name='consents',
                  postgresql_where=sa.text('withdrawn_at IS NULL'),
                  sqlite_where=sa.text('withdrawn_at IS NULL'))
    op.drop_index(op.f('ix_consents_contact_id'), table_name='consents')
    op.drop_table('consents')
