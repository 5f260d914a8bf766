"""template.yaml, read as SAM reads it: handlers that resolve, least privilege, auth on every route."""

import functools
import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from local.template import Cors, _CfnLoader, load_template, parameters_from
from tests.conftest import ROOT
from trigger_platform.adapters.cache import MemoryCache
from trigger_platform.auth import AUTHORIZATION_PATTERN
from trigger_platform.edge import wiring
from trigger_platform.edge.headers import EXPOSED_HEADERS
from trigger_platform.settings import Settings, get_settings

TEMPLATE = ROOT / "template.yaml"
PUBLIC_PATHS = {"/docs", "/openapi.json"}


@functools.cache
def document() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # type: ignore[no-any-return]  # noqa: S506


def resources() -> dict[str, Any]:
    return document()["Resources"]  # type: ignore[no-any-return]


def functions() -> dict[str, Any]:
    return {name: r for name, r in resources().items() if r["Type"] == "AWS::Serverless::Function"}


def test_every_handler_resolves_to_an_importable_function() -> None:
    for name, function in functions().items():
        props = function["Properties"]
        module_name, _, attribute = props["Handler"].rpartition(".")
        path = ROOT / props["CodeUri"] / f"{module_name}.py"
        spec = importlib.util.spec_from_file_location(f"template_check_{name}", path)
        assert spec and spec.loader, path
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert callable(getattr(module, attribute)), name


def statements() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in resources().items():
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []):
            if isinstance(policy, dict) and "Statement" in policy:
                found += [(name, s) for s in policy["Statement"]]
            if isinstance(policy, dict) and "PolicyDocument" in policy:
                found += [(name, s) for s in policy["PolicyDocument"]["Statement"]]
        if "PolicyDocument" in props:  # a managed policy
            found += [(name, s) for s in props["PolicyDocument"]["Statement"]]
    return found


def test_no_policy_grants_wildcard_actions_or_resources() -> None:
    granted = statements()
    assert granted
    for owner, statement in granted:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), (owner, actions)
        resource = json.dumps(statement["Resource"])
        assert resource != '"*"', (owner, statement)


#: The domain calls that change a trigger's schedule.
SCHEDULING_CALLS = ("triggers.create_trigger(", "triggers.replace_trigger(", "triggers.delete_trigger(")


def uses_scheduler(function: dict[str, Any]) -> bool:
    source = (ROOT / function["Properties"]["CodeUri"] / "app.py").read_text()
    return any(call in source for call in SCHEDULING_CALLS)


def test_only_the_functions_that_schedule_may_touch_schedules_or_pass_the_role() -> None:
    policy = resources()["ManageTriggerSchedulesPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {action for s in policy for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} >= {
        "scheduler:CreateSchedule",
        "iam:PassRole",
    }
    for name, function in functions().items():
        may_schedule = {"Ref": "ManageTriggerSchedulesPolicy"} in function["Properties"].get("Policies", [])
        assert may_schedule == uses_scheduler(function), name
    assert sum(uses_scheduler(function) for function in functions().values()) == 3


def test_the_scheduler_role_may_only_invoke_the_fire_function() -> None:
    role = resources()["SchedulerRole"]["Properties"]
    granted = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert {s["Action"] for s in granted} == {"lambda:InvokeFunction", "sqs:SendMessage"}
    invoke = next(s for s in granted if s["Action"] == "lambda:InvokeFunction")
    assert invoke["Resource"] == {"Fn::GetAtt": ["FireScheduledFunction", "Arn"]}


def test_every_route_but_the_docs_needs_the_authorizer() -> None:
    template = load_template(TEMPLATE)
    for route in template.routes:
        assert route.authorized == (route.path not in PUBLIC_PATHS), (route.method, route.path)


def test_every_function_has_a_log_group_with_retention() -> None:
    groups = {
        json.dumps(r["Properties"]["LogGroupName"]): r["Properties"]
        for r in resources().values()
        if r["Type"] == "AWS::Logs::LogGroup"
    }
    for name in functions():
        group = groups.get(json.dumps({"Fn::Sub": f"/aws/lambda/${{{name}}}"}))
        assert group and group["RetentionInDays"], name


