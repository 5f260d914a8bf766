"""Request bodies: JSON read strictly, refusing what PostgreSQL or a careful client would not take
silently (over-size bodies, duplicate keys, NaN, NUL, unpaired surrogates, non-objects)."""

import json
import re
from typing import Any

MAX_BODY_BYTES = 64 * 1024
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class BodyTooLarge(Exception):
    pass


class MalformedJson(ValueError):
    pass


class NotAnObject(ValueError):
    """Every request body of this API is a JSON object (Powertools would otherwise take the
    first element of an array as the body)."""


def strict_json_loads(text: str) -> Any:
    """json.loads that refuses what PostgreSQL or a careful client would not take silently:
    over-size bodies, duplicate keys, NaN/Infinity."""
    ascii_only = text.isascii()  # constant time in CPython: most bodies skip the Unicode checks below
    if (len(text) if ascii_only else len(text.encode("utf-8", "surrogatepass"))) > MAX_BODY_BYTES:
        raise BodyTooLarge

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            raise MalformedJson("duplicate keys in a JSON object")
        return result

    def no_constants(name: str) -> Any:
        raise MalformedJson(f"{name} is not valid JSON")

    try:
        parsed = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except RecursionError as exc:
        raise MalformedJson("JSON nested too deeply") from exc
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise MalformedJson("a number is too long") from exc
    if parsed is not None and not isinstance(parsed, dict):
        raise NotAnObject
    if "\\u0000" in text or "\x00" in text:
        raise MalformedJson("NUL characters are not accepted")
    # An unpaired surrogate comes in as a non-ASCII character or as a \\uD800-\\uDFFF escape; the
    # (costly) full check runs only when one of those could be there.
    if not ascii_only or _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(parsed, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise MalformedJson("a string holds an unpaired surrogate (invalid Unicode)") from exc
    return parsed
