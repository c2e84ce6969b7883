"""encryption at rest of personal data, keyed-hash lookups

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:40:00

Issue 8: chat ids, sender ids, message contents, complaints, notes, dead letters and the NLU's
texts become Fernet tokens (text columns); contacts, tickets and handoff requests are looked up by
a keyed hash of the chat or sender id instead of the id itself. Existing rows are encrypted here
with the keys of bot.settings (ENCRYPTION_KEYS, LOOKUP_KEY); rows already encrypted are left
alone. Media files stored before are encrypted by `python -m bot.privacy.keys rotate`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.privacy.crypto import keyring
from bot.privacy.keys import rewrite

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# table -> its encrypted columns and their types before this revision
ENCRYPTED: dict[str, dict[str, sa.types.TypeEngine[Any]]] = {
    'tickets': {'sender_id': sa.String(length=128), 'payload': sa.JSON()},
    'handoff_requests': {'sender_id': sa.String(length=128), 'note': sa.Text()},
    'handoff_notes': {'text': sa.Text()},
    'contacts': {'external_id': sa.String(length=64)},
    'messages': {'content': sa.JSON()},
    'dead_letters': {'chat_id': sa.String(length=64), 'request': sa.JSON()},
    'nlu_predictions': {'text': sa.Text(), 'text_key': sa.String(length=200),
                        'entities': sa.JSON(), 'label_entities': sa.JSON()},
}
# table -> (column looked up, its hash column, the hash's purpose: bot.models)
HASHED = {'contacts': ('external_id', 'external_hash', 'contact'),
          'tickets': ('sender_id', 'sender_hash', 'sender'),
          'handoff_requests': ('sender_id', 'sender_hash', 'sender')}


def _drop_lookups() -> None:
    with op.batch_alter_table('contacts') as batch_op:
        batch_op.drop_constraint('uq_contacts_channel_id', type_='unique')
    for name in ('tickets', 'handoff_requests'):
        with op.batch_alter_table(name) as batch_op:
            batch_op.drop_index(f'ix_{name}_sender_id')
    with op.batch_alter_table('nlu_predictions') as batch_op:
        batch_op.drop_index('ix_nlu_predictions_review')


def _encrypt_rows() -> None:
    keys = keyring()
    conn = op.get_bind()
    for name, types in ENCRYPTED.items():
        columns = list(types)
        looked_up = HASHED.get(name)

        def encrypt(row: sa.RowMapping, columns: list[str] = columns,
                    looked_up: tuple[str, str, str] | None = looked_up) -> dict[str, Any]:
            new = {c: keys.encrypt_text(row[c]) for c in columns
                   if row[c] is not None and not keys.is_token(row[c].encode())}
            if looked_up is not None:
                value, hashed, purpose = looked_up
                plain = row[value] if value in new else keys.decrypt_text(row[value])
                new[hashed] = keys.lookup_hash(plain, purpose)
            return new

        read = columns + ([looked_up[1]] if looked_up else [])
        rewrite(conn, name, read, encrypt)


def _decrypt_rows() -> None:
    keys = keyring()
    conn = op.get_bind()
    for name, types in ENCRYPTED.items():
        columns = list(types)

        def decrypt(row: sa.RowMapping, columns: list[str] = columns) -> dict[str, Any]:
            return {c: keys.decrypt_text(row[c]) for c in columns
                    if row[c] is not None and keys.is_token(row[c].encode())}

        rewrite(conn, name, columns, decrypt)


def upgrade() -> None:
    _drop_lookups()
    for name, types in ENCRYPTED.items():
        with op.batch_alter_table(name) as batch_op:
            if name in HASHED:
                batch_op.add_column(sa.Column(HASHED[name][1], sa.String(length=64),
                                              nullable=True))
            for col, old in types.items():
                if not isinstance(old, sa.Text):
                    batch_op.alter_column(col, existing_type=old, type_=sa.Text(),
                                          postgresql_using=f'{col}::text')
    _encrypt_rows()
    for name, (_, hashed, _) in HASHED.items():
        with op.batch_alter_table(name) as batch_op:
            batch_op.alter_column(hashed, existing_type=sa.String(length=64), nullable=False)
            if name == 'contacts':
                batch_op.create_unique_constraint('uq_contacts_channel_hash',
                                                  ['channel', 'external_hash'])
            else:
                batch_op.create_index(f'ix_{name}_sender_hash', ['sender_hash'], unique=False)
    with op.batch_alter_table('nlu_predictions') as batch_op:
        batch_op.create_index('ix_nlu_predictions_review', ['review'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('nlu_predictions') as batch_op:
        batch_op.drop_index('ix_nlu_predictions_review')
    for name in HASHED:
        with op.batch_alter_table(name) as batch_op:
            if name == 'contacts':
                batch_op.drop_constraint('uq_contacts_channel_hash', type_='unique')
            else:
                batch_op.drop_index(f'ix_{name}_sender_hash')
    _decrypt_rows()
    for name, types in ENCRYPTED.items():
        with op.batch_alter_table(name) as batch_op:
            if name in HASHED:
                batch_op.drop_column(HASHED[name][1])
            for col, old in types.items():
                if not isinstance(old, sa.Text):
                    cast = 'json' if isinstance(old, sa.JSON) else 'varchar'
                    batch_op.alter_column(col, existing_type=sa.Text(), type_=old,
                                          postgresql_using=f'{col}::{cast}')
    with op.batch_alter_table('contacts') as batch_op:
        batch_op.create_unique_constraint('uq_contacts_channel_id', ['channel', 'external_id'])
    for name in ('tickets', 'handoff_requests'):
        with op.batch_alter_table(name) as batch_op:
            batch_op.create_index(f'ix_{name}_sender_id', ['sender_id'], unique=False)
    with op.batch_alter_table('nlu_predictions') as batch_op:
        batch_op.create_index('ix_nlu_predictions_review', ['review', 'text_key'], unique=False)
