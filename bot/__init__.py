"""Pintu gateway: channel webhooks, routing to Rasa, handoff, staff and admin web."""
