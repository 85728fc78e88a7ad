"""Handoff to a person: the desk staff use, the calls into Rasa, the outbox and the live feed."""
