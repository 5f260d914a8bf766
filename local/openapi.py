"""``python -m local.openapi``: write openapi.yaml (and the docs function's copy), merged from the
resolvers of the functions template.yaml routes to — the handlers' own models are the contract —
and published as OpenAPI 3.0.3 (local/openapi30.py), which more of its readers understand.

The two differ in their first server only, the one "Try it out" calls by default: openapi.yaml is read
away from any deployment (Swagger Editor, a generator), so it starts with the one its reader names;
the document the API serves (/docs, /openapi.json) starts with the API that served it."""

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server, ServerVariable

from local.openapi30 import to_openapi_30
from local.template import load_template

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Served by the docs function itself; not part of the API they describe.
DOCS_PATHS = frozenset({"/docs", "/openapi.json"})
SPEC_FILES = (PROJECT_ROOT / "openapi.yaml", PROJECT_ROOT / "functions" / "docs" / "openapi.json")
#: What each tag groups, for the tags the operations use.
TAG_DESCRIPTIONS = {
    "Triggers": "Create, list, read, replace and delete triggers.",
    "Firing": "Fire an api trigger, or test a saved trigger or an unsaved definition now.",
    "Logs": "Event logs (active for 2 hours, archived until 48 hours, then gone) and their counts.",
    "Docs": "This documentation and the document it shows.",
}
#: The API a reader names: a deployed stage, or the local runtime by default.
DEPLOYMENT_SERVER = Server(
    url="{apiUrl}",
    description="Your deployment: apiUrl is its base URL (the stack's ApiUrl output)",
    variables={
        "apiUrl": ServerVariable(
            default="http://127.0.0.1:3000",
            description=(
                "The API's base URL, without a trailing slash: the CloudFormation stack's `ApiUrl` output "
                "(https://<api-id>.execute-api.<region>.amazonaws.com/<stage>), or the local runtime "
                "(`make dev`: http://127.0.0.1:3000)"
            ),
        )
    },
)
#: Relative to the document's own URL: the API that served it.
SERVING_API = Server(url=".", description="The API serving this document (its /docs page's own origin)")


def _as_answered(spec: dict[str, Any]) -> None:
    """Fix what Powertools documents differently from what the API answers: every 422 is
    problem+json (not Powertools' own body), and a 204 has no body at all."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operation in (op for ops in spec["paths"].values() for op in ops.values()):
        response = operation["responses"].get("422")
        if response and "application/json" in response.get("content", {}):
            operation["responses"]["422"] = {
                "description": "Invalid input; `errors` names each field",
                "content": problem,
            }
        if "204" in operation["responses"]:
            operation["responses"]["204"].pop("content", None)
    schemas = spec["components"]["schemas"]
    for name in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in json.dumps(spec["paths"]) + json.dumps(schemas):
            schemas.pop(name, None)


def powertools_document(template_path: Path = PROJECT_ROOT / "template.yaml") -> dict[str, Any]:
    """The OpenAPI 3.1 document Powertools writes from the handlers, as the API answers."""
    template = load_template(template_path)
    merge = OpenAPIMerge(
        title="Event Trigger Platform",
        version="1.0.0",
        description=(
            "Create scheduled and API triggers, fire and test them, and read their event logs. "
            "Every request needs `Authorization: Bearer <token>`; errors are RFC 9457 problem+json."
        ),
        servers=[DEPLOYMENT_SERVER, SERVING_API],
        security_schemes={"bearerAuth": HTTPBearer(description="The tenant's API token")},
        security=[{"bearerAuth": []}],
        on_conflict="error",
    )
    api_functions = {route.function.logical_id for route in template.routes if route.path not in DOCS_PATHS}
    for logical_id in sorted(api_functions):
        merge.add_file(template.functions[logical_id].code_uri / "app.py")
    # Round-trip through Powertools' JSON rendering: plain types, aliases applied, no nulls.
    spec = dict(json.loads(merge.get_openapi_json_schema()))
    _as_answered(spec)
    _declare_tags(spec)
    return spec


def _declare_tags(spec: dict[str, Any]) -> None:
    """List the tags the operations use at the top, described, as readers expect (Spectral's
    operation-tag-defined; Swagger UI shows the descriptions)."""
    used = {tag for ops in spec["paths"].values() for op in ops.values() for tag in op.get("tags", [])}
    if not used:
        return
    names = [name for name in TAG_DESCRIPTIONS if name in used] + sorted(used - TAG_DESCRIPTIONS.keys())
    tags = [
        {"name": name, "description": TAG_DESCRIPTIONS[name]} if name in TAG_DESCRIPTIONS else {"name": name}
        for name in names
    ]
    rest = dict(spec)
    spec.clear()
    spec.update({key: rest.pop(key) for key in ("openapi", "info", "servers") if key in rest})
    spec.update({"tags": tags, **rest})


def generate(template_path: Path = PROJECT_ROOT / "template.yaml") -> dict[str, Any]:
    """The published contract: Powertools' document in OpenAPI 3.0.3."""
    return to_openapi_30(powertools_document(template_path))


def served_by_the_api(spec: dict[str, Any]) -> dict[str, Any]:
    """The contract as the docs function serves it: the API that served it first, so that its
    Swagger UI calls the API it came from."""
    serving = [server for server in spec["servers"] if server["url"] == SERVING_API.url]
    return {**spec, "servers": serving + [server for server in spec["servers"] if server not in serving]}


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a repeated value out in full: `*id001` aliases trip Swagger Editor 5 and some generators."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_yaml(spec: dict[str, Any]) -> str:
    return yaml.dump(spec, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=120)


def render_json(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    spec = generate()
    yaml_file, json_file = SPEC_FILES
    yaml_file.write_text(render_yaml(spec))
    json_file.write_text(render_json(served_by_the_api(spec)))
    print(f"wrote {yaml_file.name} and {json_file.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
