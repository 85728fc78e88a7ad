"""`rapport up` starts every process and the assistant answers over REST."""

from __future__ import annotations

import json
import urllib.request

from tests.support.stack import Stack


def test_launcher_starts_all_processes_and_bot_replies(stack: Stack) -> None:
    replies = stack.say("launcher-check", "hello")
    assert replies, "no reply to a greeting"
    assert "Marginalia" in replies[0]["text"], replies
    with urllib.request.urlopen(f"{stack.console_url}/health", timeout=5) as response:  # noqa: S310
        assert json.loads(response.read())["status"] == "ok"
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.actions_port}/health", timeout=5) as response:  # noqa: S310
        assert response.status == 200


def test_faq_answers_come_from_the_domain(stack: Stack) -> None:
    replies = stack.say("faq-check", "how much is delivery to manchester")
    assert any("£3.50" in r.get("text", "") for r in replies), replies
    replies = stack.say("faq-check-2", "r u open on saturdays")
    assert any("Sat" in r.get("text", "") for r in replies), replies


def test_stock_question_is_answered_by_the_response_selector(stack: Stack) -> None:
    replies = stack.say("stock-check", "can you order in a book thats not in stock for me")
    assert any("order in" in r.get("text", "") for r in replies), replies
