"""Defence in depth: text stored before the boundary refused it still renders (as U+FFFD), never a 500 for ever.

The boundary now refuses lone surrogates, but a Rasa tracker or an older SQLite file may already hold
one: Rasa's tracker keeps it as a ``\\ud800`` JSON escape, SQLite as the bytes ED A0 80 (not UTF-8).
"""

from __future__ import annotations

import sqlite3

import pytest

from bot.console.keys import STAFF_DIRECTORY_KEY, STORE_KEY
from tests.console.conftest import add_staff, open_ticket

CESU_SURROGATE = b"\xed\xa0\x80"  # U+D800 written as if it were a character: what SQLite can hold


@pytest.fixture
async def agent(client, fake_rasa):
    await add_staff(client, "ann@example.com")
    return {"Authorization": f"Bearer {await client.app[STAFF_DIRECTORY_KEY].create_token('ann@example.com')}"}


def _store_bytes(settings, table: str, column: str, row_id: int, raw: bytes) -> None:
    """Write ``raw`` into a text column behind the store's back, as an old version could have."""
    with sqlite3.connect(settings.var_dir / "rapport.db") as db:
        db.execute(f"UPDATE {table} SET {column} = CAST(? AS TEXT) WHERE id = ?", (raw, row_id))


async def _all_views(client, ticket_id: int, auth: dict[str, str]) -> dict[str, str]:
    """Every page and API answer that shows the ticket, each 200 and valid UTF-8."""
    shown = {}
    for path in ("/desk", f"/desk/tickets/{ticket_id}", "/api/queue", f"/api/tickets/{ticket_id}",
                 f"/api/tickets/{ticket_id}/transcript", f"/api/tickets/{ticket_id}/notes", f"/api/tickets/{ticket_id}/profile"):  # fmt: skip
        response = await client.get(path, headers=auth)
        assert response.status == 200, (path, response.status)
        shown[path] = (await response.read()).decode("utf-8")  # strict: raises if not UTF-8
        assert "\\ud800" not in shown[path].lower(), path
    return shown


async def test_a_lone_surrogate_in_rasas_transcript_is_shown_as_a_replacement_character(client, agent, fake_rasa):
    ticket = await open_ticket(client)
    fake_rasa.trackers["cust-1"] = [{"event": "user", "text": "hi \ud800 there", "timestamp": 1.0},
                                    {"event": "bot", "text": "\udfff", "timestamp": 2.0}]  # fmt: skip
    shown = await _all_views(client, ticket.id, agent)
    assert "hi \ufffd there" in shown[f"/desk/tickets/{ticket.id}"]
    assert "hi \ufffd there" in shown[f"/api/tickets/{ticket.id}/transcript"]


async def test_invalid_utf8_in_a_stored_note_still_renders(client, agent, console_settings):
    ticket = await open_ticket(client)
    staff = await client.app[STAFF_DIRECTORY_KEY].by_email("ann@example.com")
    note = await client.app[STORE_KEY].add_note(person_id=ticket.person_id, author_id=staff.id, author_name=staff.name,
                                            text="placeholder", ticket_id=ticket.id)  # fmt: skip
    _store_bytes(console_settings, "staff_notes", "text", note.id, b"called " + CESU_SURROGATE + b" back")
    shown = await _all_views(client, ticket.id, agent)
    assert "called \ufffd\ufffd\ufffd back" in shown[f"/desk/tickets/{ticket.id}"]
    assert "called \ufffd\ufffd\ufffd back" in shown[f"/api/tickets/{ticket.id}/notes"]


async def test_invalid_utf8_in_a_stored_ticket_and_name_still_renders(client, agent, console_settings):
    ticket = await open_ticket(client)
    _store_bytes(console_settings, "tickets", "summary", ticket.id, b"wants " + CESU_SURROGATE)
    _store_bytes(console_settings, "persons", "name", ticket.person_id, b"Jo" + CESU_SURROGATE)
    shown = await _all_views(client, ticket.id, agent)
    assert "wants \ufffd" in shown["/desk"] and "wants \ufffd" in shown["/api/queue"]
    assert "Jo\ufffd" in shown[f"/desk/tickets/{ticket.id}"] and "Jo\ufffd" in shown[f"/api/tickets/{ticket.id}/profile"]
