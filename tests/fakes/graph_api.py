"""A fake WhatsApp Cloud API (Meta Graph API) speaking the real wire format, and webhook builders.

`FakeGraph().app` is an ASGI app: run it with `tests.fakes.server.ThreadedServer` or standalone
(`python -m tests.fakes.graph_api --port 8081 --token T`). It checks the bearer token, validates
message bodies against the Cloud API limits that matter and answers errors in Graph's shape, so a
body it accepts is one the real API would accept. Calls are recorded for assertions; `fail()`,
`delay()` and the `/_fake/...` routes script outages, also from another process.

The builders (`webhook_payload`, `text_message`, ..., `encode`, `sign`) make webhook bodies as
Meta sends them, for tests and benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import email.parser
import email.policy
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

WABA_ID = "104582736190245"
PHONE_NUMBER_ID = "109876543210987"
DISPLAY_PHONE_NUMBER = "6281100002024"
DEFAULT_TOKEN = "test-access-token"

# Titles as Graph puts them in `message` ("(#code) title"), with a typical `details`.
ERRORS: dict[int, tuple[str, str]] = {
    1: ("An unknown error occurred", "Invalid request or possible server error."),
    2: ("Service temporarily unavailable", "Temporary due to downtime or overload."),
    4: ("Application request limit reached", "The app has reached its API call rate limit."),
    100: ("Invalid parameter", "Invalid parameter"),
    190: ("Invalid OAuth access token - Cannot parse access token", ""),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    130429: ("Rate limit hit", "Message failed to send because there were too many messages sent "
             "from this phone number in a short period of time"),
    131000: ("Something went wrong", "Message failed to send due to an unknown error."),
    131009: ("Parameter value is not valid", "Parameter value is not valid"),
    131016: ("Service unavailable", "A service is temporarily unavailable."),
    131026: ("Message undeliverable", "Unable to deliver message."),
    131047: ("Re-engagement message", "More than 24 hours have passed since the recipient last "
             "replied to the sender number."),
    131048: ("Spam rate limit hit", "Message failed to send because there are restrictions on "
             "how many messages can be sent from this phone number."),
    131050: ("Unable to deliver the message", "This recipient has chosen to stop receiving "
             "marketing messages on WhatsApp from your business."),
    131051: ("Unsupported message type", "Message type is not currently supported."),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", "Message failed to send "
             "because there were too many messages sent from this phone number to the same phone "
             "number in a short period of time."),
    133010: ("Account not registered", "Phone number not registered on the Whatsapp Business "
             "Platform."),
}
_DEFAULT_CODE = {400: 100, 401: 190, 429: 130429, 500: 131000, 503: 131016}
_MESSAGE_TYPES = {"text", "interactive", "image", "document", "audio", "video", "sticker",
                  "template", "location", "contacts", "reaction"}


def graph_error(code: int, details: str | None = None, *, subcode: int | None = None,
                error_type: str = "OAuthException", transient: bool | None = None,
                trace: str | None = None) -> dict[str, Any]:
    """An error body as the Graph API answers it."""
    title, default_details = ERRORS.get(code, ("Unknown error", ""))
    error: dict[str, Any] = {"message": f"(#{code}) {title}" if code != 190 else title,
                             "type": error_type, "code": code}
    if code != 190:
        error["error_data"] = {"messaging_product": "whatsapp",
                               "details": details or default_details}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient is not None:
        error["is_transient"] = transient
    error["fbtrace_id"] = trace or base64.urlsafe_b64encode(uuid.uuid4().bytes)[:23].decode()
    return {"error": error}


@dataclass
class Call:
    """One request the fake answered."""

    kind: str  # "message", "read", "upload", "media_info", "download", "unknown"
    method: str
    path: str
    body: Any
    status: int = 200
    answer: Any = None  # the JSON answered
    wall: float = field(default_factory=time.time)
    monotonic: float = field(default_factory=time.monotonic)


@dataclass
class _Failure:
    status: int
    code: int
    retry_after: float | None
    kind: str | None


@dataclass
class _Media:
    content: bytes
    mime_type: str
    sha256: str


class FakeGraph:
    """The fake's state and its ASGI app (`.app`). Safe to use from the test thread while the
    server thread answers requests."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._failures: deque[_Failure] = deque()
        self._media: dict[str, _Media] = {}
        self._delay = 0.0
        self._ids = itertools.count(1)
        self.app = self._build_app()

    # -- control ---------------------------------------------------------------------------------

    def calls(self, kind: str | None = None) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if kind is None or call.kind == kind]

    def sent(self) -> list[dict[str, Any]]:
        """The bodies of the messages accepted, in order."""
        return [call.body for call in self.calls("message") if call.status == 200]

    def wamids(self) -> list[str]:
        """The ids given to the messages accepted, in order (the gateway stores only their
        keyed hashes: status webhooks name these)."""
        return [str(call.answer["messages"][0]["id"]) for call in self.calls("message")
                if call.status == 200 and "messages" in (call.answer or {})]

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._media.clear()
            self._delay = 0.0

    def reset_failures(self) -> None:
        """Ends scripted failures still waiting (an outage that is over)."""
        with self._lock:
            self._failures.clear()

    def fail(self, status: int = 429, code: int | None = None, count: int = 1,
             retry_after: float | None = None, kind: str | None = "message") -> None:
        """The next `count` calls of `kind` (None: any call) answer this Graph error."""
        failure = _Failure(status, code if code is not None else _DEFAULT_CODE.get(status, 100),
                           retry_after, kind)
        with self._lock:
            self._failures.extend([failure] * count)

    def add_media(self, media_id: str, content: bytes, mime_type: str,
                  sha256: str | None = None) -> None:
        """Stores a file as if a resident had sent it (`sha256` overrides the hex digest)."""
        with self._lock:
            self._media[media_id] = _Media(content, mime_type,
                                           sha256 or hashlib.sha256(content).hexdigest())

    def delay(self, seconds: float) -> None:
        """Every API call waits this long before answering (0 to stop)."""
        with self._lock:
            self._delay = seconds

    def media(self, media_id: str) -> tuple[bytes, str] | None:
        with self._lock:
            stored = self._media.get(media_id)
        return (stored.content, stored.mime_type) if stored else None

    # -- plumbing --------------------------------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def _take_failure(self, kind: str) -> _Failure | None:
        with self._lock:
            if self._failures and self._failures[0].kind in (None, kind):
                return self._failures.popleft()
        return None

    def _new_media_id(self) -> str:
        return str(1_000_000_000_000_000 + next(self._ids) * 7919 + int(time.time()) % 1000)

    async def _gate(self, request: Request, kind: str, call: Call) -> Response | None:
        """Delay, bearer check and scripted failure: the answer when one of them applies."""
        with self._lock:
            delay = self._delay
        if delay:
            await asyncio.sleep(delay)
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(),
                                                                 self.token.encode()):
            return self._answer(call, 401, graph_error(190), headers={
                "WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token" '
                                    '"Invalid OAuth access token - Cannot parse access token"'})
        failure = self._take_failure(kind)
        if failure is not None:
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = f"{failure.retry_after:g}"
            transient = True if failure.status >= 500 else None
            return self._answer(call, failure.status,
                                graph_error(failure.code, transient=transient), headers=headers)
        return None

    def _answer(self, call: Call, status: int, body: dict[str, Any],
                headers: dict[str, str] | None = None) -> JSONResponse:
        call.status, call.answer = status, body
        self._record(call)
        return JSONResponse(body, status_code=status, headers=headers)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Fake WhatsApp Cloud API", openapi_url=None, docs_url=None,
                      redoc_url=None)

        @app.get("/_fake/calls")
        async def fake_calls(kind: str | None = None) -> list[dict[str, Any]]:
            return [asdict(call) for call in self.calls(kind)]

        @app.post("/_fake/reset")
        async def fake_reset() -> dict[str, bool]:
            self.reset()
            return {"ok": True}

        @app.post("/_fake/fail")
        async def fake_fail(request: Request) -> dict[str, bool]:
            spec = await request.json()
            self.fail(status=int(spec.get("status", 429)), code=spec.get("code"),
                      count=int(spec.get("count", 1)), retry_after=spec.get("retry_after"),
                      kind=spec.get("kind", "message"))
            return {"ok": True}

        @app.post("/_fake/delay")
        async def fake_delay(request: Request) -> dict[str, bool]:
            self.delay(float((await request.json()).get("seconds", 0)))
            return {"ok": True}

        @app.get("/whatsapp_business/attachments/")
        async def download(request: Request) -> Response:
            media_id = request.query_params.get("mid", "")
            call = Call("download", "GET", request.url.path, {"mid": media_id})
            if (early := await self._gate(request, "download", call)) is not None:
                return early
            with self._lock:
                stored = self._media.get(media_id)
            if stored is None:
                return self._answer(call, 404, graph_error(100, "Media not found"))
            self._record(call)
            return Response(stored.content, media_type=stored.mime_type)

        @app.post("/{version}/{phone_number_id}/messages")
        async def messages(version: str, phone_number_id: str, request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                body = None
            kind = "read" if isinstance(body, dict) and "status" in body else "message"
            call = Call(kind, "POST", request.url.path, body)
            if (early := await self._gate(request, kind, call)) is not None:
                return early
            if kind == "read":
                assert isinstance(body, dict)
                if body.get("messaging_product") != "whatsapp" or body.get("status") != "read" \
                        or not body.get("message_id"):
                    return self._answer(call, 400, graph_error(100, "Invalid parameter"))
                return self._answer(call, 200, {"success": True})
            problem = validate_message(body, known_media=self._known_media())
            if problem is not None:
                code, details = problem
                return self._answer(call, 400, graph_error(code, details, subcode=2494010
                                                           if code == 131009 else None))
            assert isinstance(body, dict)
            answer: dict[str, Any] = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": new_wamid(str(body["to"]), inbound=False)}],
            }
            if body["type"] == "template":
                answer["messages"][0]["message_status"] = "accepted"
            return self._answer(call, 200, answer)

        @app.post("/{version}/{phone_number_id}/media")
        async def upload(version: str, phone_number_id: str, request: Request) -> Response:
            fields, files = _parse_multipart(request.headers.get("content-type", ""),
                                             await request.body())
            call = Call("upload", "POST", request.url.path,
                        {**fields, "files": {name: {"filename": f[0], "mime_type": f[2],
                                                    "size": len(f[1])}
                                             for name, f in files.items()}})
            if (early := await self._gate(request, "upload", call)) is not None:
                return early
            if fields.get("messaging_product") != "whatsapp":
                return self._answer(call, 400, graph_error(
                    100, "The parameter messaging_product is required."))
            if "file" not in files or not fields.get("type"):
                return self._answer(call, 400, graph_error(100, "The parameter file is required."))
            media_id = self._new_media_id()
            self.add_media(media_id, files["file"][1], fields["type"])
            return self._answer(call, 200, {"id": media_id})

        @app.get("/{version}/{media_id}")
        async def media_info(version: str, media_id: str, request: Request) -> Response:
            call = Call("media_info", "GET", request.url.path, dict(request.query_params))
            if (early := await self._gate(request, "media_info", call)) is not None:
                return early
            with self._lock:
                stored = self._media.get(media_id)
            if stored is None:
                return self._answer(call, 400, graph_error(
                    100, f"Unsupported get request. Object with ID '{media_id}' does not exist, "
                         "cannot be loaded due to missing permissions, or does not support this "
                         "operation.", subcode=33, error_type="GraphMethodException"))
            base = str(request.base_url).rstrip("/")
            expiry = int(time.time()) + 300
            link_hash = hashlib.sha256(f"{media_id}:{expiry}".encode()).hexdigest()[:24]
            return self._answer(call, 200, {
                "url": f"{base}/whatsapp_business/attachments/?mid={media_id}&ext={expiry}"
                       f"&hash={link_hash}",
                "mime_type": stored.mime_type, "sha256": stored.sha256,
                "file_size": len(stored.content), "id": media_id,
                "messaging_product": "whatsapp",
            })

        return app

    def _known_media(self) -> set[str]:
        with self._lock:
            return set(self._media)


