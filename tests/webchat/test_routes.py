"""The web chat routes on a bare aiohttp app (no browser, no Rasa): page, CSP, embed, static."""

from __future__ import annotations

import dataclasses

import pytest

from aiohttp import web

from bot import settings as settings_module
from bot.settings import Settings
from bot.webchat import add_webchat_routes, chat_csp, webchat_config


def _app(settings: Settings | None = None) -> web.Application:
    app = web.Application()
    add_webchat_routes(app, webchat_config(settings or settings_module.load()))
    return app


async def test_page_points_at_rasa_on_the_same_host_and_has_no_inline_script(aiohttp_client, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_RASA_PORT", "5999")
    client = await aiohttp_client(_app())
    answer = await client.get("/chat")
    page = await answer.text()
    assert answer.status == 200
    assert '<meta name="rapport-socket-url" content="http://127.0.0.1:5999">' in page
    assert "<script>" not in page and "onclick" not in page
    assert "connect-src 'self' http://127.0.0.1:5999 ws://127.0.0.1:5999" in answer.headers["Content-Security-Policy"]


def test_a_socket_url_that_is_not_an_origin_is_refused_before_anything_starts(monkeypatch) -> None:
    from bot import settings as settings_module

    monkeypatch.setenv("RAPPORT_WEBCHAT_SOCKET_URL", 'https://chat.example.com/"><script>x</script>')
    with pytest.raises(settings_module.SettingsError, match="RAPPORT_WEBCHAT_SOCKET_URL must be an origin"):
        settings_module.load_channels()


async def test_a_socket_url_with_markup_is_escaped_into_the_page(aiohttp_client) -> None:
    # The settings refuse such a URL (RAPPORT_WEBCHAT_SOCKET_URL must be an origin); the page escapes it anyway.
    settings = settings_module.load()
    hostile = dataclasses.replace(
        settings, channels=dataclasses.replace(settings.channels, webchat_socket_url='https://chat.example.com/"><script>x</script>')
    )
    client = await aiohttp_client(_app(hostile))
    page = await (await client.get("/chat")).text()
    assert "<script>x</script>" not in page and "&quot;&gt;&lt;script&gt;" in page


async def test_the_embed_script_and_static_files_may_be_framed_and_connect_to_rasa(aiohttp_client, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_RASA_PORT", "5999")
    client = await aiohttp_client(_app())
    for path in ("/chat/embed.js", "/chat/static/chat.js", "/chat/static/missing.js"):
        answer = await client.get(path)
        csp = answer.headers["Content-Security-Policy"]
        assert "connect-src 'self' http://127.0.0.1:5999 ws://127.0.0.1:5999" in csp, path
        assert "frame-ancestors" not in csp and "X-Frame-Options" not in answer.headers, path
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path


def test_csp_allows_secure_websockets_for_an_https_rasa() -> None:
    csp = chat_csp("https://rasa.example.com")
    assert "connect-src 'self' https://rasa.example.com wss://rasa.example.com" in csp
    assert "'unsafe-inline'" not in csp and "default-src 'none'" in csp


async def test_embed_script_and_vendored_socket_io_are_served(aiohttp_client) -> None:
    client = await aiohttp_client(_app())
    embed = await client.get("/chat/embed.js")
    assert embed.status == 200 and embed.headers["Content-Type"].startswith("text/javascript")
    assert "attachShadow" in await embed.text()
    vendored = await (await client.get("/chat/static/socket.io.min.js")).text()
    assert vendored.startswith("/*!\n * Socket.IO v4.")  # licence header kept


async def test_static_path_traversal_is_refused(aiohttp_client) -> None:
    client = await aiohttp_client(_app())
    answer = await client.get("/chat/static/..%2F..%2Fsettings.py")
    assert answer.status in (403, 404)


async def test_forged_host_header_cannot_inject_into_the_csp(aiohttp_client, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_RASA_PORT", "5005")
    client = await aiohttp_client(_app())
    answer = await client.get("/chat", headers={"Host": "evil.example; script-src *"})
    csp = answer.headers["Content-Security-Policy"]
    assert "evil" not in csp and "script-src 'self'" in csp
    assert "connect-src 'self' http://127.0.0.1:5005" in csp


async def test_a_forged_host_header_reaches_neither_the_page_nor_the_csp(aiohttp_client, monkeypatch) -> None:
    monkeypatch.delenv("RAPPORT_WEBCHAT_SOCKET_URL", raising=False)
    monkeypatch.setenv("RAPPORT_HOST", "127.0.0.1")
    monkeypatch.setenv("RAPPORT_RASA_PORT", "5005")
    client = await aiohttp_client(_app())
    for host in ("evil.example", "evil.example:5005", "[::1]", "127.0.0.1.evil.example"):
        answer = await client.get("/chat", headers={"Host": host})
        page, csp = await answer.text(), answer.headers["Content-Security-Policy"]
        assert answer.status == 200
        assert "evil" not in page and "evil" not in csp and "::1" not in csp, host
        assert '<meta name="rapport-socket-url" content="http://127.0.0.1:5005">' in page
        assert "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005;" in csp


async def test_the_socket_url_comes_from_the_settings(aiohttp_client, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_WEBCHAT_SOCKET_URL", "https://chat.example.com/")
    monkeypatch.setenv("RAPPORT_CHAT_CONNECT_SRC", "https://cdn.example.com")
    client = await aiohttp_client(_app())
    answer = await client.get("/chat", headers={"Host": "evil.example"})
    assert '<meta name="rapport-socket-url" content="https://chat.example.com">' in await answer.text()
    csp = answer.headers["Content-Security-Policy"]
    assert "connect-src 'self' https://chat.example.com wss://chat.example.com https://cdn.example.com;" in csp
    assert "evil" not in csp


async def test_without_a_socket_url_the_page_uses_the_rasa_url_of_the_settings(aiohttp_client, monkeypatch) -> None:
    monkeypatch.delenv("RAPPORT_WEBCHAT_SOCKET_URL", raising=False)
    monkeypatch.setenv("RAPPORT_HOST", "rasa.internal")
    monkeypatch.setenv("RAPPORT_RASA_PORT", "5055")
    client = await aiohttp_client(_app())
    answer = await client.get("/chat", headers={"Host": "console.example.com:8000"})
    assert 'content="http://rasa.internal:5055"' in await answer.text()
    assert "connect-src 'self' http://rasa.internal:5055 ws://rasa.internal:5055;" in answer.headers["Content-Security-Policy"]
