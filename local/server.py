"""What API Gateway and Lambda do for the local runtime: turns a request into the REST proxy event the
deployed API would send, runs the authorizer first, then the route's real handler, in process;
answers CORS preflights as the template's ``Cors`` has API Gateway answer them.
The HTTP server in front of it is gunicorn (local/web.py)."""

import base64
import importlib.util
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.rate_limit import RateLimiter
from local.schedules import LocalScheduler
from local.template import ApiRoute, Cors, Function, GatewayResponse, LocalTemplate, gateway_body
from trigger_platform.edge import wiring
from trigger_platform.edge.headers import EXPOSED_HEADERS
from trigger_platform.edge.problems import PROBLEM_JSON, problem_document

log = logging.getLogger("local")

STAGE = "local"
ACCOUNT_ID = "123456789012"
API_ID = "localapi01"
REGION = "us-east-1"
#: The largest body the runtime reads (API Gateway takes 10 MiB; the handlers enforce 64 KiB): a
#: larger declared Content-Length is refused before a byte of the body is read.
MAX_REQUEST_BODY = 1024 * 1024

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

#: What differs from AWS when the handlers run here: schedules live in PostgreSQL, not EventBridge,
#: and there is no CloudWatch to send metrics to.
LOCAL_ENVIRONMENT = {
    "SCHEDULER_BACKEND": "local",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    aws_request_id: str
    deadline_ms: float
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.deadline_ms - time.time() * 1000))


