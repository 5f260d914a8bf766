"""The one mapping of failures to problem+json, on a resolver of its own."""

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from tests.conftest import load_event
from trigger_platform.edge.resolver import make_resolver
from trigger_platform.errors import DomainError, QueryTimeout, QuotaExceeded


def answer(error: DomainError) -> dict[str, Any]:
    app = make_resolver()

    @app.get("/triggers")
    def failing() -> Response[str]:
        raise error

    event = load_event("list_triggers-page")
    return app.resolve(event, None)  # type: ignore[arg-type]


def test_a_query_timeout_is_503_with_retry_after_and_says_the_query_took_too_long() -> None:
    response = answer(QueryTimeout("too costly", retry_after_s=7))
    problem = json.loads(response["body"])
    assert response["statusCode"] == 503
    assert (problem["type"], problem["title"]) == ("urn:etp:problem:query-timeout", "Query Took Too Long")
    assert response["multiValueHeaders"]["Retry-After"] == ["7"]


def test_a_quota_is_409_with_its_name_limit_and_count() -> None:
    response = answer(QuotaExceeded("full", quota="triggers", limit=3, current=3))
    problem = json.loads(response["body"])
    assert response["statusCode"] == 409
    assert (problem["type"], problem["quota"], problem["limit"], problem["current"]) == (
        "urn:etp:problem:quota-exceeded",
        "triggers",
        3,
        3,
    )
