"""openapi.yaml is the contract: generated from the handlers, valid, and in step with template.yaml."""

import json

import yaml
from openapi_spec_validator import validate

from local.openapi import DOCS_PATHS, SPEC_FILES, generate, render_json, render_yaml
from local.template import load_template
from tests.conftest import ROOT

FIX = "run `make openapi` and commit the result"


def checked_in() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(SPEC_FILES[0].read_text())  # type: ignore[no-any-return]


def test_checked_in_openapi_is_what_the_code_generates() -> None:
    spec = generate()
    yaml_file, json_file = SPEC_FILES
    assert yaml_file.read_text() == render_yaml(spec), f"openapi.yaml is stale: {FIX}"
    assert json_file.read_text() == render_json(spec), f"functions/docs/openapi.json is stale: {FIX}"


def test_openapi_is_valid_with_no_dangling_references() -> None:
    spec = checked_in()
    validate(spec)
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


def test_the_seed_bodies_are_among_the_examples() -> None:
    examples = checked_in()["components"]["schemas"]["TriggerDefinition"]["examples"]
    assert {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}} in examples
    assert {"type": "api", "payload": {"key": "value"}} in examples
