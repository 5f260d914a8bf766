"""openapi.yaml is the contract: generated from the handlers, valid OpenAPI 3.0.3, and in step with template.yaml."""

import json
import re
from collections.abc import Iterator

import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV30SpecValidator

from local.openapi import DOCS_PATHS, SPEC_FILES, generate, render_json, render_yaml, served_by_the_api
from local.template import load_template
from tests.conftest import ROOT

FIX = "run `make openapi` and commit the result"


def checked_in() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(SPEC_FILES[0].read_text())  # type: ignore[no-any-return]


def test_checked_in_openapi_is_what_the_code_generates() -> None:
    spec = generate()
    yaml_file, json_file = SPEC_FILES
    assert yaml_file.read_text() == render_yaml(spec), f"openapi.yaml is stale: {FIX}"
    assert json_file.read_text() == render_json(served_by_the_api(spec)), f"functions/docs/openapi.json is stale: {FIX}"


def test_openapi_is_valid_30_with_no_dangling_references() -> None:
    spec = checked_in()
    assert spec["openapi"] == "3.0.3"
    validate(spec, cls=OpenAPIV30SpecValidator)
    text = json.dumps(spec)
    for name in spec["components"]["schemas"]:
        assert f"#/components/schemas/{name}" in text
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        assert ref.removeprefix("#/components/schemas/") in spec["components"]["schemas"], ref


def test_every_operation_has_exactly_one_function_and_every_route_is_documented() -> None:
    template = load_template(ROOT / "template.yaml")
    routes: dict[tuple[str, str], list[str]] = {}
    for route in template.routes:
        routes.setdefault((route.method, route.path), []).append(route.function.logical_id)
    documented = {(method.upper(), path) for path, ops in checked_in()["paths"].items() for method in ops}
    for operation in documented:
        assert len(routes.get(operation, [])) == 1, f"{operation} needs exactly one function in template.yaml"
    undocumented = {op for op in routes if op[1] not in DOCS_PATHS} - documented
    assert not undocumented, f"routes missing from openapi.yaml: {undocumented}"


def test_every_operation_documents_its_errors_and_needs_the_bearer_token() -> None:
    spec = checked_in()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The tenant's API token",
    }
    assert spec["security"] == [{"bearerAuth": []}]
    for path, ops in spec["paths"].items():
        for method, operation in ops.items():
            codes = set(operation["responses"])
            assert {"401", "503"} <= codes, (method, path)
            for code in codes - {"200", "201", "202", "204"}:
                content = operation["responses"][code]["content"]
                assert "application/problem+json" in content or path.endswith("/test"), (method, path, code)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= codes, (method, path)


def test_the_yaml_has_no_aliases_and_the_docs_function_serves_the_same_document_but_its_first_server() -> None:
    yaml_file, json_file = SPEC_FILES
    events = {type(event).__name__ for event in yaml.parse(yaml_file.read_text())}
    assert not events & {"AliasEvent"}, "openapi.yaml uses YAML aliases (*id001)"
    served = json.loads(json_file.read_text())
    assert {**served, "servers": None} == {**checked_in(), "servers": None}
    assert served["servers"] == checked_in()["servers"][::-1]


def test_try_it_out_calls_the_deployment_its_reader_names_and_the_docs_page_its_own_api() -> None:
    """Swagger Editor resolves a relative server against its own page, so openapi.yaml starts with a
    server whose URL the reader sets (the stack's ApiUrl); the served copy starts with its own API."""
    named, relative = checked_in()["servers"]
    assert named["url"] == "{apiUrl}"
    assert named["variables"]["apiUrl"]["default"] == "http://127.0.0.1:3000"
    assert "ApiUrl" in named["variables"]["apiUrl"]["description"]
    assert relative["url"] == "."
    served = json.loads(SPEC_FILES[1].read_text())
    assert served["servers"][0]["url"] == "."


def test_the_seed_bodies_are_among_the_examples() -> None:
    definition = checked_in()["components"]["schemas"]["TriggerDefinition"]
    examples = definition["x-examples"]
    assert definition["example"] == examples[0]
    assert {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}} in examples
    assert {"type": "api", "payload": {"key": "value"}} in examples


# What a client sees of the spec: names a generator turns into good code, and examples that are true.
OPERATION_IDS = {
    ("post", "/triggers"): "createTrigger",
    ("get", "/triggers"): "listTriggers",
    ("get", "/triggers/{trigger_id}"): "getTrigger",
    ("put", "/triggers/{trigger_id}"): "replaceTrigger",
    ("delete", "/triggers/{trigger_id}"): "deleteTrigger",
    ("post", "/triggers/{trigger_id}/fire"): "fireTrigger",
    ("post", "/triggers/test"): "testDefinition",
    ("post", "/triggers/{trigger_id}/test"): "testTrigger",
    ("get", "/logs"): "listLogs",
    ("get", "/logs/{log_id}"): "getLog",
    ("get", "/logs/aggregate"): "aggregateLogs",
    ("post", "/logs/{log_id}/redeliver"): "redeliverLog",
    ("post", "/triggers/{trigger_id}/rotate-secret"): "rotateTriggerSecret",
}
TAGS = {"Triggers", "Firing", "Logs", "Docs"}
SCALAR_TYPES = {"string", "number", "integer", "boolean"}


