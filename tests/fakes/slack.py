"""Fake Slack Web API: ``POST /api/chat.postMessage`` with a Bearer bot token."""

from __future__ import annotations

from aiohttp import web

from tests.fakes.base import Recorder, record

TOKEN = "xoxb-test-slack-token"


def create_app(recorder: Recorder) -> web.Application:
    async def post_message(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        call = await record(request, "slack", recorder)
        if not isinstance(call.json, dict) or not call.json.get("channel"):
            return web.json_response({"ok": False, "error": "channel_not_found"})
        return web.json_response({"ok": True, "channel": call.json["channel"], "ts": "1700000000.000100"})

    app = web.Application()
    app.router.add_post("/api/chat.postMessage", post_message)
    return app
