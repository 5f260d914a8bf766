"""What every API handler shares: a validating resolver whose errors are RFC 9457 problem+json,
the caller's tenant from the authorizer, and the helpers for ETag and Link headers."""

import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from trigger_platform.edge.observability import count
from trigger_platform.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    Unauthenticated,
)
from trigger_platform.models import UNION_TAGS, EventLog, ManualTestOutcome

MAX_BODY_BYTES = 64 * 1024
PROBLEM_JSON = "application/problem+json"

_STATUS_OF: dict[type[DomainError], HTTPStatus] = {
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    PreconditionFailed: HTTPStatus.PRECONDITION_FAILED,
    InvalidInput: HTTPStatus.UNPROCESSABLE_ENTITY,
    ServiceUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
}


class BodyTooLarge(Exception):
    pass


class MalformedJson(ValueError):
    pass


class NotAnObject(ValueError):
    """Every request body of this API is a JSON object (Powertools would otherwise take the
    first element of an array as the body)."""


def problem(
    status: HTTPStatus, detail: str, errors: list[FieldError] | None = None, headers: dict[str, str] | None = None
) -> Response[str]:
    body: dict[str, Any] = {"type": "about:blank", "title": status.phrase, "status": int(status), "detail": detail}
    if errors is not None:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return Response(int(status), content_type=PROBLEM_JSON, body=json.dumps(body), headers=headers)


def model_response(status: int, body: BaseModel | list[Any], headers: dict[str, str] | None = None) -> Response[str]:
    """A JSON response serialised once, by pydantic-core; the route documents the model with
    ``documented`` (Powertools would otherwise validate and serialise the body again)."""
    if isinstance(body, BaseModel):
        document = body.__pydantic_serializer__.to_json(body)
    else:
        document = b"[" + b",".join(item.__pydantic_serializer__.to_json(item) for item in body) + b"]"
    return Response(status, content_type="application/json", body=document.decode(), headers=headers)


class ProblemField(BaseModel):
    field: str = Field(description="Dotted path of the offending input (a body key, query parameter or header)")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is shaped."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | None = Field(default=None, description="Present for validation failures")


_PROBLEM_TEXT = {
    400: "The body is not valid JSON",
    401: "Missing or invalid bearer token",
    404: "No such resource for this tenant",
    409: "The resource is not in a state that allows this",
    412: "If-Match names a version that is not the current one",
    413: "The body is over 64 KiB",
    415: "The body is not application/json",
    422: "Invalid input; `errors` names each field",
    503: "A dependency is unavailable; retry after Retry-After seconds",
}


_PROBLEM_HEADERS = {
    401: ("WWW-Authenticate", "Bearer"),
    503: ("Retry-After", "Seconds to wait before retrying"),
}


def problems(*statuses: int) -> dict[int, Any]:
    """The ``responses`` entries documenting the problem+json errors a route can answer with."""
    documented_problems: dict[int, Any] = {}
    for status in statuses:
        entry: dict[str, Any] = {"description": _PROBLEM_TEXT[status], "content": {PROBLEM_JSON: {"model": Problem}}}
        if status in _PROBLEM_HEADERS:
            name, text = _PROBLEM_HEADERS[status]
            entry["headers"] = {name: {"description": text, "schema": {"type": "string"}}}
        documented_problems[status] = entry
    return documented_problems


#: Errors any route with a JSON body can give, on top of its own.
BODY_PROBLEMS = (400, 401, 413, 415, 422, 503)


def documented(status: int, model: Any, description: str, headers: dict[str, str] | None = None) -> dict[int, Any]:
    """The ``responses`` entry that documents a route's success body (and response headers)."""
    entry: dict[str, Any] = {"description": description, "content": {"application/json": {"model": model}}}
    if headers:
        entry["headers"] = {name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()}
    return {status: entry}


def cached_json_response(document: str, cache_status: str, headers: dict[str, str] | None = None) -> Response[str]:
    """A JSON document the domain already serialised (perhaps from the cache), with ``X-Cache``."""
    return Response(
        200, content_type="application/json", body=document, headers={"X-Cache": cache_status, **(headers or {})}
    )


def manual_test_response(run: Callable[[], EventLog]) -> Response[str]:
    """Run a manual test and answer as the seed does: ``{"id", "status": "success"}``, or
    ``"status": "failed"`` with a reason and 503 when the log could not be written."""
    try:
        log = run()
    except ServiceUnavailable as unavailable:
        failed = ManualTestOutcome(id=None, status="failed", reason=unavailable.detail)
        return model_response(503, failed, headers={"Retry-After": str(unavailable.retry_after_s)})
    count("Fires", source="test")
    return model_response(201, ManualTestOutcome(id=log.id, status="success"))


