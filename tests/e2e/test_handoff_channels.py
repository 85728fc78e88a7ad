"""Handoff end to end on the customer's own channel: web chat in Chromium, and Telegram's wire format."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.channels import webhooks
from tests.channels.test_telegram import sent_to, update
from tests.console.test_handoff_e2e import _wait_for_ticket, agent_token, api
from tests.fakes.base import Recorder
from tests.support.stack import Stack

CHROMIUM = Path("/usr/bin/chromium")


def _agent(stack: Stack, first: str) -> str:
    return agent_token(stack, f"{first.lower()}-{uuid.uuid4().hex[:6]}@example.com", f"{first} Example")


@pytest.fixture(scope="module")
def page_factory() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: run tests/setup_browser.sh first")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


def test_web_chat_customer_is_helped_by_a_named_agent_and_handed_back(page_factory: object, stack: Stack) -> None:
    from playwright.sync_api import expect

    context = page_factory.new_context()  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(f"{stack.console_url}/chat")
        expect(page.locator("body[data-ready=true]")).to_have_count(1)
        page.get_by_role("button", name="Talk to a person").click()
        expect(page.locator("#chat-log .msg--bot").last).to_contain_text("passing you to a person")
        session = page.evaluate("localStorage.getItem('rapport.webchat.session')")

        token = _agent(stack, "Nadia")
        ticket = _wait_for_ticket(stack, token, session)
        assert ticket["channel"] == "socketio"
        assert api(stack, token, "POST", f"/api/tickets/{ticket['id']}/claim")[0] == 200
        status, _ = api(stack, token, "POST", f"/api/tickets/{ticket['id']}/reply", {"text": "Hi, I'm looking at it now."})
        assert status == 200
        staff = page.locator("#chat-log .msg--staff").last
        expect(staff).to_contain_text("Nadia")
        expect(staff.locator(".msg__text")).to_have_text("Hi, I'm looking at it now.")

        page.get_by_label("Your message").fill("thanks, it's order MB77")
        page.get_by_role("button", name="Send").click()
        time.sleep(1.5)
        assert "order MB77" not in page.locator("#chat-log .msg--bot").all_inner_texts()[-1]  # the bot stays quiet

        assert api(stack, token, "POST", f"/api/tickets/{ticket['id']}/close")[0] == 200
        expect(page.locator("#chat-log .msg--bot").last).to_contain_text(re.compile("1 to 5|how well did we help"))
        page.get_by_label("Your message").fill("how much is delivery")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#chat-log .msg--bot").last).to_contain_text("£3.50")
    finally:
        context.close()


def test_telegram_customer_gets_the_agents_reply_in_telegram_format(stack: Stack, api_calls: Recorder) -> None:
    chat_id = 880000 + int(uuid.uuid4().int % 10000)
    assert webhooks.telegram(stack, update(chat_id, "can i speak to a real person please"))[0] == 200
    api_calls.wait_for(sent_to(chat_id, "passing you to a person"))
    token = _agent(stack, "Omar")
    ticket = _wait_for_ticket(stack, token, str(chat_id))
    assert ticket["channel"] == "telegram"
    assert api(stack, token, "POST", f"/api/tickets/{ticket['id']}/claim")[0] == 200
    assert api(stack, token, "POST", f"/api/tickets/{ticket['id']}/reply", {"text": "Your parcel left today."})[0] == 200
    call = api_calls.wait_for(sent_to(chat_id, "Omar: Your parcel left today."))
    assert call.json["chat_id"] == str(chat_id)
    assert api(stack, token, "POST", f"/api/tickets/{ticket['id']}/close")[0] == 200
    webhooks.telegram(stack, update(chat_id, "what time do you open on saturday"))
    api_calls.wait_for(sent_to(chat_id, "Sat"))


@pytest.fixture
def api_calls(fakes) -> Recorder:  # type: ignore[no-untyped-def]
    return fakes.recorder
