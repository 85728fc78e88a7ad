"""The `rapport` command line under hostile arguments: a clear error and exit code 1 or 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import cli
from bot.store.migrate import upgrade
from tests.support.hostile import CONTROL, LONE_SURROGATES, MARKUP

ROOT = Path(__file__).resolve().parents[2]

arguments = st.one_of(
    st.sampled_from(LONE_SURROGATES + CONTROL + MARKUP + ["", " ", "-1", "99999999999999999999", "--", "-x"]),
    st.text(max_size=20),
    st.integers(min_value=300, max_value=20_000).map(lambda n: "y" * n),
)

COMMANDS = [
    ["people", "show", "--channel", "{a}", "--sender", "{b}"],
    ["people", "export", "--channel", "rest", "--sender", "{a}"],
    ["people", "forget", "--channel", "{a}", "--sender", "{b}", "--yes"],
    ["retention", "purge", "--days", "{a}"],
    ["staff", "disable", "--email", "{a}"],
    ["staff", "token", "--email", "{a}"],
]


@pytest.fixture
def isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = f"sqlite+aiosqlite:///{tmp_path / 'rapport.db'}"
    upgrade(url)
    monkeypatch.setenv("RAPPORT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    monkeypatch.setenv("RAPPORT_TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    return tmp_path


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(command=st.sampled_from(COMMANDS), a=arguments, b=arguments)
def test_hostile_arguments_get_an_error_exit_not_a_traceback(isolated_store: Path, capsys, command, a, b) -> None:
    argv = [part.format(a=a, b=b) for part in command]
    try:
        code = cli.main(argv)
    except SystemExit as exited:  # argparse refusing the arguments
        code = exited.code
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, code, out, err)
    assert "Traceback" not in out + err


def test_invalid_utf8_on_the_real_command_line_is_refused_clearly(isolated_store: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot.cli", "people", "show", "--channel", "rest", "--sender", b"\xff\xfe"],
                          cwd=ROOT, capture_output=True, timeout=120)
    assert done.returncode == 2
    assert b"not valid Unicode" in done.stdout + done.stderr
    assert b"Traceback" not in done.stdout + done.stderr
