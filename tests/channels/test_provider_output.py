"""What Rasa hands an output channel (the rest of the message as kwargs) reaches one send method."""

from __future__ import annotations

from typing import Any

from bot.channels.provider import ProviderOutput


class RecordingOutput(ProviderOutput):
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        self.sent.append(("text", recipient_id, text, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        self.sent.append(("image", recipient_id, image))


async def test_text_with_leftover_none_fields_is_sent_once_without_buttons() -> None:
    out = RecordingOutput()
    await out.send_response("u1", {"text": "hi", "buttons": None, "quick_replies": None, "image": None,
                                   "custom": {"rapport_staff": {"name": "Sam", "avatar": None}}})
    assert out.sent == [("text", "u1", "hi", [])]


async def test_buttons_quick_replies_and_image_attachments_are_routed() -> None:
    out = RecordingOutput()
    await out.send_response("u1", {"text": "pick", "buttons": [{"title": "Yes", "payload": "/affirm"}]})
    await out.send_response("u1", {"text": "or", "quick_replies": [{"title": "No", "payload": "/deny"}]})
    await out.send_response("u1", {"attachment": {"type": "image", "payload": {"src": "https://x.example/a.png"}}})
    await out.send_response("u1", {"attachment": {"type": "image", "payload": {"src": "javascript:alert(1)"}}})
    assert out.sent == [
        ("text", "u1", "pick", [{"title": "Yes", "payload": "/affirm"}]),
        ("text", "u1", "or", [{"title": "No", "payload": "/deny"}]),
        ("image", "u1", "https://x.example/a.png"),
    ]


async def test_a_failed_provider_call_names_the_method_and_status_not_the_token_or_the_answer() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from bot.channels.provider import ProviderError, call_api

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"code": 21211, "message": "The 'To' number +447700900123 is not valid"},
                                 status=400)

    app = web.Application()
    app.router.add_post("/bot123456:SECRET/sendMessage", refuse)
    async with TestServer(app) as server:
        url = str(server.make_url("/bot123456:SECRET/sendMessage"))
        try:
            await call_api("POST", url, json_body={"chat_id": "1"})
        except ProviderError as exc:
            message = str(exc)
        else:
            raise AssertionError("a 400 must raise ProviderError")
    assert "sendMessage" in message and "400" in message and "21211" in message
    assert "SECRET" not in message and "+447700900123" not in message


async def test_a_message_is_not_handed_to_a_rasa_without_a_model_so_the_provider_redelivers_it() -> None:
    from types import SimpleNamespace

    import pytest
    from rasa.core.channels.channel import UserMessage

    from bot.channels.provider import AssistantNotReady, hand_to_rasa
    from bot.channels.redelivery import Delivery, DeliveryLedger

    handed: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        handed.append(message)

    agent = SimpleNamespace(ready=False)
    agent.is_ready = lambda: agent.ready
    request = SimpleNamespace(app=SimpleNamespace(ctx=SimpleNamespace(agent=agent)))
    message = UserMessage("hello", RecordingOutput(), "u1")
    with pytest.raises(AssistantNotReady):
        await hand_to_rasa(request, on_new_message, message)
    ledger = DeliveryLedger()
    assert await ledger.run("update:1", lambda: hand_to_rasa(request, on_new_message, message)) is Delivery.FAILED
    agent.ready = True  # the model is loaded: the redelivery goes through
    assert await ledger.run("update:1", lambda: hand_to_rasa(request, on_new_message, message)) is Delivery.PROCESSED
    assert handed == [message]
