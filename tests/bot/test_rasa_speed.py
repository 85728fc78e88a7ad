"""The speed patches in the Rasa process decide and answer exactly as Rasa's own code does."""

from __future__ import annotations

import jsonschema
import pytest
import rasa.server
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.shared.utils.schemas.events import EVENTS_SCHEMA

from bot.handoff.events import bot_event, handoff_ended_event, resume_event
from bot.rasa import install_patches, speed

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
        assert speed.validate_action_result(action, result) is True
    else:
        with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
            speed.validate_action_result(action, result)


def test_bad_results_are_really_bad() -> None:
    assert all(_rasa_verdict(r) for r in GOOD)
    assert not any(_rasa_verdict(r) for r in BAD)


def test_install_replaces_rasa_check() -> None:
    install_patches()
    assert RemoteAction._validate_action_result is speed.validate_action_result
    with pytest.raises(jsonschema.ValidationError):
        RemoteAction("action_x", None)._validate_action_result({"events": 5})


GOOD_EVENTS = [
    [bot_event("Ann: how can I help?", name="Ann", avatar=None)],
    [resume_event(), handoff_ended_event()],
    bot_event("one event, not a list", name="Ann", avatar="https://example.com/a.png"),
    [{"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet", "confidence": 1.0}}}],
]
BAD_EVENTS = [
    [{"event": "no_such_event"}],
    [{"text": "no event name"}],
    [{"event": "slot", "name": 3}],
    [{"event": "bot", "text": "x", "timestamp": "late"}],
    "not an event",
]


class _Request:
    """What validate_events_in_request_body reads of Sanic's request."""

    def __init__(self, body: object) -> None:
        self.json = body


def _rasa_error(body: object) -> str | None:
    """The error Rasa's own check (``jsonschema.validate``) reports, or None."""
    try:
        jsonschema.validate(body if isinstance(body, list) else [body], EVENTS_SCHEMA)
        return None
    except jsonschema.ValidationError as error:
        return str(error)


@pytest.mark.parametrize("body", GOOD_EVENTS + BAD_EVENTS)
def test_posted_events_get_the_same_answer_as_from_rasa(body: object) -> None:
    expected = _rasa_error(body)
    if expected is None:
        speed.validate_events_in_request_body(_Request(body))
        return
    with pytest.raises(rasa.server.ErrorResponse) as refused:
        speed.validate_events_in_request_body(_Request(body))
    assert refused.value.status == 400
    assert refused.value.error_info["message"] == (
        "Failed to validate the events format. For more information about the format visit the docs. "
        f"Error: {expected}"
    )


def test_bad_events_are_really_bad() -> None:
    assert all(_rasa_error(b) is None for b in GOOD_EVENTS)
    assert all(_rasa_error(b) is not None for b in BAD_EVENTS)


def test_event_types_resolve_to_the_same_classes_as_in_rasa() -> None:
    classes = all_subclasses(Event)
    assert len(classes) > 20
    for name in {cls.type_name for cls in classes}:
        assert speed.resolve_event_type(name) is next(cls for cls in classes if cls.type_name == name)
    assert speed.resolve_event_type("topic") is None
    assert speed.resolve_event_type("no_such_event", default=Event) is Event
    with pytest.raises(ValueError, match="Unknown event name"):
        speed.resolve_event_type("no_such_event")


def test_install_replaces_the_events_check_and_the_type_lookup() -> None:
    install_patches()
    assert rasa.server.validate_events_in_request_body is speed.validate_events_in_request_body
    assert Event.resolve_by_type("bot").__name__ == "BotUttered"


async def _server(keepalive_timeout: float, close_after_first: bool = False) -> tuple[object, str, list]:
    from aiohttp import web

    peers: list = []

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        response = web.json_response({"auth": request.headers.get("Authorization"), "x": request.headers.get("X-Test")})
        if close_after_first and len(peers) == 1:
            response.force_close()  # the server closes this connection after answering
        return response

    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app, keepalive_timeout=keepalive_timeout)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/webhook", peers


