"""Identifiers: time-ordered UUIDv7, so that keyset pagination by id follows creation order."""

import os
import uuid
from datetime import datetime

#: The textual form of an id, for documenting query parameters that take one.
ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def new_id(at: datetime) -> uuid.UUID:
    """A UUIDv7 (RFC 9562) whose 48-bit prefix is ``at`` in Unix milliseconds."""
    unix_ms = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68 & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = unix_ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def parse_id(text: str) -> uuid.UUID | None:
    """The UUID in ``text``, or None when it is not one (a malformed id is simply not found)."""
    if len(text) != 36:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
