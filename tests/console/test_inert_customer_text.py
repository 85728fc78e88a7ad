"""Customer text is inert in staff browsers: escaped in HTML, set with textContent in JS."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.console.render import TEMPLATE_DIR
from tests.console.conftest import add_staff, login, open_ticket

HOSTILE = ['<script>alert("x")</script>', '<img src=x onerror="alert(1)">', '"><svg onload=alert(1)>']
STATIC = Path(__file__).resolve().parents[2] / "bot" / "console" / "static"
CHROMIUM = "/usr/bin/chromium"


async def test_hostile_customer_text_is_escaped_in_the_queue_and_the_conversation(client, fake_rasa):
    await add_staff(client, "ann@example.com")
    await login(client, "ann@example.com")
    ticket = await open_ticket(client, summary=HOSTILE[0] + HOSTILE[1])
    fake_rasa.trackers["cust-1"] = [{"event": "user", "text": text, "timestamp": 1.0} for text in HOSTILE]
    for page in (await (await client.get("/desk")).text(), await (await client.get(f"/desk/tickets/{ticket.id}")).text()):
        for text in HOSTILE:
            assert text not in page
        assert "&lt;script&gt;" in page and "&lt;img src=x onerror=" in page
        assert not re.search(r"<script(?! src=\"/static/console.js\" defer>)", page)
        assert "onerror=\"" not in page


def test_templates_never_disable_escaping_and_scripts_never_parse_html():
    for template in TEMPLATE_DIR.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, template.name
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script in {template.name}"
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", text), f"inline event handler in {template.name}"
    script = (STATIC / "console.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (tests/setup_browser.sh)")
async def test_hostile_text_stays_inert_in_headless_chromium(aiohttp_server, console_app, fake_rasa):
    from playwright.async_api import async_playwright

    from bot.console.keys import SETTINGS_KEY, STAFF_DIRECTORY_KEY, STORE_KEY
    from tests.console.conftest import PASSWORD, add_tracker_event

    server = await aiohttp_server(console_app)
    store, staff = console_app[STORE_KEY], console_app[STAFF_DIRECTORY_KEY]
    await staff.add(email="ann@example.com", name="Ann Smith", role="agent", password=PASSWORD)
    person = await store.resolve_person("rest", "cust-x")
    ticket = await store.create_ticket(person_id=person.id, channel="rest", sender_id="cust-x", team="support", summary=HOSTILE[1])
    fake_rasa.trackers["cust-x"] = [{"event": "user", "text": HOSTILE[1], "timestamp": 1.0}]
    base = str(server.make_url("/"))
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        page = await browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await page.goto(base + "login")
        await page.fill("input[name=email]", "ann@example.com")
        await page.fill("input[name=password]", PASSWORD)
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        assert page.url.endswith("/desk"), await page.content()
        await page.goto(f"{base}desk/tickets/{ticket.id}")
        await page.wait_for_timeout(500)
        add_tracker_event(console_app[SETTINGS_KEY].var_dir / "tracker.db", "cust-x", "user", HOSTILE[0])
        await page.locator("#messages li").nth(1).wait_for(timeout=5000)  # pushed live over /ws
        texts = await page.locator("#messages li .text").all_text_contents()
        assert HOSTILE[0] in texts and HOSTILE[1] in texts
        assert await page.locator("#messages img, #messages script, #messages svg").count() == 0
        assert dialogs == []
        await browser.close()
