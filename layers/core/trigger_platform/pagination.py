"""Opaque keyset cursors: a page continues after the last id the client saw."""

import base64
import binascii
from uuid import UUID

from trigger_platform.errors import FieldError, InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_CURSOR_VERSION = b"\x01"


def encode_cursor(last_id: UUID) -> str:
    return base64.urlsafe_b64encode(_CURSOR_VERSION + last_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 17 or raw[:1] != _CURSOR_VERSION:
        raise InvalidInput("The cursor is not one this API issued.", errors=[FieldError("cursor", "invalid cursor")])
    return UUID(bytes=raw[1:])
