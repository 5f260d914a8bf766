"""Reads what the local runtime needs from template.yaml: Api routes, the authorizer, gateway
responses, the schedules' target, the crons and the SQS consumers."""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    """Loads CloudFormation short-form tags (!Ref, !Sub, !GetAtt …) as their long form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiRoute:
    function: Function
    method: str
    path: str
    authorized: bool

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class LocalTemplate:
    root: Path
    functions: dict[str, Function]
    routes: list[ApiRoute]
    authorizer: Function | None
    gateway_responses: dict[str, GatewayResponse]
    schedule_target: Function | None = None
    crons: list[tuple[Function, float]] = field(default_factory=list)
    #: Functions an SQS event source mapping invokes, with the mapping's batch size.
    queue_consumers: list[tuple[Function, int]] = field(default_factory=list)


_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def _crons(resources: dict[str, Any], functions: dict[str, Function]) -> list[tuple[Function, float]]:
    """Functions run on a ``rate(...)`` ScheduleV2 event, with their period in seconds."""
    found = []
    for logical_id, resource in resources.items():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "ScheduleV2":
                continue
            rate = re.fullmatch(r"rate\((\d+) (\w+)\)", str(event["Properties"]["ScheduleExpression"]))
            if rate and rate.group(2) in _RATE_UNITS:
                found.append((functions[logical_id], float(int(rate.group(1)) * _RATE_UNITS[rate.group(2)])))
    return found


def _queue_consumers(resources: dict[str, Any], functions: dict[str, Function]) -> list[tuple[Function, int]]:
    found = []
    for logical_id, resource in resources.items():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "SQS":
                found.append((functions[logical_id], int(event["Properties"].get("BatchSize", 10))))
    return found


def _schedule_target(resources: dict[str, Any], functions: dict[str, Function]) -> Function | None:
    """The function schedules invoke: the one whose ARN the scheduling functions pass as FIRE_FUNCTION_ARN."""
    for resource in resources.values():
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        target = variables.get("FIRE_FUNCTION_ARN")
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            return functions[target["Fn::GetAtt"][0]]
    return None


def _plain_variables(variables: dict[str, Any]) -> dict[str, str]:
    """Environment values that are literals; intrinsic functions are AWS-only and left out."""
    return {k: str(v) for k, v in variables.items() if not isinstance(v, dict | list)}


def _gateway_responses(api: dict[str, Any]) -> dict[str, GatewayResponse]:
    responses = {}
    for kind, spec in (api.get("GatewayResponses") or {}).items():
        headers = {
            name: str(value).strip("'")
            for name, value in (spec.get("ResponseParameters", {}).get("Headers") or {}).items()
        }
        body = (spec.get("ResponseTemplates") or {}).get("application/json", "")
        responses[kind] = GatewayResponse(int(spec.get("StatusCode", 0) or 0), headers, body)
    return responses


def load_template(path: Path) -> LocalTemplate:
    root = path.parent
    document = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass  # nosec B506
    resources: dict[str, Any] = document.get("Resources", {})
    global_env = _plain_variables(
        document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )

    functions: dict[str, Function] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        env = {**global_env, **_plain_variables((props.get("Environment") or {}).get("Variables", {}))}
        functions[logical_id] = Function(logical_id, root / props["CodeUri"], props["Handler"], env)

    authorizer: Function | None = None
    gateway_responses: dict[str, GatewayResponse] = {}
    default_authorized = False
    for resource in resources.values():
        if resource.get("Type") != "AWS::Serverless::Api":
            continue
        props = resource["Properties"]
        auth = props.get("Auth", {})
        default_name = auth.get("DefaultAuthorizer")
        if default_name:
            arn = auth["Authorizers"][default_name]["FunctionArn"]
            authorizer = functions[arn["Fn::GetAtt"][0]]
            default_authorized = True
        gateway_responses = _gateway_responses(props)

    routes = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            props = event["Properties"]
            route_auth = (props.get("Auth") or {}).get("Authorizer")
            authorized = default_authorized and route_auth != "NONE"
            routes.append(ApiRoute(functions[logical_id], props["Method"].upper(), props["Path"], authorized))
    # API Gateway prefers literal path segments: /logs/aggregate wins over /logs/{log_id}.
    routes.sort(key=lambda route: route.path.count("{"))
    return LocalTemplate(
        root,
        functions,
        routes,
        authorizer,
        gateway_responses,
        _schedule_target(resources, functions),
        _crons(resources, functions),
        _queue_consumers(resources, functions),
    )


def gateway_body(response: GatewayResponse, message: str) -> str:
    """Fill the ``$context.error.messageString`` placeholder the way API Gateway does (a JSON string)."""
    return response.body.replace("$context.error.messageString", json.dumps(message))
