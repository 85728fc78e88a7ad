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
    #: Rasa sends it with every call to the action server, which refuses calls without it.
    actions_token: str
    identity_secret: str
    link_code_secret: str
    session_secret: str
    staffed_hours: str
    timezone: str
    require_services: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    channels: ChannelSettings = field(default_factory=lambda: load_channels())
    console: ConsoleSettings = field(default_factory=lambda: load_console())

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


PRIVATE_UMASK = 0o077


def make_private(var_dir: Path | None = None) -> Path:
    """Files this process creates are its owner's alone; ``var/`` is 0700 and everything in it 0600.

    ``var/`` holds customers' conversations, the store, secrets and logs. Called by every process
    that writes there (launcher, Rasa, action server, console) before it writes anything.
    """
    os.umask(PRIVATE_UMASK)
    var_dir = var_dir or Path(_env("RAPPORT_VAR_DIR", str(Path(_env("RAPPORT_PROJECT_ROOT", str(PROJECT_ROOT))) / "var")))
    var_dir.mkdir(parents=True, exist_ok=True)
    for path in [var_dir, *var_dir.rglob("*")]:
        try:
            if path.is_symlink():
                continue
            path.chmod(0o700 if path.is_dir() else 0o600)
        except OSError:  # a file removed meanwhile, or not ours: nothing to tighten
            continue
    return var_dir


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
    # Written aside and linked into place: two processes starting at once (`rasa run` and
    # `rasa run actions`) agree on the first one's secret instead of each keeping its own.
    draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(value)
    try:
        os.link(draft, path)
    except FileExistsError:
        value = path.read_text(encoding="utf-8").strip() or value
    except OSError:  # no hard links on this file system: the last one written wins, as before
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return value


@dataclass(frozen=True)
class ChannelSettings:
    """Secrets and API base URLs of the web chat and messaging channels (empty = channel off).

    The provider API URLs are overridable so tests point them at loopback fakes.
    """

    webchat_socket_url: str = ""
    webchat_allowed_origins: tuple[str, ...] = ()
    telegram_token: str = ""
    telegram_secret_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    slack_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = "https://slack.com/api"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_number: str = ""
    twilio_whatsapp_number: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    twilio_webhook_base_url: str = ""
    messenger_page_token: str = ""
    messenger_app_secret: str = ""
    messenger_verify_token: str = ""
    messenger_api_url: str = "https://graph.facebook.com/v18.0"


