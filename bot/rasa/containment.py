"""No error raised while handling one message may end the Rasa process.

Rasa 3.6's ``SQLTrackerStore.session_scope`` catches *every* ``ValueError`` raised inside it and
calls ``sys.exit``, because it takes it for a missing PostgreSQL schema. ``UnicodeEncodeError`` and
``json.JSONDecodeError`` are ``ValueError``s too: one stored event that cannot be read, or one id
that cannot be encoded, ended the whole server and every web chat connection with it. Here only
the schema check itself may exit, as before; any other error inside a session propagates to the
turn that caused it, which fails alone.
"""

from __future__ import annotations

import contextlib
from typing import Generator

import rasa.shared.utils.cli
from rasa.core import tracker_store
from rasa.core.tracker_store import POSTGRESQL_SCHEMA, SQLTrackerStore
from sqlalchemy.orm import Session

from bot.rasa.patching import Patch, apply, revert

GROUP = "containment"


@contextlib.contextmanager
def _session_scope(self: SQLTrackerStore) -> Generator[Session, None, None]:
    """Rasa's transactional scope, exiting only when the configured schema is missing."""
    session = self.sessionmaker()
    try:
        try:
            tracker_store.ensure_schema_exists(session)
        except ValueError as missing:
            rasa.shared.utils.cli.print_error_and_exit(
                f"Requested PostgreSQL schema '{missing}' was not found in the database. To "
                f"continue, please create the schema by running 'CREATE DATABASE {missing};' "
                f"or unset the '{POSTGRESQL_SCHEMA}' environment variable in order to "
                f"use the default schema. Exiting application."
            )
        yield session
    finally:
        session.close()


def patches() -> list[Patch]:
    return [Patch(SQLTrackerStore, "session_scope", _session_scope, "(self)")]


def install(version: str | None = None) -> bool:
    """Contain errors inside the SQL tracker store's sessions; False when Rasa is not one we know."""
    return apply(GROUP, patches(), version=version)


def uninstall() -> None:
    revert(GROUP)
