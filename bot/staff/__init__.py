"""Staff accounts, sign-in sessions and the audit log, behind the staff inbox."""
