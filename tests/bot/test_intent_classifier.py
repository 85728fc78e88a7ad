"""The intent classifier loads to the same predictions it was trained to, in the layout that scores fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource

from bot.nlp.classifier import LinearIntentClassifier


def test_a_loaded_classifier_predicts_exactly_what_was_trained_and_in_fortran_order(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("intent_classifier")
    context = ExecutionContext(GraphSchema({}), node_name="intent_classifier")
    config = LinearIntentClassifier.get_default_config()
    trained = LinearIntentClassifier.create(config, storage, resource, context)
    features = sp.random(120, 500, density=0.02, format="csr", random_state=1)
    intents = [f"intent_{i % 6}" for i in range(120)]
    trained.clf.fit(features, intents)
    trained.persist()

    loaded = LinearIntentClassifier.load(config, storage, resource, context)

    assert loaded.clf.named_steps["lr"].coef_.T.flags["C_CONTIGUOUS"]  # scipy need not copy it per message
    messages = sp.random(30, 500, density=0.02, format="csr", random_state=2)
    assert np.array_equal(loaded.clf.predict_proba(messages), trained.clf.predict_proba(messages))
    assert list(loaded.clf.classes_) == sorted(set(intents))
