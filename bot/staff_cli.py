"""``rapport staff add|list|disable|enable|token``: look after console accounts from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Awaitable, Callable

from bot import settings as settings_module
from bot.staff import MIN_PASSWORD, ROLES, StaffDirectory, StaffError
from bot.store import RelationshipStore


async def _with_directory(work: Callable[[StaffDirectory], Awaitable[int]]) -> int:
    settings = settings_module.load()
    store = await RelationshipStore.open(settings.database_url, link_code_secret=settings.link_code_secret)
    try:
        return await work(StaffDirectory(store.database))
    finally:
        await store.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"password (at least {MIN_PASSWORD} characters): ")
    if getpass.getpass("again: ") != first:
        raise StaffError("the passwords do not match")
    return first


def _run(work: Callable[[StaffDirectory], Awaitable[int]]) -> int:
    try:
        return asyncio.run(_with_directory(work))
    except StaffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _add(args: argparse.Namespace) -> int:
    try:
        password = _read_password(args.password_stdin)
    except StaffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def work(directory: StaffDirectory) -> int:
        member = await directory.add(email=args.email, name=args.name, role=args.role, password=password)
        print(f"added {member.email} ({member.role}), id {member.id}")
        return 0

    return _run(work)


def _list(args: argparse.Namespace) -> int:
    async def work(directory: StaffDirectory) -> int:
        for member in await directory.list():
            state = "enabled" if member.enabled else "disabled"
            print(f"{member.id}\t{member.email}\t{member.name}\t{member.role}\t{state}")
        return 0

    return _run(work)


def _set_enabled(enabled: bool) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        async def work(directory: StaffDirectory) -> int:
            member = await directory.set_enabled(args.email, enabled)
            print(f"{member.email} {'enabled' if enabled else 'disabled'}")
            return 0

        return _run(work)

    return command


def _token(args: argparse.Namespace) -> int:
    async def work(directory: StaffDirectory) -> int:
        print(await directory.create_token(args.email))
        print("(shown once; store it safely. Use it as: Authorization: Bearer <token>)", file=sys.stderr)
        return 0

    return _run(work)


def add_staff_commands(subparsers: argparse._SubParsersAction) -> None:
    staff = subparsers.add_parser("staff", help="staff console accounts")
    sub = staff.add_subparsers(dest="staff_command", required=True)
    add = sub.add_parser("add", help="add a staff account")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(handler=_add)
    sub.add_parser("list", help="list staff accounts").set_defaults(handler=_list)
    for name, enabled in (("disable", False), ("enable", True)):
        command = sub.add_parser(name, help=f"{name} an account")
        command.add_argument("--email", required=True)
        command.set_defaults(handler=_set_enabled(enabled))
    token = sub.add_parser("token", help="create an API token (printed once)")
    token.add_argument("--email", required=True)
    token.set_defaults(handler=_token)
