"""The admins' retraining loop: predictions kept for review, labels, training data, model versions,
their evaluation, promotion and rollback (issue 5; docs/retraining.md)."""
