"""How one response from domain.yml looks on each messaging channel (pure functions).

Buttons become a Telegram inline keyboard, Slack blocks or Messenger quick replies; on SMS and
WhatsApp they become numbered options, and a reply "1" is mapped back to the button's payload.
Markdown is removed where the channel would show it literally.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

TELEGRAM_CALLBACK_BYTES = 64
TELEGRAM_TEXT_CHARS = 4096
SLACK_BUTTON_TEXT_CHARS = 75
SLACK_TEXT_CHARS = 3000
MESSENGER_TITLE_CHARS = 20
MESSENGER_QUICK_REPLIES = 13
MESSENGER_TEXT_CHARS = 2000
SMS_CHARS = 1600

_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])")
_CODE = re.compile(r"`([^`]*)`")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


def buttons_from(raw: Iterable[Mapping[str, Any]] | None) -> list[Button]:
    """Rasa's button dicts (``title``, ``payload``) as Buttons; entries without a title are dropped."""
    found = []
    for item in raw or []:
        title = str(item.get("title") or "").strip()
        if title:
            found.append(Button(title, str(item.get("payload") or title)))
    return found


def plain_text(text: str) -> str:
    """Markdown and HTML tags removed, links kept as ``label (url)``: for channels without markup."""
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _BOLD.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _CODE.sub(r"\1", text)
    text = _HEADING.sub("", text)
    return _TAG.sub("", text).strip()


def slack_mrkdwn(text: str) -> str:
    """Markdown as Slack's mrkdwn: ``**b**`` → ``*b*``, ``[l](u)`` → ``<u|l>``; &, <, > escaped."""
    links: list[str] = []

    def _keep_link(match: re.Match[str]) -> str:
        links.append(f"<{match.group(2)}|{_slack_escape(match.group(1))}>")
        return f"\x00{len(links) - 1}\x00"

    text = _LINK.sub(_keep_link, text)
    text = _slack_escape(text)
    text = _BOLD.sub(r"*\2*", text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], text)
    return text.strip()


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def telegram_message(chat_id: str, text: str, buttons: Sequence[Button] = ()) -> dict[str, Any]:
    """A Telegram ``sendMessage`` body; buttons as an inline keyboard, one button per row."""
    body: dict[str, Any] = {"chat_id": chat_id, "text": _clip(plain_text(text) or " ", TELEGRAM_TEXT_CHARS)}
    if buttons:
        body["reply_markup"] = {
            "inline_keyboard": [
                [{"text": button.title, "callback_data": telegram_callback_data(button)}] for button in buttons
            ]
        }
    return body


def telegram_callback_data(button: Button) -> str:
    """The payload when it fits Telegram's 64-byte limit, else the title (which NLU understands)."""
    if len(button.payload.encode("utf-8")) <= TELEGRAM_CALLBACK_BYTES:
        return button.payload
    return button.title.encode("utf-8")[:TELEGRAM_CALLBACK_BYTES].decode("utf-8", "ignore")


def slack_message(channel: str, text: str, buttons: Sequence[Button] = ()) -> dict[str, Any]:
    """A Slack ``chat.postMessage`` body: a mrkdwn section plus an actions block of buttons."""
    mrkdwn = _clip(slack_mrkdwn(text) or " ", SLACK_TEXT_CHARS)
    body: dict[str, Any] = {"channel": channel, "text": mrkdwn}
    if buttons:
        body["blocks"] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"rapport_button_{index}",
                        "text": {"type": "plain_text", "text": _clip(button.title, SLACK_BUTTON_TEXT_CHARS)},
                        "value": button.payload,
                    }
                    for index, button in enumerate(buttons)
                ],
            },
        ]
    return body


def messenger_message(psid: str, text: str, buttons: Sequence[Button] = ()) -> dict[str, Any]:
    """A Messenger Send API body; buttons as quick replies (at most 13, titles of 20 characters)."""
    message: dict[str, Any] = {"text": _clip(plain_text(text) or " ", MESSENGER_TEXT_CHARS)}
    if buttons:
        message["quick_replies"] = [
            {"content_type": "text", "title": _clip(button.title, MESSENGER_TITLE_CHARS), "payload": button.payload}
            for button in buttons[:MESSENGER_QUICK_REPLIES]
        ]
    return {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message}


def sms_text(text: str, buttons: Sequence[Button] = ()) -> str:
    """Plain text with numbered options: ``Reply 1 for Yes, 2 for No``."""
    body = plain_text(text)
    if buttons:
        options = ", ".join(f"{index} for {button.title}" for index, button in enumerate(buttons, start=1))
        body = f"{body}\n\nReply {options}."
    return _clip(body, SMS_CHARS)


class ButtonMemory:
    """The last buttons each SMS/WhatsApp sender was shown, so a reply "1" means the first one.

    Small and in memory: a restart or an expired entry only means the digit is read as text.
    """

    def __init__(self, max_senders: int = 5_000, max_age_seconds: float = 3600) -> None:
        self._shown: OrderedDict[str, tuple[float, tuple[Button, ...]]] = OrderedDict()
        self._max_senders = max_senders
        self._max_age = max_age_seconds

    def remember(self, sender_id: str, buttons: Sequence[Button], now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._shown.pop(sender_id, None)
        if buttons:
            self._shown[sender_id] = (now, tuple(buttons))
            while len(self._shown) > self._max_senders:
                self._shown.popitem(last=False)

    def resolve(self, sender_id: str, text: str, now: float | None = None) -> str:
        """The payload for a reply that picks a shown option (by number or title), else the text."""
        now = time.time() if now is None else now
        entry = self._shown.get(sender_id)
        if entry is None or now - entry[0] > self._max_age:
            return text
        buttons = entry[1]
        answer = text.strip().rstrip(".").strip()
        if answer.isdigit() and 1 <= int(answer) <= len(buttons):
            chosen = buttons[int(answer) - 1]
        else:
            chosen = next((b for b in buttons if b.title.casefold() == answer.casefold()), None)
            if chosen is None:
                return text
        self._shown.pop(sender_id, None)
        return chosen.payload

    def checkpoint(self, sender_id: str) -> tuple[float, tuple[Button, ...]] | None:
        """What the sender was last shown, to put back with :meth:`rollback` if their turn fails."""
        return self._shown.get(sender_id)

    def rollback(self, sender_id: str, checkpoint: tuple[float, tuple[Button, ...]] | None) -> None:
        """Undo :meth:`resolve` after a failed turn, unless the turn already showed newer buttons."""
        if checkpoint is not None and sender_id not in self._shown:
            self._shown[sender_id] = checkpoint
