"""`python -m bot.console`: serve the staff console."""

from __future__ import annotations

import argparse

from aiohttp import web

from bot import settings as settings_module
from bot.console.app import create_app


#: Seconds open requests get to finish on SIGTERM (aiohttp's default, 60, outlasts any orchestrator).
SHUTDOWN_TIMEOUT_S = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.console")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    settings_module.make_private()
    settings = settings_module.load()
    web.run_app(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.console_port,
        access_log=None,
        print=None,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )


if __name__ == "__main__":
    main()
