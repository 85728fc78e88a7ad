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
