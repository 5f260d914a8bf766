"""template.yaml, read as SAM reads it: handlers that resolve, least privilege, auth on every route."""

import importlib.util
import json
from pathlib import Path
from typing import Any

import yaml

from local.template import _CfnLoader, load_template
from tests.conftest import ROOT

TEMPLATE = ROOT / "template.yaml"
PUBLIC_PATHS = {"/docs", "/openapi.json"}


def resources() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)["Resources"]  # type: ignore[no-any-return]  # noqa: S506


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


def test_the_database_url_comes_from_secrets_manager_never_from_a_literal() -> None:
    for name, function in functions().items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert "DATABASE_URL" not in variables, name
    globals_env = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)["Globals"]["Function"]["Environment"]  # noqa: S506
    assert globals_env["Variables"]["DATABASE_SECRET_ARN"] == {"Ref": "DatabaseSecretArn"}
    assert "postgresql://" not in json.dumps(resources())


def test_samconfig_lints_on_validate_and_confirms_prod_changesets() -> None:
    config = Path(ROOT / "samconfig.toml").read_text()
    assert config.count("lint = true") == 2
    assert "confirm_changeset = true" in config.split("[prod.deploy.parameters]")[1]


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
