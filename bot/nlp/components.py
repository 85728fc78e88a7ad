"""Rasa graph components that use the project's spaCy pipeline.

``SpacyNLP`` keeps Rasa's class name on purpose: Rasa's spaCy components find their model provider
by that name.  It builds the pipeline from ``data/entities.yml`` when the build is missing or stale,
so ``rasa train`` works on a fresh clone without a separate step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.nlu.utils.spacy_utils import SpacyNLP as RasaSpacyNLP

from bot.nlp import pipeline

DEFAULT_PATTERNS = "data/entities.yml"


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(RasaSpacyNLP):
    """Rasa's SpacyNLP, loading (and if needed building) the project pipeline by path."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**RasaSpacyNLP.get_default_config(), "patterns": DEFAULT_PATTERNS}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        model = config.get("model")
        patterns = Path(config.get("patterns") or DEFAULT_PATTERNS)
        if model and patterns.exists() and ("/" in model or model.startswith(".")):
            pipeline.ensure_built(Path(model), patterns)
        return super().create(config, model_storage, resource, execution_context)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False, model_from="SpacyNLP"
)
class RulerEntityExtractor(SpacyEntityExtractor):
    """Entities from the EntityRuler, with the pattern's canonical id as the value.

    "detective novels" and "mysteries" both come out as ``topic: crime``, so actions and the
    store count one interest, not many spellings of it.
    """

    @staticmethod
    def _extract_entities(doc: Any) -> List[Dict[Text, Any]]:
        return [
            {
                "entity": ent.label_,
                "value": ent.ent_id_ or ent.text.lower(),
                "start": ent.start_char,
                "end": ent.end_char,
                "confidence": None,
            }
            for ent in doc.ents
        ]
