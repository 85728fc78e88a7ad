"""On a Rasa version it does not know, Rapport patches nothing, says so once, and Rasa still answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_an_unknown_rasa_runs_unpatched_with_one_warning(trained_model: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "RAPPORT_VAR_DIR": str(tmp_path),
           "RAPPORT_RASA_TOKEN": "unknown-rasa-token", "SANIC_WORKERS": "1"}
    log = (tmp_path / "rasa.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "support" / "unknown_rasa.py"), "run", "--model", str(trained_model),
         "--endpoints", "endpoints.yml", "--credentials", "credentials.yml", "--port", str(port),
         "--interface", "127.0.0.1", "--enable-api"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        replies = None
        deadline = time.monotonic() + 240
        while replies is None and time.monotonic() < deadline and process.poll() is None:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                                             data=json.dumps({"sender": "unknown-rasa", "message": "how much is delivery?"}).encode())
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                    replies = json.loads(answer.read())
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        output = (tmp_path / "rasa.log").read_text(errors="replace")
        assert replies, "Rasa did not answer:\n" + output[-3000:]
        # No action server runs here and the session-start fallback is one of the patches left out, so
        # Rasa answers as its own code does ("Sorry, I didn't quite get that"): it answers, unpatched.
        assert all(r.get("text") for r in replies), replies
        warnings = [line for line in output.splitlines() if "internals are not patched" in line]
        assert len(warnings) == 1, output[-3000:]
        assert "Rasa 3.99.0 is not a version Rapport knows" in warnings[0]
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