# -- validation ----------------------------------------------------------------------------------


def validate_message(body: Any, known_media: Iterable[str] | None = None) -> tuple[int, str] | None:
    """What the real API would refuse in a message body: `(code, details)`, or None when valid.

    Covers the limits Pintu can run into: text 4096, interactive body 1024, header/footer 60,
    1-3 reply buttons (unique ids <= 256 and titles <= 20), lists (button <= 20, <= 10 sections,
    1-10 rows in all, unique row ids <= 200, titles <= 24, descriptions <= 72, section titles
    <= 24), media by link or known id with captions <= 1024, templates with name and language.
    """
    if not isinstance(body, dict):
        return 100, "Invalid parameter"
    if body.get("messaging_product") != "whatsapp":
        return 100, "The parameter messaging_product is required."
    if not isinstance(body.get("to"), str) or not body["to"]:
        return 100, "The parameter to is required."
    kind = body.get("type", "text")
    if kind not in _MESSAGE_TYPES:
        return 100, f"Param type must be one of {sorted(_MESSAGE_TYPES)}"
    content = body.get(kind)
    if not isinstance(content, dict):
        return 100, f"The parameter {kind} is required."
    if kind == "text":
        text = content.get("body")
        if not isinstance(text, str) or not text.strip():
            return 100, "The parameter text['body'] is required."
        if len(text) > 4096:
            return 100, "Param text['body'] must be at most 4096 characters long."
        return None
    if kind == "interactive":
        return _validate_interactive(content)
    if kind in ("image", "document", "audio", "video", "sticker"):
        return _validate_media(kind, content, known_media)
    if kind == "template":
        language = content.get("language")
        if not content.get("name") or not isinstance(language, dict) or \
                not language.get("code"):
            return 100, "The parameter template['name'] and template['language'] are required."
    return None


