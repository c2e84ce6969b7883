"""Rasa custom actions. rasa_sdk imports this package while it builds the action server, so the
server's privacy guards go here: httpx and the access log print URLs without their query strings,
and a failing action's answer carries neither the tracker nor the exception's message. In
production it first refuses unsafe settings (`actions.production`)."""

import os

from integrations import log_filters

from . import production, server_guard

production.refuse_unsafe(os.environ)
log_filters.install()
server_guard.install()
