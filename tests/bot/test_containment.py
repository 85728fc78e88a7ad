"""An error inside one tracker-store session fails that turn only; it never ends the Rasa process."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore

from bot.rasa import containment, patching
from tests.support.services import need


@pytest.fixture
def sqlite_store(tmp_path: Path) -> SQLTrackerStore:
    return SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))


@pytest.fixture
def contained():
    containment.uninstall()
    assert containment.install()
    yield
    containment.uninstall()
    containment.install()  # the suite's default, as the tracker store installs it


@pytest.mark.parametrize("error", [
    UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
    ValueError("Expecting value: line 1 column 1 (char 0)"),
])
def test_value_error_inside_a_session_reaches_the_caller_instead_of_exiting(sqlite_store, contained, error):
    with pytest.raises(type(error)):
        with sqlite_store.session_scope():
            raise error


def test_without_the_patch_rasa_exits_on_the_same_error(sqlite_store):
    containment.uninstall()
    try:
        with pytest.raises(SystemExit):
            with sqlite_store.session_scope():
                raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
    finally:
        containment.install()


@pytest.mark.services
def test_a_missing_postgresql_schema_still_stops_the_server(contained, monkeypatch):
    need("PostgreSQL", "127.0.0.1", 5432)
    store = SQLTrackerStore(dialect="postgresql", host="127.0.0.1", port=5432, db="test", username="postgres")
    monkeypatch.setenv("POSTGRESQL_SCHEMA", "no_such_schema_rapport")
    with pytest.raises(SystemExit):
        with store.session_scope():
            pass
    store.engine.dispose()


def test_an_unknown_rasa_version_is_left_unpatched_with_one_warning(sqlite_store, caplog):
    containment.uninstall()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.rasa.patching"):
            assert containment.install(version="3.7.0") is False
        assert [r.getMessage() for r in caplog.records if "3.7.0" in r.getMessage()]
        assert not patching.installed(containment.GROUP)
        with pytest.raises(SystemExit):  # Rasa's own behaviour
            with sqlite_store.session_scope():
                raise ValueError("boom")
    finally:
        containment.install()


def test_replacement_keeps_the_original_and_uninstall_restores_it():
    containment.install()
    patched = vars(SQLTrackerStore)["session_scope"]
    rasas = patched.__wrapped__
    assert patched is not rasas
    containment.uninstall()
    assert vars(SQLTrackerStore)["session_scope"] is rasas
    containment.install()
    assert vars(SQLTrackerStore)["session_scope"] is patched
