"""GET /docs (Swagger UI) and GET /openapi.json (the contract), without auth.

The page works offline: Swagger UI's script and styles, shipped inside Powertools, are inlined, so
the browser asks no other host. The spec is openapi.yaml as JSON, written beside this file by
``make openapi``.
"""

from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi import swagger_ui
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform.edge.observability import lambda_entry

app = APIGatewayRestResolver()

SPEC = (Path(__file__).parent / "openapi.json").read_text()
_ASSETS = Path(swagger_ui.__file__).parent
PAGE = generate_swagger_html(
    SPEC,
    swagger_js=(_ASSETS / "swagger-ui-bundle.min.js").read_text(),
    swagger_css=(_ASSETS / "swagger-ui.min.css").read_text(),
    swagger_base_url="",
    oauth2_config=None,
    persist_authorization=True,
)


@app.get("/openapi.json", operation_id="getOpenApiDocument", tags=["Docs"], summary="The OpenAPI document")
def openapi_document() -> Response[str]:
    return Response(200, content_type="application/json", body=SPEC)


@app.get("/docs", operation_id="getSwaggerUi", tags=["Docs"], summary="Swagger UI for this API")
def swagger_page() -> Response[str]:
    return Response(200, content_type="text/html; charset=utf-8", body=PAGE)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
