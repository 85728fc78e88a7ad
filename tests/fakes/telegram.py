"""Fake Telegram Bot API: ``POST /bot<token>/<method>`` with JSON, answering like Telegram."""

from __future__ import annotations

from aiohttp import web

from tests.fakes.base import Recorder, record

TOKEN = "123456:TEST-telegram-token"


def create_app(recorder: Recorder) -> web.Application:
    async def method(request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        call = await record(request, "telegram", recorder)
        body = call.json or {}
        if request.match_info["method"] in ("sendMessage", "sendPhoto") and "chat_id" not in body:
            return web.json_response({"ok": False, "error_code": 400, "description": "chat_id is empty"}, status=400)
        return web.json_response({"ok": True, "result": {"message_id": len(recorder.calls()), "chat": {"id": body.get("chat_id")}}})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    return app