def _length_problem(what: str, value: Any, limit: int) -> tuple[int, str] | None:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        return 131009, f"{what} length invalid. Min length: 1, Max length: {limit}"
    return None


def _validate_interactive(content: dict[str, Any]) -> tuple[int, str] | None:
    kind = content.get("type")
    body = content.get("body")
    if not isinstance(body, dict):
        return 131009, "The parameter interactive['body'] is required."
    problem = _length_problem("Body text", body.get("text"), 1024)
    for part in ("footer", "header"):
        if problem is None and isinstance(content.get(part), dict) and \
                content[part].get("type", "text") == "text":
            problem = _length_problem(f"{part.title()} text", content[part].get("text"), 60)
    if problem is not None:
        return problem
    action = content.get("action")
    if not isinstance(action, dict):
        return 131009, "The parameter interactive['action'] is required."
    if kind == "button":
        return _validate_buttons(action)
    if kind == "list":
        return _validate_list(action)
    if kind == "location_request_message":
        if action.get("name") != "send_location":
            return 131009, "Action name must be send_location"
        return None
    if kind in ("cta_url", "flow", "product", "product_list", "catalog_message"):
        return None
    return 131009, "Interactive type is not valid"


def _validate_buttons(action: dict[str, Any]) -> tuple[int, str] | None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return 131009, "Buttons count invalid. Min: 1, Max: 3"
    ids, titles = set(), set()
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(reply, dict) or button.get("type") != "reply":
            return 131009, "Button type must be reply"
        problem = (_length_problem("Button title", reply.get("title"), 20)
                   or _length_problem("Button id", reply.get("id"), 256))
        if problem is not None:
            return problem
        if reply["id"] in ids:
            return 131009, "Duplicate button id"
        if reply["title"] in titles:
            return 131009, "Button title must be unique"
        ids.add(reply["id"])
        titles.add(reply["title"])
    return None


