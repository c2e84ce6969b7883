"""The one door to the WhatsApp Cloud API (Meta Graph API): send, mark read, media.

Every call goes through `WhatsAppClient._request`, which maps Graph errors
(`{"error": {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}}`) and network
failures to the typed errors of `integrations.channel_errors`.

Messages (sends and read marks, the calls a busy hour is made of) go through an aiohttp session:
a send through httpx cost about 0.7 ms of CPU, through aiohttp about 0.13 ms, and a send's HTTP
call was most of the outbound worker's CPU (bench/dispatch.py, docs/benchmarks.md "Dispatch").
Media uploads and downloads, rare and streamed with size limits, stay on httpx, and so does
everything when the caller hands in its own `httpx.AsyncClient` (tests, scripts).

Exception messages and logs carry the Graph code and trace id only: never the access token, the
resident's number or message text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import aiohttp
import httpx

from integrations.channel_errors import (
    ChannelError,
    OutsideWindow,
    RateLimited,
    RecipientUnavailable,
    Rejected,
    TemporaryFailure,
)
from integrations.replies import Rendered

from .render import LOCAL_REF

logger = logging.getLogger(__name__)

OpenMedia = Callable[[str], tuple[bytes, str, str]]  # ref -> (content, mime type, filename)

# Graph error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
_RATE_LIMITED = {
    4: "application request limit reached",
    80007: "WhatsApp Business Account rate limit",
    130429: "Cloud API throughput reached",
    131048: "spam rate limit (quality-based)",
    131056: "business/consumer pair rate limit",
}
_OUTSIDE_WINDOW = {
    131047: "more than 24 hours since the resident last wrote (re-engagement)",
    470: "outside the customer service window (legacy code)",
}
_UNREACHABLE = {
    131026: "message undeliverable (not on WhatsApp, old app or terms not accepted)",
    131050: "the resident stopped marketing messages from this business",
}
_TEMPORARY = {
    1: "unknown Graph API error",
    2: "Graph API service temporarily unavailable",
    131000: "something went wrong",
    131016: "service temporarily unavailable",
}
_PERMANENT = {  # configuration problems that retrying cannot fix, even when answered with a 5xx
    0: "access token rejected",
    3: "capability or permission missing",
    10: "permission denied",
    190: "access token invalid or expired",
    368: "account temporarily blocked for policy violations",
    131031: "business account locked",
    131051: "unsupported message type",
    133010: "business phone number not registered with the Cloud API",
}
_ERROR_BODY_LIMIT = 64 * 1024
_MESSAGES = {"send", "mark_read"}  # short JSON posts: the aiohttp session (module docstring)


@dataclass(frozen=True)
class _Answer:
    status_code: int
    headers: Mapping[str, str]  # case-insensitive (httpx.Headers, aiohttp's CIMultiDictProxy)
    content: bytes

    def json(self, what: str) -> dict[str, Any]:
        try:
            data = json.loads(self.content)
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            data = None
        if not isinstance(data, dict):
            raise TemporaryFailure(f"WhatsApp {what}: answer is not a JSON object")
        return data


class WhatsAppClient:
    """Sends messages for one business phone number through the Cloud API.

    Args:
        access_token: system user access token (sent as a bearer token, never logged).
        phone_number_id: the business phone number id messages are sent from.
        base_url: Graph API root; tests point it at the fake.
        api_version: Graph API version used in every path.
        http: the `httpx.AsyncClient` to use (a transport in tests); one is made when omitted.
        open_media: loads a stored file for upload by its ref: `(content, mime_type, filename)`.
        connections: with `http` omitted, messages (sends and read marks) go through an aiohttp
            session keeping at most this many connections (as many as concurrent senders), media
            through an httpx client. With `http`, everything goes through it.
        timeout_s: with `http` omitted, the longest wait for an answer (connecting: 5 s).
    """

    def __init__(self, access_token: str, phone_number_id: str, *,
                 base_url: str = "https://graph.facebook.com", api_version: str = "v21.0",
                 http: httpx.AsyncClient | None = None,
                 open_media: OpenMedia | None = None, connections: int = 16,
                 timeout_s: float = 20.0) -> None:
        self._token = access_token
        self.phone_number_id = phone_number_id
        self._root = f"{base_url.rstrip('/')}/{api_version}"
        self._own_http = http is None
        self._connections = max(1, connections)
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._tls: ssl.SSLContext | None = None
        self._proxy = _env_proxy(self._root)
        if http is not None:
            self._http = http
        else:
            self._tls = httpx.create_ssl_context()  # one for both: loading it takes a while
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=5.0),
                                           verify=self._tls)
        self._open_media = open_media

    def __repr__(self) -> str:
        return f"WhatsAppClient(phone_number_id={self.phone_number_id!r}, root={self._root!r})"

    async def aclose(self) -> None:
        """Closes the HTTP clients this object made."""
        if self._own_http:
            await self._http.aclose()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _messages_session(self) -> aiohttp.ClientSession:
        """The aiohttp session for messages, made on first use (it needs the running loop)."""
        if self._session is None or self._session.closed:
            # `connect` covers waiting for a free connection and opening one; a request that
            # timed out there was never sent. `sock_read`: no answer byte for that long.
            timeout = aiohttp.ClientTimeout(total=None, connect=self._timeout_s,
                                            sock_connect=5.0, sock_read=self._timeout_s)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ssl=self._tls or True),
                timeout=timeout, raise_for_status=False)
        return self._session

    async def __aenter__(self) -> WhatsAppClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def send(self, rendered: Rendered) -> str:
        """Sends one rendered message; a stored file (`_local_ref`) is uploaded first.

        Returns:
            The message id (wamid) WhatsApp assigned; receipts refer to it.
        """
        body = dict(rendered.body)
        ref = body.pop(LOCAL_REF, None)
        if ref is not None:
            kind = str(body.get("type"))
            media = {k: v for k, v in dict(body.get(kind) or {}).items() if k != "link"}
            media["id"] = await self.upload(str(ref))
            body[kind] = media
        answer = await self._request("POST", f"{self.phone_number_id}/messages", what="send",
                                     json=body)
        messages = answer.json("send").get("messages")
        if not (isinstance(messages, list) and messages and isinstance(messages[0], dict)
                and messages[0].get("id")):
            # Not retried: the message may well have been accepted.
            raise Rejected("WhatsApp send: answer without a message id")
        return str(messages[0]["id"])

    async def mark_read(self, message_id: str, *, typing: bool = False) -> None:
        """Marks a resident's message as read (blue ticks); `typing` also shows the typing
        indicator until the reply is sent (or 25 seconds pass)."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read",
                                "message_id": message_id}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        await self._request("POST", f"{self.phone_number_id}/messages", what="mark_read",
                            json=body)

    async def upload(self, ref: str) -> str:
        """Uploads a stored file (loaded with `open_media`) and returns its media id."""
        if self._open_media is None:
            raise Rejected("WhatsApp upload: no media store configured")
        try:
            content, mime_type, filename = self._open_media(ref)
        except (OSError, LookupError, ValueError):
            raise Rejected("WhatsApp upload: stored media not available") from None
        answer = await self._request(
            "POST", f"{self.phone_number_id}/media", what="upload",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, content, mime_type)})
        media_id = answer.json("upload").get("id")
        if not media_id:
            raise TemporaryFailure("WhatsApp upload: answer without a media id")
        return str(media_id)

    async def media_info(self, media_id: str) -> dict[str, Any]:
        """`GET /{media_id}`: the temporary download `url` (valid about 5 minutes), `mime_type`,
        `sha256` and `file_size` of a file a resident sent."""
        answer = await self._request("GET", media_id, what="media_info",
                                     params={"phone_number_id": self.phone_number_id})
        return answer.json("media_info")

    async def download(self, media_id: str, max_bytes: int) -> tuple[bytes, str]:
        """Downloads a file a resident sent.

        Returns:
            `(content, mime_type)`.

        Raises:
            Rejected: the file is larger than `max_bytes` (checked before and while reading).
            TemporaryFailure: the content does not match the announced SHA-256 (a cut transfer).
        """
        info = await self.media_info(media_id)
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise Rejected("WhatsApp download: no download url for this media")
        size = _as_int(info.get("file_size"))
        if size is not None and size > max_bytes:
            raise Rejected("WhatsApp download: file too large", code="too_large")
        answer = await self._request("GET", url, what="download", max_bytes=max_bytes)
        expected = info.get("sha256")
        if isinstance(expected, str) and expected and \
                not _sha256_matches(answer.content, expected):
            raise TemporaryFailure("WhatsApp download: content does not match its sha256")
        mime_type = info.get("mime_type") or answer.headers.get("content-type")
        return answer.content, str(mime_type or "application/octet-stream")

    async def _request(self, method: str, path: str, *, what: str, max_bytes: int | None = None,
                       **kwargs: Any) -> _Answer:
        """The single door: one authenticated Graph call, errors mapped to channel errors.

        `path` is relative to `{base_url}/{api_version}/`, or an absolute media download url.
        """
        if self._own_http and what in _MESSAGES:
            return await self._post_message(path, what=what, body=kwargs["json"])
        return await self._call(self._http, method, path, what=what, max_bytes=max_bytes,
                                **kwargs)

    async def _post_message(self, path: str, *, what: str, body: dict[str, Any]) -> _Answer:
        """A message call through the aiohttp session; the same answers and errors as `_call`."""
        url = f"{self._root}/{path}"
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._messages_session().post(url, json=body, headers=headers,
                                                     proxy=self._proxy) as response:
                if response.status >= 400:
                    content = await _read_aiohttp(response, _ERROR_BODY_LIMIT)
                    raise _error_for(response.status, response.headers, content, what)
                return _Answer(response.status, response.headers, await response.read())
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors
            logger.warning("whatsapp %s timed out (%s)", what, type(exc).__name__)
            raise TemporaryFailure(f"WhatsApp {what}: timeout", maybe_delivered=not isinstance(
                exc, aiohttp.ConnectionTimeoutError)) from None
        except aiohttp.ClientError as exc:
            logger.warning("whatsapp %s network error (%s)", what, type(exc).__name__)
            raise TemporaryFailure(f"WhatsApp {what}: network error", maybe_delivered=not
                                   isinstance(exc, aiohttp.ClientConnectorError)) from None

    async def _call(self, http: httpx.AsyncClient, method: str, path: str, *, what: str,
                    max_bytes: int | None, **kwargs: Any) -> _Answer:
        url = path if path.startswith(("https://", "http://")) else f"{self._root}/{path}"
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with http.stream(method, url, headers=headers, **kwargs) as response:
                if response.status_code >= 400:
                    content = await _read(response, _ERROR_BODY_LIMIT, what, truncate=True)
                    raise _error_for(response.status_code, response.headers, content, what)
                content = await _read(response, max_bytes, what)
                return _Answer(response.status_code, response.headers, content)
        except httpx.TimeoutException as exc:
            logger.warning("whatsapp %s timed out (%s)", what, type(exc).__name__)
            raise TemporaryFailure(f"WhatsApp {what}: timeout", maybe_delivered=not isinstance(
                exc, httpx.ConnectTimeout | httpx.PoolTimeout)) from None
        except httpx.TransportError as exc:
            logger.warning("whatsapp %s network error (%s)", what, type(exc).__name__)
            raise TemporaryFailure(f"WhatsApp {what}: network error", maybe_delivered=not
                                   isinstance(exc, httpx.ConnectError)) from None


