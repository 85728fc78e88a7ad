"""Fake Graph API Send endpoint: ``POST /v18.0/me/messages?access_token=...`` with JSON."""

from __future__ import annotations

from aiohttp import web

from tests.fakes.base import Recorder, record

PAGE_TOKEN = "test-page-access-token"


def create_app(recorder: Recorder) -> web.Application:
    async def messages(request: web.Request) -> web.Response:
        if request.query.get("access_token") != PAGE_TOKEN:
            return web.json_response({"error": {"message": "Invalid OAuth access token.", "code": 190}}, status=400)
        call = await record(request, "messenger", recorder)
        recipient = (call.json or {}).get("recipient", {}).get("id")
        if not recipient:
            return web.json_response({"error": {"message": "param recipient must be non-empty", "code": 100}}, status=400)
        return web.json_response({"recipient_id": recipient, "message_id": "m_" + str(len(recorder.calls()))})

    app = web.Application()
    app.router.add_post("/v18.0/me/messages", messages)
    return app
