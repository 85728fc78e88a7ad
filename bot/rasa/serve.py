"""``python -m bot.rasa.serve run ...``: Rasa's own ``rasa run``, with the API token kept off the command line.

``rasa run --auth-token T`` shows the token to every local user in ``ps``. The launcher starts
Rasa through this module instead: the token comes from ``RAPPORT_RASA_TOKEN`` in the environment
(or the 0600 secret in ``var/``) and is handed to Rasa's argument parser inside the process, so
``/proc/<pid>/cmdline`` never holds it.
"""

from __future__ import annotations

import sys

from bot import settings


def rasa_argv(args: list[str], token: str) -> list[str]:
    """Rasa's arguments with the API token added (``run`` only; other commands take none)."""
    if args[:1] == ["run"] and "--auth-token" not in args:
        return ["rasa", *args, "--auth-token", token]
    return ["rasa", *args]


def main() -> None:
    settings.make_private()
    sys.argv = rasa_argv(sys.argv[1:], settings.load().rasa_token)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
