"""Desk operations on handoff tickets, shared by the console's HTML pages and its JSON API.

Queue, claim, reply, transfer, close, notes, canned replies, transcript and profile.  Messages to
the customer go through the durable outbox into Rasa, so they reach the customer's own channel and
the transcript, and survive Rasa being down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from bot import boundary, tracker_events
from bot.handoff.canned import CannedReply
from bot.handoff.events import bot_event, handoff_ended_event, resume_event
from bot.handoff.outbox import Outbox
from bot.rasa_client import RasaClient
from bot.store import Note, RelationshipStore, Ticket, TicketConflict
from bot.store.validation import utcnow

MAX_REPLY = 4000
MAX_NOTE = 8000
MAX_TEAM = 64
# The closing action_listen lets the customer's next message start a normal turn: without it
# Rasa's rules (which expect a listen before each message) would not match and the bot would
# answer "sorry, I didn't get that".
HANDBACK_ACTIONS = ("utter_handoff_back", "utter_ask_rating", "action_listen")

ChangeListener = Callable[[str, Ticket], None]


class DeskMember(Protocol):
    """A staff member as the desk sees them (``bot.staff.StaffMember`` is one)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def uses_desk(self) -> bool: ...
    @property
    def avatar_url(self) -> str | None: ...


class StaffRoster(Protocol):
    """Who works at the desk (``bot.staff.StaffDirectory`` is one; the console passes it in)."""

    async def list(self) -> Sequence[DeskMember]: ...

    async def get(self, staff_id: int) -> DeskMember:
        """The member with this id; raises ``LookupError`` when there is none."""
        ...


class DeskInputError(boundary.BadInput):
    """Staff input the desk refuses (empty, too long, wrong type); the message says which, ``status`` the 4xx."""


class NotTicketHolder(Exception):
    """Only the staff member holding the ticket (or an admin) may do this."""


@dataclass(frozen=True)
class QueueEntry:
    ticket: Ticket
    wait_seconds: float
    assigned_name: str | None


@dataclass(frozen=True)
class TranscriptLine:
    """One message of the conversation; ``who`` is "customer", "bot" or "staff"."""

    who: str
    text: str
    at: datetime
    staff_name: str | None = None


@dataclass(frozen=True)
class PastTicket:
    id: int
    status: str
    team: str
    created_at: str
    closed_at: str | None
    satisfaction: int | None


@dataclass(frozen=True)
class Profile:
    """What staff see beside the transcript: only what the customer told us or did with us."""

    person_id: int
    name: str | None
    tone: str
    channels: tuple[tuple[str, str], ...]
    topics: tuple[str, ...]
    tickets: tuple[PastTicket, ...]
    notes: tuple[Note, ...]


def check_text(value: object, what: str, limit: int) -> str:
    """Text staff wrote (:func:`bot.boundary.check_text`: valid Unicode, bounded, control characters
    removed), stripped, and with something visible in it."""
    text = boundary.check_text(value, what, max_chars=limit).strip()
    if boundary.is_blank(text):
        raise DeskInputError(f"'{what}' must not be empty")
    return text


def check_team(value: object) -> str:
    """A team's name: text (not a number) that is an identifier (:func:`bot.boundary.check_identifier`)."""
    if not isinstance(value, str):
        raise DeskInputError("'team' must be a string")
    return boundary.check_identifier(value, "team", max_chars=MAX_TEAM).strip()


def check_id(value: object, what: str) -> int:
    """A row id from a path or a body: a whole number 1..2**31-1, or ASCII digits that spell one."""
    if isinstance(value, bool):
        raise DeskInputError(f"{what} must be a positive integer")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        raise DeskInputError(f"{what} must be a positive integer")
    return value


def _absent(value: object) -> bool:
    """A field left out (JSON null, or an empty form field)."""
    return value is None or value == ""


def transcript_from_events(events: list[dict[str, Any]]) -> list[TranscriptLine]:
    """User and bot messages of a Rasa tracker, oldest first; staff messages carry the staff name."""
    lines = []
    for event in events:
        kind, text = event.get("event"), event.get("text")
        if kind not in ("user", "bot") or not isinstance(text, str) or not text:
            continue
        at = datetime.fromtimestamp(float(event.get("timestamp") or 0), tz=timezone.utc)
        staff = tracker_events.staff_author(event) if kind == "bot" else None
        if staff is not None:
            lines.append(TranscriptLine("staff", text, at, staff.name))
        else:
            lines.append(TranscriptLine("customer" if kind == "user" else "bot", text, at))
    return lines


def profile_from_export(document: dict[str, Any]) -> Profile:
    person = document["person"]
    interests = sorted(document.get("interests", []), key=lambda i: -float(i.get("strength", 0)))
    return Profile(
        person_id=int(person["id"]),
        name=person.get("name"),
        tone=str(person.get("tone")),
        channels=tuple((i["channel"], i["sender_id"]) for i in document.get("identities", [])),
        topics=tuple(str(i["topic"]) for i in interests[:10]),
        tickets=tuple(
            PastTicket(t["id"], t["status"], t["team"], str(t["created_at"]), t.get("closed_at"), t.get("satisfaction"))
            for t in document.get("tickets", [])
        ),
        notes=tuple(
            Note(n["id"], int(person["id"]), n.get("ticket_id"), n["author_id"], n["author_name"], n["text"],
                 n["created_at"])  # fmt: skip
            for n in document.get("notes", [])
        ),
    )


