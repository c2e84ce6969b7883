"""The public verification page: anyone (an officer at the counter, a bank, the resident) checks
that a document's code was issued by Pintu for a finished document.

`GET /verifikasi?kode=PNT-XXXXX-XXXXX` is a page for people (what the QR image opens);
`GET /api/v1/verifikasi/{kode}` answers the same as JSON for other systems. Both show only the
kind of document, the holder's initials, where it is collected and when it was issued. Checks are
rate-limited per client address, so codes cannot be guessed at speed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from ..app import Services
from ..outreach import verification
from ..staff.web import wib
from .deps import services

router = APIRouter(tags=["verification"])
TEMPLATES = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)
templates.env.filters["wib"] = wib


def _style_hash(template: Path) -> str:
    """The CSP source of the page's one inline stylesheet (static text, so hashed once)."""
    source = template.read_text(encoding="utf-8")
    style = source[source.index("<style>") + len("<style>"):source.index("</style>")]
    return "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"


# No scripts at all, only the page's own stylesheet, never inside a frame; the other security
# headers come with every response (bot.api.headers).
CSP = (f"default-src 'none'; style-src {_style_hash(TEMPLATES / 'verifikasi.html')}; "
       "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
TOO_MANY = "Terlalu banyak pemeriksaan dari alamat Anda. Silakan coba lagi dalam 1 menit."


async def _allowed(request: Request, s: Services) -> bool:
    """At most `verification_checks_per_minute` checks per client address and minute."""
    address = request.client.host if request.client else "unknown"
    bucket = hashlib.sha256(address.encode()).hexdigest()[:16]  # no address kept in Redis
    key = f"pintu:verify-rate:{bucket}:{int(time.time() // 60)}"
    async with s.store.redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 70)
        count, _ = await pipe.execute()
    return int(count) <= s.settings.verification_checks_per_minute


async def _check(s: Services, code: str) -> verification.Verified | None:
    def work() -> verification.Verified | None:
        with s.sessions() as session:
            return verification.check(session, s.settings.verification_keyring, code)
    return await asyncio.to_thread(work)


@router.get("/verifikasi", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, s: Annotated[Services, Depends(services)],
               kode: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    context: dict[str, Any] = {"code": (kode or "").strip(), "result": None, "state": "form"}
    status = 200
    if context["code"]:
        if not await _allowed(request, s):
            context["state"], status = "limited", 429
            context["message"] = TOO_MANY
        else:
            result = await _check(s, context["code"])
            context["result"] = result
            context["state"] = "revoked" if result and result.revoked else \
                "genuine" if result else "unknown"
            context["malformed"] = verification.normalize(context["code"]) is None
            if context["malformed"]:  # not a code: maybe a NIK typed in the wrong box, not echoed
                context["code"] = ""
    response = templates.TemplateResponse(request, "verifikasi.html", context,
                                          status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    return response


@router.get("/api/v1/verifikasi/{kode}")
async def api(kode: str, request: Request,
              s: Annotated[Services, Depends(services)]) -> JSONResponse:
    """200 with the document for a genuine code; 404 `{"valid": false}` otherwise."""
    if len(kode) > 40:
        raise HTTPException(404, "not found")
    if not await _allowed(request, s):
        return JSONResponse({"detail": TOO_MANY}, status_code=429, headers={"Retry-After": "60"})
    result = await _check(s, kode)
    if result is None:
        return JSONResponse({"valid": False}, status_code=404)
    return JSONResponse({"valid": not result.revoked, "revoked": result.revoked,
                         "document": result.document_label,
                         "holder_initials": result.holder_initials, "office": result.office,
                         "issued_at": result.issued_at.isoformat()})
