"""A linear intent classifier tuned for short customer messages.

Rasa's ``LogisticRegressionClassifier`` fits raw counts with a fixed regularisation.  Customer
messages are short and varied, so we weight the same sparse features by sublinear tf-idf and
regularise less (``C``), which generalises better to phrasing not seen in training while
keeping training and inference in milliseconds.
"""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(LogisticRegressionClassifier):
    """Sublinear tf-idf over Rasa's sparse sentence features, then logistic regression."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 20.0, "max_iter": 2000}

    def __init__(
        self,
        config: Dict[Text, Any],
        name: Text,
        model_storage: ModelStorage,
        resource: Resource,
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf = Pipeline(
            [
                ("tfidf", TfidfTransformer(sublinear_tf=True)),
                (
                    "lr",
                    LogisticRegression(
                        C=float(self.config["C"]),
                        solver=self.config["solver"],
                        max_iter=int(self.config["max_iter"]),
                        tol=self.config["tol"],
                        random_state=self.config["random_state"],
                        class_weight="balanced",
                    ),
                ),
            ]
        )

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LinearIntentClassifier":
        return cls(config, execution_context.node_name, model_storage, resource)
