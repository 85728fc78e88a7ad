"""Every place Rapport keeps personal data, declared once: what it holds, why, how long, and whether
the person's export shows it and "forget me" erases it.

The privacy promises ("nothing stored that you could not see when you ask what we know about
you", "nothing left after you are forgotten") are only as good as the list of places they cover.
This inventory is that list. Tests hold the code to it: every column of every table in
:data:`bot.store.models.metadata` must have an entry (a new table or column fails the suite until
it is declared), every place marked erased is checked empty after an erasure, every place marked
exported is checked present in the export, and the README's privacy table is rendered from here.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Consent purposes and other grounds an entry can rest on, in the words the README uses.
GROUNDS = {
    "remember_me": "the person lets us remember them (they can stop: \"stop remembering me\")",
    "suggestions": "the person accepts suggestions (\"no more suggestions\" withdraws it)",
    "service": "needed to answer and to hand over to a person while the conversation lasts",
    "staff": "written by staff while helping the person",
    "security": "protects the person's account or the service",
    "none": "holds no personal data",
}


@dataclass(frozen=True)
class Place:
    """One column (``table.column``) or other place (``events`` table of Rasa, a log, a file in var/)."""

    where: str
    holds: str
    ground: str
    kept: str
    exported: bool
    erased: bool

    @property
    def personal(self) -> bool:
        return self.ground != "none"

    @property
    def table(self) -> str | None:
        """The table this entry is (``"tickets"``) or is a column of (``"tickets.summary"``); None for other places."""
        if " " in self.where or "/" in self.where:
            return None
        return self.where.split(".", 1)[0]

    @property
    def whole_table(self) -> bool:
        return self.table is not None and "." not in self.where


def _cols(table: str, ground: str, kept: str, exported: bool, erased: bool, **columns: str) -> list[Place]:
    return [Place(f"{table}.{name}", holds, ground, kept, exported, erased) for name, holds in columns.items()]


_UNTIL_FORGET = "until \"forget me\""
_RETENTION = "until `rapport retention purge` or \"forget me\""

PLACES: list[Place] = [
    *_cols("persons", "remember_me", _UNTIL_FORGET, True, True,
           id="the person's number", name="the name they gave", tone="brief or friendly, as they chose",
           language="their language", preferred_channel="the channel they prefer",
           remembering="whether they let us remember them", created_at="when we first met",
           last_seen_at="when they last wrote", merged_into_id="the person they were merged into"),
    *_cols("identities", "service", _UNTIL_FORGET, True, True,
           id="row number", person_id="whose", channel="the channel (web chat, Telegram, ...)",
           sender_id="their id on that channel (a phone number on SMS)", verified_by="how the link was proven",
           verified_at="when", created_at="when first seen"),
    *_cols("fact_provenance", "remember_me", _UNTIL_FORGET, True, True,
           id="row number", person_id="whose", fact="which fact (name, tone, ...)", channel="where they told us",
           how="said, observed or entered by staff", purpose="the consent it rests on", learned_at="when"),
    *_cols("interactions", "remember_me", _RETENTION, True, True,
           id="row number", person_id="whose", channel="the channel", at="when",
           intent="what they asked about, as a topic of the shop", topics="topics they raised",
           content_item="content they were shown", content_type="its kind", outcome="answered, handed over, ...",
           satisfaction="their rating", text="their words, redacted, only if a caller stores them while remembering"),
    *_cols("interests", "remember_me", _UNTIL_FORGET, True, True,
           id="row number", person_id="whose", topic="a topic they raised", weight="how strongly (halves every 30 days)",
           mentions="how often", last_mentioned_at="when last", channel="where", how="said or observed",
           purpose="the consent it rests on"),
    *_cols("content_engagement", "suggestions", _UNTIL_FORGET, True, True,
           id="row number", person_id="whose", item_id="the article, video or story", item_type="its kind",
           count="how often shown", first_at="first shown", last_at="last shown", channel="where"),
    *_cols("advocacy", "remember_me", _UNTIL_FORGET, True, True,
           id="row number", person_id="whose", kind="shared a link, recommended us, referred someone", at="when",
           channel="where", how="said or observed", purpose="the consent it rests on", detail="what they shared"),
    *_cols("consent_events", "remember_me", _UNTIL_FORGET, True, True,
           id="row number", person_id="whose", purpose="which consent", state="granted, withdrawn or to ask again",
           at="when", channel="where", how="said or observed", merge_id="the merge that changed it"),
    *_cols("tickets", "service", _UNTIL_FORGET, True, True,
           id="ticket number", person_id="whose", channel="where they asked", sender_id="their id there",
           status="waiting, claimed, closed", team="which team", summary="what the bot knew (never their words)",
           assigned_staff_id="who helped", created_at="when asked", claimed_at="when a person joined",
           closed_at="when closed", satisfaction="their rating of the help"),
    *_cols("staff_notes", "staff", _UNTIL_FORGET, True, True,
           id="note number", person_id="about whom", ticket_id="which ticket", author_id="which staff member",
           author_name="their name", text="the note", created_at="when"),
    *_cols("link_codes", "security", "10 minutes, then until \"forget me\"", True, True,
           id="row number", person_id="whose", code_hmac="a keyed hash of the code (never the code; not exported)",
           created_at="when made", expires_at="when it stops working", used_at="when used",
           failed_attempts="wrong tries", invalidated_at="when cancelled"),
    *_cols("link_code_failures", "security", "attempt window, then until \"forget me\"", False, True,
           id="row number", channel="the channel a wrong code came from", sender_id="the id it came from",
           at="when"),
    *_cols("merge_log", "remember_me", _UNTIL_FORGET, True, True,
           id="row number", into_id="the person kept", from_id="the person merged in", by="who merged",
           at="when", undone_at="when undone", data="a copy of the merged person, to undo the merge"),
    *_cols("turn_recorder", "none", "always", False, False,
           name="which recorder", last_event_id="how far it has read", holder="which action server holds the lease",
           lease_until="until when", skipped="how many events it had to pass over",
           last_skipped_event_id="the last one"),
    Place("events (Rasa's tracker store)", "the conversation: messages, bot answers, slots", "service",
          "while remembering; deleted by \"forget me\"; kept only in memory after \"stop remembering me\"",
          False, True),
    Place("handoff_outbox", "staff replies waiting for, or delivered to, the person's conversation", "staff",
          "7 days after delivery, or until \"forget me\"", False, True),
    Place("staff", "staff accounts: email, name, role, argon2id password hash, picture", "security",
          "until the account is removed", False, False),
    Place("api_tokens", "staff API tokens, as SHA-256 digests only", "security", "until revoked", False, False),
    Place("console_sessions", "staff console sessions, as SHA-256 digests, with their CSRF token", "security",
          "until they expire (12 hours by default)", False, False),
    Place("login_attempts", "failed staff logins: the email tried and the address", "security", "15 minutes",
          False, False),
    Place("var/logs/*.log", "operations only: conversations named by a keyed pseudonym, never ids, names or words",
          "none", "until the operator rotates them", False, False),
]


#: Where each exported table appears in the export document (``export_person``).
EXPORT_SECTIONS = {
    "persons": "person", "identities": "identities", "fact_provenance": "provenance", "interactions": "interactions",
    "interests": "interests", "content_engagement": "content", "advocacy": "advocacy", "consent_events": "consent",
    "tickets": "tickets", "staff_notes": "notes", "link_codes": "link_codes", "merge_log": "merges",
}


def find(where: str) -> Place | None:
    return next((place for place in PLACES if place.where == where), None)


def by_table() -> dict[str, list[Place]]:
    """The entries that are tables or their columns, by table, in declaration order."""
    tables: dict[str, list[Place]] = {}
    for place in PLACES:
        if place.table is not None:
            tables.setdefault(place.table, []).append(place)
    return tables


def covers(table: str, column: str) -> bool:
    """True when the inventory declares this column, or its whole table."""
    return find(table) is not None or find(f"{table}.{column}") is not None


def _row(where: str, holds: str, first: Place) -> str:
    because = GROUNDS[first.ground].split(" (")[0]
    return (f"| {where} | {holds} | {because} | {first.kept} | {'yes' if first.exported else 'no'} | "
            f"{'yes' if first.erased else 'no'} |")


def markdown_table() -> str:
    """The README's table: one row per table or other place, with what it holds and what happens to it."""
    rows = ["| where | holds | because | kept | in the export | erased by \"forget me\" |",
            "| --- | --- | --- | --- | --- | --- |"]
    for table, places in by_table().items():
        personal = [p.holds for p in places if p.personal and not p.holds.startswith(("row number", "whose"))]
        holds = "; ".join(personal[:5]) + ("; …" if len(personal) > 5 else "") if personal else "no personal data"
        rows.append(_row(f"`{table}`", holds, places[0]))
    for place in PLACES:
        if place.table is None:
            rows.append(_row(place.where, place.holds, place))
    return "\n".join(rows)