def _validate_list(action: dict[str, Any]) -> tuple[int, str] | None:
    problem = _length_problem("Button text", action.get("button"), 20)
    if problem is not None:
        return problem
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        return 131009, "Sections count invalid. Min: 1, Max: 10"
    ids: set[str] = set()
    for section in sections:
        if not isinstance(section, dict) or not isinstance(section.get("rows"), list) or \
                not section["rows"]:
            return 131009, "Each section needs at least one row"
        if "title" in section or len(sections) > 1:
            problem = _length_problem("Section title", section.get("title"), 24)
            if problem is not None:
                return problem
        for row in section["rows"]:
            if not isinstance(row, dict):
                return 131009, "Row is not valid"
            problem = (_length_problem("Row title", row.get("title"), 24)
                       or _length_problem("Row id", row.get("id"), 200))
            if problem is None and "description" in row:
                problem = _length_problem("Row description", row.get("description"), 72)
            if problem is not None:
                return problem
            if row["id"] in ids:
                return 131009, "Row id must be unique"
            ids.add(row["id"])
    if len(ids) > 10:
        return 131009, "Total row count exceed max allowed count: 10"
    return None


def _validate_media(kind: str, content: dict[str, Any],
                    known_media: Iterable[str] | None) -> tuple[int, str] | None:
    has_link, has_id = bool(content.get("link")), bool(content.get("id"))
    if has_link == has_id:
        return 100, f"Param {kind} must have exactly one of 'id' or 'link'."
    if has_link and not str(content["link"]).startswith(("https://", "http://")):
        return 131009, "Media link is not a valid URL"
    if has_id and known_media is not None and str(content["id"]) not in set(known_media):
        return 131053, "Media upload error: unknown media id"
    if "caption" in content:
        if kind in ("audio", "sticker"):
            return 100, f"Param {kind}['caption'] is not allowed."
        caption = content["caption"]
        if not isinstance(caption, str) or len(caption) > 1024:
            return 100, f"Param {kind}['caption'] must be at most 1024 characters long."
    return None


