"""Same behaviour, less work per turn: patches to hot paths of Rasa 3.6 in the Rasa process.

Profiling the Rasa server under load (py-spy, ``bench/``) showed three costs that do not depend on
the input:

- ``jsonschema.validate`` checks the *schema itself* against the JSON Schema meta-schema on every
  call before it checks the data: half of Rasa's CPU under 10 conversations went to this in
  ``RemoteAction._validate_action_result``, and about 20 ms of every
  ``POST /conversations/{id}/tracker/events`` (each staff reply) in ``validate_events_in_request_body``.
  Both schemas are constants, so each is checked once here and its compiled validator reused; the
  data is still validated in full and a bad one raises the same error with the same message.
- ``Event.resolve_by_type`` walks every subclass of ``Event`` (with ``inspect.isabstract``) for each
  event read back from the tracker store; a map from type name to class answers the same.
- ``EndpointConfig.request`` opens a new HTTP client session, so a new TCP connection, for every
  call to the action server, and closes it after: a connect and a close per custom action, and
  a socket left in TIME_WAIT each time.  Here each endpoint keeps one client session (headers,
  authentication and timeout as Rasa sets them) per event loop, and its connections are reused.

Installed in the Rasa server by :func:`bot.rasa.install_patches`.
"""

from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache
from http import HTTPStatus
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import aiohttp
import rasa.server
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions import action as rasa_action
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.shared.utils.schemas.events import EVENT_SCHEMA, EVENTS_SCHEMA
from rasa.utils.endpoints import EndpointConfig
from sanic.request import Request

from bot.rasa.patching import Patch

_original_resolve_by_type = Event.resolve_by_type
_event_classes: Dict[Text, Type[Event]] = {}


def _compiled(schema: Dict[Text, Any]) -> Any:
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    return _compiled(rasa_action.RemoteAction.action_response_format_spec())


@lru_cache(maxsize=1)
def _events_validator() -> Any:
    return _compiled(EVENTS_SCHEMA)


class _EventCheck:
    """A yes/no check of one event against ``EVENT_SCHEMA`` that tries only the event's own kind.

    ``EVENT_SCHEMA`` is a ``oneOf`` over the event kinds, and every kind pins ``event`` to its own
    constant, so an event whose ``event`` names a kind is valid exactly when it passes the schema's
    common part and that kind's branch: every other branch fails on the constant.  Rasa's check
    tries all 24 branches for each event (about 4 ms for one session start's events here).
    Anything that does not pass this way is checked by the full schema, which decides and words
    the error as before.
    """

    def __init__(self) -> None:
        common = {k: v for k, v in EVENT_SCHEMA.items() if k != "oneOf"}
        self.common = _compiled(common)
        self.kinds: Dict[Text, Any] = {}
        for branch in EVENT_SCHEMA["oneOf"]:
            kind = branch["properties"]["event"]["const"]
            if kind in self.kinds:  # two branches for one kind: this shortcut would be wrong
                raise ValueError(f"EVENT_SCHEMA has two branches for {kind!r}")
            self.kinds[kind] = _compiled(branch)

    def passes(self, event: Any) -> bool:
        if not isinstance(event, dict):
            return False
        kind = self.kinds.get(event.get("event")) if isinstance(event.get("event"), str) else None
        return kind is not None and self.common.is_valid(event) and kind.is_valid(event)

    def all_pass(self, events: Any) -> bool:
        return isinstance(events, list) and all(self.passes(e) for e in events)


@lru_cache(maxsize=1)
def _event_check() -> _EventCheck:
    return _EventCheck()


def _response_passes(result: Any) -> bool:
    """True only for a response the full response schema accepts (see :class:`_EventCheck`)."""
    if not isinstance(result, dict):
        return False
    responses = result.get("responses", [])
    if not (isinstance(responses, list) and all(isinstance(r, dict) for r in responses)):
        return False
    return _event_check().all_pass(result.get("events", []))


def validate_action_result(self: rasa_action.RemoteAction, result: Dict[Text, Any]) -> bool:
    """Rasa's check of an action server response, with the schema compiled once."""
    if _response_passes(result):
        return True
    try:
        _response_validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise e


def validate_events_in_request_body(request: Request) -> None:
    """Rasa's check of the events posted to a conversation, with the schema compiled once."""
    events: List[Any] = request.json if isinstance(request.json, list) else [request.json]
    if _event_check().all_pass(events):
        return
    # best_match: the error jsonschema.validate would raise, so the 400 answer reads the same.
    error = best_match(_events_validator().iter_errors(events))
    if error is not None:
        raise rasa.server.ErrorResponse(
            HTTPStatus.BAD_REQUEST,
            "BadRequest",
            f"Failed to validate the events format. "
            f"For more information about the format visit the docs. Error: {error}",
            help_url=rasa.server._docs("/pages/http-api"),
        ) from error


def resolve_event_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """``Event.resolve_by_type`` from a map of the known event classes (first match wins, as in Rasa's)."""
    found = _event_classes.get(type_name)
    if found is None:
        # Unknown so far: an event class may have been imported since the map was built.
        _event_classes.clear()
        for cls in all_subclasses(Event):
            _event_classes.setdefault(cls.type_name, cls)
        found = _event_classes.get(type_name)
    if found is None:
        return _original_resolve_by_type(type_name, default)
    return found


_original_session = EndpointConfig.session
_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[Tuple, aiohttp.ClientSession]]" = (
    weakref.WeakKeyDictionary())


class _Borrowed:
    """``async with`` a shared session without closing it at the end (Rasa's request does that)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


#: Idle connections are closed by us after this, before the server's keep-alive timeout (Sanic's
#: default is 5 s), so a request never goes out on a connection the server is closing.
IDLE_CONNECTION_S = 2.0


def _new_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """What Rasa's ``EndpointConfig.session`` makes, with connections kept open while in use."""
    auth = None
    if endpoint.basic_auth:
        auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
    return aiohttp.ClientSession(
        headers=endpoint.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_S),
    )


def shared_session(self: EndpointConfig) -> Any:
    """The endpoint's client session for the running loop, made once per loop and reused."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not in a loop: Rasa's behaviour, a session of its own
        return _original_session(self)
    key = (self.url, tuple(sorted(self.headers.items())), tuple(sorted(self.basic_auth.items())))
    per_loop = _sessions.setdefault(loop, {})
    session = per_loop.get(key)
    if session is None or session.closed:
        session = per_loop[key] = _new_session(self)
    return _Borrowed(session)


async def close_shared_sessions() -> None:
    """Close the running loop's shared sessions (at shutdown, and in tests)."""
    for session in _sessions.pop(asyncio.get_running_loop(), {}).values():
        await session.close()


def patches() -> list[Patch]:
    """The four replacements; each keeps Rasa's results (tests compare them with Rasa's own)."""
    return [
        Patch(rasa_action.RemoteAction, "_validate_action_result", validate_action_result,
              "(self, result)"),
        # The endpoints created by rasa.server.create_app look this function up by its global name.
        Patch(rasa.server, "validate_events_in_request_body", validate_events_in_request_body,
              "(request)"),
        Patch(Event, "resolve_by_type", resolve_event_type,
              "(type_name, default=None)"),
        Patch(EndpointConfig, "session", shared_session, "(self)"),
    ]
