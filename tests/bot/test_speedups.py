"""The compiled action-response check accepts and refuses exactly what Rasa's own check does."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import speedups

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "tone", "value": "brief"}], "responses": [{"text": "hi"}]},
    {"events": [{"event": "action", "name": "action_listen"}, {"event": "session_started"}]},
    {},
]
BAD = [
    {"events": "not a list"},
    {"events": [{"event": "slot"}]},  # a slot event needs a name
    {"events": [{"event": "no_such_event"}]},
    {"responses": "hello"},
    {"events": [{"event": "slot", "name": 3, "value": 1}]},
]


def _rasa_verdict(result: dict) -> bool:
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
        return True
    except jsonschema.ValidationError:
        return False


@pytest.mark.parametrize("result", GOOD + BAD)
def test_same_verdict_as_rasa(result: dict) -> None:
    action = RemoteAction("action_x", None)
    expected = _rasa_verdict(result)
    if expected:
        assert speedups.validate_action_result(action, result) is True
    else:
        with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
            speedups.validate_action_result(action, result)


def test_bad_results_are_really_bad() -> None:
    assert all(_rasa_verdict(r) for r in GOOD)
    assert not any(_rasa_verdict(r) for r in BAD)


def test_install_replaces_rasa_check() -> None:
    speedups.install()
    assert RemoteAction._validate_action_result is speedups.validate_action_result
    with pytest.raises(jsonschema.ValidationError):
        RemoteAction("action_x", None)._validate_action_result({"events": 5})


def test_event_lookup_matches_rasa_for_every_event_type() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "bot", "slot", "action", "session_started"} <= names
    for name in names:
        assert speedups.resolve_by_type(name) is speedups._original_resolve_by_type(name)


def test_event_lookup_keeps_rasa_answers_for_unknown_names() -> None:
    from rasa.shared.core.events import SlotSet

    assert speedups.resolve_by_type("topic") is None
    assert speedups.resolve_by_type("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        speedups.resolve_by_type("no_such_event")


def test_installed_event_lookup_still_deserialises_trackers() -> None:
    from rasa.shared.core.events import Event, SlotSet, UserUttered

    speedups.install()
    events = [Event.from_parameters(e) for e in (
        {"event": "slot", "name": "tone", "value": "brief"},
        {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}},
    )]
    assert isinstance(events[0], SlotSet) and events[0].value == "brief"
    assert isinstance(events[1], UserUttered) and events[1].text == "hi"
