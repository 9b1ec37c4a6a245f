"""Reference service-platform server: the HTTP API the kiosk talks to (docs/ARCHITECTURE.md, "The platform API").

A separate process in production (``kiosk backend``) and an embedded thread in the demo profile
and in tests (``backend.server.BackendThread``). The kiosk reaches it only over HTTP, as it would
reach a real provincial platform. SQLite by default; any SQLAlchemy URL (PostgreSQL) works.

Layout: ``db`` (tables and transactions), ``catalogue`` (the 办事指南 item schema), ``auth``
(per-kiosk bearer tokens), ``idempotency`` (at-most-once writes), ``bodies`` (reading JSON and
multipart bodies), ``routes/`` (one router per area), ``server`` (the app and its runners).
"""
