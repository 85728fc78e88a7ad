"""Fake Twilio REST API: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form, basic auth)."""

from __future__ import annotations

import base64

from aiohttp import web

from tests.fakes.base import Recorder, record

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-twilio-auth-token"


def create_app(recorder: Recorder) -> web.Application:
    expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()

    async def messages(request: web.Request) -> web.Response:
        if request.match_info["sid"] != ACCOUNT_SID or request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        call = await record(request, "twilio", recorder)
        if not call.form.get("To") or not call.form.get("From"):
            return web.json_response({"code": 21604, "message": "A 'To' phone number is required.", "status": 400}, status=400)
        return web.json_response({"sid": "SM" + "1" * 32, "status": "queued", "to": call.form["To"],
                                  "from": call.form["From"], "body": call.form.get("Body", "")}, status=201)

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", messages)
    return app
