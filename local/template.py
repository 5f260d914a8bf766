"""Reads what the local runtime needs from template.yaml: Api routes, the authorizer, gateway
responses, CORS, the schedules' target, the crons and the SQS consumers."""

import json
import re
from collections.abc import Mapping
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
class Cors:
    """An Api's ``Cors``, as SAM turns it into each path's preflight (an OPTIONS mock integration)."""

    allow_origin: str
    allow_headers: str | None = None
    #: None: each path's own methods and OPTIONS, as SAM lists them when the template gives none.
    allow_methods: str | None = None
    max_age: str | None = None
    allow_credentials: bool = False


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
    cors: Cors | None = None


#: The template parameters the self-hosted runtime takes from its environment, as
#: ``sam deploy --parameter-overrides`` gives them on AWS.
ENVIRONMENT_PARAMETERS = {"CORS_ALLOW_ORIGIN": "CorsAllowOrigin"}


def parameters_from(environ: Mapping[str, str]) -> dict[str, str]:
    """The parameter values the environment sets (ENVIRONMENT_PARAMETERS); the others keep their default."""
    return {parameter: environ[name] for name, parameter in ENVIRONMENT_PARAMETERS.items() if environ.get(name)}


def _parameter_values(declared: dict[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """Each parameter's value: its override, else its default; an override is checked as
    CloudFormation checks it (AllowedPattern, AllowedValues)."""
    values = {name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
    for name, value in overrides.items():
        spec = declared.get(name)
        if spec is None:
            raise ValueError(f"template.yaml declares no parameter {name}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            constraint = spec.get("ConstraintDescription", f"must match {pattern}")
            raise ValueError(f"parameter {name} = {value!r}: {constraint}")
        allowed = spec.get("AllowedValues")
        if allowed and value not in [str(v) for v in allowed]:
            raise ValueError(f"parameter {name} = {value!r}: must be one of {', '.join(map(str, allowed))}")
        values[name] = value
    return values


def _resolve(value: Any, parameters: dict[str, str]) -> str:
    """A literal, or a ``Ref`` / ``Fn::Sub`` of parameters, as CloudFormation resolves it."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
        return parameters[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([^}]+)\}", lambda name: _resolve({"Ref": name.group(1)}, parameters), value["Fn::Sub"])
    if isinstance(value, dict | list):
        raise ValueError(f"the local runtime cannot resolve {value}")
    return str(value)


def _static(value: Any, parameters: dict[str, str]) -> str:
    """An API Gateway static value (``"'text'"``) as the text API Gateway sends."""
    return _resolve(value, parameters).strip("'")


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


def _gateway_responses(api: dict[str, Any], parameters: dict[str, str]) -> dict[str, GatewayResponse]:
    responses = {}
    for kind, spec in (api.get("GatewayResponses") or {}).items():
        headers = {
            name: _static(value, parameters)
            for name, value in (spec.get("ResponseParameters", {}).get("Headers") or {}).items()
        }
        body = (spec.get("ResponseTemplates") or {}).get("application/json", "")
        responses[kind] = GatewayResponse(int(spec.get("StatusCode", 0) or 0), headers, body)
    return responses


def _cors(api: dict[str, Any], parameters: dict[str, str]) -> Cors | None:
    """SAM's two forms: the allowed origin alone, or the whole configuration."""
    spec = api.get("Cors")
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) <= {"Ref", "Fn::Sub"}:
        return Cors(_static(spec, parameters))
    optional = {
        "allow_headers": spec.get("AllowHeaders"),
        "allow_methods": spec.get("AllowMethods"),
        "max_age": spec.get("MaxAge"),
    }
    return Cors(
        _static(spec["AllowOrigin"], parameters),
        **{name: _static(value, parameters) for name, value in optional.items() if value is not None},
        allow_credentials=spec.get("AllowCredentials") is True,
    )


def load_template(path: Path, parameters: Mapping[str, str] | None = None) -> LocalTemplate:
    """template.yaml as the local runtime serves it, with ``parameters`` overriding their defaults."""
    root = path.parent
    document = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass  # nosec B506
    resources: dict[str, Any] = document.get("Resources", {})
    values = _parameter_values(document.get("Parameters") or {}, parameters or {})
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
    cors: Cors | None = None
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
        gateway_responses = _gateway_responses(props, values)
        cors = _cors(props, values)

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
        cors,
    )


def gateway_body(response: GatewayResponse, message: str) -> str:
    """Fill the ``$context.error.messageString`` placeholder the way API Gateway does (a JSON string)."""
    return response.body.replace("$context.error.messageString", json.dumps(message))
