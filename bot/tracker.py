"""Kept so that an ``endpoints.yml`` naming ``bot.tracker.RapportTrackerStore`` keeps working."""
from bot.rasa.tracker_store import RapportTrackerStore  # noqa: F401
