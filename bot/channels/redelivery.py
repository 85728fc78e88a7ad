"""Providers redeliver webhooks; the delivery ledger makes each event run once and never lose one.

Every messaging provider resends an event it thinks we did not take: Telegram and Messenger on any
non-2xx answer, Slack on a non-2xx or no answer within 3 s (``X-Slack-Retry-Num``), Twilio on
failures when retries are configured (same ``MessageSid`` and ``I-Twilio-Idempotency-Token``).
The ledger, keyed by the provider's own event id, decides what a delivery does:

- an id never seen, or one whose earlier delivery failed: the turn runs (``PROCESSED`` or ``FAILED``);
- an id whose turn already succeeded: nothing runs (``DUPLICATE``, answered as a success);
- an id whose turn is still running (a retry that came while the first was slow): the delivery
  waits up to ``wait_seconds`` for it, then is a ``DUPLICATE`` if it succeeded, runs the turn
  itself if it failed, or is ``IN_PROGRESS`` (answered "come back later") if it is still running.

An id is remembered only after Rasa took the message, and a turn runs in its own task, so a
provider hanging up (Sanic then cancels the request) does not cancel the turn halfway.  The
ledger is in memory, per Rasa process, bounded in size and age.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import OrderedDict
from typing import Awaitable, Callable

logger = logging.getLogger(__name__)

#: How long a redelivery waits for an earlier delivery of the same event still being processed;
#: below Slack's 3 s, so the retry itself is answered in time.
IN_FLIGHT_WAIT_SECONDS = 2.0
#: Long enough for every provider's retry schedule (Telegram keeps updates for 24 hours).
MAX_AGE_SECONDS = 48 * 3600
MAX_ENTRIES = 10_000


class Delivery(enum.Enum):
    PROCESSED = "processed"  #: this delivery ran the turn and Rasa took the message
    DUPLICATE = "duplicate"  #: an earlier delivery already did; nothing ran
    IN_PROGRESS = "in progress"  #: an earlier delivery is still running it; come back later
    FAILED = "failed"  #: the turn raised; the id is not remembered, so a redelivery runs it

    @property
    def taken(self) -> bool:
        """True when the provider may consider the event delivered (answer it with a success)."""
        return self in (Delivery.PROCESSED, Delivery.DUPLICATE)


Turn = Callable[[], Awaitable[None]]


class DeliveryLedger:
    """Which provider event ids were processed, and which are being processed right now."""

    def __init__(
        self,
        *,
        max_entries: int = MAX_ENTRIES,
        max_age_seconds: float = MAX_AGE_SECONDS,
        wait_seconds: float = IN_FLIGHT_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._processed: OrderedDict[str, float] = OrderedDict()
        self._running: dict[str, asyncio.Task[Delivery]] = {}
        self._max_entries = max_entries
        self._max_age = max_age_seconds
        self._wait = wait_seconds
        self._clock = clock

    def __len__(self) -> int:
        return len(self._processed) + len(self._running)

    def processed(self, key: str) -> bool:
        self._expire()
        return key in self._processed

    async def run(self, key: str, turn: Turn, *, label: str = "") -> Delivery:
        """Run ``turn`` for event ``key`` unless it ran already or is running (see the module doc).

        ``label`` names the conversation in the log line of a failure (a pseudonym, never an id).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while True:
            if self.processed(key):
                return Delivery.DUPLICATE
            running = self._running.get(key)
            if running is None:
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                return Delivery.IN_PROGRESS
            await asyncio.wait({running}, timeout=remaining)
        task = loop.create_task(self._attempt(key, turn, label))
        self._running[key] = task
        # The turn outlives this request if the provider hangs up: only the wait is cancelled.
        return await asyncio.shield(task)

    async def _attempt(self, key: str, turn: Turn, label: str) -> Delivery:
        try:
            await turn()
        except asyncio.CancelledError:
            logger.warning("%s of %s was cancelled before Rasa took it; a redelivery will run it", key, label)
            raise
        except Exception as exc:  # noqa: BLE001 - any failure leaves the event for the provider's retry
            # The exception's text can quote the conversation (a lock's conversation id, a provider's
            # error body with a phone number), so only its type is logged at error level.
            logger.error("%s of %s failed (%s); not marked processed, so the provider's redelivery will run it",
                         key, label, type(exc).__name__)
            logger.debug("%s failed", key, exc_info=True)
            return Delivery.FAILED
        finally:
            self._running.pop(key, None)
        self._remember(key)
        return Delivery.PROCESSED

    def _remember(self, key: str) -> None:
        self._processed[key] = self._clock()
        self._processed.move_to_end(key)
        while len(self._processed) > self._max_entries:
            self._processed.popitem(last=False)

    def _expire(self) -> None:
        now = self._clock()
        while self._processed:
            key, at = next(iter(self._processed.items()))
            if now - at <= self._max_age:
                break
            del self._processed[key]
