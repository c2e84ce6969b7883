"""The action server's answer when an action raises: no tracker, no exception message.

rasa_sdk's own handler answers a failed action with `{"error": str(exception), "request_body":
<the whole tracker>}`: every message the resident wrote and every slot (a NIK, a KK number). Rasa
then logs that body in the traceback of its "Failed to execute custom action". Installed on the
webhook route of the action server's app, this handler answers the same 500 (Rasa and the gateway
treat the failure as before) with the action's name and the exception's type only, and logs the
traceback's frames without the exception's message, which may quote what the resident wrote.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

log = logging.getLogger(__name__)
WEBHOOK_ROUTE = "rasa_sdk.webhook"


def _action_name(request: Any) -> str:
    try:
        name = (request.json or {}).get("next_action")
    except Exception:  # a body that is no JSON: the name is unknown, the answer the same
        return "unknown"
    return name if isinstance(name, str) and name.isidentifier() else "unknown"


async def safe_error(request: Any, exception: BaseException) -> Any:
    """A 500 naming the action and the exception's type; the frames go to the log."""
    from sanic import response

    name, kind = _action_name(request), type(exception).__name__
    frames = "".join(traceback.format_tb(exception.__traceback__))
    log.error("action %s failed: %s (message withheld)\n%s", name, kind, frames)
    return response.json({"error": f"action {name} failed ({kind})", "action_name": name},
                         status=500)


def install() -> bool:
    """Puts `safe_error` on the webhook route of the running action server's app (rasa_sdk
    imports this package while it builds the app). False when there is no such app: the actions
    are imported by tests or tools, not served."""
    try:
        from sanic import Sanic
        from sanic.exceptions import SanicException
    except ImportError:  # the gateway's environment imports actions.kb, without Sanic
        return False
    try:
        app = Sanic.get_app("rasa_sdk")
    except SanicException:
        return False
    # Route-specific: Sanic prefers it to the generic handler rasa_sdk adds after the import.
    if app.error_handler.cached_handlers.get((Exception, WEBHOOK_ROUTE)) is not safe_error:
        app.error_handler.add(Exception, safe_error, route_names=[WEBHOOK_ROUTE])
    return True
