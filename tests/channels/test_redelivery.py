"""The delivery ledger: a provider's redelivery of an event runs it at most once, and never loses it."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.redelivery import Delivery, DeliveryLedger


class Turns:
    """Turns handed to the ledger, recording how often each ran; ``fail`` makes the next ones raise."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.fail = 0

    def turn(self, name: str, seconds: float = 0.0):
        async def run() -> None:
            self.ran.append(name)
            await asyncio.sleep(seconds)
            if self.fail:
                self.fail -= 1
                raise ConnectionError("the provider's API is down")
        return run


async def test_a_new_event_runs_and_its_redelivery_is_a_duplicate_that_does_not_run() -> None:
    ledger, turns = DeliveryLedger(), Turns()
    assert await ledger.run("update:1", turns.turn("first")) is Delivery.PROCESSED
    assert await ledger.run("update:1", turns.turn("again")) is Delivery.DUPLICATE
    assert turns.ran == ["first"]


async def test_a_failed_turn_is_not_remembered_so_the_providers_retry_runs_it() -> None:
    ledger, turns = DeliveryLedger(), Turns()
    turns.fail = 1
    assert await ledger.run("event:Ev1", turns.turn("first")) is Delivery.FAILED
    assert await ledger.run("event:Ev1", turns.turn("retry")) is Delivery.PROCESSED
    assert await ledger.run("event:Ev1", turns.turn("late")) is Delivery.DUPLICATE
    assert turns.ran == ["first", "retry"]


async def test_a_retry_during_the_first_delivery_waits_for_it_and_does_not_run_again() -> None:
    ledger, turns = DeliveryLedger(wait_seconds=2.0), Turns()
    first = asyncio.ensure_future(ledger.run("event:Ev2", turns.turn("first", seconds=0.2)))
    await asyncio.sleep(0.05)
    assert await ledger.run("event:Ev2", turns.turn("retry")) is Delivery.DUPLICATE
    assert await first is Delivery.PROCESSED
    assert turns.ran == ["first"]


async def test_a_retry_during_a_first_delivery_that_fails_takes_over_and_runs_it() -> None:
    ledger, turns = DeliveryLedger(wait_seconds=2.0), Turns()
    turns.fail = 1
    first = asyncio.ensure_future(ledger.run("event:Ev3", turns.turn("first", seconds=0.2)))
    await asyncio.sleep(0.05)
    assert await ledger.run("event:Ev3", turns.turn("retry")) is Delivery.PROCESSED
    assert await first is Delivery.FAILED
    assert turns.ran == ["first", "retry"]


async def test_a_retry_during_a_first_delivery_slower_than_the_wait_is_told_to_come_back() -> None:
    ledger, turns = DeliveryLedger(wait_seconds=0.1), Turns()
    first = asyncio.ensure_future(ledger.run("event:Ev4", turns.turn("first", seconds=0.4)))
    await asyncio.sleep(0.05)
    assert await ledger.run("event:Ev4", turns.turn("retry")) is Delivery.IN_PROGRESS
    assert await first is Delivery.PROCESSED
    assert await ledger.run("event:Ev4", turns.turn("later")) is Delivery.DUPLICATE
    assert turns.ran == ["first"]


async def test_many_concurrent_redeliveries_run_the_event_once() -> None:
    ledger, turns = DeliveryLedger(wait_seconds=2.0), Turns()
    outcomes = await asyncio.gather(*(ledger.run("mid:m_1", turns.turn(f"copy {n}", seconds=0.05))
                                      for n in range(20)))
    assert outcomes.count(Delivery.PROCESSED) == 1
    assert outcomes.count(Delivery.DUPLICATE) == 19
    assert len(turns.ran) == 1


async def test_a_turn_keeps_running_when_the_request_that_started_it_is_cancelled() -> None:
    # Sanic cancels a handler when the provider hangs up (Slack does after 3 s).
    ledger, turns = DeliveryLedger(), Turns()
    request = asyncio.ensure_future(ledger.run("event:Ev5", turns.turn("first", seconds=0.2)))
    await asyncio.sleep(0.05)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert await ledger.run("event:Ev5", turns.turn("retry")) is Delivery.DUPLICATE
    assert turns.ran == ["first"]


async def test_a_turn_cancelled_itself_is_not_remembered() -> None:
    ledger = DeliveryLedger()

    async def cancelled() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await ledger.run("event:Ev6", cancelled)
    turns = Turns()
    assert await ledger.run("event:Ev6", turns.turn("retry")) is Delivery.PROCESSED


async def test_processed_events_are_forgotten_after_their_age() -> None:
    now = [1000.0]
    ledger, turns = DeliveryLedger(max_age_seconds=60, clock=lambda: now[0]), Turns()
    await ledger.run("update:2", turns.turn("first"))
    now[0] += 30
    assert await ledger.run("update:2", turns.turn("soon")) is Delivery.DUPLICATE
    now[0] += 31
    assert await ledger.run("update:2", turns.turn("a day later")) is Delivery.PROCESSED
    assert turns.ran == ["first", "a day later"]


async def test_the_ledger_is_bounded_and_forgets_the_oldest_first() -> None:
    ledger, turns = DeliveryLedger(max_entries=3), Turns()
    for key in "abcd":
        await ledger.run(key, turns.turn(key))
    assert await ledger.run("a", turns.turn("a again")) is Delivery.PROCESSED  # evicted
    assert await ledger.run("d", turns.turn("d again")) is Delivery.DUPLICATE
    assert len(ledger) <= 3