async def _read(response: httpx.Response, limit: int | None, what: str, *,
                truncate: bool = False) -> bytes:
    if limit is None:
        return await response.aread()
    declared = _as_int(response.headers.get("content-length"))
    if declared is not None and declared > limit and not truncate:
        raise Rejected(f"WhatsApp {what}: file too large", code="too_large")
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > limit:
            if truncate:
                chunks.append(chunk[: limit - (total - len(chunk))])
                break
            raise Rejected(f"WhatsApp {what}: file too large", code="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _env_proxy(root: str) -> str | None:
    """The proxy HTTPS_PROXY / HTTP_PROXY / NO_PROXY name for Graph, read once: httpx honours
    them too, and aiohttp's own `trust_env` reads them (and ~/.netrc) again on every request,
    a tenth of a send's CPU."""
    parts = urllib.parse.urlsplit(root)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


async def _read_aiohttp(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """At most `limit` bytes of the answer (an error body: the rest is not needed)."""
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = await response.content.read(limit - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _error_for(status: int, headers: Mapping[str, str], content: bytes,
               what: str) -> ChannelError:
    """Maps a Graph error answer to a channel error; the message never repeats Graph's text,
    whose details may quote parameter values."""
    error: dict[str, Any] = {}
    try:
        data = json.loads(content)
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            error = data["error"]
    except ValueError:
        pass
    code = _as_int(error.get("code"))
    subcode = _as_int(error.get("error_subcode"))
    trace = error.get("fbtrace_id") if isinstance(error.get("fbtrace_id"), str) else None
    kind, reason = _classify(status, code)
    parts = [f"WhatsApp {what} failed: HTTP {status}"]
    if code is not None:
        parts.append(f"code {code}" + (f"/{subcode}" if subcode is not None else ""))
    if reason:
        parts.append(reason)
    if trace:
        parts.append(f"fbtrace_id {trace}")
    message = ", ".join(parts)
    logger.warning("%s", message)
    if kind is RateLimited:
        return RateLimited(message, retry_after=_retry_after(headers),
                           code=code if code is not None else status)
    return kind(message, code=code if code is not None else status)


def _classify(status: int, code: int | None) -> tuple[type[ChannelError], str | None]:
    """Graph codes decide first (a permission error may come as a 500, a rate limit as a 400);
    the HTTP status only for codes this table does not know."""
    tables: list[tuple[dict[int, str], type[ChannelError]]] = [
        (_RATE_LIMITED, RateLimited), (_OUTSIDE_WINDOW, OutsideWindow),
        (_UNREACHABLE, RecipientUnavailable), (_TEMPORARY, TemporaryFailure),
        (_PERMANENT, Rejected)]
    if code is not None:
        for table, kind in tables:
            if code in table:
                return kind, table[code]
        if 200 <= code < 300:
            return Rejected, "API permission missing"
    if status == 429:
        return RateLimited, None
    if status >= 500:
        return TemporaryFailure, None
    return Rejected, None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _sha256_matches(content: bytes, expected: str) -> bool:
    """The media endpoint gives the SHA-256 in hex, webhooks in base64: both are accepted."""
    digest = hashlib.sha256(content).digest()
    if len(expected) == 64:
        try:
            return bytes.fromhex(expected) == digest
        except ValueError:
            pass
    try:
        return base64.b64decode(expected, validate=True) == digest
    except (binascii.Error, ValueError):
        return False