def global_variables() -> dict[str, Any]:
    return document()["Globals"]["Function"]["Environment"]["Variables"]  # type: ignore[no-any-return]


def declared_variables(function: dict[str, Any]) -> dict[str, Any]:
    return {**global_variables(), **function["Properties"].get("Environment", {}).get("Variables", {})}


def test_the_database_url_comes_from_secrets_manager_never_from_a_literal() -> None:
    for name, function in functions().items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert "DATABASE_URL" not in variables, name
    # Declared, so that `sam local start-api --env-vars` can set it, but empty on AWS.
    assert global_variables()["DATABASE_URL"] == ""
    assert global_variables()["DATABASE_SECRET_ARN"] == {"Ref": "DatabaseSecretArn"}
    assert "postgresql://" not in json.dumps(resources())


# Read only where a function schedules (the EventBridge Scheduler target and retry policy).
SCHEDULE_TARGET = {
    "SCHEDULE_GROUP_NAME",
    "FIRE_FUNCTION_ARN",
    "SCHEDULER_ROLE_ARN",
    "DEAD_LETTER_QUEUE_ARN",
    "SCHEDULER_MAX_RETRY_ATTEMPTS",
    "SCHEDULER_MAX_EVENT_AGE_S",
}


#: Read by the operator commands and the self-hosted runtime, never by a function.
NOT_READ_BY_FUNCTIONS = {"API_TOKEN", "USAGE_PLAN_ID", "REST_API_ID", "TENANT_RATE_LIMIT", "TENANT_RATE_BURST"}


def test_every_variable_the_functions_read_is_declared_so_sam_local_can_set_it() -> None:
    """`sam local start-api --env-vars` passes only the variables the template declares."""
    read = {name.upper() for name in Settings.model_fields} - NOT_READ_BY_FUNCTIONS | {"POWERTOOLS_METRICS_DISABLED"}
    for name, function in functions().items():
        missing = read - set(declared_variables(function))
        # The delivery queue's URL is declared where it is used (a test below checks exactly where).
        allowed = {"DELIVERY_QUEUE_URL"} | (set() if uses_scheduler(function) else SCHEDULE_TARGET)
        assert missing <= allowed, (name, missing)


def test_the_declared_numbers_are_the_settings_defaults_so_aws_runs_as_before() -> None:
    fields = Settings.model_fields
    for name, function in functions().items():
        for variable, value in declared_variables(function).items():
            field = fields.get(variable.lower())
            if field is not None and isinstance(field.default, int | float) and not isinstance(field.default, bool):
                assert float(value) == field.default, (name, variable, value)


def test_empty_database_and_redis_urls_read_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """What AWS runs without a Redis endpoint: the URL comes from the secret, the cache is in process."""
    without_auth = global_variables()["REDIS_URL"]["Fn::If"][2]
    assert without_auth["Fn::If"][0] == "HasRedis" and without_auth["Fn::If"][2] == ""
    monkeypatch.setenv("DATABASE_URL", global_variables()["DATABASE_URL"])
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    get_settings.cache_clear()
    wiring.cache.cache_clear()
    try:
        with mock_aws():
            secret = boto3.client("secretsmanager").create_secret(
                Name="trigger-platform/db", SecretString="postgresql://from-the-secret/db"
            )
            monkeypatch.setenv("DATABASE_SECRET_ARN", secret["ARN"])
            get_settings.cache_clear()
            assert wiring.database_url() == "postgresql://from-the-secret/db"
        assert isinstance(wiring.cache(), MemoryCache)
    finally:
        get_settings.cache_clear()
        wiring.cache.cache_clear()


def test_samconfig_lints_on_validate_and_confirms_prod_changesets() -> None:
    config = Path(ROOT / "samconfig.toml").read_text()
    assert config.count("lint = true") == 2
    assert "confirm_changeset = true" in config.split("[prod.deploy.parameters]")[1]


def test_api_gateway_refuses_headers_that_cannot_hold_an_issued_token_before_the_authorizer() -> None:
    api = resources()["TriggerApi"]["Properties"]
    identity = api["Auth"]["Authorizers"]["TokenAuthorizer"]["Identity"]
    assert identity["ValidationExpression"] == AUTHORIZATION_PATTERN


