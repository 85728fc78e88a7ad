"""Only our Rasa server may run actions: every call but the health checks must carry the secret.

The action server runs whatever a request's tracker asks for: a hand-made tracker naming
``action_what_do_you_know`` would read anyone's profile, ``action_forget_me`` would erase anyone.
Rasa sends ``Authorization: Bearer <RAPPORT_ACTIONS_TOKEN>`` with each call
(:mod:`bot.rasa.action_auth`); any other request is answered 401 before an action runs.  A
header, not a query parameter: query strings end up in access logs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any, Iterable

logger = logging.getLogger(__name__)

SCHEME = "Bearer"
REFUSAL = {"error": "this action server runs actions for its own Rasa server only: "
                    "send the header 'Authorization: Bearer <RAPPORT_ACTIONS_TOKEN>'"}


def presented_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != SCHEME.lower() or not token.strip():
        return None
    return token.strip()


def authorized(authorization: str | None, token: str) -> bool:
    """Whether the header carries ``token``; compared in constant time (digests of equal length)."""
    presented = presented_token(authorization)
    if presented is None:
        return False
    return hmac.compare_digest(_digest(presented), _digest(token))


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def attach(app: Any, token: str, open_paths: Iterable[str]) -> None:
    """Refuse every request to ``app`` without ``token``, except GET/HEAD on ``open_paths``."""
    if not token:
        raise ValueError("the action server needs a token (RAPPORT_ACTIONS_TOKEN)")
    from sanic import response

    open_to_all = frozenset(open_paths)
    warned = False

    async def require_token(request: Any) -> Any:
        nonlocal warned
        if request.method in ("GET", "HEAD") and request.path in open_to_all:
            return None
        if authorized(request.headers.get("authorization"), token):
            return None
        if not warned:  # once per process: a Rasa without the token fails every action
            warned = True
            logger.warning("refused a call without the action server's token (and will refuse any other "
                           "quietly); Rasa sends it when bot/rasa/action_auth.py is installed")
        else:
            logger.debug("refused a call without the action server's token")
        return response.json(REFUSAL, status=401, headers={"WWW-Authenticate": SCHEME})

    app.register_middleware(require_token, "request")
