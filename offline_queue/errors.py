"""Typed failures of the outbox, each with a message fit to show a technician as one line."""
from __future__ import annotations


class OutboxError(Exception):
    """Base of every failure the outbox reports on purpose."""


class InvalidItem(OutboxError, ValueError):
    """The caller's request cannot be stored (bad JSON, missing file, bad method or path)."""


class OutboxFull(OutboxError):
    """Storing the item would exceed the disk quota or leave the disk without room; nothing was written."""


class KeyFileError(OutboxError):
    """The key file is unusable: wrong size, readable by others, not a file, or inside the data folder."""


class ItemNotFound(OutboxError, LookupError):
    """No item has that id."""


class UndeliverableItem(OutboxError):
    """A stored item cannot be turned back into a request (wrong key file, damaged or missing data)."""
