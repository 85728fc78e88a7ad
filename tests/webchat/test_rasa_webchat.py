"""The unmodified rasa-webchat widget from npm converses with our Rasa server (socket.io channel)."""

from __future__ import annotations

from typing import Iterator

import pytest
from aiohttp import web
from playwright.sync_api import BrowserContext, expect

from tests.fakes.base import FakeServers, Recorder
from tests.support.stack import SHOP_SITE_PORT, Stack
from tests.webchat.conftest import ARTIFACTS, SETUP_HINT

WIDGET = ARTIFACTS / "node_modules" / "rasa-webchat" / "lib" / "index.js"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>widget test</title></head><body>
<div id="webchat"></div>
<script src="/rasa-webchat.js"></script>
<script>
  window.WebChat.default({
    selector: "#webchat", socketUrl: "%s", socketPath: "/socket.io/", initPayload: "/greet",
    customData: {language: "en"}, title: "Marginalia Books", embedded: true, params: {storage: "local"}
  }, null);
</script></body></html>"""


def _page_app(socket_url: str) -> "object":
    def factory(_: Recorder) -> web.Application:
        app = web.Application()
        app.router.add_get("/", lambda _r: web.Response(text=PAGE % socket_url, content_type="text/html"))
        app.router.add_get("/rasa-webchat.js", lambda _r: web.FileResponse(WIDGET))
        return app
    return factory


@pytest.fixture(scope="module")
def widget_page(stack: Stack) -> Iterator[str]:
    if not WIDGET.exists():
        pytest.skip(f"rasa-webchat is not installed: {SETUP_HINT}")
    servers = FakeServers({"page": _page_app(stack.rasa_url)})
    servers.ports["page"] = SHOP_SITE_PORT  # the shop's site: its origin is in RAPPORT_WEBCHAT_ALLOWED_ORIGINS
    servers.start()
    try:
        yield servers.url("page")
    finally:
        servers.stop()


def test_unmodified_rasa_webchat_widget_converses(context: BrowserContext, stack: Stack, widget_page: str) -> None:
    page = context.new_page()
    page.goto(widget_page)
    greeting = page.locator(".rw-response").first
    expect(greeting).to_be_visible(timeout=60_000)  # the widget's initPayload /greet was answered
    box = page.locator("input.rw-new-message, textarea.rw-new-message").first
    box.fill("/privacy_forget_me")
    box.press("Enter")
    expect(page.get_by_text("No, keep it")).to_be_visible()
    page.get_by_text("No, keep it").click()
    expect(page.locator(".rw-response").last).to_contain_text("haven't erased")
    session = page.evaluate(
        "Object.values(localStorage).map(v => { try { return JSON.parse(v).session_id } catch (e) { return null } })"
        ".find(Boolean)")
    assert session, "the widget keeps its session id in localStorage"
