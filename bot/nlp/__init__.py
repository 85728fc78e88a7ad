"""The project's own spaCy pipeline: built from data/, never downloaded."""
