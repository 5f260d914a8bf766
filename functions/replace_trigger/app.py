"""PUT /triggers/{trigger_id}: edit a trigger's definition (optimistic concurrency with If-Match).

An edit, not a re-arm: a trigger whose schedule is unchanged keeps its state and next fire time (a
completed one-time trigger stays completed, an interval keeps counting from when it was defined); a
new schedule re-arms it from now. Setting `enabled` pauses or resumes it. If-Match makes the edit
conditional.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.definitions import TriggerDefinition
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import BODY_PROBLEMS, documented, operation, problems
from trigger_platform.edge.headers import IF_MATCH_PATTERN, base_url, etag, expected_version
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import model_response
from trigger_platform.views import TriggerView

app = make_resolver()


@app.put(
    "/triggers/<trigger_id>",
    **operation("replaceTrigger", "Triggers", "Replace a trigger's definition", __doc__),
    responses={
        **documented(200, TriggerView, "The new definition", {"ETag": "The trigger's new version"}),
        **problems(*BODY_PROBLEMS, 404, 409, 412),
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
        uow=wiring.unit_of_work(),
        clock=wiring.clock(),
        expected_version=expected_version(if_match),
        quotas=wiring.quotas(),
        targets=wiring.target_guard(),
    )
    logger.info("trigger replaced", trigger_id=trigger_id, version=trigger.version)
    count("TriggersReplaced", type=trigger.definition.type)
    return model_response(200, TriggerView.of(trigger, base_url(app)), {"ETag": etag(trigger.version)})


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
