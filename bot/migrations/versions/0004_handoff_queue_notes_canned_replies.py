"""handoff queue, notes, canned replies

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 22:27:20

Handoff requests become the staff inbox's queue (waiting -> active -> closed, with who, when and
the resolution and rating); officers' notes and canned replies get tables of their own; messages
can be written by an officer; agents get an availability flag and a capacity for automatic
assignment. The first canned replies are seeded in Indonesian; staff edit them in the inbox.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

SET_NULL = 'SET NULL'
CANNED = [
    ("Salam pembuka", "Selamat datang, saya petugas Pemkot Tangerang. Ada yang bisa saya bantu?"),
    ("Mohon tunggu", "Baik, mohon tunggu sebentar, saya periksa dulu ya."),
    ("Minta nomor tiket", "Boleh kami minta nomor tiket atau nomor pengajuan Anda (misalnya "
     "LKS-123456)?"),
    ("Diteruskan ke dinas", "Laporan Anda sudah kami teruskan ke dinas terkait. Perkembangannya "
     "akan kami kabarkan di chat ini."),
    ("Jam layanan", "Kantor pelayanan buka Senin-Jumat pukul 08.00-16.00 WIB. Untuk darurat, "
     "hubungi 112 (gratis)."),
    ("Penutup", "Terima kasih sudah menghubungi Pemkot Tangerang. Semoga membantu."),
]


def upgrade() -> None:
    canned = op.create_table(
        'canned_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=80), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['updated_by'], ['staff_users.id'], ondelete=SET_NULL),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('title'),
    )
    op.create_table(
        'handoff_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('handoff_id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoff_requests.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], ondelete=SET_NULL),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('handoff_notes') as batch_op:
        batch_op.create_index('ix_handoff_notes_handoff_id', ['handoff_id'], unique=False)

    when = sa.DateTime(timezone=True)
    with op.batch_alter_table('handoff_requests') as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('service', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('assigned_to', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assigned_at', when, nullable=True))
        batch_op.add_column(sa.Column('first_response_at', when, nullable=True))
        batch_op.add_column(sa.Column('last_resident_at', when, nullable=True))
        batch_op.add_column(sa.Column('delay_notice_at', when, nullable=True))
        batch_op.add_column(sa.Column('closed_at', when, nullable=True))
        batch_op.add_column(sa.Column('closed_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolution', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rated_at', when, nullable=True))
        batch_op.create_index('ix_handoff_requests_status', ['status', 'created_at'],
                              unique=False)
        batch_op.create_foreign_key('fk_handoff_requests_contact_id', 'contacts',
                                    ['contact_id'], ['id'], ondelete=SET_NULL)
        batch_op.create_foreign_key('fk_handoff_requests_assigned_to', 'staff_users',
                                    ['assigned_to'], ['id'], ondelete=SET_NULL)
        batch_op.create_foreign_key('fk_handoff_requests_closed_by', 'staff_users',
                                    ['closed_by'], ['id'], ondelete=SET_NULL)
    # Before the inbox, a request was "open" until someone dealt with it by hand: it waits.
    op.execute("UPDATE handoff_requests SET status = 'waiting' WHERE status = 'open'")

    with op.batch_alter_table('messages') as batch_op:
        batch_op.add_column(sa.Column('staff_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_messages_staff_id', 'staff_users', ['staff_id'], ['id'],
                                    ondelete=SET_NULL)

    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.add_column(sa.Column('available', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('capacity', sa.Integer(), nullable=False,
                                      server_default='5'))

    now = datetime.now(timezone.utc)
    op.bulk_insert(canned, [{"title": title, "body": body, "updated_at": now}
                            for title, body in CANNED])


def downgrade() -> None:
    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.drop_column('capacity')
        batch_op.drop_column('available')

    with op.batch_alter_table('messages') as batch_op:
        batch_op.drop_constraint('fk_messages_staff_id', type_='foreignkey')
        batch_op.drop_column('staff_id')

    op.execute("UPDATE handoff_requests SET status = 'open' WHERE status = 'waiting'")
    with op.batch_alter_table('handoff_requests') as batch_op:
        batch_op.drop_constraint('fk_handoff_requests_closed_by', type_='foreignkey')
        batch_op.drop_constraint('fk_handoff_requests_assigned_to', type_='foreignkey')
        batch_op.drop_constraint('fk_handoff_requests_contact_id', type_='foreignkey')
        batch_op.drop_index('ix_handoff_requests_status')
        for column in ('rated_at', 'rating', 'resolution', 'closed_by', 'closed_at',
                       'delay_notice_at', 'last_resident_at', 'first_response_at',
                       'assigned_at', 'assigned_to', 'service', 'contact_id', 'channel'):
            batch_op.drop_column(column)

    with op.batch_alter_table('handoff_notes') as batch_op:
        batch_op.drop_index('ix_handoff_notes_handoff_id')
    op.drop_table('handoff_notes')
    op.drop_table('canned_replies')
