"""The OpenAPI document describes exactly the app's /api/ routes."""

from __future__ import annotations

import json
import re

from bot.console.app import create_app
from bot.console.openapi import document


def _api_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter", "")
        if path.startswith("/api/") and route.method != "HEAD":
            found.add((route.method.lower(), re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)))
    return found


def test_every_api_route_is_documented_and_nothing_else_is(console_settings):
    doc = document()
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    assert _api_routes(create_app(console_settings)) == documented
    assert doc["openapi"] == "3.1.0"


async def test_the_document_is_served_publicly(client):
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    body = await response.json()
    assert body["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    refs = re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', json.dumps(body))
    for section, name in refs:
        assert name in body["components"][section], name
