"""Keep the Rasa server answering when the action server is unreachable.

Our ``action_session_start`` runs in the action server.  If that server is down, Rasa logs the
failure and records the action without its closing ``action_listen``, so no rule matches the
customer's first message and every new conversation would start with "sorry, I didn't get
that".  This module makes a failed remote session start fall back to Rasa's built-in one: the
conversation starts unpersonalised, and every answer that needs no action still works.

Installed in the Rasa server by :func:`bot.rasa.install_patches`.
"""

from __future__ import annotations

import logging
from typing import Any, List

from rasa.core.actions import action as rasa_action
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.exceptions import RasaException

from bot.rasa.patching import Patch

logger = logging.getLogger(__name__)


async def _run_or_fall_back(self: rasa_action.RemoteAction, output_channel: Any, nlg: Any, tracker: Any,
                            domain: Any) -> List[Any]:
    """Rasa's ``RemoteAction.run``; a failed remote session start becomes Rasa's built-in one."""
    original = _run_or_fall_back.__wrapped__  # type: ignore[attr-defined]
    try:
        return await original(self, output_channel, nlg, tracker, domain)
    except RasaException as exc:
        if self.name() != ACTION_SESSION_START_NAME:
            raise
        logger.warning("action server unavailable for %s (%s); starting the session "
                       "unpersonalised", self.name(), type(exc).__name__)
        return await rasa_action.ActionSessionStart().run(output_channel, nlg, tracker, domain)


def patches() -> list[Patch]:
    return [Patch(rasa_action.RemoteAction, "run", _run_or_fall_back,
                  "(self, output_channel, nlg, tracker, domain)")]
