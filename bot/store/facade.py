"""``RelationshipStore``: the one typed async API actions, console and CLI use to reach the store.

Each public method validates its input, then runs one unit of work (one transaction) composed from
the concept modules (``persons``, ``activity``, ``consent``, ``merging``, ``linking``, ``tickets``,
``export``).
"""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Awaitable, Callable

from . import activity, hot_path, linking, merging, persons, tickets
from . import consent as consent_store
from . import export as export_store
from . import validation as check
from .engine import Database
from .migrate import upgrade_on
from .records import (
    TICKET_STATUSES,
    ErasureReport,
    Interaction,
    InteractionRecord,
    Interest,
    LinkCodeError,
    MergeRecord,
    Note,
    Person,
    PersonNotFound,
    Source,
    Ticket,
)

TrackerHook = Callable[[list[str]], "Awaitable[int] | int"]


class RelationshipStore:
    """Persons, their identities and everything we remember about them, on SQLite or PostgreSQL."""

    def __init__(self, database: Database, link_code_secret: str) -> None:
        self._db = database
        self._secret = link_code_secret

    @classmethod
    async def open(
        cls, url: str | None = None, *, migrate: bool = True, link_code_secret: str | None = None
    ) -> RelationshipStore:
        """Connect (default: ``settings.database_url``) and bring the schema to the latest migration."""
        if url is None or link_code_secret is None:
            from bot import settings

            loaded = settings.load()
            url = url or loaded.database_url
            link_code_secret = link_code_secret or loaded.link_code_secret
        database = Database.connect(url)
        if migrate:
            try:
                await upgrade_on(database.engine)
            except BaseException:
                await database.dispose()
                raise
        return cls(database, link_code_secret)

    async def close(self) -> None:
        await self._db.dispose()

    @property
    def database(self) -> Database:
        return self._db

    # persons ----------------------------------------------------------------------------------
    async def resolve_person(self, channel: str, sender_id: str, *, create: bool = True) -> Person:
        """The person behind (channel, sender_id), created on first contact; touches last_seen_at."""
        channel, sender_id = check.channel(channel), check.sender_id(sender_id)
        return await persons.resolve(self._db, channel, sender_id, create=create, now=check.utcnow())

    async def find_person(self, channel: str, sender_id: str) -> Person | None:
        channel, sender_id = check.channel(channel), check.sender_id(sender_id)
        async with self._db.read() as session:
            return await persons.find(session, channel, sender_id)

    async def get_person(self, person_id: int) -> Person:
        person_id = _person_id(person_id)
        async with self._db.read() as session:
            return await persons.load(session, self._db, person_id)

    async def update_preferences(
        self,
        person_id: int,
        *,
        source: Source,
        name: str | None = None,
        tone: str | None = None,
        language: str | None = None,
        preferred_channel: str | None = None,
    ) -> Person:
        person_id, source = _person_id(person_id), check.source(source)
        changes = persons.check_preferences(name, tone, language, preferred_channel)
        async with self._db.write() as session:
            return await persons.update_preferences(session, self._db, person_id, source, changes)

    # interactions and interests ---------------------------------------------------------------
    async def record_interaction(self, person_id: int, record: InteractionRecord) -> None:
        """Remember one turn (and bump interests / content); nothing at all when not remembering."""
        person_id, record = _person_id(person_id), check.interaction(record)
        async with self._db.write() as session:
            row = await persons.live_row(session, self._db, person_id, lock="share")
            await session.run_sync(activity.record, row, record)

    async def resolve_and_record(self, channel: str, sender_id: str, record: InteractionRecord) -> Person:
        """The hot path of every turn: resolve-or-create and remember, in one transaction."""
        channel, sender_id, record = check.channel(channel), check.sender_id(sender_id), check.interaction(record)
        return await hot_path.resolve_and_record(self._db, channel, sender_id, record, check.utcnow())

    async def interests(self, person_id: int, limit: int = 10) -> list[Interest]:
        person_id, limit = _person_id(person_id), _limit(limit)
        async with self._db.read() as session:
            row = await persons.live_row(session, self._db, person_id)
            return await activity.top_interests(session, row.id, limit, check.utcnow())

    async def curation_facts(self, person_id: int, limit: int = 10) -> tuple[dict[str, str], list[Interest], set[str]]:
        """What a suggestion needs, in one read: consents, top interests and content already seen."""
        person_id, limit = _person_id(person_id), _limit(limit)
        async with self._db.read() as session:
            row = await persons.live_row(session, self._db, person_id)
            return (
                await consent_store.consents(session, row.id),
                await activity.top_interests(session, row.id, limit, check.utcnow()),
                await activity.seen_content(session, row.id),
            )

    async def seen_content(self, person_id: int) -> set[str]:
        async with self._db.read() as session:
            row = await persons.live_row(session, self._db, _person_id(person_id))
            return await activity.seen_content(session, row.id)

    async def interaction_history(self, person_id: int, limit: int = 50) -> list[Interaction]:
        person_id, limit = _person_id(person_id), _limit(limit)
        async with self._db.read() as session:
            row = await persons.live_row(session, self._db, person_id)
            return await activity.history(session, row.id, limit)

    async def record_advocacy(self, person_id: int, kind: str, *, source: Source, detail: str | None = None) -> None:
        person_id, source, kind = _person_id(person_id), check.source(source), check.advocacy_kind(kind)
        detail = check.optional_text(detail, "detail", check.MAX_DETAIL)
        async with self._db.write() as session:
            row = await persons.live_row(session, self._db, person_id, lock="share")
            await activity.record_advocacy(session, row.id, kind, source, detail)

    async def purge_interactions(self, older_than: timedelta) -> int:
        """Delete interactions older than ``older_than``; returns how many."""
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise check.InvalidInput("older_than must be a non-negative timedelta")
        async with self._db.write() as session:
            removed = await activity.purge(session, older_than, check.utcnow())
        if removed:
            await self._db.truncate_wal()  # the WAL's old pages would keep the purged turns on disk
        return removed

    # consent ----------------------------------------------------------------------------------
    async def set_remembering(self, person_id: int, remembering: bool, *, source: Source) -> Person:
        if not isinstance(remembering, bool):
            raise check.InvalidInput("remembering must be True or False")
        person_id, source = _person_id(person_id), check.source(source)
        async with self._db.write() as session:
            row = await persons.live_row(session, self._db, person_id, lock="share")
            await consent_store.set_consent(session, self._db, row.id, consent_store.REMEMBER_ME, remembering, source)
            return await persons.load(session, self._db, row.id)

    async def set_consent(self, person_id: int, purpose: str, granted: bool, *, source: Source) -> None:
        if not isinstance(granted, bool):
            raise check.InvalidInput("granted must be True or False")
        person_id, purpose, source = _person_id(person_id), check.purpose(purpose), check.source(source)
        async with self._db.write() as session:
            row = await persons.live_row(session, self._db, person_id, lock="share")
            await consent_store.set_consent(session, self._db, row.id, purpose, granted, source)

    async def consents(self, person_id: int) -> dict[str, str]:
        """purpose -> "granted" | "withdrawn" | "conflict"."""
        async with self._db.read() as session:
            row = await persons.live_row(session, self._db, _person_id(person_id))
            return await consent_store.consents(session, row.id)

    # identities, linking, merging -------------------------------------------------------------
    async def link_identity(self, person_id: int, channel: str, sender_id: str, *, verified_by: str) -> Person:
        person_id, channel, sender_id = _person_id(person_id), check.channel(channel), check.sender_id(sender_id)
        verified_by = check.verified_by(verified_by)
        async with self._db.write() as session:
            return await linking.link_identity(session, self._db, person_id, channel, sender_id, verified_by, check.utcnow())

    async def create_link_code(self, person_id: int, *, ttl: timedelta = timedelta(minutes=10)) -> str:
        """Six digits to type on another channel; only their HMAC is stored."""
        person_id = _person_id(person_id)
        if not isinstance(ttl, timedelta) or not timedelta(seconds=1) <= ttl <= timedelta(days=1):
            raise check.InvalidInput("ttl must be a timedelta between 1 second and 1 day")
        async with self._db.write() as session:
            return await linking.create_code(session, self._db, person_id, ttl, check.utcnow(), self._secret)

    async def redeem_link_code(self, code: str, channel: str, sender_id: str) -> Person:
        channel, sender_id = check.channel(channel), check.sender_id(sender_id)
        async with self._db.write() as session:
            outcome = await linking.redeem(session, self._db, code, channel, sender_id, check.utcnow(), self._secret)
        if outcome.failure is not None:  # raised after commit so the failed attempt is counted
            raise LinkCodeError(outcome.failure)
        assert outcome.person_id is not None
        return await self.get_person(outcome.person_id)

    async def merge(self, into_id: int, from_id: int, *, by: str) -> MergeRecord:
        into_id, from_id = _person_id(into_id), _person_id(from_id)
        by = check.text(by, "by", 64)
        if into_id == from_id:
            raise check.InvalidInput("cannot merge a person into themselves")
        async with self._db.write() as session:
            return await merging.merge(session, self._db, into_id, from_id, by, check.utcnow())

    async def undo_merge(self, merge_id: int) -> tuple[Person, Person]:
        merge_id = check.positive_int(merge_id, "merge_id")
        async with self._db.write() as session:
            return await merging.undo(session, self._db, merge_id, check.utcnow())

    # subject access ---------------------------------------------------------------------------
    async def export_person(self, person_id: int) -> dict:
        async with self._db.read() as session:
            return await export_store.export(session, self._db, _person_id(person_id), check.utcnow())

    async def erase_person(self, person_id: int, *, tracker_sender_ids_hook: TrackerHook | None = None) -> ErasureReport:
        """Forget the person; ``tracker_sender_ids_hook(sender_ids)`` then erases their Rasa conversations.

        On SQLite the write-ahead log is emptied after the deleting transaction: its old page images
        are the last copy of the erased rows (the deleted rows themselves are zeroed by secure_delete).
        """
        async with self._db.write() as session:
            report = await export_store.erase(session, self._db, _person_id(person_id))
        await self._db.truncate_wal()
        if tracker_sender_ids_hook is None:
            return report
        result = tracker_sender_ids_hook(sorted({s for _, s in report.sender_ids}))
        if inspect.isawaitable(result):
            result = await result
        return ErasureReport(report.person_id, report.deleted, report.sender_ids, int(result))

    # handoff tickets and notes ----------------------------------------------------------------
    async def create_ticket(self, *, person_id: int, channel: str, sender_id: str, team: str, summary: str) -> Ticket:
        values = dict(
            person_id=_person_id(person_id),
            channel=check.channel(channel),
            sender_id=check.sender_id(sender_id),
            team=check.text(team, "team", check.MAX_TEAM),
            summary=check.text(summary, "summary", check.MAX_SUMMARY, allow_empty=True),
        )
        async with self._db.write() as session:
            return await tickets.create(session, self._db, now=check.utcnow(), **values)

    async def get_ticket(self, ticket_id: int) -> Ticket:
        checked = _ticket_id(ticket_id)
        return await self._db.run(lambda connection: tickets.read(connection, checked), write=False)

    async def open_ticket_for(self, channel: str, sender_id: str) -> Ticket | None:
        channel, sender_id = check.channel(channel), check.sender_id(sender_id)
        async with self._db.read() as session:
            row = await tickets.open_for(session, channel, sender_id)
            return None if row is None else tickets.to_ticket(row)

    async def list_tickets(self, *, status: str | None = None, limit: int = 100) -> list[Ticket]:
        if status is not None:
            check.one_of(status, TICKET_STATUSES, "status")
        async with self._db.read() as session:
            return await tickets.list_(session, status, _limit(limit))

    async def claim_ticket(self, ticket_id: int, staff_id: int) -> Ticket:
        """Exactly one of concurrent claims wins; the others raise ``TicketConflict``."""
        ticket_id, staff_id = _ticket_id(ticket_id), check.positive_int(staff_id, "staff_id")
        async with self._db.write() as session:
            return await tickets.claim(session, ticket_id, staff_id, check.utcnow())

    async def transfer_ticket(self, ticket_id: int, *, staff_id: int | None = None, team: str | None = None) -> Ticket:
        if staff_id is None and team is None:
            raise check.InvalidInput("transfer_ticket needs a staff_id or a team")
        ticket_id = _ticket_id(ticket_id)
        staff_id = None if staff_id is None else check.positive_int(staff_id, "staff_id")
        team = None if team is None else check.text(team, "team", check.MAX_TEAM)
        async with self._db.write() as session:
            return await tickets.transfer(session, self._db, ticket_id, staff_id, team, check.utcnow())

    async def close_ticket(self, ticket_id: int) -> Ticket:
        async with self._db.write() as session:
            return await tickets.close(session, self._db, _ticket_id(ticket_id), check.utcnow())

    async def rate_ticket(self, ticket_id: int, satisfaction: int) -> Ticket:
        ticket_id, satisfaction = _ticket_id(ticket_id), check.satisfaction(satisfaction)
        async with self._db.write() as session:
            return await tickets.rate(session, ticket_id, satisfaction)

    async def add_note(
        self, *, person_id: int, author_id: int, author_name: str, text: str, ticket_id: int | None = None
    ) -> Note:
        values = dict(
            person_id=_person_id(person_id),
            author_id=check.positive_int(author_id, "author_id"),
            author_name=check.name(author_name),
            text=check.text(text, "note text", check.MAX_NOTE),
            ticket_id=None if ticket_id is None else _ticket_id(ticket_id),
        )
        async with self._db.write() as session:
            return await tickets.add_note(session, self._db, now=check.utcnow(), **values)

    async def notes(self, person_id: int) -> list[Note]:
        async with self._db.read() as session:
            row = await persons.live_row(session, self._db, _person_id(person_id))
            return await tickets.notes(session, row.id)


def _person_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise check.InvalidInput(f"person id must be an integer, got {value!r:.40}")
    if value <= 0 or value > 2**31 - 1:
        raise PersonNotFound(f"no person with id {value}")
    return value


def _ticket_id(value: object) -> int:
    from .records import TicketNotFound

    if isinstance(value, bool) or not isinstance(value, int):
        raise check.InvalidInput(f"ticket id must be an integer, got {value!r:.40}")
    if value <= 0 or value > 2**31 - 1:
        raise TicketNotFound(f"no ticket with id {value}")
    return value


def _limit(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise check.InvalidInput("limit must be an integer 1..1000")
    return value
