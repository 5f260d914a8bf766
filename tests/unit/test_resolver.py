"""The one mapping of failures to problem+json, on a resolver of its own."""

import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

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


def echo_parameters(event: dict[str, Any]) -> dict[str, Any]:
    """What a route with a query and a header parameter is given for ``event``."""
    app = make_resolver()

    @app.get("/triggers")
    def echo(
        limit: Annotated[int, Query(ge=1)] = 50,
        if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    ) -> Response[str]:
        return Response(200, "application/json", json.dumps({"limit": limit, "if_match": if_match}))

    return app.resolve(event, None)  # type: ignore[arg-type]


def test_query_and_header_parameters_are_validated_and_given_to_the_route() -> None:
    event = load_event("list_triggers-page")
    event |= {"queryStringParameters": {"limit": "7"}, "multiValueQueryStringParameters": {"limit": ["7"]}}
    event["headers"] = {**event["headers"], "if-MATCH": '"3"'}
    event["multiValueHeaders"] = {**(event.get("multiValueHeaders") or {}), "if-MATCH": ['"3"']}
    assert json.loads(echo_parameters(event)["body"]) == {"limit": 7, "if_match": '"3"'}


def test_a_query_parameter_given_twice_is_refused_not_read_as_one_of_its_values() -> None:
    event = load_event("list_triggers-page")
    event |= {"queryStringParameters": {"limit": "2"}, "multiValueQueryStringParameters": {"limit": ["1", "2"]}}
    response = echo_parameters(event)
    problem = json.loads(response["body"])
    assert response["statusCode"] == 422
    assert [error["field"] for error in problem["errors"]] == ["limit"]


def test_a_route_with_a_parameter_that_is_not_a_scalar_is_refused_at_its_first_request() -> None:
    app = make_resolver()

    @app.get("/triggers")
    def listing(ids: Annotated[list[str], Query()]) -> Response[str]:
        return Response(200, "application/json", "[]")

    with pytest.raises(TypeError, match="only scalar"):
        app.resolve(load_event("list_triggers-page"), None)  # type: ignore[arg-type]
