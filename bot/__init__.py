"""Rapport: the relationship-first assistant framework."""