class FunctionHost:
    """Each function's module loaded once, like a warm Lambda instance, and invoked one event at a
    time: Powertools keeps the current event on the resolver class, so invocations must not overlap."""

    def __init__(self, timeout_s: int = 10) -> None:
        # The handlers' scheduler here is the runtime's own (SCHEDULER_BACKEND=local).
        wiring.use_scheduler(LocalScheduler)
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.RLock()
        self._timeout_s = timeout_s

    def _load(self, function: Function) -> Handler:
        module_file, _, attribute = function.handler.rpartition(".")
        path = function.code_uri / f"{module_file.replace('.', '/')}.py"
        for name, value in function.environment.items():
            os.environ.setdefault(name, value)
        os.environ.update(LOCAL_ENVIRONMENT)
        spec = importlib.util.spec_from_file_location(f"lambda_{function.logical_id}", path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {path}")
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handler: Handler = getattr(module, attribute)
        return handler

    def _handler(self, function: Function) -> Handler:
        handler = self._handlers.get(function.logical_id)
        if handler is None:
            handler = self._handlers[function.logical_id] = self._load(function)
        return handler

    def warm(self, functions: list[Function]) -> None:
        """Load every function now, so that no request pays for a cold start."""
        with self._lock:
            for function in functions:
                self._handler(function)

    def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        with self._lock:
            handler = self._handler(function)
            context = LambdaContext(function.logical_id, str(uuid.uuid4()), time.time() * 1000 + self._timeout_s * 1000)
            return handler(event, context)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: The route template it answered (``/triggers/{trigger_id}``): what logs say, never the raw
    #: path and query, which can hold what a client should not have put there.
    route: str = "(no route)"


class LocalApi:
    """Routes a request the way API Gateway would, and answers with its gateway responses."""

    def __init__(self, template: LocalTemplate, host: FunctionHost, limiter: RateLimiter | None = None) -> None:
        self.template = template
        self.host = host
        self.limiter = limiter

    def _rate_limited(self, tenant: str, request_id: str) -> tuple[Reply | None, list[tuple[str, str]]]:
        """A 429 when the tenant is over its rate, and the RateLimit headers of every answer."""
        if self.limiter is None:
            return None, []
        decision = self.limiter.take(tenant)
        headers = [
            ("RateLimit-Policy", self.limiter.policy),
            ("RateLimit", f'"tenant";r={decision.remaining};t={decision.reset_s}'),
        ]
        if decision.allowed:
            return None, headers
        detail = f"This tenant may make {self.limiter.rate:g} requests a second ({self.limiter.burst} at once)."
        body = problem_document(HTTPStatus.TOO_MANY_REQUESTS, "rate-limited", detail).encode()
        retry = [("Retry-After", str(max(1, decision.retry_after_s))), ("x-amzn-RequestId", request_id)]
        return Reply(429, [("Content-Type", PROBLEM_JSON), *retry, *headers], body), headers

    def _gateway_reply(self, kind: str, message: str, request_id: str) -> Reply:
        responses = self.template.gateway_responses
        fallback_kind = "DEFAULT_5XX" if kind in {"AUTHORIZER_FAILURE", "INTEGRATION_FAILURE"} else "DEFAULT_4XX"
        defaults = {
            "UNAUTHORIZED": 401,
            "ACCESS_DENIED": 403,
            "AUTHORIZER_FAILURE": 500,
            "MISSING_AUTHENTICATION_TOKEN": 403,  # a gateway response type  # nosec B105
            "REQUEST_TOO_LARGE": 413,
            "INTEGRATION_FAILURE": 502,
        }
        response = responses.get(kind) or responses.get(fallback_kind) or GatewayResponse(0, {}, "")
        status = response.status or defaults.get(kind, 500)
        body = gateway_body(response, message) if response.body else json.dumps({"message": message})
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id, **response.headers}
        return Reply(status, list(headers.items()), body.encode())

    def too_large(self) -> Reply:
        """A body over MAX_REQUEST_BODY, answered with the template's REQUEST_TOO_LARGE response."""
        return self._gateway_reply("REQUEST_TOO_LARGE", "Request Too Long", str(uuid.uuid4()))

    def _preflight(self, path: str, request_id: str) -> Reply | None:
        """What the preflight (OPTIONS) SAM adds to each path answers: its mock integration's 200, with
        neither the authorizer nor an API key; None where no path matches, as API Gateway has none."""
        cors = self.template.cors
        resource = next((route.path for route in self.template.routes if route.pattern.match(path)), None)
        if cors is None or resource is None:
            return None
        methods = {route.method for route in self.template.routes if route.path == resource} | {"OPTIONS"}
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", request_id),
            ("Access-Control-Allow-Origin", cors.allow_origin),
            ("Access-Control-Allow-Methods", cors.allow_methods or ",".join(sorted(methods))),
        ]
        if cors.allow_headers:
            headers.append(("Access-Control-Allow-Headers", cors.allow_headers))
        if cors.max_age:
            headers.append(("Access-Control-Max-Age", cors.max_age))
        return Reply(200, headers + credentials_header(cors), b"{}\n", route=resource)

    def _with_cors(self, reply: Reply) -> Reply:
        """An answer API Gateway passes through (the handler's, or this runtime's own 429) with the
        CORS headers a browser needs to read it, unless it carries them already."""
        cors = self.template.cors
        if cors is None or any(name.lower() == "access-control-allow-origin" for name, _ in reply.headers):
            return reply
        added = [
            ("Access-Control-Allow-Origin", cors.allow_origin),
            ("Access-Control-Expose-Headers", ",".join(EXPOSED_HEADERS)),
        ]
        return replace(reply, headers=reply.headers + added + credentials_header(cors))

    def _match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        for route in self.template.routes:
            if route.method in (method, "ANY"):
                found = route.pattern.match(path)
                if found:
                    return route, found.groupdict()
        return None

    def _authorize(self, headers: list[tuple[str, str]], route: ApiRoute, request_id: str) -> dict[str, Any] | Reply:
        authorizer = self.template.authorizer
        if authorizer is None:
            raise RuntimeError("a route needs the authorizer but the template defines none")
        token = next((v for k, v in headers if k.lower() == "authorization"), None)
        if not token:
            return self._gateway_reply("UNAUTHORIZED", "Unauthorized", request_id)
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{route.method}{route.path}"
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        try:
            result = self.host.invoke(authorizer, event)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return self._gateway_reply("UNAUTHORIZED", "Unauthorized", request_id)
            log.warning("authorizer failed: %s", type(exc).__name__)
            return self._gateway_reply("AUTHORIZER_FAILURE", "Authorizer failed", request_id)
        statements = result.get("policyDocument", {}).get("Statement", [])
        if not any(s.get("Effect") == "Allow" for s in statements):
            return self._gateway_reply("ACCESS_DENIED", "User is not authorized to access this resource", request_id)
        return {"principalId": result.get("principalId"), **(result.get("context") or {}), "integrationLatency": 0}

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, scheme: str) -> Reply:
        """``scheme`` is how the client reached us: https when a trusted proxy said so (gunicorn's
        ``forwarded_allow_ips``), as API Gateway's X-Forwarded-Proto says it."""
        request_id = str(uuid.uuid4())
        url = urlsplit(target)
        path = url.path.rstrip("/") or "/"
        matched = self._match(method, path)
        if matched is None:
            preflight = self._preflight(path, request_id) if method == "OPTIONS" else None
            return preflight or self._gateway_reply(
                "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", request_id
            )
        route, path_parameters = matched
        if len(body) > MAX_REQUEST_BODY:
            return self._gateway_reply("REQUEST_TOO_LARGE", "Request Too Long", request_id)
        authorizer_context: dict[str, Any] | None = None
        rate_headers: list[tuple[str, str]] = []
        if route.authorized:
            outcome = self._authorize(headers, route, request_id)
            if isinstance(outcome, Reply):
                return replace(outcome, route=route.path)
            authorizer_context = outcome
            refused, rate_headers = self._rate_limited(str(outcome.get("tenant_id")), request_id)
            if refused is not None:
                return self._with_cors(replace(refused, route=route.path))
        # API Gateway adds these (over what the client sent); links the handlers build depend on them.
        forwarded = [("X-Forwarded-Proto", scheme), ("X-Forwarded-For", "127.0.0.1")]
        event = proxy_event(method, path, url.query, headers + forwarded, body, route, path_parameters, request_id)
        if authorizer_context is not None:
            event["requestContext"]["authorizer"] = authorizer_context
        try:
            result = self.host.invoke(route.function, event)
        except Exception:
            log.exception("handler %s raised", route.function.logical_id)
            return replace(
                self._gateway_reply("INTEGRATION_FAILURE", "Internal server error", request_id), route=route.path
            )
        reply = proxy_reply(result, request_id)
        return self._with_cors(replace(reply, headers=reply.headers + rate_headers, route=route.path))


