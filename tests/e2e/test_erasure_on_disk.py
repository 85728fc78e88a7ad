"""After "forget me", no file the running assistant keeps on disk holds the person's name, ids or words.

The database files are read as bytes, write-ahead logs and shared-memory files included: SQLite keeps
old page images in the WAL until it is reset, and deleted rows in free space unless secure_delete is on.
The stack is this module's own, so no other test's conversation is on its disk.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.on_disk import files_holding, under
from tests.support.socketio_client import SocketCustomer
from tests.support.stack import Stack, start_stack

NAME = "Priya"
BYSTANDER_NAME = "Bartholomew"


@pytest.fixture(scope="module")
def own_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("erasure-stack"), RAPPORT_STAFFED_HOURS="mon-sun 00:00-24:00")
    try:
        yield running
    finally:
        running.stop()


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def new_session(stack: Stack, sender: str) -> None:
    """Start a new conversation session now, as if the customer came back later."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/conversations/{sender}/execute?token={stack.token}",
        data=json.dumps({"name": "action_session_start"}).encode(), headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the test's own stack
        assert response.status == 200


def export(stack: Stack, channel: str, sender: str) -> dict:
    return stack.export(channel, sender)


async def test_forget_me_leaves_no_trace_of_the_person_in_any_file_under_var(own_stack: Stack) -> None:
    stack = own_stack
    me = "disk-" + uuid.uuid4().hex[:10]
    bystander = "keep-" + uuid.uuid4().hex[:10]
    words = ["you can call me Priya", "how much is delivery please", "do you have any poetry books"]

    stack.say(bystander, f"call me {BYSTANDER_NAME}")
    assert NAME in texts(stack.say(me, words[0]))
    stack.say(me, words[1])
    new_session(stack, me)
    greeting = texts(stack.say(me, "hello"))
    assert NAME in greeting and "delivery" in greeting, greeting  # "Welcome back, Priya. Did the delivery question get sorted?"
    code = re.search(r"(\d{3}) (\d{3})", texts(stack.say(me, "link my account")))
    assert code is not None
    web = await SocketCustomer(stack.rasa_url).connect()
    try:
        assert "Linked" in texts(await web.say(f"my code is {code.group(1)}{code.group(2)}"))
        await web.say(words[2])
    finally:
        await web.close()
    assert {i["channel"] for i in export(stack, "rest", me)["identities"]} >= {"rest", "socketio"}

    needles = [NAME, me, web.session_id, *words, greeting.split(".")[0]]
    before = files_holding(under(stack.var_dir), needles, root=stack.var_dir)
    assert any(name.startswith("tracker.db") for name in before), before  # the scan sees what is there

    assert "erase" in texts(stack.say(me, "forget me")).lower()
    assert "erased" in texts(stack.say(me, "yes")).lower()

    assert files_holding(under(stack.var_dir), needles, root=stack.var_dir) == {}
    # Everyone else is still remembered.
    assert export(stack, "rest", bystander)["person"]["name"] == BYSTANDER_NAME
    assert BYSTANDER_NAME.encode() in b"".join(p.read_bytes() for p in stack.var_dir.glob("rapport.db*"))