async def test_endpoint_requests_reuse_one_connection() -> None:
    from rasa.utils.endpoints import EndpointConfig

    install_patches()
    runner, url, peers = await _server(keepalive_timeout=30)
    try:
        endpoint = EndpointConfig(url, headers={"X-Test": "yes"}, basic_auth={"username": "u", "password": "p"})
        answers = [await endpoint.request(json={"n": n}, method="post") for n in range(5)]
        assert answers[0]["x"] == "yes" and answers[0]["auth"].startswith("Basic ")  # Rasa's headers and auth
        assert len(peers) == 5 and len(set(peers)) == 1  # five calls, one TCP connection
        other = EndpointConfig(url)  # another endpoint's settings: its own session
        assert (await other.request(json={}, method="post"))["x"] is None
    finally:
        await speed.close_shared_sessions()
        await runner.cleanup()


async def test_connection_closed_by_the_server_is_replaced() -> None:
    import asyncio

    from rasa.utils.endpoints import EndpointConfig

    install_patches()
    runner, url, peers = await _server(keepalive_timeout=30, close_after_first=True)
    try:
        endpoint = EndpointConfig(url)
        await endpoint.request(json={}, method="post")
        await asyncio.sleep(0.05)
        await endpoint.request(json={}, method="post")
        assert len(peers) == 2 and peers[0] != peers[1]
    finally:
        await speed.close_shared_sessions()
        await runner.cleanup()


def _real_events() -> list[dict]:
    """One serialised event of every kind Rasa sends, as an action server or Rasa itself writes them."""
    from rasa.shared.core import events as e

    made = [
        e.UserUttered("hi", {"name": "greet", "confidence": 0.9}, [{"entity": "topic", "value": "delivery", "start": 0, "end": 2}],
                      parse_data={"response_selector": {"all_retrieval_intents": []}}),
        e.ActionExecuted("action_listen"), e.SlotSet("tone", "brief"), e.SlotSet("name", None),
        e.EntitiesAdded([{"entity": "topic", "value": "x"}]), e.UserUtteranceReverted(), e.ActionReverted(),
        e.Restarted(), e.AllSlotsReset(), e.ConversationPaused(), e.ConversationResumed(),
        e.FollowupAction("utter_greet"), e.BotUttered("hello", {"buttons": []}), e.SessionStarted(),
        e.ActiveLoop("form"), e.LoopInterrupted(True), e.ActionExecutionRejected("a"), e.AgentUttered("x"),
        e.StoryExported(), e.ReminderCancelled(name="r"), e.DefinePrevUserUtteredFeaturization(False),
    ]
    return [event.as_dict() for event in made]


def _broken(event: dict) -> list:
    """Ways an event goes wrong: each may or may not break the schema; Rasa's verdict decides."""
    kind = event["event"]
    without_kind = {k: v for k, v in event.items() if k != "event"}
    return [
        without_kind, {**event, "event": "no_such_kind"}, {**event, "event": 7}, {**event, "event": None},
        {**event, "name": 3}, {**event, "value": object.__class__.__name__}, {**event, "timestamp": "soon"},
        {**event, "text": 5}, {**event, "parse_data": "x"}, {**event, "entities": [{"value": 1}]},
        {**event, "parse_data": {"intent": {"name": 4}}}, [event], kind, None, 1.5,
    ]


def _full_verdict(schema: dict, data) -> bool:
    return jsonschema.validators.validator_for(schema)(schema).is_valid(data)


def test_every_real_event_takes_the_short_check() -> None:
    events = _real_events()
    assert len(events) == 21  # test_short_check_never_accepts_what_rasa_rejects covers each index
    assert {e["event"] for e in events} <= set(speed._event_check().kinds)
    for event in events:
        assert speed._event_check().passes(event), event
        assert _full_verdict(EVENTS_SCHEMA, [event])


@pytest.mark.parametrize("index", range(21))
def test_short_check_never_accepts_what_rasa_rejects(index: int) -> None:
    event = _real_events()[index]
    spec = RemoteAction.action_response_format_spec()
    for candidate in [event, *_broken(event)]:
        for result in ({"events": [candidate]}, {"events": [event, candidate], "responses": [{"text": "x"}]},
                       {"events": candidate}, {"responses": [candidate]}):
            rasa_says = _full_verdict(spec, result)
            if speed._response_passes(result):
                assert rasa_says, result
            # and the patched check decides exactly as Rasa does, with Rasa's error when it rejects
            if rasa_says:
                assert speed.validate_action_result(RemoteAction("a", None), result) is True
            else:
                with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
                    speed.validate_action_result(RemoteAction("a", None), result)
            events = candidate if isinstance(candidate, list) else [candidate]
            assert speed._event_check().all_pass(events) <= _full_verdict(EVENTS_SCHEMA, events)
