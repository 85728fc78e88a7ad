"""Rasa sends the action server's secret with every call to the action endpoint, and only there.

The action server refuses calls without ``Authorization: Bearer <RAPPORT_ACTIONS_TOKEN>``
(:mod:`actions.auth`).  Rasa 3.6 can send a fixed ``token`` only as a query parameter (which
ends up in access logs) or fixed ``headers`` written into ``endpoints.yml`` (no place for a
per-checkout secret).  So every ``RemoteAction``, the one class through which Rasa calls the
action server (custom actions, form validation, custom slot mappings, the fallback actions),
gets its endpoint with the header added.  The NLG, NLU, model server and other endpoints are
other ``EndpointConfig`` objects and never see it.

How it composes with the other patches of the Rasa process:

- it wraps ``RemoteAction.__init__`` only; :mod:`bot.rasa.turn_gate` and
  :mod:`bot.rasa.session_fallback` wrap ``RemoteAction.run``, so the order does not matter here;
- :mod:`bot.rasa.speed` replaces ``EndpointConfig.session`` with one keep-alive session per
  endpoint settings, made from ``endpoint.headers``, and Rasa's own ``request`` adds
  ``endpoint.headers`` to every call: the header reaches the action server either way.

Installed with the other patches by :func:`bot.rasa.install_patches`; like them it refuses a
Rasa version or signature it was not checked against (one log line, Rasa behaves as its own).
"""

from __future__ import annotations

import copy
import logging
from typing import Optional

from rasa.core.actions import action as rasa_action
from rasa.utils.endpoints import EndpointConfig

from bot.rasa import patching
from bot.rasa.patching import Patch

logger = logging.getLogger(__name__)

GROUP = "action_auth"
HEADER = "Authorization"

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


def _authorizing_init(self: rasa_action.RemoteAction, name: str, action_endpoint: Optional[EndpointConfig]) -> None:
    """Rasa's ``RemoteAction.__init__``, with the bearer header added to the action endpoint."""
    _authorizing_init.__wrapped__(self, name, action_endpoint)  # type: ignore[attr-defined]
    if _token is not None:
        self.action_endpoint = authorized_endpoint(self.action_endpoint, _token)


def patches(token: str | None = None) -> list[Patch]:
    """The one replacement; ``token`` defaults to ``RAPPORT_ACTIONS_TOKEN`` (or the checkout's secret)."""
    global _token
    if token is None:
        from bot import settings

        token = settings.load().actions_token
    _token = token
    return [Patch(rasa_action.RemoteAction, "__init__", _authorizing_init, "(self, name, action_endpoint)")]


def installed() -> bool:
    return patching.installed(GROUP)


def install(token: str | None = None, version: str | None = None) -> bool:
    """Make Rasa send ``token`` to the action server on its own; True when done (or already)."""
    targets = patches(token)
    if installed():
        return True
    problem = patching.refusal(targets, version=version)
    if problem:
        logger.warning("not sending the action server's token, so it will refuse every action: %s", problem)
        return False
    return patching.apply(GROUP, targets, version=version)


def uninstall() -> None:
    """Give ``RemoteAction`` back its own ``__init__`` (tests)."""
    global _token
    patching.revert(GROUP)
    _token = None
