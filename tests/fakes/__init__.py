"""Loopback fakes of the messaging providers' HTTP APIs, recording what the bot sends."""
