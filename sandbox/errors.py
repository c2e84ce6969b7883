"""One error shape for every route: {"error": {"code": ..., "message": ...}}.

Validation errors name the fields but never echo the values sent: those may be NIKs.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[str] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the error statuses a route may answer."""
    return {status: {"model": ErrorBody} for status in statuses}


class ApiError(Exception):
    """An error a route answers on purpose; the message is Indonesian and safe to show."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_json(status: int, code: str, message: str, *, fields: list[str] | None = None,
               headers: dict[str, str] | None = None) -> JSONResponse:
    detail: dict[str, Any] = {"code": code, "message": message}
    if fields:
        detail["fields"] = fields
    return JSONResponse({"error": detail}, status_code=status, headers=headers)


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_json(exc.status, exc.code, exc.message, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = sorted({_field(tuple(e.get("loc", ()))) for e in exc.errors()})
    return error_json(422, "invalid_request",
                      "Data tidak lengkap atau tidak valid: " + ", ".join(fields) + ".",
                      fields=fields)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: ("not_found", "Alamat tidak ditemukan."),
             405: ("method_not_allowed", "Metode tidak didukung untuk alamat ini.")}
    code, message = codes.get(exc.status_code, ("http_error", str(exc.detail)))
    return error_json(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # Frames only: an exception's text (e.g. SQL parameters) may hold a NIK.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unhandled %s\n%s", type(exc).__name__, frames)
    return error_json(500, "internal_error", "Terjadi kesalahan pada sistem.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
