"""Desk operations through the JSON API against the real app, with a fake Rasa API checking the wire format."""

from __future__ import annotations

import asyncio

from bot.console.app import create_app
from bot.console.keys import OUTBOX_KEY, STAFF_DIRECTORY_KEY, STORE_KEY
from bot.store import Source
from tests.console.conftest import add_staff, open_ticket
from tests.console.conftest import client, console_app, console_settings, fake_rasa  # noqa: F401  (fixtures)


async def _agent(client, email: str = "ann@example.com", role: str = "agent", name: str | None = None) -> dict[str, str]:
    await add_staff(client, email, role=role, name=name)
    return {"Authorization": f"Bearer {await client.app[STAFF_DIRECTORY_KEY].create_token(email)}"}


async def test_queue_lists_waiting_tickets_with_wait_time_channel_summary_and_team(client):
    ann = await _agent(client)
    ticket = await open_ticket(client, summary="order MB123 never arrived")
    body = await (await client.get("/api/queue", headers=ann)).json()
    [entry] = body["tickets"]
    assert entry["id"] == ticket.id and entry["status"] == "waiting" and entry["channel"] == "rest"
    assert entry["summary"] == "order MB123 never arrived" and entry["team"] == "support" and entry["wait_seconds"] >= 0


async def test_first_claim_tells_the_customer_who_joined_and_the_reply_is_signed(client, fake_rasa):
    ann = await _agent(client, name="Ann Smith")
    ticket = await open_ticket(client)
    claimed = await client.post(f"/api/tickets/{ticket.id}/claim", headers=ann)
    assert claimed.status == 200 and (await claimed.json())["status"] == "claimed"
    reply = await client.post(f"/api/tickets/{ticket.id}/reply", json={"text": "Let me check that order."}, headers=ann)
    assert reply.status == 200 and (await reply.json()) == {"delivered": True, "queued": False}
    posts = fake_rasa.posted("/tracker/events")
    assert [p["body"][0]["text"] for p in posts] == ["Ann from our team has joined.", "Ann: Let me check that order."]
    assert posts[1]["path"] == "/conversations/cust-1/tracker/events"
    assert posts[1]["query"] == {
        "output_channel": "latest", "execute_side_effects": "true", "include_events": "NONE", "token": "fake-rasa-token"
    }
    assert posts[1]["body"] == [
        {"event": "bot", "timestamp": None, "text": "Ann: Let me check that order.",
         "data": {"custom": {"rapport_staff": {"name": "Ann", "avatar": None}}}, "metadata": None}
    ]  # fmt: skip  (rasa_sdk's BotUttered; Rasa stamps the time itself)


async def test_two_agents_claiming_one_ticket_at_once_exactly_one_wins(client, fake_rasa):
    ann = await _agent(client, "ann@example.com")
    bob = await _agent(client, "bob@example.com")
    ticket = await open_ticket(client)
    for _ in range(3):
        results = await asyncio.gather(
            client.post(f"/api/tickets/{ticket.id}/claim", headers=ann),
            client.post(f"/api/tickets/{ticket.id}/claim", headers=bob),
        )
        statuses = sorted(r.status for r in results)
        if statuses == [200, 409]:
            break
    assert statuses == [200, 409]
    loser = next(r for r in results if r.status == 409)
    assert "cannot be claimed" in (await loser.json())["error"]["message"]
    assert len(fake_rasa.posted("/tracker/events")) == 1  # one "has joined", not two


async def test_only_the_holder_may_reply_or_close(client):
    ann = await _agent(client, "ann@example.com")
    bob = await _agent(client, "bob@example.com")
    ticket = await open_ticket(client)
    waiting = await client.post(f"/api/tickets/{ticket.id}/reply", json={"text": "hi"}, headers=ann)
    assert waiting.status == 409
    await client.post(f"/api/tickets/{ticket.id}/claim", headers=ann)
    assert (await client.post(f"/api/tickets/{ticket.id}/reply", json={"text": "hi"}, headers=bob)).status == 403
    assert (await client.post(f"/api/tickets/{ticket.id}/close", headers=bob)).status == 403


