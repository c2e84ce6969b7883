"""HTTP routes of the gateway; each module is thin and delegates to services."""
