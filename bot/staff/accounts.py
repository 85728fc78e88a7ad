"""Staff accounts as the console sees them: roles, the StaffMember record, and the checks on what staff type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ROLES = ("agent", "marketer", "admin")
DESK_ROLES = frozenset({"agent", "admin"})
ADMIN_ROLES = frozenset({"admin"})
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_EMAIL = 254
MAX_NAME = 80
MAX_AVATAR_URL = 500
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")


class StaffError(Exception):
    """Base class of staff-account errors."""


class StaffInputError(StaffError, ValueError):
    """An email, name, role or password the directory refuses; the message says why."""


class StaffNotFound(StaffError, LookupError):
    """No staff account has this email or id."""


class StaffExists(StaffError):
    """An account with this email already exists."""


@dataclass(frozen=True)
class StaffMember:
    """A console user as the rest of the console sees them (never with the password hash)."""

    id: int
    email: str
    name: str
    role: str
    enabled: bool
    avatar_url: str | None
    created_at: datetime

    @property
    def first_name(self) -> str:
        """What customers see: the real first name of the person who joined."""
        return self.name.split()[0]

    @property
    def uses_desk(self) -> bool:
        return self.role in DESK_ROLES


def check_email(value: object) -> str:
    if not isinstance(value, str):
        raise StaffInputError("email must be text")
    email = value.strip().lower()
    if not 3 <= len(email) <= MAX_EMAIL or not _EMAIL.match(email):
        raise StaffInputError("email must look like name@example.com")
    return email


def check_name(value: object) -> str:
    if not isinstance(value, str):
        raise StaffInputError("name must be text")
    name = " ".join(value.split())
    if not 1 <= len(name) <= MAX_NAME or any(ch in name for ch in "<>"):
        raise StaffInputError(f"name must be 1..{MAX_NAME} characters, without < or >")
    return name


def check_role(value: object) -> str:
    if value not in ROLES:
        raise StaffInputError(f"role must be one of {', '.join(ROLES)}")
    return str(value)


def check_password(value: object) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise StaffInputError(f"password must be {MIN_PASSWORD}..{MAX_PASSWORD} characters")
    return value


def check_avatar_url(value: str | None) -> str | None:
    if value is not None and (len(value) > MAX_AVATAR_URL or not value.startswith("https://")):
        raise StaffInputError(f"avatar_url must be an https:// URL of at most {MAX_AVATAR_URL} characters")
    return value


def member_from_row(row: Any) -> StaffMember:
    """The record of a ``staff`` row (or of a join that selects all its columns)."""
    return StaffMember(
        id=row.id, email=row.email, name=row.name, role=row.role, enabled=bool(row.enabled),
        avatar_url=row.avatar_url, created_at=row.created_at,
    )  # fmt: skip