async def test_close_resumes_the_bot_which_hands_back_and_asks_for_a_rating(client, fake_rasa):
    ann = await _agent(client)
    ticket = await open_ticket(client)
    await client.post(f"/api/tickets/{ticket.id}/claim", headers=ann)
    closed = await client.post(f"/api/tickets/{ticket.id}/close", headers=ann)
    assert closed.status == 200 and (await closed.json())["status"] == "closed"
    tail = [(c["path"].rsplit("/", 1)[-1], c["body"]) for c in fake_rasa.calls if c["method"] == "POST"][1:]
    assert tail == [
        ("events", [{"event": "resume", "timestamp": None},
                    {"event": "slot", "timestamp": None, "name": "handoff_active", "value": False}]),
        ("execute", {"name": "utter_handoff_back"}),
        ("execute", {"name": "utter_ask_rating"}),
        ("execute", {"name": "action_listen"}),
    ]
    assert fake_rasa.posted("/execute")[0]["query"] == {"output_channel": "latest", "include_events": "NONE", "token": "fake-rasa-token"}
    assert (await client.get("/api/queue", headers=ann)).status == 200
    assert (await (await client.get("/api/queue", headers=ann)).json())["tickets"] == []
    assert (await client.post(f"/api/tickets/{ticket.id}/close", headers=ann)).status == 409


async def test_transfer_to_a_colleague_or_back_to_a_team_queue(client, fake_rasa):
    ann = await _agent(client, "ann@example.com")
    await _agent(client, "bob@example.com", name="Bob Jones")
    bob = await client.app[STAFF_DIRECTORY_KEY].by_email("bob@example.com")
    ticket = await open_ticket(client)
    await client.post(f"/api/tickets/{ticket.id}/claim", headers=ann)
    moved = await (await client.post(f"/api/tickets/{ticket.id}/transfer", json={"staff_id": bob.id}, headers=ann)).json()
    assert moved["assigned_staff_id"] == bob.id and moved["status"] == "claimed"
    assert fake_rasa.posted("/tracker/events")[-1]["body"][0]["text"] == "Bob from our team has joined."
    bob_headers = {"Authorization": f"Bearer {await client.app[STAFF_DIRECTORY_KEY].create_token('bob@example.com')}"}
    team = await (await client.post(f"/api/tickets/{ticket.id}/transfer", json={"team": "orders"}, headers=bob_headers)).json()
    assert team["status"] == "waiting" and team["team"] == "orders" and team["assigned_staff_id"] is None
    marketer = await _agent(client, "mia@example.com", role="marketer")
    assert (await client.post(f"/api/tickets/{ticket.id}/transfer", json={"team": "x"}, headers=marketer)).status == 403
    await add_staff(client, "max@example.com", role="marketer")
    max_id = (await client.app[STAFF_DIRECTORY_KEY].by_email("max@example.com")).id
    assert (await client.post(f"/api/tickets/{ticket.id}/transfer", json={"staff_id": max_id}, headers=ann)).status == 400


