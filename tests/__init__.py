"""Tests of the whole clinic across apps: the access matrix, idempotency and hostile input on every
form, the audit trail of every app, backups, query counts, resilience, and each role's journey in
a browser. They may import every app; each app's own tests import only the apps below it."""
