"""A person with something in every table of the store, for the privacy, inventory and erasure tests."""

from __future__ import annotations

from bot.store import InteractionRecord, RelationshipStore, Source

NAME = "Zelda Quixote"
SENDERS = [("web", "zq-web-7781"), ("telegram", "zq-tg-5512")]


async def everything(store: RelationshipStore) -> int:
    person = await store.resolve_person(*SENDERS[0])
    await store.link_identity(person.id, *SENDERS[1], verified_by="signed_id")
    await store.update_preferences(person.id, source=Source("web"), name=NAME, tone="brief", language="en", preferred_channel="telegram")
    await store.record_interaction(
        person.id,
        InteractionRecord("web", intent="ask", topics=("pricing",), content_item="story-1", content_type="customer_story", satisfaction=4, text=f"I am {NAME}"),
    )
    await store.set_consent(person.id, "suggestions", True, source=Source("web"))
    await store.record_advocacy(person.id, "shared_link", source=Source("telegram"), detail="shared pricing page")
    ticket = await store.create_ticket(person_id=person.id, channel="telegram", sender_id=SENDERS[1][1], team="support", summary=f"{NAME} wants a refund")
    await store.add_note(person_id=person.id, author_id=3, author_name="Sam", text=f"{NAME} is lovely", ticket_id=ticket.id)
    await store.create_link_code(person.id)
    other = await store.resolve_person("slack", "zq-slack-1")
    await store.merge(person.id, other.id, by="staff:3")
    return person.id
