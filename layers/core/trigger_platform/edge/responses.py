"""Success responses: JSON serialised once, by pydantic-core, from views or a cached document."""

from collections.abc import Sequence

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from trigger_platform.firing import ManualTest
from trigger_platform.views import ManualTestOutcome

JSON = "application/json"
#: The most body a page carries: far under Lambda's 6 MB response limit whatever its payloads (500
#: items of 16 KiB would be 8 MB); a page cut short says where the rest starts in its Link.
MAX_PAGE_BYTES = 1024 * 1024


def to_json(model: BaseModel) -> str:
    return model.__pydantic_serializer__.to_json(model).decode()


def bounded_json_array(models: Sequence[BaseModel], max_bytes: int = MAX_PAGE_BYTES) -> tuple[str, int]:
    """The JSON array of the leading models that fit in ``max_bytes`` (always at least one), and how
    many of them that is."""
    parts: list[bytes] = []
    size = 2
    for model in models:
        part = model.__pydantic_serializer__.to_json(model)
        if parts and size + len(part) + 1 > max_bytes:
            break
        parts.append(part)
        size += len(part) + 1
    return (b"[" + b",".join(parts) + b"]").decode(), len(parts)


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
