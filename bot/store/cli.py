"""Store commands for the ``rapport`` CLI: ``db upgrade``, ``people show|export|forget``, ``retention purge``.

Each command prints JSON (or a clear error on stderr) and returns an exit code:
0 ok, 1 not found / refused, 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import timedelta
from typing import Any, Callable, TextIO

from . import RelationshipStore, erase_tracker_events
from .migrate import upgrade
from .records import InvalidInput, PersonNotFound, StoreError

OK, NOT_FOUND, BAD_INPUT = 0, 1, 2


def add_store_commands(subparsers: Any) -> None:
    """Register the store's subcommands on the main CLI's ``add_subparsers()`` object."""
    db = subparsers.add_parser("db", help="relationship store database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    up = db_commands.add_parser("upgrade", help="apply schema migrations")
    up.add_argument("--url", help="database URL (default: RAPPORT_DATABASE_URL)")
    up.set_defaults(handler=run_db_upgrade)

    people = subparsers.add_parser("people", help="show, export or forget a person")
    people_commands = people.add_subparsers(dest="people_command", required=True)
    for name, handler, text in (
        ("show", run_people_show, "the person's profile"),
        ("export", run_people_export, "everything stored about the person"),
        ("forget", run_people_forget, "erase the person and their conversations"),
    ):
        command = people_commands.add_parser(name, help=text)
        command.add_argument("--channel", required=True)
        command.add_argument("--sender", required=True)
        command.add_argument("--url", help="database URL (default: RAPPORT_DATABASE_URL)")
        if name == "forget":
            command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
            command.add_argument("--tracker-url", help="Rasa tracker store URL (default: RAPPORT_TRACKER_STORE_URL)")
        command.set_defaults(handler=handler)

    retention = subparsers.add_parser("retention", help="data retention")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    purge = retention_commands.add_parser("purge", help="delete interactions older than N days")
    purge.add_argument("--days", type=int, required=True)
    purge.add_argument("--url", help="database URL (default: RAPPORT_DATABASE_URL)")
    purge.set_defaults(handler=run_retention_purge)


def _print(document: Any, out: TextIO) -> None:
    out.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def _error(message: str, code: int, err: TextIO) -> int:
    err.write(json.dumps({"error": message}) + "\n")
    return code


def _guarded(work: Callable[[], Any], err: TextIO) -> int:
    try:
        return int(asyncio.run(work()))
    except PersonNotFound as exc:
        return _error(str(exc), NOT_FOUND, err)
    except InvalidInput as exc:
        return _error(str(exc), BAD_INPUT, err)
    except StoreError as exc:
        return _error(str(exc), NOT_FOUND, err)


def run_db_upgrade(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # the streams of now, not of import time
    try:
        revision = upgrade(args.url)
    except InvalidInput as exc:
        return _error(str(exc), BAD_INPUT, err)
    _print({"revision": revision}, out)
    return OK


async def _with_store(url: str | None, work: Callable[[RelationshipStore], Any]) -> Any:
    store = await RelationshipStore.open(url)
    try:
        return await work(store)
    finally:
        await store.close()


def run_people_show(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # the streams of now, not of import time
    async def work(store: RelationshipStore) -> int:
        person = await store.resolve_person(args.channel, args.sender, create=False)
        profile = asdict(person)
        profile.pop("is_new")
        profile["consents"] = await store.consents(person.id)
        profile["interests"] = [asdict(i) for i in await store.interests(person.id)]
        _print(profile, out)
        return OK

    return _guarded(lambda: _with_store(args.url, work), err)


def run_people_export(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # the streams of now, not of import time
    async def work(store: RelationshipStore) -> int:
        person = await store.find_person(args.channel, args.sender)
        if person is None:
            raise PersonNotFound(f"no person known as {args.channel}:{args.sender}")
        _print(await store.export_person(person.id), out)
        return OK

    return _guarded(lambda: _with_store(args.url, work), err)


def run_people_forget(
    args: argparse.Namespace,
    out: TextIO | None = None,
    err: TextIO | None = None,
    ask: Callable[[str], str] = input,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # the streams of now, not of import time
    tracker_url = args.tracker_url
    if tracker_url is None:
        from bot import settings

        tracker_url = settings.load().tracker_store_url

    async def work(store: RelationshipStore) -> int:
        person = await store.find_person(args.channel, args.sender)
        if person is None:
            raise PersonNotFound(f"no person known as {args.channel}:{args.sender}")
        if not args.yes:
            answer = ask(f"Erase person {person.id} ({len(person.identities)} identities) and their conversations? type yes: ")
            if answer.strip().lower() != "yes":
                return _error("not confirmed; nothing was erased", NOT_FOUND, err)
        report = await store.erase_person(
            person.id, tracker_sender_ids_hook=lambda ids: erase_tracker_events(tracker_url, ids)
        )
        _print(asdict(report), out)
        return OK

    return _guarded(lambda: _with_store(args.url, work), err)


def run_retention_purge(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # the streams of now, not of import time
    if args.days < 0:
        return _error("--days must be 0 or more", BAD_INPUT, err)

    async def work(store: RelationshipStore) -> int:
        deleted = await store.purge_interactions(timedelta(days=args.days))
        _print({"deleted_interactions": deleted, "older_than_days": args.days}, out)
        return OK

    return _guarded(lambda: _with_store(args.url, work), err)


def main(argv: list[str] | None = None) -> int:
    """Run a store command directly (the main ``rapport`` CLI calls :func:`add_store_commands`)."""
    parser = argparse.ArgumentParser(prog="rapport")
    add_store_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
