"""The content catalogue and the rule for suggesting one item (pure; no I/O beyond loading)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ruamel.yaml import YAML

CONTENT_TYPES = ("article", "video", "customer_story", "faq")


class CatalogueError(ValueError):
    """``data/content.yml`` is not a valid catalogue."""


@dataclass(frozen=True)
class ContentItem:
    id: str
    type: str
    title: str
    url: str
    topics: tuple[str, ...]
    summary: str


def load_catalogue(path: Path) -> list[ContentItem]:
    try:
        document = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}
    except Exception as exc:  # ruamel raises several error types
        raise CatalogueError(f"{path} is not valid YAML: {exc}") from exc
    items = []
    seen: set[str] = set()
    for index, raw in enumerate(document.get("items") or []):
        where = f"{path} item {index + 1}"
        try:
            item = ContentItem(
                id=str(raw["id"]), type=str(raw["type"]), title=str(raw["title"]), url=str(raw["url"]),
                topics=tuple(str(t) for t in raw.get("topics") or ()), summary=str(raw.get("summary") or ""),
            )
        except (KeyError, TypeError) as exc:
            raise CatalogueError(f"{where}: missing field {exc}") from exc
        if item.type not in CONTENT_TYPES:
            raise CatalogueError(f"{where}: type must be one of {', '.join(CONTENT_TYPES)}")
        if item.id in seen:
            raise CatalogueError(f"{where}: duplicate id {item.id}")
        seen.add(item.id)
        items.append(item)
    return items


def choose(
    catalogue: Iterable[ContentItem],
    *,
    topics_now: Iterable[str],
    interests: Iterable[str],
    seen: set[str],
    asked_for_recommendation: bool,
) -> ContentItem | None:
    """One unseen item on the topic at hand, or None.

    Relevance to the current message wins; the person's remembered interests only break ties, or
    choose when they explicitly asked for a recommendation.  Nothing on-topic means no suggestion.
    """
    now = list(dict.fromkeys(topics_now))
    ranked_interests = list(dict.fromkeys(interests))
    candidates = [item for item in catalogue if item.id not in seen]
    wanted = now or (ranked_interests if asked_for_recommendation else [])
    if not wanted:
        return None

    def score(item: ContentItem) -> tuple[int, int]:
        on_topic = sum(1 for topic in item.topics if topic in now)
        by_interest = max((len(ranked_interests) - ranked_interests.index(t) for t in item.topics
                           if t in ranked_interests), default=0)
        return on_topic, by_interest

    relevant = [item for item in candidates if set(item.topics) & set(wanted)]
    if not relevant:
        return None
    return max(relevant, key=score)
