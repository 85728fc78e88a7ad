"""Rasa custom actions for Rapport, one module per conversation concern.

`rasa run actions --actions actions` imports this package; every action module is imported
here so the executor registers them.  Imported by the action server itself, the package also
locks the server to its Rasa (:mod:`actions.auth`) and runs the turn recorder in it.
"""

from __future__ import annotations

import os
from typing import Any

from bot.nlp.lean import block_tensorflow

block_tensorflow()  # the action server never needs TensorFlow; spaCy would import it

from actions import auth, content, handoff, linking, preferences, privacy, recorder, session  # noqa: E402,F401

#: Paths anyone may GET: rasa_sdk's liveness check and the recorder's status (loopback only).
OPEN_PATHS = ("/health", recorder.HEALTH_PATH)


def action_server_app() -> Any | None:
    """The Sanic app of the action server importing this package, or None anywhere else.

    ``python -m rasa_sdk`` and ``rasa run actions`` both create their app named ``rasa_sdk``
    before they import the actions package; imported by tests or tools, there is none.
    """
    from sanic import Sanic
    from sanic.exceptions import SanicException

    try:
        return Sanic.get_app("rasa_sdk")
    except SanicException:
        return None


def extend(app: Any) -> None:
    """Lock ``app`` to our Rasa and run the recorder in it (once, even if the package is reloaded)."""
    from bot import settings as settings_module

    if getattr(app.ctx, "rapport_extended", False):
        return
    settings = settings_module.load()
    # rasa_sdk reads SANIC_HOST after importing this package: plain `rasa run actions` binds
    # RAPPORT_HOST (loopback by default) too, unless SANIC_HOST says otherwise.
    os.environ.setdefault("SANIC_HOST", settings.host)
    auth.attach(app, settings.actions_token, OPEN_PATHS)
    recorder.attach(app)
    app.ctx.rapport_extended = True


_app = action_server_app()
if _app is not None:
    extend(_app)
