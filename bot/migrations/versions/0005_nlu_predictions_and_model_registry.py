"""nlu predictions and model registry

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 01:10:50

The admins' retraining loop: every prediction of the NLU (masked text, model version, ranking,
entities) with its review state and label; the trained model versions with their evaluation; each
promotion or rollback; the background jobs that train and evaluate.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SET_NULL = 'SET NULL'


def upgrade() -> None:
    op.create_table('model_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=80), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('data_hash', sa.String(length=64), nullable=True),
    sa.Column('config_hash', sa.String(length=64), nullable=True),
    sa.Column('pipeline', sa.Text(), nullable=True),
    sa.Column('epochs_override', sa.Integer(), nullable=True),
    sa.Column('training_seconds', sa.Double(), nullable=True),
    sa.Column('examples', sa.Integer(), nullable=True),
    sa.Column('labelled_examples', sa.Integer(), nullable=True),
    sa.Column('evaluation', sa.JSON(), nullable=False),
    sa.Column('confusion_png', sa.Text(), nullable=True),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], name='fk_model_versions_created_by',
                            ondelete=SET_NULL),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version')
    )
    op.create_table('model_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('progress', sa.Double(), nullable=False),
    sa.Column('stage', sa.String(length=120), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], ondelete=SET_NULL),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], ondelete=SET_NULL),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_model_jobs_status', 'model_jobs', ['status', 'created_at'], unique=False)
    op.create_table('model_promotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('gate', sa.JSON(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('servers', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['previous_id'], ['model_versions.id'], ondelete=SET_NULL),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], ondelete=SET_NULL),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('nlu_predictions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('model_version', sa.String(length=80), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_key', sa.String(length=200), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('ranking', sa.JSON(), nullable=False),
    sa.Column('entities', sa.JSON(), nullable=False),
    sa.Column('fallback', sa.Boolean(), nullable=False),
    sa.Column('unsure', sa.Boolean(), nullable=False),
    sa.Column('flagged_by', sa.Integer(), nullable=True),
    sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review', sa.String(length=16), nullable=False),
    sa.Column('label_intent', sa.String(length=64), nullable=True),
    sa.Column('label_entities', sa.JSON(), nullable=False),
    sa.Column('labelled_by', sa.Integer(), nullable=True),
    sa.Column('labelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['flagged_by'], ['staff_users.id'],
                            name='fk_nlu_predictions_flagged_by',
                            ondelete=SET_NULL),
    sa.ForeignKeyConstraint(['labelled_by'], ['staff_users.id'],
                            name='fk_nlu_predictions_labelled_by',
                            ondelete=SET_NULL),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete=SET_NULL),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index(op.f('ix_nlu_predictions_created_at'), 'nlu_predictions', ['created_at'],
                    unique=False)
    op.create_index('ix_nlu_predictions_review', 'nlu_predictions', ['review', 'text_key'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_nlu_predictions_review', table_name='nlu_predictions')
    op.drop_index(op.f('ix_nlu_predictions_created_at'), table_name='nlu_predictions')
    op.drop_table('nlu_predictions')
    op.drop_table('model_promotions')
    op.drop_index('ix_model_jobs_status', table_name='model_jobs')
    op.drop_table('model_jobs')
    op.drop_table('model_versions')
