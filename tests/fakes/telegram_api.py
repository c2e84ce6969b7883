"""A fake Telegram Bot API that speaks the real wire format, so python-telegram-bot runs against it
unmodified.

In tests: `fake = FakeTelegram()` then `with ThreadedServer(fake.app) as server:` and point the
client at `server.url + "/bot"`. Another process (a benchmark) drives it over HTTP under /_fake/:
`python -m tests.fakes.telegram_api --port 8081 --token 123:ABC`.

It checks what the real API checks for the calls Pintu makes (text and caption length, the 1-64
bytes of callback_data) and answers with the same error bodies, so renderer mistakes show up here.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import mimetypes
import threading
import time
from dataclasses import asdict, dataclass, field
from email.message import Message as MimeHeaders
from email.parser import BytesHeaderParser
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

DEFAULT_TOKEN = "7012345678:AAFakeTokenForPintuTests_0123456789"

# Parameters whose form-encoded value is plain text; every other form value is JSON (PTB sends
# nested objects, numbers and booleans JSON-encoded in form data).
_TEXT_PARAMS = {"text", "caption", "callback_query_id", "url", "secret_token", "file_id", "photo",
                "document", "action", "parse_mode", "ip_address", "inline_message_id",
                "business_connection_id", "message_effect_id"}
_ERRORS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
         "is running",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """An error answer, exactly as Telegram shapes it."""

    def __init__(self, status: int, description: str | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(description)
        if status == 429 and retry_after is None:
            retry_after = 3
        self.status = status
        self.retry_after = retry_after
        self.description = description or _ERRORS.get(status, "Bad Request").format(
            retry_after=retry_after)

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"ok": False, "error_code": self.status,
                                "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return JSONResponse(body, status_code=self.status)


@dataclass
class Call:
    """One request the fake received. `files` holds uploaded bytes by part name."""

    method: str
    params: dict[str, Any]
    chat_id: str | None
    monotonic: float
    wall: float
    status: int = 200
    files: dict[str, bytes] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("files")
        return data


@dataclass
class _Failure:
    method: str | None
    status: int
    remaining: int
    retry_after: int | None
    description: str | None


@dataclass
class _File:
    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str


class FakeTelegram:
    """The fake's state and its FastAPI `app`; every method is safe to call from any thread."""

    def __init__(self, token: str = DEFAULT_TOKEN, bot_username: str = "PintuTangerangBot") -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot_user = {"id": int(bot_id) if bot_id.isdigit() else 7012345678, "is_bot": True,
                         "first_name": "Pintu Kota Tangerang", "username": bot_username,
                         "can_join_groups": False, "can_read_all_group_messages": False,
                         "supports_inline_queries": False, "can_connect_to_business": False,
                         "has_main_web_app": False}
        self._lock = threading.Lock()
        self.reset()
        self.app = self._build_app()

    # -- control API -------------------------------------------------------------------------

    def reset(self) -> None:
        """Forgets calls, failures, queued updates, files, the webhook and the delay."""
        with self._lock:
            self._calls: list[Call] = []
            self._failures: list[_Failure] = []
            self._updates: list[dict[str, Any]] = []
            self._next_update_id = 100_000_001
            self._files: dict[str, _File] = {}
            self._message_ids: dict[str, int] = {}
            self._serial = 0
            self._delay = 0.0
            self.webhook: dict[str, Any] | None = None

    def calls(self, method: str | None = None) -> list[Call]:
        """The calls received so far, oldest first (only `method`'s when given)."""
        with self._lock:
            return [c for c in self._calls
                    if method is None or c.method.lower() == method.lower()]

    def fail(self, method: str | None = None, status: int = 500, count: int = 1,
             retry_after: int | None = None, description: str | None = None) -> None:
        """The next `count` calls of `method` (any method when None) get this error answer."""
        with self._lock:
            self._failures.append(_Failure(method, status, count, retry_after, description))

    def add_file(self, file_id: str, content: bytes, file_path: str | None = None) -> None:
        """A file getFile knows and /file/bot<token>/<file_path> serves."""
        with self._lock:
            self._files[file_id] = _File(file_id, f"AgAD{file_id[-8:]}", content,
                                         file_path or f"documents/file_{len(self._files)}")

    def push_update(self, update: dict[str, Any]) -> int:
        """Queues an update for getUpdates; an update_id is given when missing. Returns it."""
        update = dict(update)
        with self._lock:
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
            self._updates.append(update)
            return int(update["update_id"])

    def delay(self, seconds: float) -> None:
        """Every API answer waits this long first (0 to stop)."""
        with self._lock:
            self._delay = seconds

    # -- the HTTP side -------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Fake Telegram Bot API", openapi_url=None, docs_url=None)

        @app.api_route("/bot{token}/{method}", methods=["GET", "POST"])
        async def api(token: str, method: str, request: Request) -> Response:
            params, files = await _read_params(request)
            chat_id = params.get("chat_id")
            call = Call(method, params, None if chat_id is None else str(chat_id),
                        time.monotonic(), time.time(), files=files)
            with self._lock:
                self._calls.append(call)
                delay = self._delay
            try:
                if token != self.token:
                    raise ApiError(401)
                if delay:
                    await asyncio.sleep(delay)
                self._planned_failure(method)
                result = await self._answer(method.lower(), params, files)
            except ApiError as error:
                call.status = error.status
                return error.response()
            return JSONResponse({"ok": True, "result": result})

        @app.get("/file/bot{token}/{file_path:path}")
        async def download(token: str, file_path: str) -> Response:
            if token != self.token:
                return ApiError(401).response()
            with self._lock:
                found = next((f for f in self._files.values() if f.file_path == file_path), None)
            if found is None:
                return ApiError(404).response()
            return Response(found.content, media_type="application/octet-stream")

        @app.get("/_fake/calls")
        async def calls(method: str | None = None) -> dict[str, Any]:
            return {"calls": [c.to_json() for c in self.calls(method)]}

        @app.post("/_fake/reset")
        async def reset() -> dict[str, bool]:
            self.reset()
            return {"ok": True}

        @app.post("/_fake/fail")
        async def fail(request: Request) -> dict[str, bool]:
            rule = await request.json()
            self.fail(rule.get("method"), int(rule.get("status", 500)), int(rule.get("count", 1)),
                      rule.get("retry_after"), rule.get("description"))
            return {"ok": True}

        @app.post("/_fake/updates")
        async def updates(request: Request) -> dict[str, list[int]]:
            body = await request.json()
            return {"update_ids": [self.push_update(u)
                                   for u in (body if isinstance(body, list) else [body])]}

        @app.post("/_fake/delay")
        async def delay(request: Request) -> dict[str, bool]:
            self.delay(float((await request.json()).get("seconds", 0)))
            return {"ok": True}

        @app.post("/_fake/files")
        async def files(request: Request) -> dict[str, bool]:
            body = await request.json()
            self.add_file(body["file_id"], base64.b64decode(body["content_base64"]),
                          body.get("file_path"))
            return {"ok": True}

        return app

    def _planned_failure(self, method: str) -> None:
        with self._lock:
            for rule in self._failures:
                if rule.method is None or rule.method.lower() == method.lower():
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._failures.remove(rule)
                    raise ApiError(rule.status, rule.description, rule.retry_after)

    async def _answer(self, method: str, params: dict[str, Any],
                      files: dict[str, bytes]) -> Any:
        if method == "getme":
            return self.bot_user
        if method in ("sendmessage", "sendphoto", "senddocument"):
            return self._send(method, params, files)
        if method == "sendchataction":
            _chat(params)
            return True
        if method == "answercallbackquery":
            if not params.get("callback_query_id"):
                raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                    "or query id is invalid")
            return True
        if method == "getfile":
            return self._get_file(str(params.get("file_id", "")))
        if method == "setwebhook":
            if not params.get("url"):
                raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for "
                                    "webhook")
            with self._lock:
                self.webhook = {k: v for k, v in params.items() if k != "certificate"}
            return True
        if method == "deletewebhook":
            with self._lock:
                self.webhook = None
                if params.get("drop_pending_updates"):
                    self._updates.clear()
            return True
        if method == "getwebhookinfo":
            with self._lock:
                return {"url": (self.webhook or {}).get("url", ""),
                        "has_custom_certificate": False,
                        "pending_update_count": len(self._updates)}
        if method == "getupdates":
            return await self._get_updates(params)
        raise ApiError(404)

    def _send(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        chat = _chat(params)
        message: dict[str, Any] = {"from": self.bot_user, "chat": chat, "date": int(time.time())}
        if method == "sendmessage":
            text = str(params.get("text") or "")
            if not text.strip():
                raise ApiError(400, "Bad Request: message text is empty")
            if len(text) > 4096:
                raise ApiError(400, "Bad Request: message is too long")
            message["text"] = text
        else:
            kind = "photo" if method == "sendphoto" else "document"
            if not params.get(kind):
                raise ApiError(400, f"Bad Request: there is no {kind} in the request")
            caption = params.get("caption")
            if caption is not None:
                if len(str(caption)) > 1024:
                    raise ApiError(400, "Bad Request: message caption is too long")
                message["caption"] = str(caption)
            message[kind] = self._media(kind, params[kind], files.get(kind))
        markup = params.get("reply_markup")
        if markup is not None:
            _check_markup(markup)
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        with self._lock:
            key = str(chat["id"])
            self._message_ids[key] = self._message_ids.get(key, 0) + 1
            message = {"message_id": self._message_ids[key], **message}
        return message

    def _media(self, kind: str, value: Any, upload: bytes | None) -> Any:
        with self._lock:
            self._serial += 1
            file_id = f"{'AgAC' if kind == 'photo' else 'BQAC'}AgUAAxkDFAKE{self._serial:06d}"
        size = len(upload) if upload is not None else 48_213
        if upload is not None:
            self.add_file(file_id, upload, f"{kind}s/file_{self._serial}")
        if kind == "photo":
            return [{"file_id": file_id, "file_unique_id": f"AQAD{self._serial:06d}",
                     "file_size": size, "width": 800, "height": 600}]
        name = (value.get("file_name") if isinstance(value, dict) else None) or \
            str(value).rsplit("/", 1)[-1]
        mime = (value.get("mime_type") if isinstance(value, dict) else None) or \
            mimetypes.guess_type(name)[0] or "application/octet-stream"
        return {"file_id": file_id, "file_unique_id": f"AgAD{self._serial:06d}",
                "file_name": name, "mime_type": mime, "file_size": size}

    def _get_file(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(found.content) > 20 * 1024 * 1024:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": found.file_id, "file_unique_id": found.file_unique_id,
                "file_size": len(found.content), "file_path": found.file_path}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            with self._lock:
                if self.webhook is not None:
                    raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                        "active; use deleteWebhook to delete the webhook first")
                if offset > 0:  # confirms (and forgets) every earlier update
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[offset:] if offset < 0 else list(self._updates)
            if ready or time.monotonic() >= deadline:
                return ready[:limit]
            await asyncio.sleep(0.02)