def test_every_tenant_is_throttled_on_its_own_and_the_stage_caps_them_all() -> None:
    api = resources()["TriggerApi"]["Properties"]
    assert api["ApiKeySourceType"] == "AUTHORIZER"
    assert api["Auth"]["ApiKeyRequired"] is True
    assert api["Auth"]["UsagePlan"]["Throttle"] == {
        "RateLimit": {"Ref": "TenantRateLimit"},
        "BurstLimit": {"Ref": "TenantRateBurst"},
    }
    (setting,) = api["MethodSettings"]
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    fire = resources()["FireScheduledFunction"]["Properties"]
    assert fire["ReservedConcurrentExecutions"] == {"Ref": "FireReservedConcurrency"}


def _actions(statement: dict[str, Any]) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else list(statement["Action"])


def test_the_delivery_function_consumes_its_queue_with_partial_batch_responses_and_a_dead_letter_queue() -> None:
    everything = resources()
    function = everything["DeliveryFunction"]["Properties"]
    (event,) = function["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["DeliveryQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] >= 2
    queue = everything["DeliveryQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]  # as AWS advises for a mapping
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeliveryDeadLetterQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] > 8  # more receives than the retry schedule's attempts
    alarm = everything["DeliveryDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeliveryDeadLetterQueue", "QueueName"]}}
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and alarm["Threshold"] == 0


def test_only_the_functions_that_enqueue_may_send_and_only_the_consumer_may_delay_messages() -> None:
    send = resources()["SendDeliveriesPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [(_actions(s), s["Resource"]) for s in send] == [
        (["sqs:SendMessage"], {"Fn::GetAtt": ["DeliveryQueue", "Arn"]})
    ]
    for name, function in functions().items():
        props = function["Properties"]
        source = (ROOT / props["CodeUri"] / "app.py").read_text()
        consumer = any(e["Type"] == "SQS" for e in (props.get("Events") or {}).values())
        enqueues = "wiring.delivery_queue()" in source and not consumer
        may_send = {"Ref": "SendDeliveriesPolicy"} in props.get("Policies", [])
        assert may_send == enqueues, name
        has_url = "DELIVERY_QUEUE_URL" in props.get("Environment", {}).get("Variables", {})
        assert has_url == (enqueues or consumer), name
        delays = [
            s
            for p in props.get("Policies", [])
            if isinstance(p, dict) and "Statement" in p
            for s in p["Statement"]
            if "sqs:ChangeMessageVisibility" in _actions(s)
        ]
        assert bool(delays) == consumer, name
        assert all(s["Resource"] == {"Fn::GetAtt": ["DeliveryQueue", "Arn"]} for s in delays)


def test_the_local_runtime_finds_the_queue_consumer_it_emulates() -> None:
    template = load_template(TEMPLATE)
    assert [(function.logical_id, batch) for function, batch in template.queue_consumers] == [("DeliveryFunction", 10)]


# --- CORS: browsers (Swagger Editor's "Try it out", a web app) may call the API and read its answers.
CORS_ORIGIN = {"Fn::Sub": "'${CorsAllowOrigin}'"}
#: Response headers a browser script reads without their being exposed (the Fetch standard's list).
SAFELISTED = {
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
}


def openapi() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "openapi.yaml").read_text())  # type: ignore[no-any-return]


def test_browsers_may_call_from_the_configured_origin_with_every_header_the_api_reads_and_no_credentials() -> None:
    api = resources()["TriggerApi"]["Properties"]
    assert document()["Parameters"]["CorsAllowOrigin"]["Default"] == "*"
    assert api["Cors"]["AllowOrigin"] == CORS_ORIGIN
    assert api["Cors"].get("AllowCredentials") is not True  # bearer tokens, never cookies
    allowed = {name.lower() for name in api["Cors"]["AllowHeaders"].strip("'").split(",")}
    operations = [op for ops in openapi()["paths"].values() for op in ops.values()]
    read = {p["name"].lower() for op in operations for p in op.get("parameters", []) if p["in"] == "header"}
    assert allowed == read | {"authorization", "content-type"}


def test_the_preflight_needs_neither_the_authorizer_nor_an_api_key() -> None:
    auth = resources()["TriggerApi"]["Properties"]["Auth"]
    assert auth["AddDefaultAuthorizerToCorsPreflight"] is False
    assert auth["AddApiKeyRequiredToCorsPreflight"] is False


