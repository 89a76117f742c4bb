"""The served OpenAPI document and template.yaml list the same routes, both ways, and the
document is valid OpenAPI 3.1."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from mjproxy.local.template import DEFAULT_ROUTE, Template
from mjproxy.openapi import document, document_json

ROOT = Path(__file__).resolve().parents[2]


def template_routes() -> set[tuple[str, str]]:
    out = set()
    for fn in Template(ROOT / "template.yaml").functions():
        for route in fn.routes:
            if route.path != DEFAULT_ROUTE:  # the 404 of every unknown path: not an operation
                out.add((route.method.lower(), route.path))
    return out


def document_routes() -> set[tuple[str, str]]:
    return {(m, p) for p, ops in document()["paths"].items() for m in ops}


def test_every_template_route_is_documented_and_vice_versa():
    in_template, documented = template_routes(), document_routes()
    assert in_template - documented == set(), "routes missing from mjproxy/openapi"
    assert documented - in_template == set(), "documented routes that template.yaml lacks"


def test_the_document_is_valid_openapi_and_compact_json():
    validate(document())
    text = document_json()
    assert json.loads(text) == document() and '": ' not in text
