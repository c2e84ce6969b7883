"""The gateway's answer to a request its schema refuses (422), safe for any JSON, and `Text`,
the string type of request fields that are stored or passed on.

JSON may carry a lone surrogate (`"\\ud800"`, or the bytes ED A0 80, which Python's JSON reader
lets through): valid JSON, but no text. FastAPI's own 422 repeats the refused input and then
cannot encode it as UTF-8, so a malformed body got a 500. This answer is the same, with every
non-ASCII character escaped.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator


async def _refused(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


def text_only(value: str) -> str:
    """A pydantic validator: refuses a string with a lone surrogate (it cannot be stored, sent
    to Rasa or written to a log as UTF-8) or a NUL (PostgreSQL's text cannot hold it)."""
    value.encode()  # UnicodeEncodeError is a ValueError: pydantic reports it as invalid input
    if "\x00" in value:
        raise ValueError("NUL character")
    return value


# Text a request may carry: storable and passable to Rasa and the channels.
Text = Annotated[str, AfterValidator(text_only)]


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _refused)
