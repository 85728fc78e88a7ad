"""The project's spaCy pipeline: built reproducibly from data/entities.yml, bad pattern files refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlp import pipeline

ROOT = Path(__file__).resolve().parents[2]


def test_build_is_current_and_finds_canonical_topics(tmp_path: Path) -> None:
    import spacy

    target = pipeline.build(tmp_path / "nlp", ROOT / "data" / "entities.yml")
    assert pipeline.is_current(target, ROOT / "data" / "entities.yml")
    nlp = spacy.load(target)
    doc = nlp("any good Detective Novels? also i prefer whatsapp")
    assert [(e.label_, e.ent_id_) for e in doc.ents] == [("topic", "crime"), ("channel", "whatsapp")]
    assert [t.lemma_ for t in nlp("books")] == ["book"]


def test_editing_patterns_makes_the_build_stale(tmp_path: Path) -> None:
    patterns = tmp_path / "entities.yml"
    patterns.write_text("patterns:\n  - label: topic\n    id: maps\n    phrases: [maps, atlases]\n", encoding="utf-8")
    built = pipeline.build(tmp_path / "nlp", patterns)
    patterns.write_text(patterns.read_text() + "  - label: topic\n    id: puzzles\n    phrases: [puzzles]\n")
    assert not pipeline.is_current(built, patterns)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "top-level 'patterns:' list"),
        (b"patterns: [\n", "not valid YAML"),
        (b"\xff\xfe bad", "not UTF-8"),
        (b"patterns:\n  - label: Topic\n    id: x\n    phrases: [x]\n", "lower-case"),
        (b"patterns:\n  - label: topic\n    id: x\n    phrases: []\n", "non-empty list"),
        (b"patterns:\n  - label: topic\n    id: x\n    phrases: ['" + b"a" * 200 + b"']\n", "non-empty string"),
        (b"patterns:\n  - just a string\n", "expected a mapping"),
    ],
)
def test_bad_pattern_files_are_refused_with_the_entry_at_fault(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "entities.yml"
    path.write_bytes(content)
    with pytest.raises(pipeline.PatternError, match=message):
        pipeline.load_patterns(path)


def test_cli_reports_a_bad_pattern_file_with_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    bad = tmp_path / "bad.yml"
    bad.write_text("patterns: 3\n", encoding="utf-8")
    monkeypatch.setenv("RAPPORT_VAR_DIR", str(tmp_path))
    assert main(["nlp", "build", "--patterns", str(bad)]) == 2
    assert "patterns" in capsys.readouterr().err
