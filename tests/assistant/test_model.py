"""The trained model: dialogue test stories pass and intents generalise to held-out examples."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.rasa_cli import ROOT, run_rasa

MIN_MACRO_F1 = 0.85


def test_test_stories_pass(trained_model: Path, tmp_path: Path) -> None:
    result = run_rasa(
        "test", "core", "--model", str(trained_model), "--stories", "tests/stories",
        "--out", str(tmp_path), "--fail-on-prediction-errors", "--no-plot",
    )
    failed = (tmp_path / "failed_test_stories.yml")
    detail = failed.read_text(encoding="utf-8")[:4000] if failed.exists() else ""
    assert result.returncode == 0, detail + result.stdout[-3000:] + result.stderr[-3000:]


def test_intent_macro_f1_on_held_out_split(trained_model: Path, tmp_path: Path) -> None:
    held_out = ROOT / "tests" / "nlu" / "heldout.yml"
    result = run_rasa(
        "test", "nlu", "--model", str(trained_model), "--nlu", str(held_out), "--out", str(tmp_path),
        "--no-plot",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text(encoding="utf-8"))
    macro_f1 = report["macro avg"]["f1-score"]
    worst = sorted(
        (v["f1-score"], k) for k, v in report.items() if isinstance(v, dict) and "support" in v
        and k not in {"macro avg", "weighted avg", "micro avg"}
    )[:5]
    print(f"\nintent macro-F1 on held-out split: {macro_f1:.3f}; weakest: {worst}")
    assert macro_f1 >= MIN_MACRO_F1, f"macro-F1 {macro_f1:.3f} < {MIN_MACRO_F1}; weakest: {worst}"


def test_training_data_and_held_out_split_do_not_overlap() -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    train = {m.get("text").strip().lower() for m in load_data(str(ROOT / "data" / "nlu")).intent_examples}
    held = {m.get("text").strip().lower() for m in load_data(str(ROOT / "tests" / "nlu" / "heldout.yml")).intent_examples}
    assert held, "held-out split is empty"
    assert not (train & held), f"held-out examples also in training data: {sorted(train & held)[:10]}"