def _origin(url: str, name: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, or SettingsError naming the variable."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise SettingsError(f"{name} has a bad port: {url!r}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(f"{name} must be an origin like https://shop.example or http://127.0.0.1:8000, got {url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def console_public_url() -> str:
    """Where browsers reach the console (and its /chat page): ``RAPPORT_CONSOLE_PUBLIC_URL``."""
    default = f"http://{_env('RAPPORT_HOST', '127.0.0.1')}:{_env_int('RAPPORT_CONSOLE_PORT', 8000)}"
    return _origin(_env("RAPPORT_CONSOLE_PUBLIC_URL", default), "RAPPORT_CONSOLE_PUBLIC_URL")


def rasa_cors_origins() -> tuple[str, ...]:
    """The origins whose pages may call Rasa from a browser: the console's own and the allowed web chat sites.

    On the development default (127.0.0.1) the console is also reached as ``localhost``, as the
    README's quick start says, so that origin is allowed too.
    """
    console = console_public_url()
    origins = [console]
    if console.startswith("http://127.0.0.1:"):
        origins.append(console.replace("127.0.0.1", "localhost", 1))
    origins.extend(load_channels().webchat_allowed_origins)
    return tuple(dict.fromkeys(origins))


def load_channels() -> ChannelSettings:
    """The channel settings alone (channel classes read these in ``from_credentials``)."""
    origins = tuple(_origin(o.strip(), "RAPPORT_WEBCHAT_ALLOWED_ORIGINS")
                    for o in _env("RAPPORT_WEBCHAT_ALLOWED_ORIGINS", "").split(",") if o.strip())
    if "*" in _env("RAPPORT_WEBCHAT_ALLOWED_ORIGINS", ""):
        raise SettingsError("RAPPORT_WEBCHAT_ALLOWED_ORIGINS lists origins; '*' is not allowed")
    rasa_default = f"http://{_env('RAPPORT_HOST', '127.0.0.1')}:{_env_int('RAPPORT_RASA_PORT', 5005)}"
    return ChannelSettings(
        webchat_socket_url=_origin(_env("RAPPORT_WEBCHAT_SOCKET_URL", rasa_default), "RAPPORT_WEBCHAT_SOCKET_URL"),
        webchat_allowed_origins=origins,
        telegram_token=_env("RAPPORT_TELEGRAM_TOKEN", ""),
        telegram_secret_token=_env("RAPPORT_TELEGRAM_SECRET_TOKEN", ""),
        telegram_api_url=_env("RAPPORT_TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/"),
        slack_token=_env("RAPPORT_SLACK_TOKEN", ""),
        slack_signing_secret=_env("RAPPORT_SLACK_SIGNING_SECRET", ""),
        slack_api_url=_env("RAPPORT_SLACK_API_URL", "https://slack.com/api").rstrip("/"),
        twilio_account_sid=_env("RAPPORT_TWILIO_ACCOUNT_SID", ""),
        twilio_auth_token=_env("RAPPORT_TWILIO_AUTH_TOKEN", ""),
        twilio_number=_env("RAPPORT_TWILIO_NUMBER", ""),
        twilio_whatsapp_number=_env("RAPPORT_TWILIO_WHATSAPP_NUMBER", ""),
        twilio_api_url=_env("RAPPORT_TWILIO_API_URL", "https://api.twilio.com").rstrip("/"),
        twilio_webhook_base_url=_env("RAPPORT_TWILIO_WEBHOOK_BASE_URL", "").rstrip("/"),
        messenger_page_token=_env("RAPPORT_MESSENGER_PAGE_TOKEN", ""),
        messenger_app_secret=_env("RAPPORT_MESSENGER_APP_SECRET", ""),
        messenger_verify_token=_env("RAPPORT_MESSENGER_VERIFY_TOKEN", ""),
        messenger_api_url=_env("RAPPORT_MESSENGER_API_URL", "https://graph.facebook.com/v18.0").rstrip("/"),
    )


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
        actions_token=os.environ.get("RAPPORT_ACTIONS_TOKEN", "").strip() or _dev_secret(var_dir, "actions_token"),
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


@dataclass(frozen=True)
class ConsoleSettings:
    """Staff console sessions and the extra origins the public web chat page may connect to."""

    cookie_secure: bool = False
    session_hours: int = 12
    chat_connect_src: tuple[str, ...] = ()


def load_console() -> ConsoleSettings:
    """``RAPPORT_CONSOLE_COOKIE_SECURE=1`` behind HTTPS; ``RAPPORT_CHAT_CONNECT_SRC`` space-separated origins."""
    hours = _env_int("RAPPORT_CONSOLE_SESSION_HOURS", 12)
    if not 1 <= hours <= 24 * 30:
        raise SettingsError("RAPPORT_CONSOLE_SESSION_HOURS must be 1..720")
    return ConsoleSettings(
        cookie_secure=_env("RAPPORT_CONSOLE_COOKIE_SECURE", "0") == "1",
        session_hours=hours,
        chat_connect_src=tuple(_env("RAPPORT_CHAT_CONNECT_SRC", "").split()),
    )


@dataclass(frozen=True)
class ScalingSettings:
    """What changes when one machine is not enough: a shared lock store for several Rasa servers."""

    lock_store_url: str = ""  # "" = Rasa's in-memory lock store (one Rasa process)
    turn_concurrency: int = 2  # turns a Rasa process admits at once (bot/rasa/turn_gate.py); 0 = no bound


TURN_CONCURRENCY_ENV = "RAPPORT_TURN_CONCURRENCY"


def turn_concurrency() -> int:
    """``RAPPORT_TURN_CONCURRENCY``: a whole number of turns, 0 (no bound) to 1000."""
    raw = _env(TURN_CONCURRENCY_ENV, "")
    if not raw:
        return ScalingSettings.turn_concurrency
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 1000:
        raise SettingsError(
            f"{TURN_CONCURRENCY_ENV} must be a whole number of turns from 0 (no bound) to 1000, got {raw!r}")
    return int(raw)


def load_scaling() -> ScalingSettings:
    """``RAPPORT_LOCK_STORE_URL=redis://host:6379/0`` shares conversation locks through Redis."""
    url = _env("RAPPORT_LOCK_STORE_URL", "")
    if url and not url.startswith(("redis://", "rediss://")):
        raise SettingsError("RAPPORT_LOCK_STORE_URL must be a redis:// or rediss:// URL")
    return ScalingSettings(lock_store_url=url, turn_concurrency=turn_concurrency())