async def test_private_notes_profile_and_transcript(client, fake_rasa):
    ann = await _agent(client, name="Ann Smith")
    ticket = await open_ticket(client)
    await client.app[STORE_KEY].update_preferences(ticket.person_id, source=Source("rest"), name="Priya", tone="brief")
    fake_rasa.trackers["cust-1"] = [
        {"event": "user", "text": "can i talk to a human please", "timestamp": 1700000000.0},
        {"event": "bot", "text": "I'll get a person.", "timestamp": 1700000001.0},
        {"event": "action", "name": "action_listen", "timestamp": 1700000001.5},
    ]
    await client.post(f"/api/tickets/{ticket.id}/claim", headers=ann)
    note = await client.post(f"/api/tickets/{ticket.id}/notes", json={"text": "Prefers email follow-up."}, headers=ann)
    assert note.status == 201 and (await note.json())["author_name"] == "Ann Smith"
    notes = (await (await client.get(f"/api/tickets/{ticket.id}/notes", headers=ann)).json())["notes"]
    assert [n["text"] for n in notes] == ["Prefers email follow-up."]
    profile = await (await client.get(f"/api/tickets/{ticket.id}/profile", headers=ann)).json()
    assert profile["name"] == "Priya" and profile["tone"] == "brief"
    assert profile["channels"] == [{"channel": "rest", "sender_id": "cust-1"}]
    assert profile["tickets"][0]["status"] == "claimed" and profile["notes"][0]["author_name"] == "Ann Smith"
    messages = (await (await client.get(f"/api/tickets/{ticket.id}/transcript", headers=ann)).json())["messages"]
    assert [(m["who"], m["text"]) for m in messages] == [
        ("customer", "can i talk to a human please"),
        ("bot", "I'll get a person."),
        ("staff", "Ann from our team has joined."),
    ]
    assert messages[0]["at"].startswith("2023-11-14T22:13:20")
    assert fake_rasa.calls[-1]["query"]["token"] == "fake-rasa-token"


async def test_replies_wait_in_the_outbox_while_rasa_is_down_and_arrive_in_order(client, fake_rasa):
    ann = await _agent(client)
    ticket = await open_ticket(client)
    await client.post(f"/api/tickets/{ticket.id}/claim", headers=ann)
    fake_rasa.down = True
    for text in ("one", "two", "three"):
        response = await client.post(f"/api/tickets/{ticket.id}/reply", json={"text": text}, headers=ann)
        assert response.status == 202 and (await response.json())["queued"] is True
    assert len(await client.app[OUTBOX_KEY].pending()) == 3
    transcript = await client.get(f"/api/tickets/{ticket.id}/transcript", headers=ann)
    assert transcript.status == 503
    fake_rasa.down = False
    for _ in range(50):  # the background loop retries about every second
        if not await client.app[OUTBOX_KEY].pending():
            break
        await asyncio.sleep(0.1)
    texts = [p["body"][0]["text"] for p in fake_rasa.posted("/tracker/events")]
    assert texts == ["Ann from our team has joined.", "Ann: one", "Ann: two", "Ann: three"]


async def test_a_console_restart_mid_handoff_keeps_the_ticket_the_outbox_and_the_transcript(aiohttp_client, console_settings, fake_rasa):
    first = await aiohttp_client(create_app(console_settings))
    ann = await _agent(first)
    ticket = await open_ticket(first)
    await first.post(f"/api/tickets/{ticket.id}/claim", headers=ann)
    fake_rasa.down = True
    assert (await first.post(f"/api/tickets/{ticket.id}/reply", json={"text": "still there?"}, headers=ann)).status == 202
    await first.close()

    fake_rasa.down = False
    second = await aiohttp_client(create_app(console_settings))
    for _ in range(50):
        if not await second.app[OUTBOX_KEY].pending():
            break
        await asyncio.sleep(0.1)
    queue = (await (await second.get("/api/queue", headers=ann)).json())["tickets"]
    assert [(t["id"], t["status"]) for t in queue] == [(ticket.id, "claimed")]
    messages = (await (await second.get(f"/api/tickets/{ticket.id}/transcript", headers=ann)).json())["messages"]
    assert [m["text"] for m in messages] == ["Ann from our team has joined.", "Ann: still there?"]


async def test_unknown_tickets_are_404(client):
    ann = await _agent(client)
    for method, path in (("GET", "/api/tickets/999"), ("POST", "/api/tickets/999/claim"), ("GET", "/api/tickets/999/profile")):
        response = await client.request(method, path, headers=ann)
        assert response.status == 404, path
    assert (await client.get("/api/tickets/99999999999", headers=ann)).status == 400
