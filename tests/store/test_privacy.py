from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.engine import make_url

from bot.store import InteractionRecord, PersonNotFound, RelationshipStore, Source, erase_tracker_events
from tests.support.people import NAME, SENDERS, everything as _everything

async def test_export_is_json_and_contains_every_fact_written(store: RelationshipStore) -> None:
    person_id = await _everything(store)
    document = json.loads(json.dumps(await store.export_person(person_id)))
    assert document["person"]["name"] == NAME and document["person"]["preferred_channel"] == "telegram"
    assert {p for p in document["provenance"]} >= {"name", "tone", "language", "preferred_channel"}
    assert document["provenance"]["preferred_channel"] == {
        "channel": "web", "how": "said", "purpose": "remember_me", "learned_at": document["provenance"]["preferred_channel"]["learned_at"]
    }
    assert {(i["channel"], i["sender_id"]) for i in document["identities"]} == {*SENDERS, ("slack", "zq-slack-1")}
    assert document["interactions"][0]["satisfaction"] == 4
    assert document["interests"][0]["topic"] == "pricing" and document["interests"][0]["how"] == "observed"
    assert document["content"][0]["item_type"] == "customer_story"
    assert document["advocacy"][0]["detail"] == "shared pricing page"
    assert document["consent"]["current"]["suggestions"] == "granted"
    assert document["tickets"][0]["summary"].endswith("refund")
    assert document["notes"][0]["author_name"] == "Sam"
    assert len(document["link_codes"]) == 1 and "code_hmac" not in document["link_codes"][0]
    assert document["merges"][0]["by"] == "staff:3" and document["merged_person_ids"]


def _tracker_url(store_url: str, tmp_path: Path) -> str:
    """Rasa's tracker store beside the store: a second SQLite file, or the same PostgreSQL database."""
    if store_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    return make_url(store_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _rasa_events(tracker_url: str, rows: list[tuple[str, str]]) -> None:
    """Rasa's own ``events`` table (its SQLTrackerStore schema) holding these (sender_id, text) user events."""
    from rasa.core.tracker_store import SQLTrackerStore

    table = SQLTrackerStore.SQLEvent.__table__
    engine = create_engine(tracker_url, future=True)
    try:
        with engine.begin() as connection:
            table.create(connection, checkfirst=True)
            connection.execute(table.insert(), [
                {"sender_id": sender, "type_name": "user", "timestamp": 1.0 + n, "intent_name": "greet",
                 "data": json.dumps({"event": "user", "text": words})}
                for n, (sender, words) in enumerate(rows)
            ])  # fmt: skip
    finally:
        engine.dispose()


def _rows_mentioning(url: str, needles: list[str]) -> list[tuple[str, str]]:
    """(table, row) for every row of every table in the database that mentions a needle."""
    engine = create_engine(make_url(url).set(drivername=make_url(url).get_backend_name()), future=True)
    found = []
    try:
        with engine.connect() as connection:
            tables = MetaData()
            tables.reflect(connection)
            for table in tables.sorted_tables:
                for row in connection.execute(select(table)):
                    text = json.dumps([str(v) for v in row], default=str)
                    found += [(table.name, text) for n in needles if n in text]
    finally:
        engine.dispose()
    return found


async def test_after_erasure_no_table_mentions_the_person(store: RelationshipStore, store_url: str, tmp_path: Path) -> None:
    person_id = await _everything(store)
    keep = await store.resolve_person("web", "bystander")
    tracker_url = _tracker_url(store_url, tmp_path)
    _rasa_events(tracker_url, [(SENDERS[0][1], f"you can call me {NAME}"), (SENDERS[1][1], "hi"), ("bystander", "hello")])
    from bot.handoff.outbox import Outbox

    await Outbox(store.database, rasa=None).put(SENDERS[1][1], "events", [{"event": "bot", "text": f"Hi {NAME}"}])  # type: ignore[arg-type]
    hooked: list[list[str]] = []

    async def hook(ids: list[str]) -> int:
        hooked.append(ids)
        return await erase_tracker_events(tracker_url, ids)

    report = await store.erase_person(person_id, tracker_sender_ids_hook=hook)
    assert set(report.sender_ids) >= set(SENDERS) and report.tracker_events_deleted == 2
    assert sorted(hooked[0]) == sorted({s for _, s in report.sender_ids})
    needles = [NAME, *(s for _, s in SENDERS), "zq-slack-1"]
    # Every table of the database (the console's outbox and staff tables too) and Rasa's events.
    assert _rows_mentioning(store_url, needles) == []
    assert _rows_mentioning(tracker_url, needles) == []
    assert "events" in {t for t, _ in _rows_mentioning(tracker_url, ["bystander"])}  # the others' stay
    assert (await store.get_person(keep.id)).id == keep.id
    try:
        await store.get_person(person_id)
    except PersonNotFound:
        pass
    else:
        raise AssertionError("erased person still found")


def test_tracker_events_of_erased_conversations_are_deleted(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)")
        db.executemany("INSERT INTO events (sender_id, type_name, data) VALUES (?, 'user', '{}')", [("a",), ("a",), ("b",), ("c",)])
    assert asyncio.run(erase_tracker_events(f"sqlite:///{path}", ["a", "b"])) == 3
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT sender_id FROM events").fetchall() == [("c",)]
    assert asyncio.run(erase_tracker_events(f"sqlite:///{tmp_path / 'none.db'}", ["a"])) == 0


# redaction ---------------------------------------------------------------------------------------
from bot.redaction import redact  # noqa: E402

filler = st.text(alphabet=st.sampled_from("abcdefghij XYZ,.!?'"), max_size=30)
phones = st.builds(
    lambda cc, a, b, c, fmt: fmt.format(cc=cc, a=a, b=b, c=c),
    st.sampled_from(["+44", "+1", "0044", ""]),
    st.from_regex(r"\A\d{3}\Z"),
    st.from_regex(r"\A\d{3}\Z"),
    st.from_regex(r"\A\d{4}\Z"),
    st.sampled_from(["{cc} {a} {b} {c}", "{cc}({a}) {b}-{c}", "{cc}{a}.{b}.{c}", "{cc}{a}{b}{c}", "{cc} {a}-{b}-{c}"]),
)


def _luhn_complete(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits + "0")):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


