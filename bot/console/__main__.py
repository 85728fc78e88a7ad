"""`python -m bot.console`: serve the staff console."""

from __future__ import annotations

import argparse

from aiohttp import web

from bot import settings as settings_module
from bot.console.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.console")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    settings = settings_module.load()
    web.run_app(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.console_port,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
