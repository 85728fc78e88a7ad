"""What a file on disk still holds, read as bytes: for tests that erased data leaves no copy behind."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

#: SQLite stores text as UTF-8 or UTF-16 (the database's encoding); logs are UTF-8.
ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")


def files_holding(paths: Iterable[Path], needles: Iterable[str], *, root: Path | None = None) -> dict[str, list[str]]:
    """file -> the needles found in its bytes, in any of ``ENCODINGS``; files holding none are left out."""
    wanted = list(needles)
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in paths if p.is_file()):
        data = path.read_bytes()
        hits = [n for n in wanted if any(n.encode(codec) in data for codec in ENCODINGS)]
        if hits:
            found[str(path.relative_to(root) if root else path.name)] = hits
    return found


def under(directory: Path) -> list[Path]:
    """Every file below ``directory``, hidden ones included."""
    return [p for p in directory.rglob("*") if p.is_file()]


def sqlite_files(database: Path) -> list[Path]:
    """The database file and its ``-wal`` and ``-shm`` companions (those that exist)."""
    return [p for p in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")) if p.exists()]
