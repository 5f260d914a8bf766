"""Success responses: JSON serialised once, by pydantic-core, from views or a cached document."""

from collections.abc import Sequence

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from trigger_platform.firing import ManualTest
from trigger_platform.views import ManualTestOutcome

JSON = "application/json"


def to_json(model: BaseModel) -> str:
    return model.__pydantic_serializer__.to_json(model).decode()


def to_json_array(models: Sequence[BaseModel]) -> str:
    return "[" + ",".join(to_json(model) for model in models) + "]"


def json_response(status: int, document: str, headers: dict[str, str] | None = None) -> Response[str]:
    """A JSON document answered as is; the route documents its model with ``documented`` (Powertools
    would otherwise validate and serialise the body again)."""
    return Response(status, content_type=JSON, body=document, headers=headers)


def model_response(status: int, body: BaseModel, headers: dict[str, str] | None = None) -> Response[str]:
    return json_response(status, to_json(body), headers)


def manual_test_response(outcome: ManualTest) -> Response[str]:
    """As the seed answers: ``{"id", "status": "success"}``, or ``"status": "failed"`` with a reason
    and 503 when the test could not be logged."""
    if outcome.log is None:
        failed = ManualTestOutcome(id=None, status="failed", reason=outcome.failure)
        return model_response(503, failed, headers={"Retry-After": str(outcome.retry_after_s)})
    return model_response(201, ManualTestOutcome(id=outcome.log.id, status="success"))
