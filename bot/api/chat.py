"""`POST /api/chat`: the local test channel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ..app import Services
from ..menus import numbered_texts
from .deps import services

router = APIRouter()


class Attachment(BaseModel):
    type: str = Field(pattern="^(image|document|location)$")
    url: str | None = None
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class ChatIn(BaseModel):
    sender: str = Field(min_length=1, max_length=128)
    text: str = Field(default="", max_length=4096)
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


@router.post("/api/chat")
async def chat(body: ChatIn, s: Annotated[Services, Depends(services)]) -> ChatOut:
    metadata = {"channel": "api", "attachments": [a.model_dump() for a in body.attachments]}
    # An attachment without words is an answer to the question asked (a photo, a location).
    text = body.text.strip() or ("/inform" if body.attachments else "")
    replies = await s.conversation.handle(f"api:{body.sender}", text, metadata)
    texts = numbered_texts(replies)
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