def credentials_header(cors: Cors) -> list[tuple[str, str]]:
    """Access-Control-Allow-Credentials only when the template allows credentials (never ``false``)."""
    return [("Access-Control-Allow-Credentials", "true")] if cors.allow_credentials else []


def proxy_event(
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route: ApiRoute,
    path_parameters: dict[str, str],
    request_id: str,
) -> dict[str, Any]:
    """The REST API (v1) proxy event API Gateway sends for this request."""
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    pairs = parse_qsl(query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for name, value in pairs:
        multi_query.setdefault(name, []).append(value)
    try:
        text: str | None = body.decode("utf-8") if body else None
        is_base64 = False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": dict(pairs) or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "body": text,
        "isBase64Encoded": is_base64,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "resourceId": "local",
            "resourcePath": route.path,
            "httpMethod": method,
            "path": path,
            "stage": STAGE,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": single_headers.get("User-Agent")},
        },
    }


def proxy_reply(result: Any, request_id: str) -> Reply:
    if not isinstance(result, dict) or "statusCode" not in result:
        log.error("handler returned something that is not a proxy response")
        return Reply(502, [("Content-Type", "application/json")], b'{"message": "Internal server error"}')
    headers: list[tuple[str, str]] = [("x-amzn-RequestId", request_id)]
    for name, value in (result.get("headers") or {}).items():
        headers.append((name, str(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return Reply(int(result["statusCode"]), headers, body)
