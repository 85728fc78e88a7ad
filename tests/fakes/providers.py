"""All provider fakes together, and the environment that points a stack at them."""

from __future__ import annotations

from tests.fakes import messenger, slack, telegram, twilio
from tests.fakes.base import FakeServers

TELEGRAM_SECRET_TOKEN = "test-telegram-secret-token"
SLACK_SIGNING_SECRET = "test-slack-signing-secret"
TWILIO_NUMBER = "+15005550006"
TWILIO_WHATSAPP_NUMBER = "+14155238886"
MESSENGER_APP_SECRET = "test-messenger-app-secret"
MESSENGER_VERIFY_TOKEN = "test-messenger-verify-token"


def start_fakes() -> FakeServers:
    return FakeServers({
        "telegram": telegram.create_app, "slack": slack.create_app,
        "twilio": twilio.create_app, "messenger": messenger.create_app,
    }).start()


def provider_env(fakes: FakeServers) -> dict[str, str]:
    return {
        "RAPPORT_TELEGRAM_TOKEN": telegram.TOKEN,
        "RAPPORT_TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET_TOKEN,
        "RAPPORT_TELEGRAM_API_URL": fakes.url("telegram"),
        "RAPPORT_SLACK_TOKEN": slack.TOKEN,
        "RAPPORT_SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "RAPPORT_SLACK_API_URL": fakes.url("slack") + "/api",
        "RAPPORT_TWILIO_ACCOUNT_SID": twilio.ACCOUNT_SID,
        "RAPPORT_TWILIO_AUTH_TOKEN": twilio.AUTH_TOKEN,
        "RAPPORT_TWILIO_NUMBER": TWILIO_NUMBER,
        "RAPPORT_TWILIO_WHATSAPP_NUMBER": TWILIO_WHATSAPP_NUMBER,
        "RAPPORT_TWILIO_API_URL": fakes.url("twilio"),
        "RAPPORT_MESSENGER_PAGE_TOKEN": messenger.PAGE_TOKEN,
        "RAPPORT_MESSENGER_APP_SECRET": MESSENGER_APP_SECRET,
        "RAPPORT_MESSENGER_VERIFY_TOKEN": MESSENGER_VERIFY_TOKEN,
        "RAPPORT_MESSENGER_API_URL": fakes.url("messenger") + "/v18.0",
    }
