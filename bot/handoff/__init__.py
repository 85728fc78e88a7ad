"""Handoff to a person: the rules (staffed hours, routing, the summary), the desk staff use, its outbox into Rasa, the live feed."""
