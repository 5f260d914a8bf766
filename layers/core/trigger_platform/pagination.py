"""Opaque keyset cursors: a page continues after the last id the client saw."""

import base64
import binascii
from uuid import UUID

from trigger_platform.errors import FieldError, InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
#: A trigger cursor: the last id seen, base64url without padding. Any string of this shape is a
#: valid position (it may simply point past the end).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{22}$"


def unbase64(text: str, size: int) -> bytes:
    """``size`` bytes from an unpadded base64url string, or InvalidInput naming the cursor."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise InvalidInput("The cursor is not one this API issued.", errors=[FieldError("cursor", "invalid cursor")])
    return raw


def encode_cursor(last_id: UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> UUID:
    return UUID(bytes=unbase64(cursor, 16))
