"""RFC 9457 problem details: the one shape of every error this API answers with.

A problem's ``type`` names its kind as a URN, ``urn:etp:problem:<code>`` (the codes are listed in
the README and in the Problem schema), so clients can branch on it without parsing text.
"""

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, Field

from trigger_platform.errors import FieldError

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:etp:problem:"

#: Every problem kind this API (and its gateway responses) answers with.
PROBLEM_CODES = (
    "malformed-body",
    "unauthenticated",
    "not-found",
    "no-route",
    "conflict",
    "quota-exceeded",
    "precondition-failed",
    "body-too-large",
    "unsupported-media-type",
    "invalid-input",
    "service-unavailable",
    "query-timeout",
    "rate-limited",
    "gateway-error",
    "malformed-request",
    "request-line-too-long",
    "headers-too-large",
    "unsupported-transfer-coding",
    "server-busy",
)


class ProblemField(BaseModel):
    field: str = Field(description="Dotted path of the offending input (a body key, query parameter or header)")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is shaped."""

    type: str = Field(
        description="The kind of problem: urn:etp:problem:<code>, with code one of " + ", ".join(PROBLEM_CODES),
        examples=["urn:etp:problem:invalid-input"],
    )
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | None = Field(default=None, description="Present for validation failures")
    quota: str | None = Field(default=None, description="For quota-exceeded: which quota")
    limit: int | None = Field(default=None, description="For quota-exceeded: the quota's limit")
    current: int | None = Field(default=None, description="For quota-exceeded: the tenant's current count")


def problem_document(
    status: HTTPStatus,
    code: str,
    detail: str,
    errors: list[FieldError] | None = None,
    title: str | None = None,
    **extensions: Any,
) -> str:
    """The problem+json body (the one builder every error response uses); ``extensions`` are the
    kind's own members (RFC 9457 §3.2), such as a quota's limit."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title or status.phrase,
        "status": int(status),
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return json.dumps({**body, **extensions}, ensure_ascii=False)


def problem(
    status: HTTPStatus,
    code: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    title: str | None = None,
    **extensions: Any,
) -> Response[str]:
    """A problem answered through the resolver."""
    document = problem_document(status, code, detail, errors, title, **extensions)
    return Response(int(status), content_type=PROBLEM_JSON, body=document, headers=headers)


def problem_proxy_response(status: HTTPStatus, code: str, detail: str) -> dict[str, Any]:
    """A problem as an API Gateway proxy response, for answers given before routing."""
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": PROBLEM_JSON},
        "multiValueHeaders": {},
        "body": problem_document(status, code, detail),
        "isBase64Encoded": False,
    }
