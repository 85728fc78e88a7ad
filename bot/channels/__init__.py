"""Rasa input channels: Rasa's own, hardened, and messaging providers with verified signatures."""
