"""How routes document their responses in openapi.yaml: success bodies with their headers, and the
problem+json errors each route can answer with."""

import inspect
from typing import Any

from trigger_platform.edge.problems import PROBLEM_JSON, Problem
from trigger_platform.views import ManualTestOutcome

_PROBLEM_TEXT = {
    400: "The body is not valid JSON",
    401: "Missing or invalid bearer token",
    404: "No such resource for this tenant",
    409: "The resource is not in a state that allows this, or a quota is reached (quota, limit, current)",
    412: "If-Match names a version that is not the current one",
    413: "The body is over 64 KiB",
    415: "The body is not application/json",
    422: "Invalid input; `errors` names each field",
    429: "Over the tenant's rate; retry after Retry-After seconds",
    503: "A dependency is unavailable; retry after Retry-After seconds",
}

_PROBLEM_HEADERS = {
    401: {"WWW-Authenticate": "Bearer"},
    429: {
        "Retry-After": "Seconds to wait before retrying",
        "RateLimit-Policy": 'The tenant\'s rate limit (IETF httpapi draft): "tenant";q=<burst>;w=<seconds>',
        "RateLimit": 'What is left of it: "tenant";r=<remaining>;t=<seconds until full>',
    },
    503: {"Retry-After": "Seconds to wait before retrying"},
}
#: What every authenticated route can answer before its handler runs (API Gateway, or the runtime).
_GATEWAY_PROBLEMS = (429,)

#: Errors any route with a JSON body can give, on top of its own.
BODY_PROBLEMS = (400, 401, 413, 415, 422, 503)


def operation(operation_id: str, tag: str, summary: str, description: str | None) -> dict[str, Any]:
    """A route's OpenAPI metadata: its operationId (the name generated clients give it), its tag
    (Triggers, Firing, Logs or Docs), and what it does — the handler module's docstring, so the
    text is written once."""
    text = inspect.cleandoc(description or "")
    return {"operation_id": operation_id, "tags": [tag], "summary": summary, "description": text}


def _headers(described: dict[str, str]) -> dict[str, Any]:
    return {name: {"description": text, "schema": {"type": "string"}} for name, text in described.items()}


def problems(*statuses: int) -> dict[int, Any]:
    """The ``responses`` entries documenting the problem+json errors a route can answer with."""
    documented_problems: dict[int, Any] = {}
    for status in sorted({*statuses, *_GATEWAY_PROBLEMS}):
        entry: dict[str, Any] = {"description": _PROBLEM_TEXT[status], "content": {PROBLEM_JSON: {"model": Problem}}}
        if status in _PROBLEM_HEADERS:
            entry["headers"] = _headers(_PROBLEM_HEADERS[status])
        documented_problems[status] = entry
    return documented_problems


def documented(status: int, model: Any, description: str, headers: dict[str, str] | None = None) -> dict[int, Any]:
    """The ``responses`` entry that documents a route's success body (and response headers)."""
    entry: dict[str, Any] = {"description": description, "content": {"application/json": {"model": model}}}
    if headers:
        entry["headers"] = _headers(headers)
    return {status: entry}


def manual_test_responses(*problem_statuses: int) -> dict[int, Any]:
    """The ``responses`` of a manual-test route: its outcome on success and on failure, and its problems."""
    failed_example = {"id": None, "status": "failed", "reason": "The database is not reachable."}
    failed = {
        "description": "Could not fire: status failed, with a reason",
        "content": {
            "application/json": {"model": ManualTestOutcome, "examples": {"failed": {"value": failed_example}}}
        },
        "headers": _headers({"Retry-After": "Seconds to wait before retrying"}),
    }
    succeeded = documented(201, ManualTestOutcome, "Fired once and logged as a test")
    succeeded[201]["content"]["application/json"]["examples"] = {
        "success": {"value": {"id": "01a2259a-6b93-73db-b2ff-98deb31e9f51", "status": "success"}}
    }
    return {
        **succeeded,
        **problems(*problem_statuses),
        503: failed,
    }