def _parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, str],
                                                             dict[str, tuple[str, bytes, str]]]:
    """Form fields and files of a multipart/form-data body (standard library only)."""
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    if not content_type.startswith("multipart/form-data"):
        return fields, files
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, data, part.get_content_type())
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


# -- webhook builders ----------------------------------------------------------------------------


def new_wamid(wa_id: str, *, inbound: bool = True) -> str:
    """A message id shaped like Meta's: base64 of a small record holding the number and an id."""
    number = wa_id.encode()
    marker = b"\x12" if inbound else b"\x11"
    key = uuid.uuid4().hex.upper()[: 32 if inbound else 18].encode()
    raw = b"\x1c\x18" + bytes([len(number)]) + number + b"\x15\x02\x00" + marker + b"\x18" + \
        bytes([len(key)]) + key + b"\x00"
    return "wamid." + base64.b64encode(raw).decode()


def _message(wa_id: str, kind: str, content: dict[str, Any] | None, wamid: str | None,
             timestamp: int | None) -> dict[str, Any]:
    message: dict[str, Any] = {"from": wa_id, "id": wamid or new_wamid(wa_id),
                               "timestamp": str(timestamp or int(time.time())), "type": kind}
    if content is not None:
        message[kind] = content
    return message


def text_message(wa_id: str, text: str, wamid: str | None = None,
                 timestamp: int | None = None) -> dict[str, Any]:
    return _message(wa_id, "text", {"body": text}, wamid, timestamp)


def button_reply(wa_id: str, reply_id: str, title: str, wamid: str | None = None,
                 timestamp: int | None = None) -> dict[str, Any]:
    return _message(wa_id, "interactive", {"type": "button_reply",
                                           "button_reply": {"id": reply_id, "title": title}},
                    wamid, timestamp)


def list_reply(wa_id: str, reply_id: str, title: str, description: str | None = None,
               wamid: str | None = None, timestamp: int | None = None) -> dict[str, Any]:
    reply = {"id": reply_id, "title": title}
    if description:
        reply["description"] = description
    return _message(wa_id, "interactive", {"type": "list_reply", "list_reply": reply},
                    wamid, timestamp)


def image_message(wa_id: str, media_id: str, caption: str | None = None,
                  mime_type: str = "image/jpeg", wamid: str | None = None,
                  timestamp: int | None = None) -> dict[str, Any]:
    image = {"mime_type": mime_type, "sha256": base64.b64encode(
        hashlib.sha256(media_id.encode()).digest()).decode(), "id": media_id}
    if caption:
        image["caption"] = caption
    return _message(wa_id, "image", image, wamid, timestamp)


def location_message(wa_id: str, latitude: float, longitude: float, wamid: str | None = None,
                     timestamp: int | None = None) -> dict[str, Any]:
    return _message(wa_id, "location", {"latitude": latitude, "longitude": longitude},
                    wamid, timestamp)


def status_update(wamid: str, status: str, recipient_id: str,
                  errors: list[dict[str, Any]] | None = None,
                  timestamp: int | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {"id": wamid, "status": status,
                              "timestamp": str(timestamp or int(time.time())),
                              "recipient_id": recipient_id}
    if status != "failed":
        update["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service",
                             "type": "free_customer_service"}
    if errors:
        update["errors"] = errors
    return update


def webhook_payload(messages: list[dict[str, Any]] | None = None,
                    statuses: list[dict[str, Any]] | None = None,
                    contacts: list[dict[str, Any]] | None = None,
                    phone_number_id: str = PHONE_NUMBER_ID,
                    display_phone_number: str = DISPLAY_PHONE_NUMBER,
                    waba_id: str = WABA_ID) -> dict[str, Any]:
    """A `messages` webhook as Meta posts it; contacts default to one per sender."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number,
                     "phone_number_id": phone_number_id},
    }
    if messages:
        if contacts is None:
            senders = dict.fromkeys(m["from"] for m in messages if m.get("from"))
            contacts = [{"profile": {"name": "Warga Tangerang"}, "wa_id": s} for s in senders]
        value["contacts"] = contacts
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}]}


def encode(payload: dict[str, Any]) -> bytes:
    """The body bytes as Meta sends them: compact JSON with non-ASCII escaped."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` header value for a body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def main(argv: list[str] | None = None) -> None:
    """Runs the fake standalone: `python -m tests.fakes.graph_api --port 8081 --token T`."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    uvicorn.run(FakeGraph(args.token).app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