class Desk:
    """One implementation of every desk operation; callers pass the acting staff member."""

    def __init__(
        self,
        store: RelationshipStore,
        staff: StaffRoster,
        outbox: Outbox,
        rasa: RasaClient,
        canned: tuple[CannedReply, ...] = (),
    ) -> None:
        self._store = store
        self._staff = staff
        self._outbox = outbox
        self._rasa = rasa
        self.canned = canned
        self._listeners: list[ChangeListener] = []

    def on_change(self, listener: ChangeListener) -> None:
        """Call ``listener(what, ticket)`` after every change to a ticket (for the live queue)."""
        self._listeners.append(listener)

    def _changed(self, what: str, ticket: Ticket) -> None:
        for listener in self._listeners:
            listener(what, ticket)

    async def queue(self) -> list[QueueEntry]:
        """Waiting and claimed tickets, oldest first, with how long each customer has waited."""
        tickets = await self._store.list_tickets(status="waiting") + await self._store.list_tickets(status="claimed")
        names = {member.id: member.name for member in await self._staff.list()}
        now = utcnow()
        entries = [
            QueueEntry(t, max(0.0, (now - t.created_at).total_seconds()), names.get(t.assigned_staff_id or 0))
            for t in tickets
        ]
        return sorted(entries, key=lambda e: (e.ticket.status != "waiting", e.ticket.created_at, e.ticket.id))

    async def ticket(self, ticket_id: object) -> Ticket:
        return await self._store.get_ticket(check_id(ticket_id, "ticket id"))

    async def claim(self, ticket_id: object, staff: DeskMember) -> Ticket:
        """Atomic: of concurrent claims exactly one wins, the others raise ``TicketConflict``."""
        ticket = await self._store.claim_ticket(check_id(ticket_id, "ticket id"), staff.id)
        await self._say(ticket, staff, f"{staff.first_name} from our team has joined.", signed=False)
        self._changed("claimed", ticket)
        return ticket

    async def reply(self, ticket_id: object, staff: DeskMember, text: object) -> bool:
        """Send a reply into the customer's channel; False when it waits in the outbox for Rasa."""
        body = check_text(text, "text", MAX_REPLY)
        ticket = self._require_holder(await self.ticket(ticket_id), staff)
        return await self._say(ticket, staff, body)

    async def transfer(
        self, ticket_id: object, staff: DeskMember, *, to_staff_id: object = None, team: object = None
    ) -> Ticket:
        """To another desk member (they hold it now) or to a team's queue (waiting again)."""
        target_id = None if _absent(to_staff_id) else check_id(to_staff_id, "staff_id")
        team_name = None if _absent(team) else check_team(team)
        if target_id is None and team_name is None:
            raise DeskInputError("transfer needs a staff_id or a team")
        ticket = await self.ticket(ticket_id)
        if ticket.status == "claimed":
            self._require_holder(ticket, staff)
        target = None
        if target_id is not None:
            try:
                target = await self._staff.get(target_id)
            except LookupError as exc:
                raise DeskInputError("no such staff member") from exc
            if not target.enabled or not target.uses_desk:
                raise DeskInputError(f"{target.name} cannot take desk conversations")
        moved = await self._store.transfer_ticket(ticket.id, staff_id=target.id if target else None, team=team_name)
        if target is not None and target.id != ticket.assigned_staff_id:
            await self._say(moved, target, f"{target.first_name} from our team has joined.", signed=False)
        self._changed("transferred", moved)
        return moved

    async def close(self, ticket_id: object, staff: DeskMember) -> Ticket:
        """Hand the conversation back to the bot, which says so and asks for a rating."""
        ticket = self._require_holder(await self.ticket(ticket_id), staff)
        await self._outbox.put(ticket.sender_id, "events", [resume_event(), handoff_ended_event()])
        for action in HANDBACK_ACTIONS:
            await self._outbox.put(ticket.sender_id, "execute", {"name": action})
        closed = await self._store.close_ticket(ticket.id)
        await self._outbox.deliver(ticket.sender_id)
        self._changed("closed", closed)
        return closed

    async def add_note(self, ticket_id: object, staff: DeskMember, text: object) -> Note:
        """A private note on the person, never shown to the customer."""
        body = check_text(text, "text", MAX_NOTE)
        ticket = await self.ticket(ticket_id)
        return await self._store.add_note(
            person_id=ticket.person_id, author_id=staff.id, author_name=staff.name, text=body, ticket_id=ticket.id
        )

    async def notes(self, ticket_id: object) -> list[Note]:
        ticket = await self.ticket(ticket_id)
        return await self._store.notes(ticket.person_id)

    async def transcript(self, ticket_id: object) -> list[TranscriptLine]:
        """From Rasa's tracker; raises ``RasaUnavailable`` when Rasa cannot be reached."""
        ticket = await self.ticket(ticket_id)
        tracker = await self._rasa.tracker(ticket.sender_id)
        return transcript_from_events(list(tracker.get("events") or []))

    async def profile(self, ticket_id: object) -> Profile:
        ticket = await self.ticket(ticket_id)
        return profile_from_export(await self._store.export_person(ticket.person_id))

    def _require_holder(self, ticket: Ticket, staff: DeskMember) -> Ticket:
        if ticket.status != "claimed":
            raise TicketConflict(f"ticket {ticket.id} is {ticket.status}; claim it first")
        if ticket.assigned_staff_id != staff.id and staff.role != "admin":
            raise NotTicketHolder(f"ticket {ticket.id} is held by someone else")
        return ticket

    async def _say(self, ticket: Ticket, staff: DeskMember, text: str, *, signed: bool = True) -> bool:
        line = f"{staff.first_name}: {text}" if signed else text
        await self._outbox.put(ticket.sender_id, "events", [bot_event(line, name=staff.first_name, avatar=staff.avatar_url)])
        return await self._outbox.deliver(ticket.sender_id)
