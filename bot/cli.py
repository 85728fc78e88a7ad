"""The `rapport` command line: run, train, build the NLP pipeline, and look after the store."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from bot import settings as settings_module


def _cmd_up(args: argparse.Namespace) -> int:
    from bot.nlp.lean import block_tensorflow

    block_tensorflow()  # the launcher only builds the spaCy pipeline; Rasa runs in its own process
    from bot.launcher import up

    return up(without=frozenset(args.without or ()))


def _cmd_train(args: argparse.Namespace) -> int:
    from bot.nlp.lean import block_tensorflow

    block_tensorflow()
    from bot.nlp import pipeline
    from bot.training import TrainingError, ensure_model

    settings = settings_module.load()
    root = settings.project_root
    pipeline.ensure_built(settings.nlp_model_dir, settings.entity_patterns)
    try:
        model = ensure_model(settings, config=args.config, force=args.force)
    except TrainingError as exc:
        print(exc, file=sys.stderr)
        return 1
    state = f"trained in {model.seconds:.0f} s" if model.trained else "already current"
    print(f"{model.path} ({state})")
    return 0


def _cmd_nlp_build(args: argparse.Namespace) -> int:
    from bot.nlp.lean import block_tensorflow

    block_tensorflow()
    from bot.nlp import pipeline

    settings = settings_module.load()
    root = settings.project_root
    try:
        path = pipeline.build(settings.nlp_model_dir, root / args.patterns)
    except pipeline.PatternError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"built {path}")
    return 0


def _cmd_test(args: argparse.Namespace) -> int:
    """Prepare what the tests need beyond Python packages (headless Chromium, the npm widget), then pytest."""
    import subprocess

    settings = settings_module.load()
    setup = settings.project_root / "tests" / "setup_browser.sh"
    if setup.exists():
        done = subprocess.run(["bash", str(setup)], cwd=settings.project_root)
        if done.returncode != 0:
            print("error: tests/setup_browser.sh failed", file=sys.stderr)
            return done.returncode
    return subprocess.run([sys.executable, "-m", "pytest", *args.pytest_args], cwd=settings.project_root).returncode


def _cmd_status(args: argparse.Namespace) -> int:
    """Where the turn recorder is: its cursor, how far behind it is, and the events it skipped."""
    import asyncio

    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.recorder_state import status_at

    settings = settings_module.load()
    try:
        status = asyncio.run(status_at(settings.database_url, settings.tracker_store_url))
    except (SQLAlchemyError, OSError) as exc:
        reason = type(getattr(exc, "orig", None) or exc).__name__
        print(f"error: cannot read the turn recorder's state from the relationship store ({reason}); "
              "is it reachable, and set up with `rapport db upgrade`?", file=sys.stderr)
        return 1
    print(status.in_words())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rapport", description="Rapport assistant framework")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start Rasa, the action server and the console (trains if needed)")
    up.add_argument("--without", action="append", choices=["actions", "console"],
                    help="do not start this process here (run it elsewhere); may be repeated")
    up.set_defaults(handler=_cmd_up)

    train = sub.add_parser("train", help="train a model unless one matches the current data")
    train.add_argument("--config", default="config.yml")
    train.add_argument("--force", action="store_true", help="train even if a current model exists")
    train.set_defaults(handler=_cmd_train)

    test = sub.add_parser("test", help="install test-only tools (browser) and run the whole test suite")
    # Everything after `rapport test` goes to pytest unchanged (see main()).
    test.set_defaults(handler=_cmd_test)

    status = sub.add_parser("status", help="how the turn recorder is doing: cursor, lag, skipped events")
    status.set_defaults(handler=_cmd_status)

    nlp = sub.add_parser("nlp", help="the project's spaCy pipeline")
    nlp_sub = nlp.add_subparsers(dest="nlp_command", required=True)
    build = nlp_sub.add_parser("build", help="build var/nlp/en_rapport from data/entities.yml")
    build.add_argument("--patterns", default="data/entities.yml")
    build.set_defaults(handler=_cmd_nlp_build)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Subcommands owned by other packages (store, staff)."""
    found = []
    try:
        from bot.store.cli import add_store_commands

        found.append(add_store_commands)
    except ImportError:
        pass
    from bot.staff_cli import add_staff_commands

    found.append(add_staff_commands)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "test":
        args.pytest_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.handler(args) or 0)
    except settings_module.SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
