"""PUT /triggers/{trigger_id}: replace a trigger's definition (optimistic concurrency with If-Match)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.edge import wiring
from trigger_platform.edge.http import (
    BODY_PROBLEMS,
    IF_MATCH_PATTERN,
    documented,
    etag,
    expected_version,
    make_resolver,
    model_response,
    problems,
    tenant_id,
)
from trigger_platform.edge.observability import lambda_entry, logger
from trigger_platform.models import TriggerDefinition, TriggerOut

app = make_resolver()


@app.put(
    "/triggers/<trigger_id>",
    summary="Replace a trigger's definition",
    responses={
        **documented(200, TriggerOut, "The new definition", {"ETag": "The trigger's new version"}),
        **problems(*BODY_PROBLEMS, 404, 412),
    },
)
def replace_trigger(
    trigger_id: str,
    definition: TriggerDefinition,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match", pattern=IF_MATCH_PATTERN, description='The ETag (version) the edit is based on, e.g. "3"'
        ),
    ] = None,
) -> Response[str]:
    trigger = triggers.replace_trigger(
        tenant_id(app),
        trigger_id,
        definition.root,
        wiring.trigger_store(),
        wiring.scheduler(),
        wiring.clock(),
        expected_version(if_match),
    )
    logger.info("trigger replaced", trigger_id=str(trigger.id), version=trigger.version)
    return model_response(200, TriggerOut.of(trigger), headers={"ETag": etag(trigger.version)})


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
