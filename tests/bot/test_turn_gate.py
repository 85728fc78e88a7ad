"""The turn gate: a bounded number of turns at once, in arrival order, and a turn back from the
action server goes first.  Events, not timings, decide every ordering here."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.processor import MessageProcessor

from bot.rasa import install_patches, turn_gate, uninstall_patches


def test_bound_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(turn_gate.ENV, raising=False)
    assert turn_gate.bound_from_env() == turn_gate.DEFAULT
    monkeypatch.setenv(turn_gate.ENV, " 0 ")
    assert turn_gate.bound_from_env() == 0
    monkeypatch.setenv(turn_gate.ENV, "5")
    assert turn_gate.bound_from_env() == 5


@pytest.mark.parametrize("raw", ["two", "2.5", "-1", "\u00b2", "1e3", "1001", "+2"])
def test_bad_bound_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(turn_gate.ENV, raw)
    with pytest.raises(ValueError, match=turn_gate.ENV):
        turn_gate.bound_from_env()


async def _peak_concurrency(gate: turn_gate.TurnGate, turns: int) -> tuple[int, list[int]]:
    running = peak = 0
    started: list[int] = []

    async def turn(index: int) -> int:
        nonlocal running, peak
        started.append(index)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return index

    results = await asyncio.gather(*(gate.run(turn(i)) for i in range(turns)))
    assert results == list(range(turns))  # each caller gets its own turn's answer
    return peak, started


async def test_at_most_bound_turns_in_arrival_order() -> None:
    peak, started = await _peak_concurrency(turn_gate.TurnGate(2), 7)
    assert peak == 2
    assert started == list(range(7))


async def test_bound_zero_admits_everything() -> None:
    peak, _ = await _peak_concurrency(turn_gate.TurnGate(0), 7)
    assert peak == 7


async def _until(condition, limit: int = 200) -> None:
    for _ in range(limit):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_a_turn_waiting_on_the_action_server_lets_another_run() -> None:
    gate = turn_gate.TurnGate(1)
    answer = asyncio.Event()
    log: list[str] = []

    async def remote_turn() -> None:
        async with turn_gate.away():
            await answer.wait()
        log.append("remote done")

    async def other_turn() -> None:
        log.append("other done")

    remote = asyncio.create_task(gate.run(remote_turn()))
    await _until(lambda: gate._free == 1)  # it gave its place up while it waits
    await asyncio.wait_for(gate.run(other_turn()), 1)
    answer.set()
    await asyncio.wait_for(remote, 1)
    assert log == ["other done", "remote done"]


async def test_without_away_a_waiting_turn_keeps_its_place() -> None:
    gate = turn_gate.TurnGate(1)
    answer = asyncio.Event()

    async def waiting_turn() -> None:
        await answer.wait()

    async def other_turn() -> str:
        return "ran"

    holder = asyncio.create_task(gate.run(waiting_turn()))
    await _until(lambda: gate._free == 0)
    other = asyncio.create_task(gate.run(other_turn()))
    await _until(lambda: gate.waiting == 1)
    assert not other.done()
    answer.set()
    assert await asyncio.wait_for(other, 1) == "ran"
    await holder


async def test_a_turn_back_from_the_action_server_goes_before_new_turns() -> None:
    gate = turn_gate.TurnGate(1)
    answer, busy = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def remote_turn() -> None:
        async with turn_gate.away():
            await answer.wait()
        order.append("remote")

    async def busy_turn() -> None:
        await busy.wait()
        order.append("busy")

    async def new_turn(name: str) -> None:
        order.append(name)

    remote = asyncio.create_task(gate.run(remote_turn()))
    await _until(lambda: gate._free == 1)
    holder = asyncio.create_task(gate.run(busy_turn()))
    await _until(lambda: gate._free == 0)
    later = [asyncio.create_task(gate.run(new_turn(f"new{i}"))) for i in range(3)]
    await _until(lambda: gate.waiting == 3)
    answer.set()  # the action server answers while the place is taken and three turns queue
    await _until(lambda: gate.waiting == 4)
    busy.set()
    await asyncio.wait_for(asyncio.gather(remote, holder, *later), 1)
    assert order == ["busy", "remote", "new0", "new1", "new2"]
    assert gate._free == 1 and gate.waiting == 0


async def test_a_hung_action_server_stalls_only_its_own_turn() -> None:
    gate = turn_gate.TurnGate(1)
    never = asyncio.Event()

    async def hung_turn() -> None:
        async with turn_gate.away():
            await never.wait()

    async def quick_turn(n: int) -> int:
        return n

    hung = [asyncio.create_task(gate.run(hung_turn())) for _ in range(3)]
    await _until(lambda: gate._free == 1)
    assert await asyncio.wait_for(asyncio.gather(*(gate.run(quick_turn(n)) for n in range(5))), 1) == list(range(5))
    for task in hung:
        task.cancel()
    await asyncio.gather(*hung, return_exceptions=True)
    assert gate._free == 1 and gate.waiting == 0  # cancelled turns took no place with them


async def test_failures_and_cancellations_release_their_place() -> None:
    gate = turn_gate.TurnGate(1)
    release = asyncio.Event()

    async def failing() -> None:
        raise RuntimeError("boom")

    async def failing_away() -> None:
        async with turn_gate.away():
            raise ConnectionError("action server down")

    async def held() -> None:
        await release.wait()

    async def fine() -> str:
        return "ok"

    with pytest.raises(RuntimeError, match="boom"):
        await gate.run(failing())
    with pytest.raises(ConnectionError):
        await gate.run(failing_away())
    holder = asyncio.create_task(gate.run(held()))
    await _until(lambda: gate._free == 0)
    queued = asyncio.create_task(gate.run(held()))
    await _until(lambda: gate.waiting == 1)
    queued.cancel()  # a client that hung up while queued
    with pytest.raises(asyncio.CancelledError):
        await queued
    release.set()
    await holder
    assert await asyncio.wait_for(gate.run(fine()), 1) == "ok"
    assert gate._free == 1 and gate.waiting == 0


async def test_away_outside_a_turn_does_nothing() -> None:
    async with turn_gate.away():
        pass


def test_installed_in_the_rasa_process() -> None:
    uninstall_patches()  # from Rasa's own functions, whatever earlier tests left
    install_patches()  # what the tracker store named in endpoints.yml does when Rasa creates it

    assert getattr(MessageProcessor.handle_message, "__wrapped__", None) is not None
    chain, run = [], RemoteAction.run
    while run is not None:
        chain.append(run.__qualname__)
        run = getattr(run, "__wrapped__", None)
    assert any("_run_away" in name for name in chain)  # the remote call gives the turn's place up
    assert chain.index("_run_away") < chain.index("_run_or_fall_back")  # outside the session-start fallback
    assert chain[-1] == "RemoteAction.run"  # and Rasa's own call is still made


async def test_a_quick_action_call_keeps_the_place() -> None:
    gate = turn_gate.TurnGate(1)
    order: list[str] = []

    async def remote_turn() -> None:
        await turn_gate.hold_then_away(asyncio.sleep(0.01), hold_s=5)
        order.append("remote")

    async def new_turn() -> None:
        order.append("new")

    remote = asyncio.create_task(gate.run(remote_turn()))
    await _until(lambda: gate._free == 0)
    later = asyncio.create_task(gate.run(new_turn()))
    await asyncio.wait_for(asyncio.gather(remote, later), 1)
    assert order == ["remote", "new"]  # nobody ran while the quick call was out


async def test_a_slow_action_call_gives_the_place_up_then_resumes_first() -> None:
    gate = turn_gate.TurnGate(1)
    answer = asyncio.Event()
    order: list[str] = []

    async def slow_call() -> str:
        await answer.wait()
        return "events"

    async def remote_turn() -> None:
        order.append(await turn_gate.hold_then_away(slow_call(), hold_s=0.01))

    async def new_turn(name: str) -> None:
        order.append(name)
        if name == "new0":
            answer.set()  # the action server answers while new0 runs; new1 and new2 still queue
            for _ in range(20):  # new0 is still busy when the answer has been read
                await asyncio.sleep(0)

    remote = asyncio.create_task(gate.run(remote_turn()))
    await _until(lambda: gate._free == 0)
    later = [asyncio.create_task(gate.run(new_turn(f"new{i}"))) for i in range(3)]
    await asyncio.wait_for(asyncio.gather(remote, *later), 1)
    assert order == ["new0", "events", "new1", "new2"]


async def test_a_failing_or_cancelled_call_under_hold() -> None:
    gate = turn_gate.TurnGate(1)

    async def down() -> None:
        raise ConnectionError("refused")

    async def failing_turn() -> None:
        await turn_gate.hold_then_away(down(), hold_s=5)

    with pytest.raises(ConnectionError):
        await gate.run(failing_turn())
    never = asyncio.Event()
    inner: list[asyncio.Task] = []

    async def hung() -> None:
        inner.append(asyncio.current_task())
        await never.wait()

    async def hung_turn() -> None:
        await turn_gate.hold_then_away(hung(), hold_s=0.01)

    turn = asyncio.create_task(gate.run(hung_turn()))
    await _until(lambda: inner)
    await asyncio.sleep(0.05)
    assert gate._free == 1  # past the hold: the place was given up
    turn.cancel()
    await asyncio.gather(turn, return_exceptions=True)
    await asyncio.sleep(0)
    assert inner and inner[0].cancelled()  # the call to the action server is not left running
    assert gate._free == 1 and gate.waiting == 0


@pytest.mark.parametrize("raw", ["lots", "-3", "<script>", "\udcff".encode("utf-8", "surrogateescape").decode("latin-1")])
def test_rapport_up_refuses_a_bad_bound_before_starting_anything(tmp_path, raw: str) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "RAPPORT_TURN_CONCURRENCY": raw, "RAPPORT_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "up"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "RAPPORT_TURN_CONCURRENCY must be a whole number" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var" / "logs").exists()  # nothing was started
