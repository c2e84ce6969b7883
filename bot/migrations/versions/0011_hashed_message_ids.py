"""channels' message ids stored as keyed hashes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:10:00

Issue 8: a Telegram message id starts with the chat id and a WhatsApp `wamid` encodes the
resident's number, so `messages.channel_message_id` and `campaign_recipients.channel_message_id`
hold the keyed hash of the id (LOOKUP_KEY from bot.settings, purpose `message`), as the models now
write it. Values already hashed (64 hex digits) are left alone. The downgrade cannot turn hashes
back into ids: it leaves them (receipts for those messages then find nothing, nothing breaks).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

from bot.privacy.crypto import keyring
from bot.privacy.keys import rewrite

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_HASHED = re.compile(r'[0-9a-f]{64}')


def upgrade() -> None:
    keys = keyring()

    def hashed(row: sa.RowMapping) -> dict[str, str] | None:
        value = row['channel_message_id']
        if value is None or _HASHED.fullmatch(value):
            return None
        return {'channel_message_id': keys.lookup_hash(value, 'message')}

    for name in ('messages', 'campaign_recipients'):
        rewrite(op.get_bind(), name, ['channel_message_id'], hashed)


def downgrade() -> None:
    pass  # one-way: see the docstring
