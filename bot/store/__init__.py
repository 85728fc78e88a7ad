"""The relationship store: who a person is across channels and what we remember about them."""

from __future__ import annotations

from .facade import RelationshipStore
from .records import (
    ErasureReport,
    Identity,
    Interaction,
    InteractionRecord,
    Interest,
    InvalidInput,
    LinkCodeError,
    MergeError,
    MergeRecord,
    Note,
    Person,
    PersonNotFound,
    Source,
    StoreError,
    Ticket,
    TicketConflict,
    TicketNotFound,
)
from .tracker_erasure import erase_tracker_events

__all__ = [
    "ErasureReport", "Identity", "Interaction", "InteractionRecord", "Interest", "InvalidInput",
    "LinkCodeError", "MergeError", "MergeRecord", "Note", "Person", "PersonNotFound", "RelationshipStore",
    "Source", "StoreError", "Ticket", "TicketConflict", "TicketNotFound", "erase_tracker_events",
]  # fmt: skip
