"""GET /mj/openapi.json: the OpenAPI 3 document of the whole API (no secret needed: no data)."""

from mjproxy.api.http import Request, endpoint, response
from mjproxy.openapi import document_json


def openapi(request: Request) -> dict:
    return response(200, document_json(), {"Cache-Control": "max-age=300"})


lambda_handler = endpoint(openapi, authenticated=False)
