"""Keep the Rasa server answering when the action server is unreachable.

Our ``action_session_start`` runs in the action server.  If that server is down, Rasa logs the
failure and records the action without its closing ``action_listen``, so no rule matches the
customer's first message and every new conversation would start with "sorry, I didn't get
that".  This module makes a failed remote session start fall back to Rasa's built-in one: the
conversation starts unpersonalised, and every answer that needs no action still works.

Loaded in the Rasa server process by :mod:`bot.tracker` (named in ``endpoints.yml``).
"""

from __future__ import annotations

import logging
from typing import Any, List

from rasa.core.actions import action as rasa_action
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)
_INSTALLED = False


def install() -> None:
    """Wrap ``RemoteAction.run`` once per process."""
    global _INSTALLED
    if _INSTALLED:
        return
    original = rasa_action.RemoteAction.run

    async def run(self: rasa_action.RemoteAction, output_channel: Any, nlg: Any, tracker: Any,
                  domain: Any) -> List[Any]:
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except RasaException as exc:
            if self.name() != ACTION_SESSION_START_NAME:
                raise
            logger.warning("action server unavailable for %s (%s); starting the session "
                           "unpersonalised", self.name(), exc)
            return await rasa_action.ActionSessionStart().run(output_channel, nlg, tracker, domain)

    run.__wrapped__ = original  # type: ignore[attr-defined]
    rasa_action.RemoteAction.run = run  # type: ignore[method-assign]
    _INSTALLED = True
