"""The console handler (mjproxy.console): what a browser receives from GET /console on API
Gateway (stage in the path, as in events/console.json) and in the local mode (no stage)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mjproxy.console import STATIC, serve

ROOT = Path(__file__).resolve().parents[2]


def get(path: str, file: str | None = None, stage_path: str | None = None) -> dict:
    return serve(
        {
            "path": path,
            "pathParameters": {"file": file} if file else None,
            "requestContext": {"path": stage_path or path},
        }
    )


def test_the_page_links_its_assets_under_the_stage_it_was_reached_by():
    page = get("/console", stage_path="/prod/console")
    assert page["statusCode"] == 200
    assert page["headers"]["Content-Type"].startswith("text/html")
    assert '<base href="/prod/console/">' in page["body"]
    assert '<base href="/console/">' in get("/console")["body"]


def test_assets_are_served_with_their_types_and_a_strict_policy():
    script = get("/console/console.js", "console.js")
    assert script["statusCode"] == 200
    assert script["headers"]["Content-Type"].startswith("text/javascript")
    assert "script-src 'self'" in script["headers"]["Content-Security-Policy"]
    assert get("/console/console.css", "console.css")["headers"]["Content-Type"].startswith(
        "text/css"
    )


def test_only_the_shipped_files_are_served():
    for name in ("..%2F__init__.py", "__init__.py", ".hidden.js", "missing.js", "../console.js"):
        assert get(f"/console/{name}", name)["statusCode"] == 404, name


def test_the_page_fetches_nothing_from_another_origin():
    for f in STATIC.iterdir():
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), f.name
        assert "@import" not in text and "url(http" not in text, f.name


def test_the_example_event_is_a_console_request():
    event = json.loads((ROOT / "events" / "console.json").read_text())
    assert serve(event)["statusCode"] == 200
