"""The flat payload a trigger carries: JSON scalars under short keys, with documented limits.

Limits (the API documents the same): at most ``MAX_KEYS`` keys of 1-``MAX_KEY_LENGTH``
characters, string values up to ``MAX_STRING_LENGTH`` characters, integers within
JavaScript's safe range, finite numbers, no NUL characters (PostgreSQL's jsonb cannot hold
them) and at most ``MAX_PAYLOAD_BYTES`` once serialised.
"""

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

MAX_KEYS = 100
MAX_KEY_LENGTH = 128
MAX_STRING_LENGTH = 4096
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_SAFE_INTEGER = 2**53 - 1

Scalar = str | int | float | bool | None


def check_scalar(value: Any) -> Scalar:
    """Accept one JSON scalar within the limits; say plainly what is wrong otherwise."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"integers must be within ±{MAX_SAFE_INTEGER}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return value
    if isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH:
            raise ValueError(f"strings must be at most {MAX_STRING_LENGTH} characters")
        if "\x00" in value:
            raise ValueError("strings must not contain NUL characters")
        return value
    if isinstance(value, dict | list):
        raise ValueError("nested objects and arrays are not allowed: the payload must be flat")
    raise ValueError("values must be a string, number, boolean or null")


def check_flat_payload(payload: dict[str, Scalar]) -> dict[str, Scalar]:
    if len(payload) > MAX_KEYS:
        raise ValueError(f"at most {MAX_KEYS} keys are allowed")
    for key in payload:
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ValueError(f"keys must be 1-{MAX_KEY_LENGTH} characters long")
        if "\x00" in key:
            raise ValueError("keys must not contain NUL characters")
    if len(json.dumps(payload, ensure_ascii=False).encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"the payload must be at most {MAX_PAYLOAD_BYTES} bytes as JSON")
    return payload


PayloadValue = Annotated[
    Scalar,
    BeforeValidator(check_scalar),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_STRING_LENGTH},
                {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]

FlatPayload = Annotated[
    dict[str, PayloadValue],
    AfterValidator(check_flat_payload),
    WithJsonSchema(
        {
            "type": "object",
            "description": "A flat JSON object: string, number, boolean or null values only.",
            "maxProperties": MAX_KEYS,
            "propertyNames": {"minLength": 1, "maxLength": MAX_KEY_LENGTH},
            "additionalProperties": {
                "anyOf": [
                    {"type": "string", "maxLength": MAX_STRING_LENGTH},
                    {"type": "number"},
                    {"type": "boolean"},
                    {"type": "null"},
                ]
            },
        }
    ),
]