cards = st.builds(
    lambda body, sep: sep.join(body[i : i + 4] for i in range(0, 16, 4)),
    st.from_regex(r"\A4\d{14}\Z").map(_luhn_complete),
    st.sampled_from([" ", "-", ""]),
)


@settings(max_examples=40, deadline=None)
@given(filler, st.one_of(st.emails(), phones, cards), filler)
def test_emails_phones_and_cards_never_survive_redaction(before: str, secret: str, after: str) -> None:
    out = redact(f"{before} {secret} {after}")
    assert secret not in out
    digits = "".join(c for c in secret if c.isdigit())
    if len(digits) >= 7:
        assert digits not in "".join(c for c in out if c.isdigit())
    if "@" in secret:
        assert "@" not in out


def test_street_addresses_are_redacted_and_plain_text_is_kept() -> None:
    assert redact("send it to 221B Baker Street, NW1 6XE please") == "send it to [address] please"
    assert redact("I live at 10 downing st") == "I live at [address]"
    assert redact("I have 3 cats and 2 dogs, since 2019") == "I have 3 cats and 2 dogs, since 2019"


async def _outbox_rows(store: RelationshipStore, sender_ids: list[str]) -> list:
    from bot.handoff.outbox import outbox_table

    statement = select(outbox_table).where(outbox_table.c.sender_id.in_(sender_ids)).order_by(outbox_table.c.id)
    return await store.database.run(lambda connection: list(connection.execute(statement)), write=False)


async def test_erasure_deletes_staff_replies_waiting_or_delivered_to_their_conversations(store: RelationshipStore) -> None:
    from bot.handoff.outbox import Outbox

    person_id = await _everything(store)
    bystander = f"bystander-{person_id}-{id(store)}"
    outbox = Outbox(store.database, rasa=None)  # type: ignore[arg-type] - nothing is delivered here
    reply = [{"event": "bot", "text": f"Hello {NAME}, your refund is on its way"}]
    delivered = await outbox.put(SENDERS[0][1], "events", reply)
    await outbox.put(SENDERS[1][1], "events", reply)  # still waiting (Rasa down, say)
    await outbox.put(bystander, "execute", {"name": "action_listen"})
    await outbox._mark(delivered, delivered=True)

    report = await store.erase_person(person_id)
    assert report.deleted["handoff_outbox"] == 2
    assert await _outbox_rows(store, [s for _, s in SENDERS]) == []
    assert await outbox.pending(SENDERS[1][1]) == []  # nothing left to write the conversation back
    assert [r.sender_id for r in await _outbox_rows(store, [bystander])] == [bystander]
    await outbox.purge_delivered()  # (tidy: the bystander's row is waiting, so it stays)
    assert len(await _outbox_rows(store, [bystander])) == 1


async def test_delivered_staff_replies_are_deleted_after_the_retention_time(store: RelationshipStore) -> None:
    from datetime import timedelta

    from bot.handoff import outbox as outbox_module
    from bot.store.validation import utcnow

    outbox = outbox_module.Outbox(store.database, rasa=None)  # type: ignore[arg-type]
    tag = f"retention-{id(store)}"
    ids = {n: await outbox.put(f"{tag}-{n}", "events", []) for n in ("old", "recent", "waiting")}
    for name in ("old", "recent"):
        await outbox._mark(ids[name], delivered=True)
    # the "old" call was delivered longer ago than the retention time
    backdate = outbox_module.outbox_table.update().where(outbox_module.outbox_table.c.id == ids["old"]).values(
        delivered_at=utcnow() - outbox_module.KEEP_DELIVERED - timedelta(minutes=1))
    await store.database.run(lambda connection: connection.execute(backdate))
    assert await outbox.purge_delivered() >= 1
    left = {r.sender_id for r in await _outbox_rows(store, [f"{tag}-{n}" for n in ("old", "recent", "waiting")])}
    assert left == {f"{tag}-recent", f"{tag}-waiting"}
    later = utcnow() + outbox_module.KEEP_DELIVERED + timedelta(minutes=1)
    await outbox.purge_delivered(older_than=later)
    left = {r.sender_id for r in await _outbox_rows(store, [f"{tag}-{n}" for n in ("old", "recent", "waiting")])}
    assert left == {f"{tag}-waiting"}  # a call never delivered is never purged

