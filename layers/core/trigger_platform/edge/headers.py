"""Request and response headers: ETag and If-Match, and the URLs a client can follow (Location,
Link, a trigger's fire endpoint), built as the client addressed the API (stage included)."""

from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

#: The response headers a browser script may read beyond the CORS-safelisted ones: every one
#: openapi.yaml documents (the template's gateway responses expose the same).
EXPOSED_HEADERS = (
    *("ETag", "Location", "Link", "X-Cache", "Idempotent-Replayed"),
    *("Retry-After", "RateLimit", "RateLimit-Policy", "WWW-Authenticate"),
)
#: The request headers the API reads beyond the safelisted ones (the template's Cors AllowHeaders).
ALLOWED_REQUEST_HEADERS = ("Authorization", "Content-Type", "If-Match", "Idempotency-Key")

#: An ETag this API issues ("3", W/"3") or *.
IF_MATCH_PATTERN = r'^(\*|(W/)?"?[0-9]{1,9}"?)$'


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header asks for; None when absent or ``*``; -1 (matches nothing)
    when it names no version this API issued."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    return int(tag) if tag.isdigit() and len(tag) < 10 else -1


def base_url(app: APIGatewayRestResolver) -> str:
    """Where the client reaches this API: scheme, host and, on API Gateway's own domain, the stage
    (the request context's path is the event's path with the stage in front)."""
    event = app.current_event
    headers = event.headers  # case-insensitive
    host = headers.get("host") or "localhost"
    scheme = headers.get("x-forwarded-proto") or "https"
    full_path = event.request_context.path or event.path
    prefix = full_path[: -len(event.path)] if event.path and full_path.endswith(event.path) else ""
    return f"{scheme}://{host}{prefix}"


def next_link(app: APIGatewayRestResolver, query: dict[str, str]) -> str:
    """An RFC 8288 ``Link`` to the same resource with ``query``."""
    return f'<{base_url(app)}{app.current_event.path}?{urlencode(query)}>; rel="next"'
