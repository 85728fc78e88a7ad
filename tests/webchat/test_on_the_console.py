"""The web chat as the console serves it: every answer under /chat stays embeddable, with its own policies."""

from __future__ import annotations

from tests.console.conftest import client, console_app, console_settings, fake_rasa  # noqa: F401  (fixtures)



def _socket(settings) -> str:  # type: ignore[no-untyped-def]
    """The socket URL's origins, http and ws (the settings hold a plain http origin in these tests)."""
    url = settings.channels.webchat_socket_url.rstrip("/")
    assert url.startswith("http://")
    return f"{url} ws://{url.removeprefix('http://')}"


async def test_the_chat_page_has_the_page_policy_and_is_never_cached(client, console_settings):
    answer = await client.get("/chat")
    assert answer.status == 200
    assert answer.headers["Content-Security-Policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:;"
        f" connect-src 'self' {_socket(console_settings)}; base-uri 'none'; form-action 'none'; frame-ancestors *"
    )
    assert answer.headers["Cache-Control"] == "no-store" and answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["X-Content-Type-Options"] == "nosniff" and "X-Frame-Options" not in answer.headers


async def test_the_embed_script_static_files_and_misses_under_chat_are_embeddable(client, console_settings):
    rasa = f"127.0.0.1:{console_settings.rasa_port}"
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none';"
        f" form-action 'self'; img-src 'self' data: https:; connect-src 'self' http://{rasa} ws://{rasa}"
        f" {_socket(console_settings)}"
    )
    for path, status in (("/chat/embed.js", 200), ("/chat/static/chat.js", 200), ("/chat/static/nope.js", 404),
                         ("/chat/", 404), ("/chat/nope", 404)):  # fmt: skip
        answer = await client.get(path, allow_redirects=False)
        assert answer.status == status, path
        assert answer.headers["Content-Security-Policy"] == policy, path
        assert answer.headers["Referrer-Policy"] == "same-origin" and answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "X-Frame-Options" not in answer.headers, path
    embed = await client.get("/chat/embed.js")
    assert embed.headers["Access-Control-Allow-Origin"] == "*" and embed.headers["Cache-Control"] == "max-age=300"
    assert "Cache-Control" not in (await client.get("/chat/static/chat.js")).headers
