"""The flat payload a trigger carries: JSON scalars under short keys, with documented limits.

Limits (the API documents the same): at most ``MAX_KEYS`` keys of 1-``MAX_KEY_LENGTH``
characters, string values up to ``MAX_STRING_LENGTH`` characters, integers within
JavaScript's safe range, finite numbers, no NUL characters (PostgreSQL's jsonb cannot hold
them) and at most ``MAX_PAYLOAD_BYTES`` once serialised.
"""

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from trigger_platform.errors import FieldError

MAX_KEYS = 100
MAX_KEY_LENGTH = 128
MAX_STRING_LENGTH = 4096
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_SAFE_INTEGER = 2**53 - 1
Scalar = str | int | float | bool | None


def check_scalar(value: Any) -> Scalar:
    """Accept one JSON scalar within the limits; say plainly what is wrong otherwise.

    Numbers must lie within ±(2^53 - 1): beyond it JSON numbers lose precision in most clients,
    and PostgreSQL hands a large float back as an integer of hundreds of digits."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        # The range check comes first: math.isfinite overflows on a huge int.
        if abs(value) > MAX_SAFE_INTEGER or not math.isfinite(value):
            raise ValueError(f"numbers must be finite and within ±{MAX_SAFE_INTEGER}")
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


def payload_bytes(payload: dict[str, Scalar]) -> int:
    """The size of a payload as the platform stores and answers it: UTF-8 JSON, no \\u escapes."""
    return len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())


def check_flat_payload(payload: dict[str, Scalar]) -> dict[str, Scalar]:
    """The limits on the payload as a whole (each value is checked by ``check_scalar``)."""
    if len(payload) > MAX_KEYS:
        raise ValueError(f"at most {MAX_KEYS} keys are allowed")
    for key in payload:
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ValueError(f"keys must be 1-{MAX_KEY_LENGTH} characters long")
        if "\x00" in key:
            raise ValueError("keys must not contain NUL characters")
    if payload_bytes(payload) > MAX_PAYLOAD_BYTES:
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
                {"type": "number", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]

#: The JSON schema of a flat payload, for documenting bodies that the domain checks itself.
FLAT_PAYLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A flat JSON object: string, number, boolean or null values only.",
    "maxProperties": MAX_KEYS,
    "propertyNames": {"minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "additionalProperties": {
        "anyOf": [
            {"type": "string", "maxLength": MAX_STRING_LENGTH},
            {"type": "number", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
            {"type": "boolean"},
            {"type": "null"},
        ]
    },
}

FlatPayload = Annotated[
    dict[str, PayloadValue],
    AfterValidator(check_flat_payload),
    WithJsonSchema(FLAT_PAYLOAD_SCHEMA),
]


#: A key's declared type: a JSON type name, with a trailing ``?`` when the key may be left out.
TypeSpec = Annotated[
    str,
    Field(pattern=r"^(string|integer|number|boolean|null)\??$", examples=["string", "integer", "string?"]),
]
PayloadSchema = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=MAX_KEY_LENGTH)], TypeSpec],
    Field(max_length=MAX_KEYS),
]


def json_type(value: Scalar) -> str:
    """The JSON type name of a scalar (an integral value is an ``integer``, booleans are not numbers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def fits(value: Scalar, type_name: str) -> bool:
    actual = json_type(value)
    return actual == type_name or (type_name == "number" and actual == "integer")


def effective_schema(payload: dict[str, Scalar], declared: dict[str, str] | None) -> dict[str, str]:
    """The schema a fire is checked against: the declared one, else each predefined key's own type."""
    if declared is not None:
        return dict(declared)
    return {key: json_type(value) for key, value in payload.items()}


def predefined_payload_errors(payload: dict[str, Scalar], declared: dict[str, str] | None) -> list[FieldError]:
    """A predefined payload must fit its declared schema (nothing to check when none is declared)."""
    if declared is None:
        return []
    errors = []
    for key, value in payload.items():
        spec = declared.get(key)
        if spec is None:
            errors.append(FieldError(f"payload.{key}", "is not in the schema"))
        elif not fits(value, spec.rstrip("?")):
            errors.append(FieldError(f"payload.{key}", f"must be {spec.rstrip('?')} as the schema says"))
    return errors


def overlay(
    payload: dict[str, Scalar], schema: dict[str, str], body: Any
) -> tuple[dict[str, Scalar], list[FieldError]]:
    """The fired payload: ``payload`` overlaid with a fire call's ``body``, and what is wrong with it.

    Every body key must be in the schema with a matching type; a required key must end up present.
    """
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return {}, [FieldError("body", "must be a flat JSON object")]
    errors: list[FieldError] = []
    for key, value in body.items():
        try:
            check_scalar(value)
        except ValueError as problem:
            errors.append(FieldError(key, str(problem)))
            continue
        spec = schema.get(key)
        if spec is None:
            errors.append(FieldError(key, "is not in the trigger's payload schema"))
        elif not fits(value, spec.rstrip("?")):
            errors.append(FieldError(key, f"must be {spec.rstrip('?')}, not {json_type(value)}"))
    merged = {**payload, **body}
    for key, spec in schema.items():
        if not spec.endswith("?") and key not in merged:
            errors.append(FieldError(key, "is required"))
    if not errors and payload_bytes(merged) > MAX_PAYLOAD_BYTES:
        errors.append(FieldError("body", f"the fired payload must be at most {MAX_PAYLOAD_BYTES} bytes as JSON"))
    return merged, errors
