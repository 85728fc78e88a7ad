"""Start Rasa as the launcher does, but reporting a Rasa version Rapport does not know (tests only)."""

import sys

import rasa

rasa.__version__ = "3.99.0"  # what a newer Rasa would say; its internals may differ from 3.6.21's

from bot.rasa.serve import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
