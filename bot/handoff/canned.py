"""Canned replies staff can pick on the desk, from ``data/canned_replies.yml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

MAX_REPLIES = 200


class CannedRepliesError(ValueError):
    """The canned replies file is not a list of {id, title, text}; the message says where."""


@dataclass(frozen=True)
class CannedReply:
    id: str
    title: str
    text: str


def parse(text: str) -> tuple[CannedReply, ...]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise CannedRepliesError(f"not valid YAML: {exc}") from exc
    items = document.get("canned_replies") if isinstance(document, dict) else None
    if not isinstance(items, list) or len(items) > MAX_REPLIES:
        raise CannedRepliesError(f"expected 'canned_replies:' with a list of at most {MAX_REPLIES} entries")
    replies = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item[k].strip() for k in ("id", "title", "text")):
            raise CannedRepliesError(f"entry {number} needs non-empty text fields id, title and text")
        if len(item["text"]) > 4000:
            raise CannedRepliesError(f"entry {number} ({item['id']}): text longer than 4000 characters")
        replies.append(CannedReply(item["id"].strip(), item["title"].strip(), item["text"].strip()))
    return tuple(replies)


def load(path: Path) -> tuple[CannedReply, ...]:
    """The replies in ``path``; none when the file does not exist."""
    if not path.exists():
        return ()
    return parse(path.read_text(encoding="utf-8"))