def test_every_gateway_response_carries_the_origin_and_exposes_the_same_headers_as_the_local_runtime() -> None:
    responses = resources()["TriggerApi"]["Properties"]["GatewayResponses"]
    for kind, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Access-Control-Allow-Origin"] == CORS_ORIGIN, kind
        assert headers["Access-Control-Expose-Headers"] == f"'{','.join(EXPOSED_HEADERS)}'", kind


def test_the_exposed_headers_are_every_response_header_openapi_yaml_documents() -> None:
    documented = {
        name.lower()
        for ops in openapi()["paths"].values()
        for op in ops.values()
        for response in op["responses"].values()
        for name in response.get("headers", {})
    }
    assert {name.lower() for name in EXPOSED_HEADERS} == documented - SAFELISTED


def test_the_local_runtime_reads_cors_from_the_template_with_the_origin_its_environment_sets() -> None:
    assert load_template(TEMPLATE).cors == Cors("*", "Authorization,Content-Type,If-Match,Idempotency-Key", None, "600")
    overrides = parameters_from({"CORS_ALLOW_ORIGIN": "https://editor.swagger.io", "STAGE": "prod"})
    assert overrides == {"CorsAllowOrigin": "https://editor.swagger.io"}
    restricted = load_template(TEMPLATE, overrides)
    assert restricted.cors and restricted.cors.allow_origin == "https://editor.swagger.io"
    for kind, response in restricted.gateway_responses.items():
        assert response.headers["Access-Control-Allow-Origin"] == "https://editor.swagger.io", kind
    assert parameters_from({"CORS_ALLOW_ORIGIN": ""}) == {}  # empty reads as unset


@pytest.mark.parametrize("origin", ["https://a.example,https://b.example", "https://a.example/path", "null", "'*'"])
def test_the_local_runtime_refuses_an_origin_cloudformation_would_refuse(origin: str) -> None:
    with pytest.raises(ValueError, match="CorsAllowOrigin"):
        load_template(TEMPLATE, {"CorsAllowOrigin": origin})


SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
#: The SAM transform as `sam validate` runs it, offline: local code URIs stand in as S3 ones.
TRANSFORM = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:
    def load(self):
        return {}

template = yaml_parse(sys.stdin.read())
for resource in template["Resources"].values():
    for uri in ("CodeUri", "ContentUri"):
        if uri in resource.get("Properties", {}):
            resource["Properties"][uri] = "s3://bucket/key"
json.dump(transform(template, {}, NoManagedPolicies()), sys.stdout)
"""


def test_sam_gives_every_path_a_preflight_answered_by_api_gateway_with_no_authorizer_or_api_key() -> None:
    if not SAM_PYTHON.exists():
        pytest.skip("the AWS SAM CLI is not installed: `make deploy-check` installs it in .venv-sam")
    done = subprocess.run(  # noqa: S603 - SAM's own interpreter, our template
        [str(SAM_PYTHON), "-c", TRANSFORM],
        input=TEMPLATE.read_text(),
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (api,) = [r for r in json.loads(done.stdout)["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    body = api["Properties"]["Body"]
    assert {route.path for route in load_template(TEMPLATE).routes} == set(body["paths"])
    for path, methods in body["paths"].items():
        preflight = methods["options"]
        assert "security" not in preflight, path  # neither the authorizer nor the API key
        integration = preflight["x-amazon-apigateway-integration"]
        assert integration["type"] == "mock", path
        answer = integration["responses"]["default"]
        assert answer["statusCode"] == "200"
        assert answer["responseParameters"]["method.response.header.Access-Control-Allow-Origin"] == CORS_ORIGIN
        allowed = answer["responseParameters"]["method.response.header.Access-Control-Allow-Methods"]
        assert allowed == "'" + ",".join(sorted({*(m.upper() for m in methods), "OPTIONS"})) + "'", path
        assert all("security" in methods[m] for m in methods if m != "options" and path not in PUBLIC_PATHS), path
    for kind, response in body["x-amazon-apigateway-gateway-responses"].items():
        assert response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == CORS_ORIGIN, kind
