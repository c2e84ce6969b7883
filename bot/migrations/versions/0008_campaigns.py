"""campaigns

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:35:00

Campaigns (issue 6, slice 3): broadcasts, their recipients (one row per campaign and contact:
nobody receives a broadcast twice) and the WhatsApp templates admins register.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('whatsapp_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'language', name='uq_whatsapp_templates_name')
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('image_ref', sa.String(length=200), nullable=True),
    sa.Column('buttons', sa.JSON(), nullable=False),
    sa.Column('segment', sa.JSON(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('template_params', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('queue_seconds', sa.Double(), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['whatsapp_templates.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_campaigns_state', 'campaigns', ['state', 'scheduled_at'], unique=False)
    op.create_table('campaign_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=32), nullable=True),
    sa.Column('channel_message_id', sa.String(length=160), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'contact_id', name='uq_campaign_recipients_contact'),
    sa.UniqueConstraint('ref')
    )
    op.create_index('ix_campaign_recipients_state', 'campaign_recipients',
                    ['campaign_id', 'state', 'id'], unique=False)
    op.create_index(op.f('ix_campaign_recipients_channel_message_id'), 'campaign_recipients',
                    ['channel_message_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_campaign_recipients_channel_message_id'),
                  table_name='campaign_recipients')
    op.drop_index('ix_campaign_recipients_state', table_name='campaign_recipients')
    op.drop_table('campaign_recipients')
    op.drop_index('ix_campaigns_state', table_name='campaigns')
    op.drop_table('campaigns')
    op.drop_table('whatsapp_templates')
