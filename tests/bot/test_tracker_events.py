"""One description of Rasa's events table: our statements read what Rasa's tracker store writes."""

from __future__ import annotations

import json
from pathlib import Path

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine

from bot import tracker_events


def test_the_description_matches_rasas_own_table() -> None:
    rasa = SQLTrackerStore.SQLEvent.__table__
    assert [c.name for c in tracker_events.events.columns] == [c.name for c in rasa.columns]
    assert [type(c.type) for c in tracker_events.events.columns] == [type(c.type) for c in rasa.columns]


async def test_statements_read_what_rasa_wrote(tmp_path: Path) -> None:
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    tracker = DialogueStateTracker.from_events("c1", [
        ActionExecuted("action_session_start", timestamp=0.5), SessionStarted(timestamp=1.0), ActionExecuted("action_listen", timestamp=1.1),
        UserUttered("hi", timestamp=2.0), BotUttered("Ann: hello", data=tracker_events.staff_marker("Ann"), timestamp=3.0),
        SessionStarted(timestamp=4.0), UserUttered("again", timestamp=5.0),
    ])
    await store.save(tracker)
    engine = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    with engine.connect() as connection:
        everything = [json.loads(d) for d in connection.execute(tracker_events.CONVERSATION, {"sender_id": "c1"}).scalars()]
        latest = [json.loads(d) for d in connection.execute(tracker_events.LATEST_SESSION, {"sender_id": "c1"}).scalars()]
        newest = connection.execute(tracker_events.LATEST_ID).scalar_one()
        tail = list(connection.execute(tracker_events.after(newest - 2, 10)))
        staff = [tracker_events.staff_author(tracker_events.decode(row.data)) for row in tail]
        connection.execute(tracker_events.erase(["c1"]))
        left = connection.execute(tracker_events.LATEST_ID).scalar_one()
    engine.dispose()
    assert [e["event"] for e in everything][-2:] == ["session_started", "user"] and len(everything) == 7
    assert [e["event"] for e in latest] == ["session_started", "user"]
    assert [row.type_name for row in tail] == ["session_started", "user"]
    assert staff == [None, None]
    assert left == 0


def test_staff_author_reads_back_the_marker_and_ignores_anything_else() -> None:
    assert tracker_events.staff_author({"event": "bot", "data": tracker_events.staff_marker("Ann", "/a.png")}) == \
        tracker_events.StaffAuthor("Ann", "/a.png")
    for event in [{"event": "bot", "text": "hi"}, {"event": "user", "data": tracker_events.staff_marker("Ann")},
                  {"event": "bot", "data": {"custom": {"rapport_staff": {"name": 5}}}}, {"event": "bot", "data": "x"}]:
        assert tracker_events.staff_author(event) is None


def test_decode_never_raises_on_a_bad_row() -> None:
    assert tracker_events.decode("not json {") == {} and tracker_events.decode(None) == {}
    assert tracker_events.decode('[1]') == {} and tracker_events.decode('{"event": "user"}') == {"event": "user"}
