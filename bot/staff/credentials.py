"""What staff prove themselves with: argon2id password hashes, and the stored form of their tokens.

Passwords are hashed off the event loop (argon2id is deliberately slow).  Session cookies and API
tokens are random and only their SHA-256 is stored, so a copy of the database lets no one in.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

API_TOKEN_PREFIX = "rpt_"
MAX_TOKEN = 200
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# A real hash to verify against when the account does not exist, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (no such account) the same work is done and False returned."""
    matches = await asyncio.to_thread(_verify, password_hash or _DUMMY_HASH, password)
    return matches and password_hash is not None


def token_digest(token: str) -> str:
    """The stored form of a session or API token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def may_be_api_token(token: str) -> bool:
    """Cheap shape check before a database lookup."""
    return token.startswith(API_TOKEN_PREFIX) and len(token) <= MAX_TOKEN
