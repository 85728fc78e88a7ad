"""When the action server cannot be reached, a session still starts (Rasa's built-in way); other actions still fail."""

from __future__ import annotations

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from bot.rasa import install_patches, patching, session_fallback, uninstall_patches
from tests.support.services import free_port

DOMAIN = Domain.from_yaml("version: '3.1'\nactions: [action_session_start, action_set_tone]\n")


@pytest.fixture
def fallback_only():
    uninstall_patches()  # patches wrap each other: take them all off, then put back only this one
    assert patching.apply("session_fallback", session_fallback.patches())
    yield
    uninstall_patches()


def _unreachable() -> EndpointConfig:
    return EndpointConfig(f"http://127.0.0.1:{free_port()}/webhook")  # nothing listens there


async def _run(name: str) -> list:
    tracker = DialogueStateTracker("fallback-check", DOMAIN.slots)
    return await RemoteAction(name, _unreachable()).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(DOMAIN.responses), tracker, DOMAIN)


async def test_a_session_start_that_cannot_reach_the_action_server_falls_back_to_rasas_own(fallback_only) -> None:
    events = await _run("action_session_start")
    assert isinstance(events[0], SessionStarted)
    assert isinstance(events[-1], ActionExecuted) and events[-1].action_name == "action_listen"


async def test_any_other_action_still_fails_as_rasa_would(fallback_only) -> None:
    with pytest.raises(RasaException):
        await _run("action_set_tone")


async def test_without_the_fallback_the_session_start_fails() -> None:
    uninstall_patches()
    try:
        with pytest.raises(RasaException):
            await _run("action_session_start")
    finally:
        install_patches()
