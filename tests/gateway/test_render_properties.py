"""Properties of the reply model and both channels' renderers, over generated replies (hypothesis).

Any text (emoji, right-to-left, zero-width, very long), any number of options with any titles and
payloads: what a renderer produces stays within the limits it enforces (the constants in
`integrations/telegram/render.py` and `integrations/whatsapp/render.py`), loses no words, and
every button leads back to its option's payload.
"""

from __future__ import annotations

import sys
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from integrations import replies
from integrations.replies import Media, Option, Rendered, Reply, Template
from integrations.telegram import render as tg_render
from integrations.whatsapp import render as wa_render

# The packages export their `render` functions under the modules' names: the modules themselves.
tg = sys.modules[tg_render.__module__]
wa = sys.modules[wa_render.__module__]

ODD_TEXT = ["🙂", "👩🏽‍💻", "\u202eمرحبا\u202c", "שלום", "\u200b", "\u00a0", "\n\n", "e\u0301", "ﷺ",
            "\ufeff", "k:", "1. ", "   "]


def texts(long: bool = True) -> st.SearchStrategy[str]:
    """Any text, the odd characters above mixed in, and (when `long`) texts past every limit."""
    odd = st.lists(st.sampled_from(ODD_TEXT) | st.text(max_size=8), max_size=12).map("".join)
    choices = [st.text(), odd]
    if long:
        word = st.text(min_size=1, max_size=30) | st.sampled_from(ODD_TEXT)
        choices += [
            st.builds(lambda w, n, sep: sep.join([w] * n), word, st.integers(1, 1500),
                      st.sampled_from([" ", "\n", "\n\n", ""])),
            st.builds(lambda n: "x" * n, st.integers(1000, 9000)),  # one word past every limit
        ]
    return st.one_of(*choices)


options = st.builds(Option, title=texts(long=False) | st.builds(lambda n: "Judul " * n,
                                                                  st.integers(1, 20)),
                    payload=texts(long=False) | st.builds(lambda n: "/pilih" + "é" * n,
                                                          st.integers(0, 300)),
                    description=st.none() | texts(long=False))
media = st.builds(Media, kind=st.sampled_from(["image", "document"]),
                  url=st.none() | st.just("https://example.test/a.jpg"),
                  ref=st.none() | st.just("sha256-abc"), filename=st.none() | st.text(max_size=20))
reply_objects = st.builds(
    Reply, text=texts(), options=st.lists(options, max_size=14).map(tuple),
    first_number=st.integers(1, 1000), style=st.sampled_from(["auto", "buttons", "list"]),
    list_button=texts(long=False), media=st.none() | media, request_location=st.booleans(),
    template=st.none() | st.builds(Template, name=st.text(min_size=1, max_size=30),
                                   parameters=st.lists(st.text(), max_size=3).map(tuple)),
)


def words(text: str) -> str:
    """What a split must keep: the text without any white space."""
    return "".join(text.split())


@given(texts(), st.integers(1, 5000))
def test_split_text_keeps_every_word_in_chunks_within_the_limit(text: str, limit: int) -> None:
    chunks = replies.split_text(text, limit)
    assert all(0 < len(chunk) <= limit and chunk == chunk.strip() for chunk in chunks)
    assert "".join(words(chunk) for chunk in chunks) == words(text)


@given(st.lists(st.fixed_dictionaries(
    {"text": st.text(), "buttons": st.lists(st.fixed_dictionaries(
        {"title": st.text(), "payload": st.text()}), max_size=5)},
    optional={"custom": st.fixed_dictionaries({}, optional={
        "style": st.text(max_size=8) | st.sampled_from(["list", "buttons"]),
        "list_button": st.text(max_size=30), "request_location": st.booleans()})}), max_size=5))
def test_options_are_numbered_across_the_turn(messages: list[dict[str, Any]]) -> None:
    turn = replies.from_bot_messages(messages)
    numbers = [number for reply in turn for number, _ in reply.numbered()]
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(reply.style in ("auto", "buttons", "list") for reply in turn)
    for reply in turn:
        menu = replies.numbered_menu(reply)
        assert all(f"{n}. {option.title}" in menu for n, option in reply.numbered())


