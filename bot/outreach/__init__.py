"""Outreach (issue 6, docs/outreach.md): consent first; campaigns and proactive updates
build on it."""