def manual_test_responses(*problem_statuses: int) -> dict[int, Any]:
    """The ``responses`` of a manual-test route: its outcome on success and on failure, and its problems."""
    failed = {
        "description": "Could not fire: status failed, with a reason",
        "content": {"application/json": {"model": ManualTestOutcome}},
    }
    return {
        **documented(201, ManualTestOutcome, "Fired once and logged as a test"),
        **problems(*problem_statuses),
        503: failed,
    }


def strict_json_loads(text: str) -> Any:
    """json.loads that refuses what PostgreSQL or a careful client would not take silently:
    over-size bodies, duplicate keys, NaN/Infinity."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
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
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedJson("a string holds an unpaired surrogate (invalid Unicode)") from exc
    return parsed


def _field_path(loc: tuple[Any, ...]) -> str:
    """('body', 'scheduled', 'schedule', 'interval-schedule', 'unit') → 'schedule.unit'."""
    where, *rest = loc or ("body",)
    parts = [str(p) for p in rest if p not in UNION_TAGS]
    if where == "body":
        return ".".join(parts) or "body"
    return ".".join(parts) or str(where)


def _field_error(error: dict[str, Any]) -> FieldError:
    path = _field_path(tuple(error.get("loc", ())))
    if path == "body" and error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        return FieldError("type", "must be 'scheduled' or 'api'")
    return FieldError(path, str(error.get("msg", "is not valid")).removeprefix("Value error, "))


class ProblemResolver(APIGatewayRestResolver):
    """Refuses bodies that are not JSON before Powertools tries to read them as forms."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        content_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if event.get("body") and content_type not in ("application/json", "") and not content_type.endswith("+json"):
            return problem_proxy_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json.")
        return super().resolve(event, context)


def problem_proxy_response(status: HTTPStatus, detail: str) -> dict[str, Any]:
    """A problem+json API Gateway proxy response, for answers given before routing."""
    body = {"type": "about:blank", "title": status.phrase, "status": int(status), "detail": detail}
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": PROBLEM_JSON},
        "multiValueHeaders": {},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def make_resolver() -> APIGatewayRestResolver:
    """A resolver with request validation on and every failure shaped as problem+json."""
    app = ProblemResolver(enable_validation=True, json_body_deserializer=strict_json_loads)

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[str]:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(HTTPStatus.BAD_REQUEST, "The request body is not valid JSON.")
        fields = [_field_error(e) for e in errors]
        return problem(HTTPStatus.UNPROCESSABLE_ENTITY, "The request is not valid.", fields)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[str]:
        return problem(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json.")

    @app.exception_handler(BodyTooLarge)
    def body_too_large(exc: BodyTooLarge) -> Response[str]:
        return problem(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The body must be at most {MAX_BODY_BYTES} bytes.")

    @app.exception_handler(NotAnObject)
    def not_an_object(exc: NotAnObject) -> Response[str]:
        errors = [FieldError("body", "must be a JSON object")]
        return problem(HTTPStatus.UNPROCESSABLE_ENTITY, "The request is not valid.", errors)

    @app.exception_handler([MalformedJson, UnicodeDecodeError])
    def malformed_body(exc: ValueError) -> Response[str]:
        return problem(HTTPStatus.BAD_REQUEST, f"The request body is not valid JSON: {exc}.")

    @app.exception_handler(DomainError)
    def domain_error(exc: DomainError) -> Response[str]:
        status = _STATUS_OF.get(type(exc), HTTPStatus.INTERNAL_SERVER_ERROR)
        if isinstance(exc, InvalidInput):
            return problem(status, exc.detail, exc.errors)
        if isinstance(exc, ServiceUnavailable):
            return problem(status, exc.detail, headers={"Retry-After": str(exc.retry_after_s)})
        return problem(status, exc.detail)

    @app.not_found
    def no_route(exc: Exception) -> Response[str]:
        return problem(HTTPStatus.NOT_FOUND, "There is no such route.")

    return app


def tenant_id(app: APIGatewayRestResolver) -> UUID:
    """The tenant the authorizer resolved the bearer token to."""
    context = app.current_event.request_context.authorizer.get_context()
    try:
        return UUID(str(context["tenant_id"]))
    except (KeyError, ValueError) as exc:
        raise Unauthenticated("The request carries no authenticated tenant.") from exc


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


def next_link(app: APIGatewayRestResolver, query: dict[str, str]) -> str:
    """An RFC 8288 ``Link`` to the same resource with ``query``, as the client addressed it
    (the stage prefix included on API Gateway)."""

    event = app.current_event
    host = event.headers.get("host") or event.headers.get("Host") or "localhost"
    scheme = event.headers.get("x-forwarded-proto") or event.headers.get("X-Forwarded-Proto") or "https"
    path = event.request_context.path or event.path
    return f'<{scheme}://{host}{path}?{urlencode(query)}>; rel="next"'
