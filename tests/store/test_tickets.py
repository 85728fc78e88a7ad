from __future__ import annotations

import asyncio

import pytest

from bot.store import InvalidInput, PersonNotFound, RelationshipStore, TicketConflict, TicketNotFound


async def _ticket(store: RelationshipStore, sender: str = "s1"):
    person = await store.resolve_person("web", sender)
    return person, await store.create_ticket(person_id=person.id, channel="web", sender_id=sender, team="support", summary="needs help")


async def test_a_conversation_has_at_most_one_open_ticket(store: RelationshipStore) -> None:
    person, first = await _ticket(store)
    again = await store.create_ticket(person_id=person.id, channel="web", sender_id="s1", team="sales", summary="again")
    assert again.id == first.id and again.status == "waiting"
    assert (await store.open_ticket_for("web", "s1")).id == first.id  # type: ignore[union-attr]
    await store.close_ticket(first.id)
    assert await store.open_ticket_for("web", "s1") is None
    third = await store.create_ticket(person_id=person.id, channel="web", sender_id="s1", team="support", summary="new")
    assert third.id != first.id


async def test_two_concurrent_claims_have_exactly_one_winner(store: RelationshipStore) -> None:
    _, ticket = await _ticket(store)
    results = await asyncio.gather(store.claim_ticket(ticket.id, 1), store.claim_ticket(ticket.id, 2), return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, TicketConflict)]
    assert len(winners) == 1 and len(losers) == 1
    assert (await store.get_ticket(ticket.id)).assigned_staff_id == winners[0].assigned_staff_id


async def test_ticket_lifecycle_transfer_close_rate_and_notes(store: RelationshipStore) -> None:
    person, ticket = await _ticket(store)
    claimed = await store.claim_ticket(ticket.id, 3)
    assert claimed.status == "claimed" and claimed.claimed_at is not None
    moved = await store.transfer_ticket(ticket.id, team="billing")
    assert (moved.status, moved.team, moved.assigned_staff_id) == ("waiting", "billing", None)
    assert [t.id for t in await store.list_tickets(status="waiting")] == [ticket.id]
    moved = await store.transfer_ticket(ticket.id, staff_id=9)
    assert (moved.status, moved.assigned_staff_id) == ("claimed", 9)
    closed = await store.close_ticket(ticket.id)
    assert closed.status == "closed" and closed.closed_at is not None
    with pytest.raises(TicketConflict):
        await store.claim_ticket(ticket.id, 4)
    assert (await store.rate_ticket(ticket.id, 5)).satisfaction == 5
    note = await store.add_note(person_id=person.id, author_id=9, author_name="Sam Lee", text="prefers email", ticket_id=ticket.id)
    assert [n.id for n in await store.notes(person.id)] == [note.id]
    assert note.author_name == "Sam Lee"


async def test_bad_ticket_input_is_refused(store: RelationshipStore) -> None:
    person, ticket = await _ticket(store)
    with pytest.raises(TicketNotFound):
        await store.get_ticket(99999)
    with pytest.raises(TicketNotFound):
        await store.claim_ticket(99999, 1)
    with pytest.raises(PersonNotFound):
        await store.create_ticket(person_id=99999, channel="web", sender_id="x", team="t", summary="s")
    with pytest.raises(InvalidInput):
        await store.create_ticket(person_id=person.id, channel="web", sender_id="x", team="t", summary="s" * 4001)
    with pytest.raises(InvalidInput):
        await store.add_note(person_id=person.id, author_id=1, author_name="A", text="n" * 8001)
    with pytest.raises(InvalidInput):
        await store.rate_ticket(ticket.id, 0)
    with pytest.raises(InvalidInput):
        await store.transfer_ticket(ticket.id)
    with pytest.raises(InvalidInput):
        await store.list_tickets(status="lost")