def _shows_something(reply: Reply) -> bool:
    has_media = reply.media is not None and bool(reply.media.url or reply.media.ref)
    return bool(reply.text.strip() or reply.options or has_media or reply.request_location)


@given(reply_objects, st.sampled_from(["5123456789", "-100123", "chat"]))
def test_telegram_calls_stay_within_the_bot_api_limits(reply: Reply, chat_id: str) -> None:
    calls = tg.render(reply, chat_id)
    assert bool(calls) == _shows_something(reply)
    keys = tg.callback_keys(reply)
    shown, keyboards = "", 0
    for call in calls:
        assert call.method in ("sendMessage", "sendPhoto", "sendDocument")
        if call.method == "sendMessage":
            assert 0 < len(call.body["text"]) <= tg.TEXT_LIMIT
            shown += call.body["text"]
        else:
            assert len(call.body.get("caption", "")) <= tg.CAPTION_LIMIT
            shown += call.body.get("caption", "")
        markup = call.body.get("reply_markup")
        if markup is not None and "inline_keyboard" in markup:
            keyboards += 1
            rows = markup["inline_keyboard"]
            assert len(rows) == len(reply.options)
            for (number, option), row in zip(reply.numbered(), rows, strict=True):
                (button,) = row
                assert button["text"] == f"{number}. {option.title}"
                data = button["callback_data"]
                assert 1 <= len(data.encode("utf-8")) <= tg.CALLBACK_DATA_LIMIT
                assert data == option.payload or keys[data] == option.payload
    assert keyboards == (1 if reply.options else 0)
    assert words(reply.text) in words(shown) or not reply.text.strip()


def _check_interactive(reply: Reply, content: dict[str, Any], keys: dict[str, str]) -> None:
    body = content["body"]["text"]
    assert 0 < len(body) <= wa.BODY_LIMIT and body.strip()
    assert len(content.get("footer", {}).get("text", "")) <= wa.FOOTER_LIMIT
    action = content["action"]
    payloads = {option.payload for option in reply.options}
    if content["type"] == "button":
        buttons = action["buttons"]
        assert 1 <= len(buttons) <= wa.MAX_BUTTONS
        ids = [b["reply"]["id"] for b in buttons]
        titles = [b["reply"]["title"] for b in buttons]
        assert all(0 < len(t) <= wa.BUTTON_TITLE_LIMIT for t in titles)
        assert len(set(titles)) == len(titles)
    elif content["type"] == "list":
        assert 0 < len(action["button"]) <= wa.LIST_BUTTON_LIMIT
        (section,) = action["sections"]
        assert len(section["title"]) <= wa.SECTION_TITLE_LIMIT
        rows = section["rows"]
        assert 1 <= len(rows) <= wa.MAX_ROWS
        ids = [row["id"] for row in rows]
        assert all(0 < len(row["title"]) <= wa.ROW_TITLE_LIMIT for row in rows)
        assert all(len(row.get("description", "")) <= wa.ROW_DESCRIPTION_LIMIT for row in rows)
    else:
        assert content["type"] == "location_request_message"
        return
    assert len(set(ids)) == len(ids) == len(reply.options)
    assert all(0 < len(i) <= wa.REPLY_ID_LIMIT for i in ids)
    assert all(i in payloads or keys[i] in payloads for i in ids)


@given(reply_objects)
def test_whatsapp_messages_stay_within_the_cloud_api_limits(reply: Reply) -> None:
    rendered: list[Rendered] = wa.render(reply, "6281234567890")
    if reply.template is not None:
        assert [r.method for r in rendered] == ["template"]
        return
    assert bool(rendered) == _shows_something(reply)
    keys = wa.reply_keys(reply)
    for message in rendered:
        body = message.body
        assert body["to"] == "6281234567890" and body["type"] == message.method
        content = body[message.method]
        if message.method == "text":
            assert 0 < len(content["body"]) <= wa.TEXT_LIMIT
        elif message.method in ("image", "document"):
            assert len(content.get("caption", "")) <= wa.CAPTION_LIMIT
        else:
            assert message.method == "interactive"
            _check_interactive(reply, content, keys)
