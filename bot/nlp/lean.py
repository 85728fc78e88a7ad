"""Import spaCy in processes that never use TensorFlow, without paying for TensorFlow.

thinc (spaCy's ML library) imports TensorFlow when it is installed, which costs about 10 s and
hundreds of MB here.  Processes that only tokenize and match (action server, console, CLI) call
:func:`block_tensorflow` before importing spaCy.  Never call it inside the Rasa server.
"""

from __future__ import annotations

import sys


def block_tensorflow() -> None:
    """Make ``import tensorflow`` fail fast in this process, unless it is already imported."""
    if "tensorflow" not in sys.modules:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
