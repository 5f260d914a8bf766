"""The resolver every API handler uses: request validation on, and every failure — Powertools',
the body parser's and the domain's — mapped to problem+json here, once."""

from collections.abc import Mapping
from functools import cached_property
from http import HTTPStatus
from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import Route
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
    OpenAPIResponseValidationMiddleware,
    _request_body_to_args,
    _request_params_to_args,
)
from aws_lambda_powertools.event_handler.openapi.compat import _normalize_errors, is_scalar_field
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.types import EventHandlerInstance
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import (
    APIGatewayEventRequestContext,
    APIGatewayProxyEvent,
)
from aws_lambda_powertools.utilities.data_classes.common import CaseInsensitiveDict
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform.definitions import UNION_TAGS
from trigger_platform.edge.headers import ALLOWED_REQUEST_HEADERS, EXPOSED_HEADERS
from trigger_platform.edge.json_body import MAX_BODY_BYTES, BodyTooLarge, MalformedJson, NotAnObject, strict_json_loads
from trigger_platform.edge.problems import problem, problem_proxy_response
from trigger_platform.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    ServiceUnavailable,
    Unauthenticated,
)
from trigger_platform.settings import get_settings

_STATUS_OF: dict[type[DomainError], HTTPStatus] = {
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    PreconditionFailed: HTTPStatus.PRECONDITION_FAILED,
    InvalidInput: HTTPStatus.UNPROCESSABLE_ENTITY,
    ServiceUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
}
_NOT_JSON = "Send the body as application/json."


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


class RestEvent(APIGatewayProxyEvent):
    """The REST proxy event with its headers normalised once per request: Powertools reads them
    several times (validation, CORS, compression, cookies) and would rebuild them each time."""

    @cached_property
    def headers(self) -> dict[str, str]:
        return _lowered(self.get("headers"))

    @cached_property
    def multi_value_headers(self) -> dict[str, list[str]]:
        return _lowered(self.get("multiValueHeaders"))

    @cached_property
    def resolved_headers_field(self) -> dict[str, Any]:
        return super().resolved_headers_field

    @cached_property
    def request_context(self) -> APIGatewayEventRequestContext:
        return super().request_context


def _lowered(headers: Mapping[str, Any] | None) -> CaseInsensitiveDict:
    """Headers by lower-case name, looked up in any case (Powertools' own dict, filled in one pass
    rather than through its generic update)."""
    lowered = CaseInsensitiveDict()  # type: ignore[no-untyped-call]
    dict.update(lowered, {name.lower(): value for name, value in (headers or {}).items()})
    return lowered


def _joined(single: Mapping[str, str], multi: Mapping[str, list[str]]) -> dict[str, str]:
    """A parameter given several times becomes its values joined by commas, as Powertools reads a
    scalar parameter: ``?limit=1&limit=2`` is refused as not a number, not read as 1 or 2."""
    joined = dict(single)
    joined.update((name, ",".join(values)) for name, values in multi.items() if len(values) > 1)
    return joined


class RequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, with what depends only on the route worked out once: every
    query and header parameter of this API is a scalar, so their per-request analysis (a walk of
    each parameter's type, on every request) is done at the route's first request; and no cookies
    are read. The values, the validation and the errors are Powertools'."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._checked: set[Route] = set()

    def _check(self, route: Route) -> None:
        dependant = route.dependant
        params = (*dependant.query_params, *dependant.header_params)
        complex_params = [param.alias for param in params if not is_scalar_field(param)]
        if complex_params or dependant.cookie_params:
            raise TypeError(f"{route.path}: only scalar query and header parameters are read ({complex_params})")
        self._checked.add(route)

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response[Any]:
        route: Route = app.context["_route"]
        if route not in self._checked:
            self._check(route)
        dependant, event = route.dependant, app.current_event
        values, errors = _request_params_to_args(dependant.path_params, app.context["_route_args"])
        if dependant.query_params:
            query = _joined(event.query_string_parameters, event.multi_value_query_string_parameters)
            found, wrong = _request_params_to_args(dependant.query_params, query)
            values.update(found)
            errors += wrong
        if dependant.header_params:
            headers = _lowered(_joined(event.headers, event.get("multiValueHeaders") or {}))
            found, wrong = _request_params_to_args(dependant.header_params, headers)
            values.update(found)
            errors += wrong
        if dependant.body_params:
            found, wrong = _request_body_to_args(dependant.body_params, self._get_body(app))
            values.update(found)
            errors += wrong
        if errors:
            raise RequestValidationError(_normalize_errors(errors))
        app.context["_route_args"] = values
        return next_middleware(app)


class AnsweredAsIs(OpenAPIResponseValidationMiddleware):
    """In place of Powertools' response validation: every route answers with a ``Response`` whose
    body its views serialised already (``edge/responses.py``), which Powertools would validate as a
    string and encode a second time."""

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response[Any]:
        return next_middleware(app)


class ProblemResolver(APIGatewayRestResolver):
    """Reads events as ``RestEvent``s, validates requests with ``RequestValidation``, answers as
    the routes answered, and refuses bodies that are not JSON before Powertools tries to read them
    as forms."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self._enable_validation:
            self._request_validation_middleware = RequestValidation()
            self._response_validation_middleware = AnsweredAsIs()

    def _to_proxy_event(self, event: dict[str, Any]) -> RestEvent:
        return RestEvent(event, self._json_body_deserializer)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        content_type = next((v for k, v in (event.get("headers") or {}).items() if k.lower() == "content-type"), "")
        media_type = content_type.split(";")[0].strip().lower()
        if event.get("body") and media_type not in ("application/json", "") and not media_type.endswith("+json"):
            refused = problem_proxy_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", _NOT_JSON)
            origin = next((v for k, v in (event.get("headers") or {}).items() if k.lower() == "origin"), None)
            if self._cors is not None and origin:  # answered before Powertools would add them
                refused["headers"].update(self._cors.to_dict(self._cors.allowed_origin(origin)))
            return refused
        return super().resolve(event, context)


def make_resolver(validate: bool = True) -> APIGatewayRestResolver:
    """A resolver with every failure shaped as problem+json, validating the request with the
    route's models unless ``validate`` is off: a route whose only input is a path id (parsed by
    the domain, where any string is valid) has nothing to validate, and skips the cost."""
    cors = CORSConfig(
        allow_origin=get_settings().cors_allow_origin,
        allow_headers=list(ALLOWED_REQUEST_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        max_age=600,
    )
    # API Gateway answers preflights and adds nothing to a proxy answer: the CORS headers a browser
    # needs to read one are the function's to send.
    app = ProblemResolver(cors=cors, enable_validation=validate, json_body_deserializer=strict_json_loads)

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[str]:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(HTTPStatus.BAD_REQUEST, "malformed-body", "The request body is not valid JSON.")
        fields = [_field_error(e) for e in errors]
        return problem(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid-input", "The request is not valid.", fields)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[str]:
        return problem(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", _NOT_JSON)

    @app.exception_handler(BodyTooLarge)
    def body_too_large(exc: BodyTooLarge) -> Response[str]:
        detail = f"The body must be at most {MAX_BODY_BYTES} bytes."
        return problem(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body-too-large", detail)

    @app.exception_handler(NotAnObject)
    def not_an_object(exc: NotAnObject) -> Response[str]:
        errors = [FieldError("body", "must be a JSON object")]
        return problem(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid-input", "The request is not valid.", errors)

    @app.exception_handler([MalformedJson, UnicodeDecodeError])
    def malformed_body(exc: ValueError) -> Response[str]:
        return problem(HTTPStatus.BAD_REQUEST, "malformed-body", f"The request body is not valid JSON: {exc}.")

    @app.exception_handler(DomainError)
    def domain_error(exc: DomainError) -> Response[str]:
        kind = next((k for k in type(exc).__mro__ if k in _STATUS_OF), None)
        status = _STATUS_OF[kind] if kind else HTTPStatus.INTERNAL_SERVER_ERROR
        if isinstance(exc, InvalidInput):
            return problem(status, exc.code, exc.detail, exc.errors)
        if isinstance(exc, ServiceUnavailable):
            retry = {"Retry-After": str(exc.retry_after_s)}
            return problem(status, exc.code, exc.detail, headers=retry, title=exc.title)
        if isinstance(exc, QuotaExceeded):
            return problem(status, exc.code, exc.detail, quota=exc.quota, limit=exc.limit, current=exc.current)
        return problem(status, exc.code, exc.detail)

    @app.not_found
    def no_route(exc: Exception) -> Response[str]:
        return problem(HTTPStatus.NOT_FOUND, "no-route", "There is no such route.")

    return app


def tenant_id(app: APIGatewayRestResolver) -> UUID:
    """The tenant the authorizer resolved the bearer token to."""
    context = app.current_event.request_context.authorizer.get_context()
    try:
        return UUID(str(context["tenant_id"]))
    except (KeyError, ValueError) as exc:
        raise Unauthenticated("The request carries no authenticated tenant.") from exc
