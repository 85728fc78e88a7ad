"""Every setting Rapport reads from the environment, in one place.

Secrets and URLs come from the environment; everything has a development default that runs on
SQLite on one machine.  Other modules import :func:`load` instead of reading ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


class SettingsError(ValueError):
    """A setting in the environment has a value Rapport cannot use."""


@dataclass(frozen=True)
class Settings:
    """Resolved configuration for one process."""

    project_root: Path
    var_dir: Path
    database_url: str
    tracker_store_url: str
    rasa_port: int
    actions_port: int
    console_port: int
    host: str
    rasa_token: str
    identity_secret: str
    link_code_secret: str
    session_secret: str
    staffed_hours: str
    timezone: str
    require_services: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def nlp_model_dir(self) -> Path:
        """Where the project's spaCy pipeline is built; config.yml names the same path."""
        return self.project_root / "var" / "nlp" / "en_rapport"

    @property
    def entity_patterns(self) -> Path:
        return self.project_root / "data" / "entities.yml"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}/webhook"

    @property
    def console_url(self) -> str:
        return f"http://{self.host}:{self.console_port}"


def _dev_secret(var_dir: Path, name: str) -> str:
    """A per-checkout random secret for development, kept in var/ so restarts agree.

    Production sets the environment variable instead; nothing secret is ever committed.
    """
    import secrets

    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / f".{name}.secret"
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = secrets.token_urlsafe(32)
    path.write_text(value, encoding="utf-8")
    path.chmod(0o600)
    return value


def load() -> Settings:
    """Read the settings from the environment (with development defaults)."""
    root = Path(_env("RAPPORT_PROJECT_ROOT", str(PROJECT_ROOT))).resolve()
    var_dir = Path(_env("RAPPORT_VAR_DIR", str(root / "var"))).resolve()
    database_url = _env("RAPPORT_DATABASE_URL", f"sqlite+aiosqlite:///{var_dir / 'rapport.db'}")
    tracker_url = _env("RAPPORT_TRACKER_STORE_URL", f"sqlite:///{var_dir / 'tracker.db'}")
    return Settings(
        project_root=root,
        var_dir=var_dir,
        database_url=database_url,
        tracker_store_url=tracker_url,
        rasa_port=_env_int("RAPPORT_RASA_PORT", 5005),
        actions_port=_env_int("RAPPORT_ACTIONS_PORT", 5055),
        console_port=_env_int("RAPPORT_CONSOLE_PORT", 8000),
        host=_env("RAPPORT_HOST", "127.0.0.1"),
        rasa_token=os.environ.get("RAPPORT_RASA_TOKEN", "").strip() or _dev_secret(var_dir, "rasa_token"),
        identity_secret=os.environ.get("RAPPORT_IDENTITY_SECRET", "").strip()
        or _dev_secret(var_dir, "identity"),
        link_code_secret=os.environ.get("RAPPORT_LINK_CODE_SECRET", "").strip()
        or _dev_secret(var_dir, "link_code"),
        session_secret=os.environ.get("RAPPORT_SESSION_SECRET", "").strip()
        or _dev_secret(var_dir, "session"),
        staffed_hours=_env("RAPPORT_STAFFED_HOURS", "mon-fri 09:00-17:30, sat 10:00-16:00"),
        timezone=_env("RAPPORT_TIMEZONE", "Europe/London"),
        require_services=_env("RAPPORT_REQUIRE_SERVICES", "0") == "1",
    )
