"""The customer web chat: a static page and a one-tag embed script talking socket.io to Rasa."""

from __future__ import annotations

from bot.webchat.routes import PREFIX, WebchatConfig, add_webchat_routes, chat_csp, is_chat_path, webchat_config

__all__ = ["PREFIX", "WebchatConfig", "add_webchat_routes", "chat_csp", "is_chat_path", "webchat_config"]
