"""The training data is valid Rasa data and every rule and story has a test story."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from tests.support.rasa_cli import ROOT, run_rasa


def _names(path: Path, key: str) -> set[str]:
    document = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    return {entry["rule" if key == "rules" else "story"] for entry in document.get(key, [])}


def test_rasa_data_validate_passes() -> None:
    result = run_rasa("data", "validate", "--domain", "domain.yml", "--data", "data", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_every_rule_and_story_has_a_test_story() -> None:
    trained = set()
    for path in (ROOT / "data").glob("*.yml"):
        trained |= _names(path, "rules") | _names(path, "stories")
    tested = set()
    for path in (ROOT / "tests" / "stories").glob("*.yml"):
        tested |= _names(path, "stories")
    missing = sorted(trained - tested)
    assert trained, "no rules or stories found under data/"
    assert not missing, f"rules/stories without a test story of the same name: {missing}"
