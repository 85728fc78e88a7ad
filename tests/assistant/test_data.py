"""The training data is valid Rasa data and every rule and story has a test story."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML

from tests.support.rasa_cli import ROOT, run_rasa


def _names(path: Path, key: str) -> set[str]:
    document = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    return {entry["rule" if key == "rules" else "story"] for entry in document.get(key, [])}


_UNUSED = re.compile(r"The utterance '(utter_[\w/]+)' is not used in any story or rule")
# Rasa itself adds a retrieval intent to the domain it already lists, then warns about it.
_RASA_OWN = re.compile(r"duplicated intents have been found across multiple domain files: stock$")


def _dispatched_in_code() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for d in ("actions", "bot") for p in (ROOT / d).rglob("*.py"))


def test_rasa_data_validate_passes_with_no_unexplained_warning() -> None:
    result = run_rasa("data", "validate", "--domain", "domain.yml", "--data", "data")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    code = _dispatched_in_code()
    unexplained = []
    for line in output.splitlines():
        if "UserWarning: " not in line:
            continue
        message = line.split("UserWarning: ")[-1].strip()
        unused = _UNUSED.search(message)
        if unused and f'"{unused.group(1)}"' in code:
            continue  # the response is sent by an action or the console, not by a rule
        if _RASA_OWN.search(message):
            continue
        unexplained.append(message)
    assert not unexplained, "rasa data validate warnings:\n" + "\n".join(unexplained)


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
