"""Security headers on every response of the gateway: pages, JSON, webhooks, metrics, errors.

Every response may not be framed (`X-Frame-Options: DENY`, `frame-ancestors 'none'`), is not
sniffed, sends no referrer and asks for no device feature; in production browsers are told to
use HTTPS only (HSTS). The content security policy is the staff web's own under `/staff`, a page's
own when the route sets one (the verification page), and otherwise `default-src 'none'`: JSON,
text and redirects load nothing. Nothing is cached (`no-store`: most answers hold personal data or
change by the second) except the staff stylesheets and scripts, which are revalidated.
A header a route set itself is kept. A request that fails unhandled gets a plain 500 with the
same headers (in debug mode, development only, Starlette's traceback page instead).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STAFF_PREFIX = "/staff"
STATIC_PREFIX = "/staff/static/"
# The staff pages: their own stylesheet and scripts only, no inline code, images also as data:.
STAFF_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
             "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# Everything that is no page (JSON, text, redirects): nothing may load, nothing may frame it.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# FastAPI's interactive docs (development only) load Swagger UI and ReDoc from jsDelivr.
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
DOCS_CSP = ("default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
            "https://fastapi.tiangolo.com https://cdn.redoc.ly; connect-src 'self'; "
            "worker-src blob:; frame-ancestors 'none'; base-uri 'none'")
COMMON = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    # Features no page of Pintu uses; a script injected anyway gets none of them.
    "permissions-policy": "accelerometer=(), camera=(), geolocation=(), gyroscope=(), "
                          "magnetometer=(), microphone=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def policy_for(path: str) -> str:
    """The content security policy of a response to `path` whose route set none."""
    if path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/"):
        return STAFF_CSP
    if path in DOCS_PATHS:
        return DOCS_CSP
    return API_CSP


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response (HSTS when `hsts`)."""

    def __init__(self, app: ASGIApp, *, hsts: bool, debug: bool = False) -> None:
        self.app = app
        self.debug = debug
        self.common = [(k.encode(), v.encode()) for k, v in COMMON.items()]
        if hsts:
            self.common.append((b"strict-transport-security", HSTS.encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        cache = b"no-cache" if path.startswith(STATIC_PREFIX) else b"no-store"
        extra = [*self.common, (b"content-security-policy", policy_for(path).encode()),
                 (b"cache-control", cache)]

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *((k, v) for k, v in extra if k not in present)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started and not self.debug:  # Starlette's own 500 would come without them
                await PlainTextResponse("Internal Server Error", status_code=500)(
                    scope, receive, send_with_headers)
            raise  # still logged by the server, as any unhandled error


def install(app: FastAPI, *, production: bool) -> None:
    """Every response of `app` gets the security headers; HSTS in production."""
    app.add_middleware(SecurityHeaders, hsts=production, debug=app.debug)
