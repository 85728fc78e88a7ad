"""Build the project's spaCy pipeline reproducibly from files in ``data/``.

The pipeline is ``spacy.blank("en")`` plus lookup lemmas (from ``spacy-lookups-data``) and an
``EntityRuler`` whose patterns marketers edit in ``data/entities.yml``.  No pretrained model is
downloaded; the same inputs always give the same pipeline.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

BUILDER_VERSION = "1"
META_FILE = "rapport_meta.json"
_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_MAX_PHRASE = 100


class PatternError(ValueError):
    """``data/entities.yml`` is not a valid list of entity patterns."""


@dataclass(frozen=True)
class EntityPattern:
    """One canonical entity value and the phrases that name it."""

    label: str
    id: str
    phrases: tuple[str, ...]


def load_patterns(path: Path) -> list[EntityPattern]:
    """Read and validate the pattern file; raise :class:`PatternError` with the entry at fault."""
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PatternError(f"{path} is not UTF-8: {exc}") from exc
    except OSError as exc:
        raise PatternError(f"cannot read {path}: {exc}") from exc
    try:
        document = YAML(typ="safe", pure=True).load(raw) or {}
    except Exception as exc:  # ruamel raises many error types for bad YAML
        raise PatternError(f"{path} is not valid YAML: {exc}") from exc
    entries = document.get("patterns") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise PatternError(f"{path} must have a top-level 'patterns:' list")
    patterns = []
    for index, entry in enumerate(entries):
        where = f"{path} entry {index + 1}"
        if not isinstance(entry, dict):
            raise PatternError(f"{where}: expected a mapping with label, id and phrases")
        label, value, phrases = entry.get("label"), entry.get("id"), entry.get("phrases")
        if not isinstance(label, str) or not _LABEL.match(label):
            raise PatternError(f"{where}: label must be a lower-case name like 'topic'")
        if not isinstance(value, str) or not value.strip() or len(value) > _MAX_PHRASE:
            raise PatternError(f"{where}: id must be a non-empty string of at most {_MAX_PHRASE} characters")
        if not isinstance(phrases, list) or not phrases:
            raise PatternError(f"{where} ({value}): phrases must be a non-empty list")
        clean = []
        for phrase in phrases:
            if not isinstance(phrase, str) or not phrase.strip() or len(phrase) > _MAX_PHRASE:
                raise PatternError(f"{where} ({value}): every phrase must be a non-empty string")
            clean.append(phrase.strip().lower())
        patterns.append(EntityPattern(label=label, id=value.strip(), phrases=tuple(clean)))
    return patterns


def inputs_digest(patterns_path: Path) -> str:
    """A digest of everything the built pipeline depends on."""
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    digest.update(patterns_path.read_bytes())
    return digest.hexdigest()


def is_current(model_dir: Path, patterns_path: Path) -> bool:
    """True when ``model_dir`` holds a pipeline built from the current patterns."""
    meta = model_dir / META_FILE
    if not meta.exists():
        return False
    try:
        recorded = json.loads(meta.read_text(encoding="utf-8")).get("digest")
    except (OSError, ValueError):
        return False
    return recorded == inputs_digest(patterns_path)


def build(model_dir: Path, patterns_path: Path) -> Path:
    """Build the pipeline into ``model_dir`` (atomically replacing an older build)."""
    import shutil

    import spacy
    from spacy.lookups import load_lookups

    patterns = load_patterns(patterns_path)
    nlp = spacy.blank("en")
    lookups = load_lookups("en", ["lemma_lookup"])
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    lemmatizer.lookups = lookups
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True})
    ruler.add_patterns(
        [
            {"label": p.label, "id": p.id, "pattern": phrase}
            for p in patterns
            for phrase in p.phrases
        ]
    )
    nlp.meta["name"] = "rapport"
    nlp.meta["description"] = "Rapport's pipeline: blank English, lookup lemmas, EntityRuler from data/entities.yml"
    model_dir = Path(model_dir)
    staging = model_dir.with_name(model_dir.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(staging)
    (staging / META_FILE).write_text(
        json.dumps({"digest": inputs_digest(patterns_path), "patterns": str(patterns_path)}),
        encoding="utf-8",
    )
    shutil.rmtree(model_dir, ignore_errors=True)
    staging.rename(model_dir)
    return model_dir


def ensure_built(model_dir: Path, patterns_path: Path) -> Path:
    """Build the pipeline unless a current build is already there."""
    if not is_current(model_dir, patterns_path):
        build(model_dir, patterns_path)
    return model_dir
