"""outreach links and visits

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:35:00

Reaching new residents (issue 6, slice 4): deep-link codes per kelurahan, kecamatan or campaign,
and the residents who arrived through them (the first one a contact came through is its source).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outreach_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('kelurahan', sa.String(length=60), nullable=True),
    sa.Column('kecamatan', sa.String(length=40), nullable=True),
    sa.Column('campaign', sa.String(length=120), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'],
                            name='fk_outreach_links_created_by', ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('outreach_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('delivery', sa.String(length=160), nullable=False),
    sa.Column('brought', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['link_id'], ['outreach_links.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('delivery')
    )
    op.create_index(op.f('ix_outreach_visits_contact_id'), 'outreach_visits', ['contact_id'],
                    unique=False)
    op.create_index(op.f('ix_outreach_visits_link_id'), 'outreach_visits', ['link_id'],
                    unique=False)
    op.create_index('uq_outreach_visits_source', 'outreach_visits', ['contact_id'], unique=True,
                    postgresql_where=sa.text('brought'), sqlite_where=sa.text('brought'))


def downgrade() -> None:
    op.drop_index('uq_outreach_visits_source', table_name='outreach_visits',
                  postgresql_where=sa.text('brought'), sqlite_where=sa.text('brought'))
    op.drop_index(op.f('ix_outreach_visits_link_id'), table_name='outreach_visits')
    op.drop_index(op.f('ix_outreach_visits_contact_id'), table_name='outreach_visits')
    op.drop_table('outreach_visits')
    op.drop_table('outreach_links')
