"""What the messaging webhooks log: conversations by pseudonym, never a sender id, name, text or secret."""

from __future__ import annotations

import json
import time

from bot.identity import pseudonym
from tests.channels import webhooks
from tests.channels.test_telegram import sent_to, update
from tests.channels.test_twilio import sms, to_phone
from tests.fakes import telegram as fake_telegram
from tests.fakes.base import Recorder
from tests.support.stack import Stack

PHONE = "+447700900777"
TELEGRAM_ID = 7123457
NAME = "Zebediah"
WORDS = "my parcel number is QX-99812"


def _log_after(stack: Stack, mark: int, expect: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        log = webhooks.rasa_log(stack)[mark:]
        if expect in log or time.monotonic() > deadline:
            return log
        time.sleep(0.1)


def test_failed_and_refused_deliveries_are_logged_without_ids_names_words_or_tokens(
    stack: Stack, api: Recorder
) -> None:
    mark = len(webhooks.rasa_log(stack))
    telegram_update = update(TELEGRAM_ID, WORDS)
    telegram_update["message"]["from"]["first_name"] = NAME
    api.fail_next(sent_to(TELEGRAM_ID))
    assert webhooks.telegram(stack, telegram_update)[0] == 503
    api.fail_next(to_phone("twilio", PHONE))
    assert webhooks.twilio(stack, "twilio", sms("twilio", PHONE, WORDS))[0] == 503
    refused = update(TELEGRAM_ID, WORDS)
    refused["message"]["from"]["username"] = NAME + "\n"
    assert webhooks.telegram(stack, refused)[0] == 400
    assert webhooks.telegram(stack, telegram_update)[0] == 200  # the redelivery goes through

    secret = stack.env["RAPPORT_IDENTITY_SECRET"]
    log = _log_after(stack, mark, pseudonym(PHONE, "log:" + secret))
    assert pseudonym(str(TELEGRAM_ID), "log:" + secret) in log  # the failure is logged, by pseudonym
    assert pseudonym(PHONE, "log:" + secret) in log
    for leak in (str(TELEGRAM_ID), PHONE, PHONE[1:], NAME, WORDS, fake_telegram.TOKEN):
        assert leak not in log, [line for line in log.splitlines() if leak in line]
    assert json.dumps(WORDS) not in log
