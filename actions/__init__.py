"""Rasa custom actions for Rapport, one module per conversation concern.

`rasa run actions --actions actions` imports this package; every action module is imported
here so the executor registers them.
"""

from bot.nlp.lean import block_tensorflow

block_tensorflow()  # the action server never needs TensorFlow; spaCy would import it

from actions import content, handoff, linking, preferences, privacy, recorder, session  # noqa: E402,F401

recorder.attach()  # in the action server: record every stored turn in the background
