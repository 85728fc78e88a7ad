"""The customer web chat: a static page and a one-tag embed script talking socket.io to Rasa."""

from bot.webchat.routes import add_webchat_routes, chat_csp

__all__ = ["add_webchat_routes", "chat_csp"]
