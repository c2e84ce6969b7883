"""Clients for systems outside Pintu; importable from both Python environments."""
