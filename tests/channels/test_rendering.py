"""One response, rendered per channel: buttons, numbered options and markup (pure)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from bot.channels import rendering
from bot.channels.rendering import Button, ButtonMemory

YES_NO = [Button("Yes", "/affirm"), Button("No", "/deny")]


def test_buttons_from_rasa_dicts_drop_untitled_entries() -> None:
    raw = [{"title": "Yes", "payload": "/affirm"}, {"payload": "/x"}, {"title": "Maybe"}]
    assert rendering.buttons_from(raw) == [Button("Yes", "/affirm"), Button("Maybe", "Maybe")]
    assert rendering.buttons_from(None) == []


def test_telegram_inline_keyboard_one_button_per_row() -> None:
    body = rendering.telegram_message("42", "Erase it?", YES_NO)
    assert body == {"chat_id": "42", "text": "Erase it?", "reply_markup": {"inline_keyboard": [
        [{"text": "Yes", "callback_data": "/affirm"}], [{"text": "No", "callback_data": "/deny"}]]}}


def test_telegram_long_payload_falls_back_to_a_title_within_64_bytes() -> None:
    button = Button("Tell me more", '/ask{"topic": "' + "x" * 80 + '"}')
    assert rendering.telegram_callback_data(button) == "Tell me more"
    assert len(rendering.telegram_callback_data(Button("é" * 40, "p" * 65)).encode()) <= 64


def test_slack_blocks_carry_payloads_as_button_values() -> None:
    body = rendering.slack_message("U123", "Rate us **now**", YES_NO)
    assert body["channel"] == "U123"
    assert body["blocks"][0] == {"type": "section", "text": {"type": "mrkdwn", "text": "Rate us *now*"}}
    assert [e["value"] for e in body["blocks"][1]["elements"]] == ["/affirm", "/deny"]
    assert body["blocks"][1]["elements"][0]["text"] == {"type": "plain_text", "text": "Yes"}


def test_slack_mrkdwn_escapes_control_characters_and_converts_links() -> None:
    assert rendering.slack_mrkdwn("<b>hi</b> & [site](https://x.example/a)") == (
        "&lt;b&gt;hi&lt;/b&gt; &amp; <https://x.example/a|site>")


def test_messenger_quick_replies_are_limited_to_13_with_20_char_titles() -> None:
    many = [Button(f"Option number {i} with a long title", f"/p{i}") for i in range(20)]
    body = rendering.messenger_message("PSID1", "Pick", many)
    replies = body["message"]["quick_replies"]
    assert len(replies) == 13
    assert all(len(r["title"]) <= 20 for r in replies)
    assert body["recipient"] == {"id": "PSID1"} and body["messaging_type"] == "RESPONSE"


def test_sms_numbers_the_options_and_strips_markdown() -> None:
    text = rendering.sms_text("**Erase** everything? See [our policy](https://shop.example/p)", YES_NO)
    assert text == "Erase everything? See our policy (https://shop.example/p)\n\nReply 1 for Yes, 2 for No."


def test_plain_text_removes_markup_a_phone_cannot_show() -> None:
    assert rendering.plain_text("# Hours\n*Mon*: `9-5` <i>daily</i> __open__") == "Hours\nMon: 9-5 daily open"
    assert rendering.plain_text("2 * 3 * 4 and snake_case_name") == "2 * 3 * 4 and snake_case_name"


@given(st.text(max_size=5000), st.lists(st.text(min_size=1, max_size=30), max_size=10))
def test_sms_text_always_fits_one_twilio_message(text: str, titles: list[str]) -> None:
    assert len(rendering.sms_text(text, [Button(t, t) for t in titles])) <= rendering.SMS_CHARS


def test_button_memory_maps_a_number_or_title_to_the_payload_once() -> None:
    memory = ButtonMemory()
    memory.remember("+44", YES_NO, now=0)
    assert memory.resolve("+44", " 2 ", now=1) == "/deny"
    assert memory.resolve("+44", "2", now=2) == "2"  # used up: a later "2" is just text
    memory.remember("+44", YES_NO, now=3)
    assert memory.resolve("+44", "yes", now=4) == "/affirm"


def test_button_memory_gives_the_same_choice_again_after_a_failed_turn_is_rolled_back() -> None:
    memory = ButtonMemory()
    memory.remember("+44", YES_NO, now=0)
    shown = memory.checkpoint("+44")
    assert memory.resolve("+44", "2", now=1) == "/deny"
    memory.rollback("+44", shown)  # the turn failed; the provider redelivers the same "2"
    assert memory.resolve("+44", "2", now=2) == "/deny"
    memory.remember("+44", YES_NO[:1], now=3)  # a turn that showed new buttons keeps them
    memory.rollback("+44", shown)
    assert memory.resolve("+44", "2", now=4) == "2"


def test_button_memory_leaves_other_replies_and_senders_alone() -> None:
    memory = ButtonMemory(max_age_seconds=60)
    memory.remember("+44", YES_NO, now=0)
    assert memory.resolve("+44", "3", now=1) == "3"
    assert memory.resolve("+1", "1", now=1) == "1"
    assert memory.resolve("+44", "where is my order", now=1) == "where is my order"
    assert memory.resolve("+44", "1", now=120) == "1"  # expired


def test_button_memory_is_bounded() -> None:
    memory = ButtonMemory(max_senders=2)
    for sender in ("a", "b", "c"):
        memory.remember(sender, YES_NO, now=0)
    assert memory.resolve("a", "1", now=0) == "1"
    assert memory.resolve("c", "1", now=0) == "/affirm"
