"""One relationship across channels, through the real Rasa server, action server and store."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.request
import uuid
from pathlib import Path


from bot.identity import sign_customer_id
from tests.support.socketio_client import SocketCustomer
from tests.support.stack import Stack


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def export(stack: Stack, channel: str, sender: str) -> dict:
    return stack.export(channel, sender)


def new_session(stack: Stack, sender: str) -> None:
    """Start a new conversation session now, as if the customer came back later."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/conversations/{sender}/execute?token={stack.token}",
        data=json.dumps({"name": "action_session_start"}).encode(), headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 200


def sender() -> str:
    return "e2e-" + uuid.uuid4().hex[:10]


def test_returning_greeting_uses_the_stored_name(stack: Stack) -> None:
    me = sender()
    assert "Sam" in texts(stack.say(me, "call me Sam"))
    new_session(stack, me)
    greeting = texts(stack.say(me, "hello"))
    assert "Sam" in greeting and ("Welcome back" in greeting or "Hi Sam" in greeting), greeting


def test_first_time_visitor_gets_a_plain_greeting(stack: Stack) -> None:
    greeting = texts(stack.say(sender(), "hi"))
    assert "Marginalia" in greeting and "Welcome back" not in greeting, greeting


def test_brief_tone_changes_the_answers_at_once(stack: Stack) -> None:
    me = sender()
    friendly = texts(stack.say(me, "how much is delivery"))
    stack.say(me, "keep it short please")
    brief = texts(stack.say(me, "how much is delivery"))
    assert len(brief) < len(friendly) / 2, (friendly, brief)
    assert "£3.50" in brief


async def test_preference_given_on_rest_holds_on_socketio_after_linking(stack: Stack) -> None:
    me = sender()
    stack.say(me, "keep it short")
    stack.say(me, "call me Ruth")
    linking = texts(stack.say(me, "link my account"))
    code = re.search(r"(\d{3}) (\d{3})", linking)
    assert code, linking
    web = await SocketCustomer(stack.rasa_url).connect()
    try:
        linked = texts(await web.say(f"my code is {code.group(1)}{code.group(2)}"))
        assert "Linked" in linked, linked
        answer = texts(await web.say("how much is delivery?"))
        assert "UK £3.50, free over £30" in answer and "Click and collect is free" in answer, answer
    finally:
        await web.close()
    exported = export(stack, "rest", me)
    assert {i["channel"] for i in exported["identities"]} >= {"rest", "socketio"}


def test_transparency_answer_matches_the_export(stack: Stack) -> None:
    me = sender()
    stack.say(me, "call me Priya")
    stack.say(me, "can you recommend some crime fiction")
    stack.say(me, "i prefer whatsapp")
    answer = texts(stack.say(me, "what do you know about me?"))
    document = export(stack, "rest", me)
    assert document["person"]["name"] == "Priya" and "Priya" in answer
    assert f"Tone: {document['person']['tone']}" in answer
    assert document["person"]["preferred_channel"] == "whatsapp" and "whatsapp" in answer
    for interest in document["interests"]:
        assert interest["topic"] in answer
    assert f"{len(document['interactions'])} conversation turn(s)" in answer


def _rows_mentioning(db: Path, needles: list[str]) -> list[tuple[str, str]]:
    found = []
    with sqlite3.connect(db) as connection:
        tables = [r[0] for r in connection.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in connection.execute(f'select * from "{table}"'):  # noqa: S608 - test, own tables
                text = " ".join(str(v) for v in row)
                found += [(table, n) for n in needles if n in text]
    return found


def test_forget_me_leaves_no_row_and_no_tracker_event_naming_the_person(stack: Stack) -> None:
    me = sender()
    stack.say(me, "call me Zebedee")
    stack.say(me, "do you have any poetry books")
    assert _rows_mentioning(stack.var_dir / "tracker.db", [me]), "tracker should hold the conversation first"
    assert "erase" in texts(stack.say(me, "forget me")).lower()
    done = texts(stack.say(me, "yes"))
    assert "erased" in done.lower(), done
    assert _rows_mentioning(stack.var_dir / "rapport.db", [me, "Zebedee"]) == []
    assert _rows_mentioning(stack.var_dir / "tracker.db", [me, "Zebedee"]) == []
    assert "Welcome back" not in texts(stack.say(me, "hi"))


def test_forget_me_cancelled_keeps_everything(stack: Stack) -> None:
    me = sender()
    stack.say(me, "call me Olu")
    stack.say(me, "delete my data")
    assert "haven't erased" in texts(stack.say(me, "no"))
    assert export(stack, "rest", me)["person"]["name"] == "Olu"


def test_stop_remembering_stores_nothing_new(stack: Stack) -> None:
    me = sender()
    stack.say(me, "how much is delivery")
    before = len(export(stack, "rest", me)["interactions"])
    assert "won't store anything new" in texts(stack.say(me, "stop remembering me"))
    stack.say(me, "what are your opening hours")
    stack.say(me, "call me Nemo")
    after = export(stack, "rest", me)
    assert len(after["interactions"]) == before
    assert after["person"]["name"] is None
    assert _rows_mentioning(stack.var_dir / "tracker.db", ["Nemo"]) == []


def test_forged_customer_signature_is_not_trusted(stack: Stack) -> None:
    first, second = sender(), sender()
    forged = {"customer_id": "cust-forged-1", "customer_signature": "0" * 64}
    stack.say(first, "call me Mallory", metadata=forged)
    stack.say(second, "hi", metadata=forged)
    assert all(i["channel"] != "customer" for i in export(stack, "rest", first)["identities"])
    assert export(stack, "rest", second)["person"]["name"] is None


def test_signed_customer_id_makes_two_devices_one_person(stack: Stack) -> None:
    laptop, phone = sender(), sender()
    customer = "cust-" + uuid.uuid4().hex[:8]
    signed = {"customer_id": customer, "customer_signature": sign_customer_id(customer, stack.env["RAPPORT_IDENTITY_SECRET"])}
    stack.say(laptop, "call me Grace", metadata=signed)
    stack.say(phone, "hi", metadata=signed)
    document = export(stack, "rest", phone)
    assert document["person"]["name"] == "Grace"
    assert {(i["channel"], i["sender_id"]) for i in document["identities"]} >= {("rest", laptop), ("rest", phone), ("customer", customer)}


def test_suggestion_is_on_topic_once_per_session_and_stops_when_asked(stack: Stack) -> None:
    me = sender()
    first = texts(stack.say(me, "can you recommend a good crime novel"))
    assert "crime" in first.lower() and "/read/crime-starters" in first, first
    again = texts(stack.say(me, "any other crime books you'd recommend?"))
    assert "/read/" not in again and "/watch/" not in again, again
    other = sender()
    stack.say(other, "no more suggestions please")
    assert "/read/" not in texts(stack.say(other, "can you recommend some crime fiction"))
