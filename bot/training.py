"""Train the assistant only when config, domain, data or the NLP code changed.

A model's file name carries the fingerprint of everything it was trained from, so finding a
current model is a file lookup and the launcher never retrains needlessly.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings

MODEL_PREFIX = "rapport-"
_INPUT_GLOBS = ("config.yml", "domain.yml", "data/**/*.yml", "data/**/*.yaml", "bot/nlp/*.py")


class TrainingError(RuntimeError):
    """`rasa train` failed; the message carries the end of its output."""


@dataclass(frozen=True)
class TrainedModel:
    path: Path
    fingerprint: str
    trained: bool
    seconds: float


def fingerprint(root: Path, config: str = "config.yml") -> str:
    """A digest over every file the model is trained from, and the Rasa version."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"rasa={version('rasa')};config={config}".encode())
    files: set[Path] = {root / config}
    for pattern in _INPUT_GLOBS:
        files.update(p for p in root.glob(pattern) if p.is_file())
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()[:16]


def model_path(root: Path, fp: str) -> Path:
    return root / "models" / f"{MODEL_PREFIX}{fp}.tar.gz"


def rasa_env() -> dict[str, str]:
    """The environment every Rasa subprocess gets: telemetry off, quiet TensorFlow."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONUNBUFFERED": "1",
            "SANIC_WORKERS": "1",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        }
    )
    return env


def rasa_command() -> list[str]:
    """`rasa` from this interpreter's environment, whatever PATH says."""
    candidate = Path(sys.executable).with_name("rasa")
    return [str(candidate)] if candidate.exists() else [sys.executable, "-m", "rasa"]


def ensure_model(settings: Settings, *, config: str = "config.yml", force: bool = False,
                 log: Path | None = None) -> TrainedModel:
    """Return a model matching the current inputs, training one first when none does."""
    root = settings.project_root
    fp = fingerprint(root, config)
    target = model_path(root, fp)
    if target.exists() and not force:
        return TrainedModel(target, fp, trained=False, seconds=0.0)
    target.parent.mkdir(parents=True, exist_ok=True)
    command = rasa_command() + [
        "train", "--config", config, "--domain", "domain.yml", "--data", "data",
        "--out", str(target.parent), "--fixed-model-name", target.name[: -len(".tar.gz")],
        "--force",
    ]
    started = time.monotonic()
    log_path = log or settings.var_dir / "logs" / "train.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as out:
        result = subprocess.run(command, cwd=root, env=rasa_env(), stdout=out, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    if result.returncode != 0 or not target.exists():
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise TrainingError(f"rasa train failed (exit {result.returncode}); log {log_path}:\n{tail}")
    prune_models(target.parent, keep=KEEP_MODELS)
    return TrainedModel(target, fp, trained=True, seconds=seconds)


KEEP_MODELS = 3


def prune_models(models_dir: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest Rapport models (rolling back needs only a few)."""
    models = sorted(models_dir.glob(f"{MODEL_PREFIX}*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = models[keep:]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
