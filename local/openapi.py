"""``python -m local.openapi``: write openapi.yaml, merged from the resolvers of the functions that
template.yaml routes to — the handlers' own models are the contract."""

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server

from local.template import load_template

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def generate(template_path: Path = PROJECT_ROOT / "template.yaml") -> dict[str, Any]:
    template = load_template(template_path)
    merge = OpenAPIMerge(
        title="Event Trigger Platform",
        version="1.0.0",
        description="Create scheduled and API triggers, fire and test them, and read their event logs.",
        servers=[Server(url="http://127.0.0.1:3000", description="local runtime (make dev)")],
        security_schemes={"bearerAuth": HTTPBearer(description="The tenant's API token")},
        security=[{"bearerAuth": []}],
        on_conflict="error",
    )
    for logical_id in sorted({route.function.logical_id for route in template.routes}):
        function = template.functions[logical_id]
        merge.add_file(function.code_uri / "app.py")
    # Round-trip through Powertools' JSON rendering: plain types, aliases applied, no nulls.
    return dict(json.loads(merge.get_openapi_json_schema()))


def render(spec: dict[str, Any]) -> str:
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=120)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "openapi.yaml"
    target.write_text(render(generate()))
    print(f"wrote {target}")
