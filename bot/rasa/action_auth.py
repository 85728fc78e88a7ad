"""Rasa sends the action server's secret with every call to the action endpoint, and only there.

The action server refuses calls without ``Authorization: Bearer <RAPPORT_ACTIONS_TOKEN>``
(:mod:`actions.auth`).  Rasa 3.6 can send a fixed ``token`` only as a query parameter (which
ends up in access logs) or fixed ``headers`` written into ``endpoints.yml`` (no place for a
per-checkout secret).  So every ``RemoteAction``, the one class through which Rasa calls the
action server (custom actions, form validation, custom slot mappings, the fallback actions),
gets its endpoint with the header added.  The NLG, NLU, model server and other endpoints are
other ``EndpointConfig`` objects and never see it.

How it composes with the other patches of the Rasa process:

- it wraps ``RemoteAction.__init__`` only; :mod:`bot.admission` and :mod:`bot.resilience` wrap
  ``RemoteAction.run``, so the order of installation does not matter;
- :mod:`bot.speedups` replaces ``EndpointConfig.session`` with one keep-alive session per
  endpoint settings, made from ``endpoint.headers``, and Rasa's own ``request`` adds
  ``endpoint.headers`` to every call: the header reaches the action server either way.

Installed by :mod:`bot.tracker` with :func:`install`; it refuses a Rasa version or signature it
was not checked against (one log line, and Rasa behaves as its own code does).
"""

from __future__ import annotations

import copy
import inspect
import logging
from typing import Any, Optional

import rasa
from rasa.core.actions import action as rasa_action
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

#: Rasa versions whose RemoteAction and EndpointConfig this was read against.
KNOWN_RASA = frozenset({"3.6.21"})
HEADER = "Authorization"
_INIT_PARAMETERS = ["self", "name", "action_endpoint"]

_token: str | None = None


def authorized_endpoint(endpoint: Optional[EndpointConfig], token: str) -> Optional[EndpointConfig]:
    """``endpoint`` with the bearer header added (a copy: Rasa's own object is left as it is)."""
    if endpoint is None:
        return None
    value = f"Bearer {token}"
    if endpoint.headers.get(HEADER) == value:
        return endpoint
    authorized = copy.copy(endpoint)
    authorized.headers = {**endpoint.headers, HEADER: value}
    return authorized


def _recognised() -> str | None:
    """Why Rasa is not the one this patch was checked against, or None when it is."""
    if rasa.__version__ not in KNOWN_RASA:
        return f"Rasa {rasa.__version__} is not one this was checked against ({', '.join(sorted(KNOWN_RASA))})"
    init = rasa_action.RemoteAction.__init__
    if list(inspect.signature(init).parameters) != _INIT_PARAMETERS:
        return f"RemoteAction.__init__{inspect.signature(init)} is not the expected (name, action_endpoint)"
    if "headers" not in inspect.signature(EndpointConfig.__init__).parameters:
        return "EndpointConfig has no headers"
    return None


def installed() -> bool:
    return getattr(rasa_action.RemoteAction.__init__, "_rapport_action_auth", False)


def install(token: str | None = None) -> bool:
    """Make Rasa send ``token`` (default: ``RAPPORT_ACTIONS_TOKEN``) to the action server; True when done."""
    global _token
    if token is None:
        from bot import settings

        token = settings.load().actions_token
    if installed():
        _token = token
        return True
    refused = _recognised()
    if refused is not None:
        logger.warning("not sending the action server's token, so it will refuse every action: %s", refused)
        return False
    original = rasa_action.RemoteAction.__init__

    def __init__(self: rasa_action.RemoteAction, name: str, action_endpoint: Optional[EndpointConfig]) -> None:
        original(self, name, action_endpoint)
        if _token is not None:
            self.action_endpoint = authorized_endpoint(self.action_endpoint, _token)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    __init__._rapport_action_auth = True  # type: ignore[attr-defined]
    _token = token
    rasa_action.RemoteAction.__init__ = __init__  # type: ignore[method-assign]
    return True


def uninstall() -> None:
    """Give ``RemoteAction`` back its own ``__init__`` (tests, or a process that stops using it)."""
    global _token
    current: Any = rasa_action.RemoteAction.__init__
    if getattr(current, "_rapport_action_auth", False):
        rasa_action.RemoteAction.__init__ = current.__wrapped__  # type: ignore[method-assign]
    _token = None
