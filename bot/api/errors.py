"""The gateway's answer to a request its schema refuses (422), safe for any JSON, and `Text`,
the string type of request fields that are stored or passed on.

JSON may carry a lone surrogate (`"\\ud800"`, or the bytes ED A0 80, which Python's JSON reader
lets through): valid JSON, but no text. FastAPI's own 422 repeats the refused input and then
cannot encode it as UTF-8, so a malformed body got a 500. This answer is the same, with every
non-ASCII character escaped, and without the refused input: it is what the caller sent (a
resident's words, a NIK), and error bodies end up in proxies' and clients' logs. Where and why
(`loc`, `type`, `msg`) is enough to correct a request.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator


async def _refused(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in error.items() if k != "input"} for error in exc.errors()]
    body = json.dumps({"detail": jsonable_encoder(errors)}, ensure_ascii=True)
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


def json_text(raw: bytes) -> Any:
    """`raw` as JSON that is also text. Raises ValueError when it is not JSON, is nested deeper
    than the parser goes, or holds a lone surrogate anywhere (a key included)."""
    try:
        data = json.loads(raw)
        json.dumps(data, ensure_ascii=False).encode()
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    return data


async def no_lone_surrogates(request: Request) -> None:
    """A route dependency: 400 for a JSON body with a lone surrogate, even in a key the model
    ignores; a body that is no JSON is left to the route's model (422)."""
    try:
        json_text(await request.body())
    except UnicodeEncodeError:
        raise HTTPException(400, "body is not text") from None
    except ValueError:
        return


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _refused)
