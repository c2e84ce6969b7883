"""Rasa custom actions. rasa_sdk imports this package first, so its logging guard goes here:
httpx and the action server's access log print URLs without their query strings."""

from integrations import log_filters

log_filters.install()
