"""One router per agency; each module holds that agency's contract (schemas and routes)."""