def _chat(params: dict[str, Any]) -> dict[str, Any]:
    chat_id = params.get("chat_id")
    if chat_id in (None, ""):
        raise ApiError(400, "Bad Request: chat_id is empty")
    try:
        number = int(chat_id)
    except (TypeError, ValueError):
        raise ApiError(400, "Bad Request: chat not found") from None
    return {"id": number, "first_name": "Warga", "type": "private"}


def _check_markup(markup: Any) -> None:
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline "
                                    "keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    for row in markup.get("keyboard", []):
        for button in row:
            if not (button.get("text") if isinstance(button, dict) else button):
                raise ApiError(400, "Bad Request: keyboard button text is empty")


async def _read_params(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The call's parameters from the query string and a JSON, form or multipart body."""
    params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query_params.items()}
    files: dict[str, bytes] = {}
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if not body:
        return params, files
    if content_type.startswith("application/json"):
        params.update(json.loads(body))
    elif content_type.startswith("application/x-www-form-urlencoded"):
        params.update({k: _decode(k, v)
                       for k, v in parse_qsl(body.decode("utf-8"), keep_blank_values=True)})
    elif content_type.startswith("multipart/form-data"):
        for name, filename, mime, content in _multipart(body, content_type):
            if filename is None:
                params[name] = _decode(name, content.decode("utf-8"))
            else:
                files[name] = content
                params[name] = {"file_name": filename, "mime_type": mime,
                                "file_size": len(content)}
    for name, value in list(params.items()):  # media given as attach://<part>
        if isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if part in files:
                files[name] = files[part]
    return params, files


def _decode(name: str, value: str) -> Any:
    if name in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _multipart(body: bytes, content_type: str) -> list[tuple[str, str | None, str, bytes]]:
    """(name, filename, content type, content) of each part of a multipart/form-data body."""
    header = MimeHeaders()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str):
        return []
    parts = []
    for chunk in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, str):
            parts.append((name, headers.get_filename(), headers.get_content_type(),
                          content.removesuffix(b"\r\n")))
    return parts


def main() -> None:
    """Runs the fake on its own: `python -m tests.fakes.telegram_api --port 8081 --token T`."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args()
    uvicorn.run(FakeTelegram(token=args.token).app, host=args.host, port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main()
