"""The relationship store as the action server uses it: opened once, every call bounded in time.

When the store is unreachable an action degrades to an unpersonalised answer and says nothing
false, instead of failing the turn (:class:`StoreUnavailable`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, TypeVar

from bot import settings as settings_module
from bot.store import RelationshipStore, StoreError

logger = logging.getLogger(__name__)
T = TypeVar("T")

STORE_TIMEOUT_S = 3.0

_store: RelationshipStore | None = None
_store_lock = asyncio.Lock()


class StoreUnavailable(RuntimeError):
    """The relationship store could not be reached in time; the turn goes on unpersonalised."""


async def store() -> RelationshipStore:
    global _store
    if _store is not None:
        return _store
    async with _store_lock:
        if _store is None:
            _store = await RelationshipStore.open(settings_module.load().database_url)
        return _store


async def reset_store() -> None:
    global _store
    broken, _store = _store, None
    if broken is not None:
        try:
            await broken.close()
        except Exception:  # closing a broken engine may fail again; the new one matters
            logger.debug("closing a broken store failed", exc_info=True)


async def using_store(work: Callable[[RelationshipStore], Awaitable[T]]) -> T:
    """Run ``work`` against the store within the time bound; StoreUnavailable if it cannot."""
    try:
        handle = await asyncio.wait_for(store(), STORE_TIMEOUT_S)
        return await asyncio.wait_for(work(handle), STORE_TIMEOUT_S)
    except StoreError:
        raise
    except (asyncio.TimeoutError, OSError, ConnectionError) as exc:
        await reset_store()
        raise StoreUnavailable(str(exc) or type(exc).__name__) from exc
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            await reset_store()
            raise StoreUnavailable(str(exc)) from exc
        raise
