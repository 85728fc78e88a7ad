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

Loaded in the Rasa server process by :mod:`bot.tracker` (named in ``endpoints.yml``).
"""

from __future__ import annotations

from functools import lru_cache
from http import HTTPStatus
from typing import Any, Dict, List, Optional, Text, Type

import rasa.server
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions import action as rasa_action
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.shared.utils.schemas.events import EVENTS_SCHEMA
from sanic.request import Request

_INSTALLED = False
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


def validate_action_result(self: rasa_action.RemoteAction, result: Dict[Text, Any]) -> bool:
    """Rasa's check of an action server response, with the schema compiled once."""
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


def install() -> None:
    """Apply the patches once per process."""
    global _INSTALLED
    if _INSTALLED:
        return
    rasa_action.RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    # The endpoints created by rasa.server.create_app look this function up by its global name.
    rasa.server.validate_events_in_request_body = validate_events_in_request_body
    Event.resolve_by_type = staticmethod(resolve_event_type)  # type: ignore[method-assign]
    _INSTALLED = True
