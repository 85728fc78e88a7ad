"""Staff accounts: who may use the console, in which role, with argon2id passwords and API tokens.

``accounts`` is the record and the checks on what staff type, ``credentials`` the hashing of
passwords and tokens, ``directory`` the accounts in the database (tables in ``bot.store.models``).
"""

from __future__ import annotations

from bot.staff.accounts import (
    ADMIN_ROLES,
    DESK_ROLES,
    MAX_EMAIL,
    MAX_NAME,
    MIN_PASSWORD,
    ROLES,
    StaffError,
    StaffExists,
    StaffInputError,
    StaffMember,
    StaffNotFound,
    check_email,
    check_password,
    member_from_row,
)
from bot.staff.credentials import MAX_TOKEN, token_digest
from bot.staff.directory import StaffDirectory

__all__ = [
    "ADMIN_ROLES",
    "DESK_ROLES",
    "MAX_EMAIL",
    "MAX_NAME",
    "MAX_TOKEN",
    "MIN_PASSWORD",
    "ROLES",
    "StaffDirectory",
    "StaffError",
    "StaffExists",
    "StaffInputError",
    "StaffMember",
    "StaffNotFound",
    "check_email",
    "check_password",
    "member_from_row",
    "token_digest",
]
