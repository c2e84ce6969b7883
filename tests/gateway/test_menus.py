"""Numbered fallback for buttons: what residents see and what typing a number does."""

from __future__ import annotations

import pytest

from bot.kv import make_store
from bot.menus import MenuMemory, numbered_texts, parse_choice
from bot.rasa_client import BotMessage


def test_buttons_are_numbered_across_the_whole_reply() -> None:
    replies = [
        BotMessage(text="Pilih:", buttons=({"title": "KTP-el", "payload": "/ktp"},
                                           {"title": "KK", "payload": "/kk"})),
        BotMessage(text="Atau:", buttons=({"title": "Darurat", "payload": "/emergency"},)),
        BotMessage(text="Tanpa tombol."),
    ]
    texts = numbered_texts(replies)
    assert "1. KTP-el" in texts[0] and "2. KK" in texts[0]
    assert "3. Darurat" in texts[1]
    assert texts[2] == "Tanpa tombol."
    assert "Ketik angka" in texts[0]


@pytest.mark.parametrize(("typed", "number"), [
    ("1", 1), (" 2 ", 2), ("ketik 3", 3), ("3.", 3), ("dua", 2), ("no. 4", 4), ("pilih 1", 1),
])
def test_typed_choices_are_read(typed: str, number: int) -> None:
    assert parse_choice(typed) == number


@pytest.mark.parametrize("typed", ["3671014507890002", "halo", "12 januari", "", "100"])
def test_other_text_is_not_a_choice(typed: str) -> None:
    assert parse_choice(typed) is None


async def test_a_number_presses_the_last_buttons_shown_to_that_sender_only() -> None:
    memory = MenuMemory(make_store(None))
    await memory.remember("a", [BotMessage(text="x", buttons=(
        {"title": "Ya", "payload": "ya"}, {"title": "Batal", "payload": "batal"}))])
    assert await memory.resolve("a", "2") == "batal"
    assert await memory.resolve("a", "3") is None  # out of range: sent to Rasa as typed
    assert await memory.resolve("b", "1") is None  # another resident saw no menu
    await memory.remember("a", [BotMessage(text="no buttons")])
    assert await memory.resolve("a", "1") is None  # the menu is gone once a reply has none