def operations() -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    return {(method, path): op for path, ops in checked_in()["paths"].items() for method, op in ops.items()}


def resolved(schema: dict) -> dict:  # type: ignore[type-arg]
    if "$ref" in schema:
        return resolved(checked_in()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    return schema


def schemas_in(spec: dict) -> Iterator[dict]:  # type: ignore[type-arg]
    """Every Schema Object of the document, nested ones included."""
    roots = list(spec["components"]["schemas"].values())
    for op in operations().values():
        roots += [parameter["schema"] for parameter in op.get("parameters", [])]
        for holder in (op.get("requestBody", {}), *op["responses"].values()):
            roots += [media["schema"] for media in holder.get("content", {}).values()]
            roots += [header["schema"] for header in holder.get("headers", {}).values()]
    while roots:
        schema = roots.pop()
        yield schema
        roots += list(schema.get("properties", {}).values())
        roots += [schema[key] for key in ("items", "additionalProperties", "not") if isinstance(schema.get(key), dict)]
        roots += [branch for key in ("allOf", "anyOf", "oneOf") for branch in schema.get(key, [])]


def test_every_operation_has_its_operation_id_one_tag_and_a_description() -> None:
    found = operations()
    assert {where: op.get("operationId") for where, op in found.items()} == {
        where: OPERATION_IDS.get(where, "an operationId in lowerCamelCase") for where in found
    }
    for where, op in found.items():
        assert len(op.get("tags", [])) == 1 and set(op["tags"]) <= TAGS, (where, op.get("tags"))
        assert op.get("description", "").strip(), f"{where} has no description"


def test_no_enum_has_values_a_generator_cannot_tell_apart() -> None:
    """Values that differ only in punctuation or case become one identifier in generated code:
    openapi-python-client fails on ``GMT+0``, ``GMT-0`` and ``GMT0`` ("Duplicate key GMT0")."""
    for schema in schemas_in(checked_in()):
        values = [value for value in schema.get("enum", []) if isinstance(value, str)]
        names = [re.sub(r"[^0-9A-Za-z]+", "", value).upper() for value in values]
        clashes = sorted({value for value, name in zip(values, names, strict=True) if names.count(name) > 1})
        assert not clashes, f"enum values that become the same identifier: {clashes[:10]} ({len(values)} values)"


def test_the_fire_body_is_a_flat_object_of_json_scalars() -> None:
    body = resolved(
        operations()[("post", "/triggers/{trigger_id}/fire")]["requestBody"]["content"]["application/json"]["schema"]
    )
    assert body.get("type") == "object", body
    values = body.get("additionalProperties")
    assert isinstance(values, dict), f"the fire body's values are not described (additionalProperties: {values!r})"
    allowed = {branch.get("type") for branch in values.get("anyOf", values.get("oneOf", [values]))}
    assert allowed and allowed <= SCALAR_TYPES, f"fire body values may be {allowed}, not only JSON scalars"


def test_a_manual_test_that_cannot_fire_is_shown_as_failed() -> None:
    for where in (("post", "/triggers/test"), ("post", "/triggers/{trigger_id}/test")):
        media = operations()[where]["responses"]["503"]["content"]["application/json"]
        examples = shown(media) or shown(resolved(media["schema"]))
        assert examples, f"{where} 503 shows no example, so Swagger UI makes one up from the schema"
        for example in examples:
            assert example["status"] == "failed" and example.get("reason"), (where, example)


def shown(holder: dict) -> list[object]:  # type: ignore[type-arg]
    """The examples a schema or media type shows: ``example``, ``x-examples``, ``examples`` values."""
    named = [example["value"] for example in holder.get("examples", {}).values() if "value" in example]
    return [holder["example"], *holder.get("x-examples", [])] if "example" in holder else named


def test_every_example_fits_its_schema() -> None:
    spec = checked_in()
    media_types = [
        media
        for op in operations().values()
        for holder in (op.get("requestBody", {}), *op["responses"].values())
        for media in holder.get("content", {}).values()
    ]
    for schema, holder in [
        *((schema, schema) for schema in schemas_in(spec)),
        *((m["schema"], m) for m in media_types),
    ]:
        validator = OAS30Validator({**schema, "components": spec["components"]})
        for example in shown(holder):
            assert validator.is_valid(example), (example, [error.message for error in validator.iter_errors(example)])
