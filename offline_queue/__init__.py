"""The durable outbox: every upload to the platform is stored here first, encrypted, then sent.

``Outbox`` is the store (SQLite in WAL mode, sealed files beside it); ``Sender`` drains it over
HTTP with idempotency keys, leases and backoff. Free of Kivy and of ``kiosk``: the app, the CLI
and the tests use it alike. See docs/ARCHITECTURE.md.
"""
from offline_queue.errors import (InvalidItem, ItemNotFound, KeyFileError, OutboxError, OutboxFull,
                                  UndeliverableItem)
from offline_queue.items import Attachment, ErrorKind, ItemInfo, ItemState, LeasedItem, StoredRequest
from offline_queue.retry import Backoff, parse_retry_after
from offline_queue.sender import Sender
from offline_queue.store import Outbox

__all__ = ["Attachment", "Backoff", "ErrorKind", "InvalidItem", "ItemInfo", "ItemNotFound", "ItemState",
           "KeyFileError", "LeasedItem", "Outbox", "OutboxError", "OutboxFull", "Sender", "StoredRequest",
           "UndeliverableItem", "parse_retry_after"]
