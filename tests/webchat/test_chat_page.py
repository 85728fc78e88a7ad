"""The web chat page in headless Chromium against the real assistant."""

from __future__ import annotations

import json
import urllib.request

import pytest
from aiohttp import web
from playwright.sync_api import BrowserContext, Page, expect

from bot.identity import sign_customer_id
from tests.channels.webhooks import push_staff_reply
from tests.fakes.base import FakeServers
from tests.support.stack import Stack

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'


def open_chat(context: BrowserContext, stack: Stack, fragment: str = "") -> Page:
    page = context.new_page()
    page.goto(f"{stack.console_url}/chat{fragment}")
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    return page


def session_of(page: Page) -> str:
    return page.evaluate("localStorage.getItem('rapport.webchat.session')")


def tracker(stack: Stack, sender: str) -> dict:
    url = f"{stack.rasa_url}/conversations/{sender}/tracker?token={stack.token}"
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310
        return json.loads(answer.read())


def user_events(stack: Stack, sender: str) -> list[dict]:
    return [e for e in tracker(stack, sender)["events"] if e["event"] == "user"]


def send(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send").click()


def bot_messages(page: Page):
    return page.locator("#chat-log .msg--bot")


def test_page_serves_a_strict_csp_with_connect_src_to_rasa(stack: Stack) -> None:
    with urllib.request.urlopen(f"{stack.console_url}/chat", timeout=30) as answer:  # noqa: S310
        csp = answer.headers["Content-Security-Policy"]
        body = answer.read().decode()
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert f"ws://127.0.0.1:{stack.rasa_port}" in csp
    assert "<script>" not in body  # every script is a file


def test_greeting_gets_a_reply_and_shows_typing(context: BrowserContext, stack: Stack) -> None:
    page = open_chat(context, stack)
    send(page, "hello")
    expect(page.locator("#chat-log .msg--user")).to_have_text("You said: hello")
    expect(bot_messages(page).first).to_be_visible()
    expect(page.locator("#chat-typing")).to_be_hidden()
    assert page.locator("#chat-log").get_attribute("aria-live") == "polite"


def test_quick_reply_click_sends_its_payload(context: BrowserContext, stack: Stack) -> None:
    page = open_chat(context, stack)
    send(page, "/privacy_forget_me")
    keep = page.get_by_role("button", name="No, keep it")
    keep.click()
    expect(bot_messages(page).last).to_contain_text("haven't erased")
    expect(keep).to_be_disabled()
    assert user_events(stack, session_of(page))[-1]["text"] == "/deny"


def test_reload_and_a_second_tab_keep_the_conversation(context: BrowserContext, stack: Stack) -> None:
    page = open_chat(context, stack)
    send(page, "hello")
    expect(bot_messages(page).first).to_be_visible()
    session = session_of(page)
    count = page.locator("#chat-log .msg").count()
    page.reload()
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    assert session_of(page) == session
    expect(page.locator("#chat-log .msg")).to_have_count(count)
    other = open_chat(context, stack)
    assert session_of(other) == session
    expect(other.locator("#chat-log .msg")).to_have_count(count)
    send(other, "what are your opening hours")
    expect(page.locator("#chat-log .msg--user").last).to_contain_text("opening hours")  # synced to the first tab


def test_html_and_script_in_messages_are_shown_as_text(context: BrowserContext, stack: Stack) -> None:
    page = open_chat(context, stack)
    send(page, HOSTILE)
    expect(page.locator("#chat-log .msg--user").first).to_contain_text("<script>")
    expect(bot_messages(page).first).to_be_visible()
    assert push_staff_reply(stack, session_of(page), f"Bot says {HOSTILE} see https://example.com/a.")[0] == 200
    expect(bot_messages(page).last).to_contain_text("<b>bold</b>")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#chat-log b, #chat-log script, #chat-log .msg__text img").count() == 0
    link = page.locator("#chat-log a[href='https://example.com/a']")
    expect(link).to_have_attribute("rel", "noopener noreferrer")


def test_staff_reply_shows_the_persons_name_and_picture(context: BrowserContext, stack: Stack) -> None:
    page = open_chat(context, stack)
    send(page, "hello")
    expect(bot_messages(page).first).to_be_visible()
    avatar = "https://staff.example/sam.png"
    status, _ = push_staff_reply(stack, session_of(page), "Sam: I've found your order.", {"name": "Sam", "avatar": avatar})
    assert status == 200
    staff = page.locator("#chat-log .msg--staff")
    expect(staff).to_contain_text("Sam (Marginalia Books team)")
    expect(staff.locator(".msg__text")).to_have_text("I've found your order.")
    expect(staff.locator("img.msg__avatar")).to_have_attribute("src", avatar)


def test_talk_to_a_person_button_sends_the_intent(context: BrowserContext, stack: Stack) -> None:
    page = open_chat(context, stack)
    page.get_by_role("button", name="Talk to a person").click()
    expect(page.locator("#chat-log .msg--user")).to_contain_text("Talk to a person")
    expect(bot_messages(page).first).to_be_visible()
    assert user_events(stack, session_of(page))[-1]["parse_data"]["intent"]["name"] == "request_human"


def test_keyboard_only_conversation(context: BrowserContext, stack: Stack) -> None:
    page = open_chat(context, stack)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "chat-human"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "chat-log"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "chat-input"
    page.keyboard.type("/privacy_forget_me")
    page.keyboard.press("Enter")
    keep = page.get_by_role("button", name="No, keep it")
    expect(keep).to_be_visible()
    keep.focus()
    page.keyboard.press("Enter")
    expect(bot_messages(page).last).to_contain_text("haven't erased")


def test_embed_snippet_opens_a_panel_and_passes_the_signed_customer(browser: object, stack: Stack) -> None:
    secret = stack.env["RAPPORT_IDENTITY_SECRET"]
    signature = sign_customer_id("cust-42", secret)
    html = ("<!doctype html><html><body><h1>A bookshop page</h1>"
            f"<script>window.RapportCustomer = {{id: 'cust-42', signature: '{signature}'}};</script>"
            f"<script src='{stack.console_url}/chat/embed.js'></script></body></html>")
    site = FakeServers({"site": lambda _r: _static_site(html)}).start()  # another origin, like a real shop
    host = browser.new_context()  # type: ignore[attr-defined]
    try:
        page = host.new_page()
        page.goto(site.url("site"))
        launcher = page.get_by_role("button", name="Chat with us")
        launcher.click()
        expect(page.get_by_role("button", name="Close chat")).to_have_attribute("aria-expanded", "true")
        chat = page.frame_locator("iframe[title='Chat with Marginalia Books']")
        expect(chat.locator("body[data-ready=true]")).to_have_count(1)
        chat.get_by_label("Your message").fill("hello")
        chat.get_by_role("button", name="Send").click()
        expect(chat.locator("#chat-log .msg--bot").first).to_be_visible()
        frame = next(f for f in page.frames if "/chat" in f.url)
        session = frame.evaluate("localStorage.getItem('rapport.webchat.session')")
        metadata = user_events(stack, session)[-1]["metadata"]
        assert metadata["customer_id"] == "cust-42" and metadata["customer_signature"] == signature
        assert metadata["rapport_channel"] == "socketio"
        page.keyboard.press("Escape")
        expect(page.get_by_role("button", name="Chat with us")).to_be_focused()
    finally:
        host.close()
        site.stop()


def _static_site(html: str) -> web.Application:
    app = web.Application()
    app.router.add_get("/", lambda _r: web.Response(text=html, content_type="text/html"))
    return app


@pytest.mark.parametrize("name", ["socket.io.min.js", "chat.js", "chat.css"])
def test_static_files_are_served(stack: Stack, name: str) -> None:
    with urllib.request.urlopen(f"{stack.console_url}/chat/static/{name}", timeout=30) as answer:  # noqa: S310
        assert answer.status == 200 and answer.read()


def test_transport_in_use_is_reported(context: BrowserContext, stack: Stack) -> None:
    """Documents what works on this Python/Sanic: websocket upgrade or long-polling."""
    page = open_chat(context, stack)
    page.wait_for_timeout(1500)
    transport = page.evaluate("document.body.dataset.transport")
    print(f"socket.io transport in use: {transport}")
    assert transport in ("polling", "websocket")
