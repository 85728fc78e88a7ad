"""Run standard Rasa commands in the repository, as a developer would."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.training import rasa_command, rasa_env

ROOT = Path(__file__).resolve().parents[2]


def run_rasa(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        rasa_command() + list(args), cwd=ROOT, env=rasa_env(), capture_output=True, text=True,
        timeout=timeout,
    )
