"""Bounded turn concurrency in the Rasa server: a turn that waited on the action server resumes first.

A Rasa server handles every conversation on one event loop, and almost all of a turn is CPU work
that never yields (language understanding, policies, the tracker store).  A turn yields only
where it waits on something outside the process, such as a custom action.  With ten
conversations in flight, a turn that called the action server resumed behind every turn that had
arrived meanwhile: a 5 ms call cost about 200 ms at 10 concurrent conversations
(``bench/assistant_bench.py --actions-delta``).

The gate admits a few turns at a time, in arrival order, and keeps the rest queued here instead
of in the event loop, so a turn that waits on the action server lets at most one other turn run
before it resumes.  Rasa still works on one turn at a time, so throughput does not change.

A turn keeps its place while it waits on the action server, because giving it up and queueing
again costs more than the call (in one A/B at 10 concurrent conversations, p95 390 ms when the
place was given up at once against 310 to 345 ms when it was kept).  If
the action server has not answered within ``HOLD_S`` the turn gives its place up, and takes the
next free one ahead of every turn that has not started once the answer is back: a slow or hung
action server stalls only the turns that called it.

The gate sits inside Rasa's per-conversation lock: a turn waiting for the lock holds no place,
so a second message in the same conversation cannot block the first one's resumption.

``RAPPORT_TURN_CONCURRENCY`` sets the number of places (default 2); 0 turns the gate off.
Installed in the Rasa server by :func:`bot.rasa.install_patches`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Deque, Optional, TypeVar

from rasa.core.actions import action as rasa_action
from rasa.core.processor import MessageProcessor

from bot import settings
from bot.rasa.patching import Patch

logger = logging.getLogger(__name__)

ENV = settings.TURN_CONCURRENCY_ENV
DEFAULT = settings.ScalingSettings.turn_concurrency
#: How long a turn keeps its place while it waits on the action server (calls take 5 to 30 ms).
HOLD_S = 0.25
T = TypeVar("T")


def bound_from_env() -> int:
    """The number of turns admitted at once (``RAPPORT_TURN_CONCURRENCY``); a bad value is a SettingsError."""
    return settings.turn_concurrency()


@dataclass
class _Place:
    gate: "TurnGate"
    held: bool = False


_current: contextvars.ContextVar[Optional[_Place]] = contextvars.ContextVar("rapport_turn_place", default=None)


class TurnGate:
    """``bound`` places for turns; waiting turns are served resumed-first, then in arrival order.

    A freed place is handed straight to the next waiter, so a turn arriving later cannot take it
    first.  ``bound`` 0: no gate at all.
    """

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self._free = bound
        self._resuming: Deque[asyncio.Future] = deque()
        self._new: Deque[asyncio.Future] = deque()

    @property
    def waiting(self) -> int:
        return sum(not f.done() for f in self._resuming) + sum(not f.done() for f in self._new)

    async def _acquire(self, *, resuming: bool) -> None:
        if self._free > 0:
            self._free -= 1
            return
        ticket = asyncio.get_running_loop().create_future()
        (self._resuming if resuming else self._new).append(ticket)
        try:
            await ticket
        except asyncio.CancelledError:
            if ticket.done() and not ticket.cancelled():  # handed a place just as we were cancelled
                self._release()
            raise

    def _release(self) -> None:
        for queue in (self._resuming, self._new):
            while queue:
                ticket = queue.popleft()
                if not ticket.done():
                    ticket.set_result(None)
                    return
        self._free += 1

    async def run(self, turn: Awaitable[T]) -> T:
        """Await ``turn`` holding a place (or, while it waits on the action server, not)."""
        if not self.bound:
            return await turn
        place = _Place(self)
        try:
            await self._acquire(resuming=False)
        except BaseException:
            if asyncio.iscoroutine(turn):
                turn.close()  # cancelled while queued: the turn never starts
            raise
        place.held = True
        token = _current.set(place)
        try:
            return await turn
        finally:
            _current.reset(token)
            if place.held:
                place.held = False
                self._release()


@asynccontextmanager
async def away() -> AsyncIterator[None]:
    """Give the current turn's place up for the block; take one back first in line after it."""
    place = _current.get()
    if place is None or not place.held:
        yield
        return
    place.held = False
    place.gate._release()
    try:
        yield
    except asyncio.CancelledError:
        raise  # the turn is over: it takes no place back
    except BaseException:
        await place.gate._acquire(resuming=True)
        place.held = True
        raise
    await place.gate._acquire(resuming=True)
    place.held = True


async def hold_then_away(call: Awaitable[T], hold_s: Optional[float] = None) -> T:
    """Await ``call`` keeping the turn's place for ``hold_s``, then without it (see :func:`away`)."""
    place = _current.get()
    if place is None or not place.held:
        return await call
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=HOLD_S if hold_s is None else hold_s)
        if not done:
            async with away():
                await asyncio.wait({task})
        return task.result()
    except asyncio.CancelledError:
        task.cancel()
        raise


_gate: Optional[TurnGate] = None


async def _gated_handle_message(self: MessageProcessor, message: Any) -> Any:
    """Rasa's ``MessageProcessor.handle_message``, admitted through the gate."""
    original = _gated_handle_message.__wrapped__  # type: ignore[attr-defined]
    if _gate is None:
        return await original(self, message)
    return await _gate.run(original(self, message))


async def _run_away(self: rasa_action.RemoteAction, *args: Any, **kwargs: Any) -> Any:
    """Rasa's ``RemoteAction.run``, keeping the turn's place only for ``HOLD_S``."""
    return await hold_then_away(_run_away.__wrapped__(self, *args, **kwargs))  # type: ignore[attr-defined]


def patches(bound: Optional[int] = None) -> list[Patch]:
    """Gate every channel's turns, and release the place around custom actions."""
    global _gate
    if _gate is None or bound is not None:  # one gate per process: turns may be queued in it
        _gate = TurnGate(bound_from_env() if bound is None else bound)
    logger.debug("turns admitted at once: %s", _gate.bound or "unbounded")
    return [
        Patch(MessageProcessor, "handle_message", _gated_handle_message,
              "(self, message)"),
        Patch(rasa_action.RemoteAction, "run", _run_away,
              "(self, output_channel, nlg, tracker, domain)"),
    ]
