"""Same behaviour, less work per turn: patches to hot paths of Rasa 3.6 in the Rasa process.

Profiling the Rasa server under 10 concurrent conversations (py-spy, ``bench/``) showed half of
its CPU time inside ``RemoteAction._validate_action_result``: ``jsonschema.validate`` checks the
*schema itself* against the JSON Schema meta-schema on every call before it checks the action
server's response.  The schema is a constant, so it is checked once here and the compiled
validator is reused; the response is still validated in full and an invalid one still raises the
same ``ValidationError`` with Rasa's message.

The same profile showed every stored event being turned back into an ``Event`` through
``Event.resolve_by_type``, which walks all ``Event`` subclasses for each one.  The classes are
looked up in a table built once instead, in the same order (the first subclass with a type name
wins); a name not in the table still goes through Rasa's own function.

Loaded in the Rasa server process by :mod:`bot.tracker` (named in ``endpoints.yml``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Text

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions import action as rasa_action
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

_INSTALLED = False


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    schema = rasa_action.RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


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


_original_resolve_by_type = Event.resolve_by_type
_event_types: dict[str, type] = {}


def event_types() -> dict[str, type]:
    """Type name → the first ``Event`` subclass with it, as Rasa's own search finds it."""
    if not _event_types:
        for cls in all_subclasses(Event):
            _event_types.setdefault(cls.type_name, cls)
    return _event_types


def resolve_by_type(type_name: Text, default: Any = None) -> Any:
    found = event_types().get(type_name)
    return found if found is not None else _original_resolve_by_type(type_name, default)


def install() -> None:
    """Apply the patches once per process."""
    global _INSTALLED
    if _INSTALLED:
        return
    rasa_action.RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]
    _INSTALLED = True
