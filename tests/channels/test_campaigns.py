"""Campaigns (issue 6, slice 3) through a real gateway (outbox, campaign runner, fake Bot API and
Graph API) on real PostgreSQL and Redis: who is in a segment, nobody twice, nobody who said STOP,
replies first, and a repeated or interrupted send never repeated."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.db import in_transaction, utcnow
from bot.models import CampaignRecipient, Contact
from bot.outbound import open_window
from bot.outreach import broadcast, campaigns, consent, segments, wa_templates
from bot.outreach.segments import Segment
from bot.records import touch_contact
from tests.fakes.graph_api import status_update, webhook_payload

from .conftest import Gateway, wait_for

pytestmark = pytest.mark.integration


def resident(gw: Gateway, channel: str, chat_id: str, *, topics: tuple[str, ...] = ("city_news",),
             window: bool = True, stopped: bool = False, withdrawn: bool = False) -> int:
    """A contact with consents, as the inbox would have left it."""
    def work(session: Any) -> int:
        contact = touch_contact(session, channel, chat_id, inbound=window)
        session.flush()
        for topic in topics:
            consent.grant(session, contact.id, topic, source="start_word",
                          wording=consent.WORDING["city_news"])
        if withdrawn:
            consent.withdraw_all(session, contact.id, by="stop_word")
        if stopped:
            contact.status = "stopped"
        return int(contact.id)
    contact_id = in_transaction(gw.services.sessions, work)
    if window and channel == "whatsapp":
        gw.call(open_window(gw.services.store.redis, "whatsapp", chat_id))
    return contact_id


def db(gw: Gateway, work: Any, *args: Any) -> Any:
    return in_transaction(gw.services.sessions, work, *args)


def new_campaign(gw: Gateway, segment: Segment, **extra: Any) -> int:
    return int(db(gw, lambda s: campaigns.create(
        s, title="Uji", text=extra.pop("text", "Vaksinasi gratis Sabtu ini."), segment=segment,
        staff_id=None, **extra).id))


def states(gw: Gateway, campaign_id: int) -> dict[str, int]:
    return {k: v for k, v in db(gw, campaigns.progress, campaign_id).items() if v}


def telegram_texts(gw: Gateway) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in gw.telegram.calls("sendMessage"):
        counts[str(call.chat_id)] = counts.get(str(call.chat_id), 0) + 1
    return counts


def test_the_segment_is_consent_channel_kecamatan_and_activity_in_sql(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    resident(gw, "telegram", "1001")
    resident(gw, "telegram", "1002", stopped=True)  # blocked the bot
    resident(gw, "telegram", "1003", withdrawn=True)  # said STOP
    resident(gw, "telegram", "1004", topics=())  # never said yes
    resident(gw, "whatsapp", "6281100000001")
    resident(gw, "whatsapp", "6281100000002", topics=("city_news", "kecamatan:Cipondoh"))
    resident(gw, "whatsapp", "6281100000003", window=False)  # never wrote: no activity
    count = lambda seg: db(gw, segments.count, seg)  # noqa: E731
    assert count(Segment()) == {"telegram": 1, "whatsapp": 3}
    assert count(Segment(channels=("whatsapp",))) == {"whatsapp": 3}
    assert count(Segment(kecamatan="Cipondoh")) == {"telegram": 0, "whatsapp": 1}
    assert count(Segment(active_since=date.today() - timedelta(days=1))) == \
        {"telegram": 1, "whatsapp": 2}
    with pytest.raises(segments.SegmentError):
        Segment.parse({"kecamatan": "Jakarta"})
    campaign_id = new_campaign(gw, Segment(channels=("telegram",)))
    started = db(gw, campaigns.start, campaign_id)
    assert started is not None
    rows = gw.rows("SELECT contact_id FROM campaign_recipients WHERE campaign_id = :c",
                   c=campaign_id)
    assert len(rows) == 1
    with pytest.raises(campaigns.CampaignStateError):  # a campaign is queued once
        db(gw, campaigns.start, campaign_id)


def test_a_campaign_reaches_each_resident_once_on_both_channels(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    gw: Gateway = make_gateway()
    chats = [str(2000 + i) for i in range(5)]
    for chat in chats:
        resident(gw, "telegram", chat)
    resident(gw, "whatsapp", "6281200000001")
    resident(gw, "whatsapp", "6281200000002", window=False)  # no template: skipped, counted
    resident(gw, "telegram", "2999", withdrawn=True)
    buttons = [{"title": "Daftar", "payload": "daftar vaksin"}]
    campaign_id = new_campaign(gw, Segment(), buttons=buttons)
    db(gw, campaigns.start, campaign_id)
    wait_for(lambda: gw.rows("SELECT state FROM campaigns WHERE id = :c", c=campaign_id)[0][0]
             == "done", timeout=20, what="campaign done")
    assert telegram_texts(gw) == {chat: 1 for chat in chats}
    sent = gw.telegram.calls("sendMessage")[0].params
    assert sent["text"] == "Vaksinasi gratis Sabtu ini."
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "daftar vaksin"
    wa = gw.graph.sent()
    assert [b["to"] for b in wa] == ["6281200000001"]
    assert wa[0]["type"] == "interactive"
    assert states(gw, campaign_id) == {"sent": 6, "skipped": 1}
    refs = gw.rows("SELECT ref FROM campaign_recipients WHERE state = 'sent'")
    assert all(r[0].startswith("cr") for r in refs)
    # WhatsApp's receipts move the recipient forward, never back.
    wamid, = gw.graph.wamids()
    for status in ("read", "delivered"):
        gw.whatsapp_post(webhook_payload(statuses=[status_update(wamid, status,
                                                                 "6281200000001")]))
    wait_for(lambda: states(gw, campaign_id).get("read") == 1, what="read receipt")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert not any(chat in logged for chat in [*chats, "6281200000001", "6281200000002"])


def test_template_outside_the_window_and_stop_after_queueing(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    resident(gw, "whatsapp", "6281300000001", window=False)
    quitter = resident(gw, "whatsapp", "6281300000002")
    template = db(gw, lambda s: wa_templates.register(
        s, name="info_kota", language="id", variables=["isi"], body="Info Pemkot: {{1}}",
        staff_id=None).id)
    campaign_id = new_campaign(gw, Segment(channels=("whatsapp",)), template_id=template,
                               template_params=["Vaksinasi gratis Sabtu ini."])
    db(gw, campaigns.start, campaign_id)
    db(gw, campaigns.pause, campaign_id)  # before anything went out, or right after
    db(gw, lambda s: consent.withdraw_all(s, quitter, by="stop_word"))  # STOP meanwhile
    db(gw, campaigns.resume, campaign_id)
    wait_for(lambda: gw.rows("SELECT state FROM campaigns WHERE id = :c", c=campaign_id)[0][0]
             == "done", timeout=20, what="campaign done")
    sent = gw.graph.sent()
    assert [b["to"] for b in sent] == ["6281300000001"]
    assert sent[0]["template"]["name"] == "info_kota"
    assert sent[0]["template"]["components"][0]["parameters"][0]["text"] == \
        "Vaksinasi gratis Sabtu ini."
    assert states(gw, campaign_id) == {"sent": 1, "skipped": 1}


def test_cancel_skips_everyone_not_yet_sent(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(telegram_rate_per_s=2.0)
    for i in range(30):
        resident(gw, "telegram", str(3000 + i))
    campaign_id = new_campaign(gw, Segment(channels=("telegram",)))
    db(gw, campaigns.start, campaign_id)
    wait_for(lambda: gw.telegram.calls("sendMessage"), what="a first send")
    db(gw, campaigns.cancel, campaign_id)
    time_sent = len(gw.telegram.calls("sendMessage"))
    wait_for(lambda: not states(gw, campaign_id).get("claimed") and
             not states(gw, campaign_id).get("sending"), timeout=15, what="claims settled")
    done = states(gw, campaign_id)
    assert done["sent"] == len(gw.telegram.calls("sendMessage")) <= time_sent + 4
    assert done["sent"] + done["skipped"] == 30


def test_a_job_seen_twice_is_sent_once_and_an_interrupted_send_never_again(
        make_gateway: Any) -> None:
    """The compare-and-set before the HTTP call: a second job for the same recipient (a lease
    that ran out, a worker restarted) finds it taken; a recipient left `sending` by a dead
    worker becomes `unconfirmed`, not sent again."""
    gw: Gateway = make_gateway(run_workers=False)
    for i in range(3):
        resident(gw, "telegram", str(4000 + i))
    campaign_id = new_campaign(gw, Segment(channels=("telegram",)))
    db(gw, campaigns.start, campaign_id)
    claimed = db(gw, campaigns.claim, campaign_id, "telegram", 10)
    assert [c.external_id for c in claimed] == ["4000", "4001", "4002"]
    first, second, third = (c.recipient_id for c in claimed)
    assert db(gw, campaigns.begin_send, first, "city_news") is True
    assert db(gw, campaigns.begin_send, first, "city_news") is False  # the repeated job
    db(gw, lambda s: campaigns.record_outcome(s, first, "sent", channel_message_id="4000:1"))
    assert db(gw, campaigns.begin_send, first, "city_news") is False
    assert db(gw, campaigns.begin_send, second, "city_news") is True  # then the worker dies
    assert db(gw, campaigns.claim, campaign_id, "telegram", 10) == []  # nothing re-queued
    db(gw, lambda s: s.execute(update(CampaignRecipient).where(
        CampaignRecipient.id == second).values(claimed_at=utcnow() - timedelta(minutes=10))))
    db(gw, lambda s: campaigns.reconcile(s, unconfirmed_after_s=300, requeue_after_s=3600))
    assert db(gw, campaigns.begin_send, second, "city_news") is False
    db(gw, lambda s: s.execute(update(Contact).where(Contact.by_channel_id("telegram", "4002"))
                               .values(status="stopped")))
    assert db(gw, campaigns.begin_send, third, "city_news") is False  # blocked meanwhile
    assert states(gw, campaign_id) == {"sent": 1, "unconfirmed": 1, "skipped": 1}


def test_replies_go_before_a_campaign_on_the_shared_limit(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(telegram_rate_per_s=4.0, campaign_buffer_s=5.0)
    for i in range(20):
        resident(gw, "telegram", str(5000 + i))
    campaign_id = new_campaign(gw, Segment(channels=("telegram",)))
    db(gw, campaigns.start, campaign_id)
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) >= 2, what="the campaign started")
    rendered = broadcast.telegram(broadcast.Broadcast("Balasan untuk Anda"), "5999")
    gw.call(gw.services.outbox.enqueue("telegram", "5999", [rendered], [None]))
    wait_for(lambda: any(c.chat_id == "5999" for c in gw.telegram.calls("sendMessage")),
             what="the reply")
    order = [c.chat_id for c in gw.telegram.calls("sendMessage")]
    assert order.index("5999") <= 8  # ahead of the broadcasts still queued
    assert len(order) < 21
    db(gw, campaigns.cancel, campaign_id)


def test_registering_a_template_checks_its_placeholders(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    with pytest.raises(wa_templates.TemplateError):
        db(gw, lambda s: wa_templates.register(s, name="Info Kota", language="id",
                                               variables=[], body="x", staff_id=None))
    with pytest.raises(wa_templates.TemplateError):
        db(gw, lambda s: wa_templates.register(s, name="info", language="id",
                                               variables=["a", "b"], body="{{1}}",
                                               staff_id=None))
    with pytest.raises(broadcast.ComposeError):
        broadcast.validate("Judul", "x" * 1025, ())
    with pytest.raises(broadcast.ComposeError):
        broadcast.validate("Judul", "x", (broadcast.Button("a" * 21, "a"),))


def test_a_scheduled_campaign_goes_out_when_its_time_comes(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    resident(gw, "telegram", "6001")
    campaign_id = new_campaign(gw, Segment(channels=("telegram",)))
    at = utcnow() + timedelta(seconds=2)
    assert db(gw, lambda s: campaigns.start(s, campaign_id, at).state) == "scheduled"
    resident(gw, "telegram", "6002")  # joins before the time: the segment is read then
    assert gw.telegram.calls("sendMessage") == []
    wait_for(lambda: gw.rows("SELECT state FROM campaigns WHERE id = :c", c=campaign_id)[0][0]
             == "done", timeout=20, what="campaign done")
    assert telegram_texts(gw) == {"6001": 1, "6002": 1}
    sent_at = gw.rows("SELECT min(sent_at) FROM campaign_recipients")[0][0]
    assert sent_at >= at


def test_an_unconfirmed_whatsapp_send_is_settled_by_its_status_or_sent_once_more(
        make_gateway: Any) -> None:
    """A send cut off mid-call (a killed worker, a lost answer): WhatsApp's status webhook
    names the recipient's ref (`biz_opaque_callback_data`), which settles it as sent; one that
    no status names after CAMPAIGN_WHATSAPP_RESEND_AFTER_S was never accepted, and goes out
    once more. Telegram has no such report: its unconfirmed sends stay so."""
    from bot import records
    from integrations.whatsapp.webhook import parse_webhook

    gw: Gateway = make_gateway(run_workers=False)
    for number in ("6281200000011", "6281200000012"):
        resident(gw, "whatsapp", number)
    resident(gw, "telegram", "4100")
    campaign_id = new_campaign(gw, Segment(channels=("whatsapp", "telegram")))
    db(gw, campaigns.start, campaign_id)
    claimed = {c.external_id: c for c in [
        *db(gw, campaigns.claim, campaign_id, "whatsapp", 10),
        *db(gw, campaigns.claim, campaign_id, "telegram", 10)]}
    rendered = broadcast.whatsapp(broadcast.Broadcast("Kabar"), "6281200000011",
                                  window_open=True, callback_data=claimed["6281200000011"].ref)
    assert rendered is not None
    assert rendered.body["biz_opaque_callback_data"] == claimed["6281200000011"].ref
    for one in claimed.values():  # every call goes out, then the worker dies
        assert db(gw, campaigns.begin_send, one.recipient_id, "city_news") is True
    db(gw, lambda s: s.execute(update(CampaignRecipient).values(
        claimed_at=utcnow() - timedelta(minutes=6))))
    db(gw, lambda s: campaigns.reconcile(s, unconfirmed_after_s=300, requeue_after_s=3600,
                                         whatsapp_resend_after_s=900))
    assert states(gw, campaign_id) == {"unconfirmed": 3}
    # WhatsApp reports the first one: it was sent, and is never sent again.
    status = status_update("wamid.cut-off-1", "delivered", "6281200000011")
    status["biz_opaque_callback_data"] = claimed["6281200000011"].ref
    _, receipts = parse_webhook(webhook_payload(statuses=[status]))
    assert receipts[0].callback_data == claimed["6281200000011"].ref
    db(gw, records.apply_receipt, "whatsapp", "wamid.cut-off-1", "delivered", None,
       receipts[0].callback_data)
    assert states(gw, campaign_id) == {"delivered": 1, "unconfirmed": 2}
    assert db(gw, lambda s: campaigns.finish(s, whatsapp_resend=True)) == []  # may be resent
    db(gw, lambda s: s.execute(update(CampaignRecipient).values(
        claimed_at=utcnow() - timedelta(minutes=16))))
    db(gw, lambda s: campaigns.reconcile(s, unconfirmed_after_s=300, requeue_after_s=3600,
                                         whatsapp_resend_after_s=900))
    assert states(gw, campaign_id) == {"delivered": 1, "queued": 1, "unconfirmed": 1}
    again = db(gw, campaigns.claim, campaign_id, "whatsapp", 10)
    assert [c.external_id for c in again] == ["6281200000012"]
    assert db(gw, campaigns.claim, campaign_id, "telegram", 10) == []
