"""The pintu channel (nlu/serving.py) on a real Rasa server with the real action server: answers
with understanding, and a model swap under a stream of messages that loses nothing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import FloatSlot
from rasa.shared.core.trackers import DialogueStateTracker

from nlu.serving import bearer_matches, model_stem, understanding

pytestmark = pytest.mark.rasa

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "serving-test-token"
NIK = "3671051207800002"


# ---- the parts that need no server ---------------------------------------------------------

def _tracker(*events: Any) -> DialogueStateTracker:
    tracker = DialogueStateTracker("warga", [FloatSlot("fallback_count", mappings=[])])
    for event in events:
        tracker.update(event)
    return tracker


def _uttered(text: str, intent: str, confidence: float = 0.9) -> UserUttered:
    ranking = [{"name": intent, "confidence": confidence}] + [
        {"name": f"other{i}", "confidence": 0.01} for i in range(7)]
    return UserUttered(text, {"name": intent, "confidence": confidence},
                       [{"entity": "nik", "value": NIK, "start": 0, "end": 16,
                         "extractor": "PintuEntityExtractor", "confidence_entity": 1.0,
                         "processors": ["x"]}],
                       parse_data={"intent_ranking": ranking})


def test_understanding_reads_the_last_message_and_the_actions_after_it() -> None:
    tracker = _tracker(
        ActionExecuted("action_listen"), _uttered("halo", "greet"), ActionExecuted("action_greet"),
        ActionExecuted("action_listen"), _uttered("cek ktp", "ktp"),
        ActionExecuted("action_ktp"), ActionExecuted("action_listen"),
    )
    seen = understanding(tracker, "m1")
    assert seen is not None
    assert seen["text"] == "cek ktp"
    assert seen["intent"] == "ktp"
    assert seen["confidence"] == pytest.approx(0.9)
    assert len(seen["intent_ranking"]) == 5
    assert seen["entities"] == [{"entity": "nik", "value": NIK, "start": 0, "end": 16,
                                 "extractor": "PintuEntityExtractor", "confidence": 1.0}]
    assert seen["actions"] == ["action_ktp", "action_listen"]
    assert seen["fallback"] is False
    assert seen["model"] == "m1"


def test_understanding_survives_a_reverted_utterance() -> None:
    # Rasa's own default fallback reverts the message: latest_message would be the one before.
    tracker = _tracker(
        _uttered("halo", "greet"), ActionExecuted("action_greet"),
        _uttered("qwerty", "greet", 0.2), ActionExecuted("action_default_fallback"),
        UserUtteranceReverted(),
    )
    assert tracker.latest_message is not None and tracker.latest_message.text == "halo"
    seen = understanding(tracker, None)
    assert seen is not None and seen["text"] == "qwerty"
    assert seen["fallback"] is True


@pytest.mark.parametrize(("events", "fallback"), [
    ([SlotSet("fallback_count", 1.0)], True),
    ([SlotSet("fallback_count", 2.0)], True),
    ([SlotSet("fallback_count", 0.0)], False),
    ([ActionExecuted("action_default_fallback")], True),
])
def test_fallback_flag_from_the_turns_events(events: list[Any], fallback: bool) -> None:
    tracker = _tracker(_uttered("apa ya", "ktp", 0.3), ActionExecuted("action_ktp"), *events)
    seen = understanding(tracker, None)
    assert seen is not None and seen["fallback"] is fallback


@pytest.mark.parametrize("intent", ["out_of_scope", "nlu_fallback"])
def test_fallback_flag_from_the_intent(intent: str) -> None:
    seen = understanding(_tracker(_uttered("zzz", intent)), None)
    assert seen is not None and seen["fallback"] is True


def test_no_message_no_understanding() -> None:
    assert understanding(_tracker(ActionExecuted("action_listen")), None) is None


def test_bearer_token_check() -> None:
    assert bearer_matches(f"Bearer {TOKEN}", TOKEN)
    assert bearer_matches(f"bearer {TOKEN}", TOKEN)
    assert not bearer_matches(None, TOKEN)
    assert not bearer_matches(TOKEN, TOKEN)
    assert not bearer_matches("Bearer ", TOKEN)
    assert not bearer_matches(f"Basic {TOKEN}", TOKEN)
    assert not bearer_matches(f"Bearer {TOKEN}x", TOKEN)


def test_model_stem() -> None:
    assert model_stem("/a/pintu-1.tar.gz") == "pintu-1"
    assert model_stem(None) is None


# ---- a real Rasa server and action server ---------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    first: Path  # the model it started with
    second: Path  # the same model under another name: a distinct swap target
    log: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def say(self, sender: str, text: str, client: httpx.Client | None = None) -> dict[str, Any]:
        http = client or httpx
        answer = http.post(f"{self.url}/webhooks/pintu/webhook", timeout=60,
                           json={"sender": sender, "message": text, "metadata": {}})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def swap(self, model: Path, token: str | None = TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.put(f"{self.url}/webhooks/pintu/model", headers=headers, timeout=300,
                         json={"model_file": str(model)})

    def model_info(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.url}/webhooks/pintu/model", timeout=10).json()
        return body


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not up in {timeout_s} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    assert models, "no trained model in models/: run make setup"
    tmp = tmp_path_factory.mktemp("serving")
    second = tmp / f"{model_stem(models[-1].name)}-copy.tar.gz"
    shutil.copyfile(models[-1], second)
    rasa_port, actions_port, unused = _free_port(), _free_port(), _free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PINTU_ENV")}
    env.update({
        "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "INTERNAL_API_TOKEN": TOKEN,
        # No agency or gateway: the flows used here never reach them.
        "AGENCY_API_URL": f"http://127.0.0.1:{unused}",
        "GATEWAY_URL": f"http://127.0.0.1:{unused}",
    })
    rasa = ROOT / ".venv-rasa" / "bin" / "rasa"
    log = tmp / "rasa.log"
    srv = Server(f"http://127.0.0.1:{rasa_port}", models[-1], second, log)
    try:
        with (tmp / "actions.log").open("wb") as out:
            actions = subprocess.Popen(  # noqa: S603 - fixed argv
                [str(rasa), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        srv.processes.append(actions)
        with log.open("wb") as out:
            rasa_server = subprocess.Popen(  # noqa: S603 - fixed argv
                [str(rasa), "run", "--enable-api", "--model", str(models[-1]),
                 "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints),
                 "--port", str(rasa_port), "--interface", "127.0.0.1"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        srv.processes.append(rasa_server)
        _wait(f"http://127.0.0.1:{actions_port}/health", actions, tmp / "actions.log", 120)
        _wait(f"{srv.url}/status", rasa_server, log, 180)
        yield srv
    finally:
        for process in reversed(srv.processes):
            _stop(process)


@pytest.mark.integration
def test_webhook_answers_with_messages_and_understanding(server: Server) -> None:
    body = server.say("serving-ktp", f"cek status ktp saya nik {NIK}")
    assert body["messages"] and body["messages"][0]["recipient_id"] == "serving-ktp"
    assert body["messages"][0]["text"]
    seen = body["understanding"]
    assert seen["text"] == f"cek status ktp saya nik {NIK}"
    assert seen["intent"] == "ktp"
    assert 0.5 < seen["confidence"] <= 1.0
    assert seen["intent_ranking"][0] == {"name": "ktp", "confidence": seen["confidence"]}
    assert 1 < len(seen["intent_ranking"]) <= 5
    assert {"entity": "nik", "value": NIK} in [
        {"entity": e["entity"], "value": e["value"]} for e in seen["entities"]]
    assert {"start", "end", "extractor"} <= set(seen["entities"][0])
    assert seen["fallback"] is False
    assert seen["actions"][0] == "action_ktp" and seen["actions"][-1] == "action_listen"
    assert seen["model"] == model_stem(server.first.name)


@pytest.mark.integration
def test_webhook_flags_gibberish_as_fallback(server: Server) -> None:
    body = server.say("serving-gibberish", "qwrtz xkcdv plmokn")
    assert body["messages"]
    assert body["understanding"]["fallback"] is True


@pytest.mark.integration
def test_webhook_passes_metadata_and_rejects_malformed_bodies(server: Server) -> None:
    # A shared location arrives as /inform with the attachment in the metadata (architecture.md).
    answer = httpx.post(f"{server.url}/webhooks/pintu/webhook", timeout=60, json={
        "sender": "serving-meta", "message": "/inform",
        "metadata": {"attachments": [{"type": "location", "latitude": -6.17,
                                      "longitude": 106.63}]}})
    assert answer.status_code == 200
    tracker = httpx.get(f"{server.url}/conversations/serving-meta/tracker", timeout=10).json()
    assert tracker["latest_message"]["metadata"]["attachments"][0]["type"] == "location"
    bad = httpx.post(f"{server.url}/webhooks/pintu/webhook", json={"sender": "x"}, timeout=10)
    assert bad.status_code == 400


@pytest.mark.integration
def test_get_model(server: Server) -> None:
    info = server.model_info()
    assert info["model"] == model_stem(server.first.name)
    assert info["path"] == str(server.first)
    assert info["model_id"]
    assert info["loaded_at"].endswith("+00:00")
    assert info["swapping"] is False


@pytest.mark.integration
def test_put_model_refuses_without_the_token_and_bad_paths(server: Server) -> None:
    assert server.swap(server.second, token=None).status_code == 401
    wrong = server.swap(server.second, token="not-the-token")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"
    assert server.swap(server.second.with_name("missing.tar.gz")).status_code == 400
    assert server.swap(ROOT / "credentials.yml").status_code == 400
    log = server.log.read_text()
    assert "model swap refused" in log
    assert "not-the-token" not in log
    assert server.model_info()["model"] == model_stem(server.first.name)


@pytest.mark.integration
def test_a_model_that_fails_to_load_leaves_the_old_one_serving(
        server: Server, tmp_path: Path) -> None:
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a model")
    answer = server.swap(broken)
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "load_failed"
    assert server.model_info()["model"] == model_stem(server.first.name)
    assert server.say("serving-after-broken", "halo")["messages"]


@dataclass
class Traffic:
    """Residents writing without pause while the model is swapped."""

    url: str
    answers: list[tuple[int, int, str | None]] = field(default_factory=list)  # status, n, model
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, worker: int) -> None:
        with httpx.Client(timeout=60) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                try:
                    answer = client.post(f"{self.url}/webhooks/pintu/webhook", json={
                        "sender": f"serving-load-{worker}-{n % 5}", "message": "halo",
                        "metadata": {}})
                except httpx.HTTPError as exc:
                    self.errors.append(type(exc).__name__)
                    continue
                body = answer.json() if answer.status_code == 200 else {}
                model = (body.get("understanding") or {}).get("model")
                self.answers.append((answer.status_code, len(body.get("messages") or []), model))
                # A short pause: back-to-back senders saturating a small machine starve the
                # loading thread of the GIL (the swap then takes minutes, still losing nothing).
                time.sleep(0.1)


@pytest.mark.integration
def test_swap_under_load_keeps_every_message_and_every_conversation(server: Server) -> None:
    old, new = model_stem(server.first.name), model_stem(server.second.name)
    # A form in progress: the bot asked for the NIK before the swap...
    asked = server.say("serving-form", "saya mau cek status ktp")
    assert "NIK" in asked["messages"][0]["text"]
    assert "doc_status_form" in asked["understanding"]["actions"]

    traffic = Traffic(server.url)
    workers = [threading.Thread(target=traffic.run, args=(i,)) for i in range(2)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(1.0)
        result: dict[str, httpx.Response] = {}
        swapper = threading.Thread(target=lambda: result.update(put=server.swap(server.second)))
        swapper.start()
        deadline = time.monotonic() + 30
        while not server.model_info()["swapping"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.swap(server.second).status_code == 409  # one swap at a time
        swapper.join(timeout=300)
        time.sleep(2.0)  # some messages for the new model too
    finally:
        traffic.stop.set()
        for worker in workers:
            worker.join(timeout=120)

    put = result["put"]
    assert put.status_code == 200, put.text
    assert put.json()["model"] == new and put.json()["previous"] == old
    assert put.json()["load_seconds"] > 0
    assert traffic.errors == []
    assert [a for a in traffic.answers if a[0] != 200 or a[1] == 0] == []
    models = {a[2] for a in traffic.answers}
    assert models == {old, new}, models  # answered throughout, by the old model then the new
    # ...and after it the same form takes the NIK and asks for the KK number.
    continued = server.say("serving-form", NIK)
    assert "doc_status_form" in continued["understanding"]["actions"]
    assert "KK" in continued["messages"][0]["text"]
    assert continued["understanding"]["model"] == new

    info = server.model_info()
    assert info["model"] == new and info["path"] == str(server.second)
    assert info["swapping"] is False
    log = server.log.read_text()
    assert f"model swap started: {old} -> {new}" in log
    assert f"model swap finished: {old} -> {new}" in log
    assert NIK not in log

    back = server.swap(server.first)
    assert back.status_code == 200 and back.json()["model"] == old
    assert server.model_info()["model"] == old
    assert server.say("serving-form", "halo")["understanding"]["model"] == old


@pytest.mark.integration
def test_a_tracker_reset_forgets_the_conversation(server: Server) -> None:
    """What the gateway's erasure asks of Rasa ("hapus data saya"; bot.rasa_client's
    `reset_tracker`: PUT /conversations/<sender>/tracker/events with [])."""
    sender = "telegram:5550001"
    server.say(sender, "saya mau lapor jalan rusak di cipondoh")
    tracker = f"{server.url}/conversations/{sender}/tracker"
    before = httpx.get(tracker, timeout=10).json()
    assert any(e.get("text") for e in before["events"])
    reset = httpx.put(f"{tracker}/events", params={"include_events": "NONE"}, json=[],
                      timeout=10)
    assert reset.status_code == 200, reset.text
    after = httpx.get(tracker, params={"include_events": "ALL"}, timeout=10).json()
    # Reading the empty tracker starts a new session (action_session_start, session_started,
    # action_listen): nothing of the resident's is left.
    assert [e["event"] for e in after["events"]] == ["action", "session_started", "action"]
    assert not any(e.get("text") for e in after["events"])
    assert not any(after["slots"].values())
    assert server.say(sender, "halo")["messages"]  # a new conversation goes on as usual


@pytest.mark.integration
def test_rasa_and_the_action_server_print_nothing_personal(server: Server) -> None:
    """Issue 8: a conversation full of personal data (tests.shared.leaks), the agencies away,
    leaves none of it in what Rasa and the action server print at their default level."""
    from tests.shared import leaks

    sender = f"telegram:{leaks.TELEGRAM_CHAT}"
    for text in ("cek ktp", leaks.NIK, leaks.KK, f"nik saya {leaks.NIK} kk {leaks.KK}",
                 "mau lapor jalan rusak", f"{leaks.SENTENCES[0]} di {leaks.ADDRESS}",
                 f"nama saya {leaks.NAME} hp {leaks.PHONE_FORMS[1]}", leaks.SENTENCES[1]):
        server.say(sender, text)
    time.sleep(1)  # the action server's last lines
    printed = server.log.read_text(errors="replace") + \
        (server.log.parent / "actions.log").read_text(errors="replace")
    assert "dukcapil POST /dukcapil/v1/ktp/status failed" in printed  # the agency was tried
    leaks.assert_clean(printed, "Rasa's and the action server's output")
