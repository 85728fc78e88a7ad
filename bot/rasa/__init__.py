"""Code that runs inside the Rasa server process (loaded through ``endpoints.yml``).

Everything here changes how Rasa itself behaves, so it is the riskiest code we have. The tracker
store (:mod:`bot.rasa.tracker_store`, the class ``endpoints.yml`` names) calls
:func:`install_patches` once, in its constructor; nothing is patched as a side effect of an import.
It checks Rasa's version and every target's presence and parameters first and, when anything is
not what the patches were written against, installs none of them and logs one line: Rasa then runs
with its own behaviour, never half patched. Each replacement keeps Rasa's function as
``__wrapped__``; :func:`uninstall_patches` puts them all back (tests).

The order of installation, innermost first, where two patches wrap the same function:

1. :mod:`~bot.rasa.containment` — ``SQLTrackerStore.session_scope``: only a missing schema exits.
2. :mod:`~bot.rasa.speed` — compiled schema checks, event type table, keep-alive sessions.
3. :mod:`~bot.rasa.action_auth` — ``RemoteAction.__init__``: the action server's token.
4. :mod:`~bot.rasa.session_fallback` — ``RemoteAction.run`` (inner): a failed remote session
   start becomes Rasa's built-in one.
5. :mod:`~bot.rasa.turn_gate` — ``MessageProcessor.handle_message`` and ``RemoteAction.run``
   (outer): the turn gives its place up around the whole call, the fallback included.

Not patches, but also in this process: :mod:`~bot.rasa.api_guard` (a Sanic middleware the REST
channel registers in front of Rasa's HTTP API) and :mod:`~bot.rasa.serve` (the start-up wrapper
that keeps the API token off the command line).
"""

from __future__ import annotations

import logging
from typing import Callable

from bot.rasa import patching
from bot.rasa.patching import Patch

logger = logging.getLogger(__name__)


def _groups() -> list[tuple[str, Callable[[], list[Patch]]]]:
    from bot.rasa import action_auth, containment, session_fallback, speed, turn_gate

    return [
        (containment.GROUP, containment.patches),
        ("speed", speed.patches),
        (action_auth.GROUP, action_auth.patches),
        ("session_fallback", session_fallback.patches),
        ("turn_gate", turn_gate.patches),
    ]


def install_patches(version: str | None = None) -> bool:
    """Install every patch in the documented order, or none; True when they are (or already were) installed."""
    groups = [(name, make()) for name, make in _groups()]
    if all(patching.installed(name) for name, _ in groups):
        return True
    pending = [(name, targets) for name, targets in groups if not patching.installed(name)]
    problem = patching.refusal([p for _, targets in pending for p in targets], version=version)
    if problem:
        logger.warning("Rasa's internals are not patched (Rasa's own behaviour is kept): %s", problem)
        return False
    for name, targets in pending:
        patching.apply(name, targets, version=version)
    return True


def uninstall_patches() -> None:
    """Give Rasa every function back (tests)."""
    for name, _ in reversed(_groups()):
        patching.revert(name)
