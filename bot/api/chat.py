"""The local test channel: `POST /api/chat` (the bot's answers to one message) and
`GET /api/chat/messages` (what arrived later: an officer's replies, the rating question).

Messages are stored like every channel's (contacts, conversations, messages), so that the staff
inbox shows local conversations too, and a handoff works here as on Telegram and WhatsApp: while
an officer has the conversation the bot is silent and `POST /api/chat` answers with no messages.

Anyone who knows a sender's name could read that sender's mailbox, so the channel is off (404) in
production unless LOCAL_CHAT=true turns it on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from integrations.replies import Reply

from .. import records
from ..app import Services
from ..conversation import APOLOGY
from ..db import in_transaction
from ..learning import predictions
from ..localchat import CHANNEL, read_mailbox
from ..menus import numbered_texts
from ..outreach import consent
from ..privacy.rights import NOT_NOW, Answer
from ..rasa_client import BotMessage, Understanding
from .deps import services
from .errors import Text, no_lone_surrogates

log = logging.getLogger(__name__)


def local_chat_on(s: Annotated[Services, Depends(services)]) -> None:
    """404 when the local test channel is off (production, unless LOCAL_CHAT=true)."""
    if not s.settings.local_chat_enabled:
        raise HTTPException(404, "Not Found")


router = APIRouter(dependencies=[Depends(local_chat_on)])


class Attachment(BaseModel):
    type: str = Field(pattern="^(image|document|location)$")
    url: Text | None = None
    name: Text | None = None
    latitude: float | None = None
    longitude: float | None = None


class ChatIn(BaseModel):
    sender: Text = Field(min_length=1, max_length=128)
    text: Text = Field(default="", max_length=4096)
    attachments: list[Attachment] = Field(default_factory=list)


class ButtonOut(BaseModel):
    title: str
    payload: str


class MessageOut(BaseModel):
    text: str
    buttons: list[ButtonOut] = Field(default_factory=list)
    image: str | None = None
    custom: dict[str, Any] = Field(default_factory=dict)


class ChatOut(BaseModel):
    messages: list[MessageOut]


def _bot_messages(replies: list[Reply]) -> list[BotMessage]:
    return [BotMessage(text=r.text, buttons=tuple({"title": o.title, "payload": o.payload}
                                                  for o in r.options)) for r in replies]


def _record(s: Services, chat_id: str, text: str, attachments: list[dict[str, Any]],
            answers: list[str], understood: Understanding | None) -> None:
    content: dict[str, Any] = {"text": text} if text else {}
    if attachments:
        content["attachment"] = {k: v for k, v in attachments[0].items() if v is not None}
    with s.sessions.begin() as session:
        conversation_id, message_id = records.record_inbound(
            session, channel=CHANNEL, chat_id=chat_id, kind="text" if text else "attachment",
            content=content, channel_message_id=None)
        records.record_replies(session, conversation_id=conversation_id, channel=CHANNEL,
                               replies=[("message", {"text": t}, None) for t in answers],
                               processed_id=message_id, status="sent")
        if understood is not None:
            predictions.record(session, channel=CHANNEL, message_id=message_id, text=text,
                               understanding=understood,
                               review_below=s.settings.nlu_review_confidence)


@router.post("/api/chat", dependencies=[Depends(no_lone_surrogates)])
async def chat(body: ChatIn, s: Annotated[Services, Depends(services)]) -> ChatOut:
    sender = f"{CHANNEL}:{body.sender}"
    attachments = [a.model_dump() for a in body.attachments]
    metadata = {"channel": CHANNEL, "attachments": attachments}
    # An attachment without words is an answer to the question asked (a photo, a location).
    text = body.text.strip() or ("/inform" if body.attachments else "")
    async with s.conversation.turn(sender):
        try:  # "data saya", "hapus data saya": as on every channel
            rights = await s.rights.answer(sender, text) if text else None
        except SQLAlchemyError as exc:
            log.error("data rights command not answered: %s", type(exc).__name__)
            return ChatOut(messages=[MessageOut(text=APOLOGY)])
        if rights is not None:
            return await _rights(s, body.sender, text, rights)
        asked = await s.conversation.consent_command(sender, text) if text else None
        if asked is not None:  # STOP, MULAI, a consent button: as on every channel
            answer = await asyncio.to_thread(in_transaction, s.sessions, lambda session: (
                consent.act(session, records.touch_contact(session, CHANNEL, body.sender,
                                                           inbound=True), asked)))
            return ChatOut(messages=[MessageOut(text=answer)])
        caught = await s.handoffs.intercept(sender, text) if text else None
        understood = None
        if caught is not None:
            replies = _bot_messages(caught.replies)
        else:
            turn = await s.conversation.handle(sender, text, metadata)
            replies, understood = turn.replies, turn.understanding
        texts = numbered_texts(replies)
        if text or attachments:
            try:
                await asyncio.to_thread(_record, s, body.sender, body.text.strip(),
                                        attachments, texts,
                                        understood if body.text.strip() else None)
            except SQLAlchemyError as exc:  # the answer still goes out; the record is lost
                log.error("local chat message not stored: %s", type(exc).__name__)
        if caught is not None and caught.handoff_id is not None:
            await s.handoffs.resident_wrote(caught.handoff_id)
    return ChatOut(
        messages=[
            MessageOut(
                text=t,
                buttons=[ButtonOut(**b) for b in m.buttons],
                image=m.image,
                custom=m.custom,
            )
            for t, m in zip(texts, replies, strict=True)
        ]
    )


async def _rights(s: Services, chat_id: str, text: str, answered: Answer) -> ChatOut:
    """Stores the exchange, then erases when the resident confirmed (the exchange goes too);
    the caller holds the sender's turn."""
    texts = numbered_texts(answered.replies)
    try:
        await asyncio.to_thread(_record, s, chat_id, text, [], texts, None)
        if answered.erase:
            await s.rights.erase(f"{CHANNEL}:{chat_id}")
    except SQLAlchemyError as exc:
        log.error("data rights command not completed: %s", type(exc).__name__)
        if answered.erase:  # not erased: never say it was
            return ChatOut(messages=[MessageOut(text=NOT_NOW)])
    return ChatOut(messages=[
        MessageOut(text=t, buttons=[ButtonOut(**b) for b in m.buttons])
        for t, m in zip(texts, answered.replies, strict=True)])


class MailboxOut(BaseModel):
    messages: list[MessageOut]


@router.get("/api/chat/messages")
async def mailbox(s: Annotated[Services, Depends(services)],
                  sender: Annotated[str, Query(min_length=1, max_length=128)],
                  wait: Annotated[float, Query(ge=0, le=25)] = 0) -> MailboxOut:
    """Messages sent to a local resident outside `POST /api/chat`'s answers (an officer's
    replies, the rating question); waits up to `wait` seconds for the first one."""
    found = await read_mailbox(s.store.redis, sender.strip(), wait)
    return MailboxOut(messages=[
        MessageOut(text=m.get("text", ""), buttons=[ButtonOut(**b) for b in m.get("buttons", [])],
                   custom={"media": m["media"]} if m.get("media") else {})
        for m in found])

