"""Replacing a function of Rasa's, safely: all of a group or none, only on a Rasa we know.

Every replacement of Rasa internals goes through :func:`apply`: it checks Rasa's version and each
target's presence and signature first, and when anything differs it patches nothing of that group
and logs one line, so Rasa runs with its own behaviour rather than half patched. Each replacement
keeps the original as ``__wrapped__``, and :func:`revert` puts the originals back (for tests).
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable

logger = logging.getLogger(__name__)

#: Rasa versions whose internals the patches were written against and tested on.
KNOWN_RASA_VERSIONS = frozenset({"3.6.21"})


@dataclass(frozen=True)
class Patch:
    """Replace ``owner.name`` (a class or module attribute) whose parameters are ``signature``.

    ``signature`` lists parameter names with their defaults, without annotations, as
    :func:`parameters` writes them: ``"(self, message)"``, ``"(type_name, default=None)"``.
    """

    owner: Any
    name: str
    replacement: Callable[..., Any]
    signature: str


@dataclass
class _Applied:
    patch: Patch
    original: Any  # the raw attribute (function, classmethod or staticmethod object)


_applied: dict[str, list[_Applied]] = {}


def rasa_version() -> str:
    import rasa

    return rasa.__version__


def _raw(owner: Any, name: str) -> Any:
    if inspect.isclass(owner):
        for klass in owner.__mro__:
            if name in vars(klass):
                return vars(klass)[name]
        raise AttributeError(name)
    return getattr(owner, name)


def _function(raw: Any) -> Callable[..., Any]:
    return raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw


def _mismatch(patch: Patch) -> str | None:
    try:
        raw = _raw(patch.owner, patch.name)
    except AttributeError:
        return f"{_label(patch)} is missing"
    try:
        found = parameters(_function(raw))
    except (TypeError, ValueError):
        return f"{_label(patch)} has no readable signature"
    if found != patch.signature:
        return f"{_label(patch)} has signature {found}, expected {patch.signature}"
    return None


def parameters(function: Callable[..., Any]) -> str:
    """A function's parameters as ``(a, b=1, *args, **kwargs)``: names, kinds and defaults, no annotations.

    ``inspect.signature`` follows ``__wrapped__``, so a function already wrapped by another patch
    shows the parameters of Rasa's original.
    """
    parts = []
    for parameter in inspect.signature(function).parameters.values():
        prefix = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}.get(parameter.kind, "")
        default = "" if parameter.default is inspect.Parameter.empty else f"={parameter.default!r}"
        parts.append(f"{prefix}{parameter.name}{default}")
    return f"({', '.join(parts)})"


def _label(patch: Patch) -> str:
    owner = getattr(patch.owner, "__qualname__", None) or getattr(patch.owner, "__name__", repr(patch.owner))
    return f"{owner}.{patch.name}"


def refusal(patches: list[Patch], *, version: str | None = None) -> str | None:
    """Why these patches must not be installed on this Rasa, or None when they may."""
    found = version or rasa_version()
    if found not in KNOWN_RASA_VERSIONS:
        return f"Rasa {found} is not a version Rapport knows ({', '.join(sorted(KNOWN_RASA_VERSIONS))})"
    for patch in patches:
        problem = _mismatch(patch)
        if problem:
            return problem
    return None


def apply(group: str, patches: list[Patch], *, version: str | None = None) -> bool:
    """Install every patch of ``group`` or none of them; True when installed (or already)."""
    if group in _applied:
        return True
    problem = refusal(patches, version=version)
    if problem:
        logger.warning("%s not installed, Rasa's own behaviour kept: %s", group, problem)
        return False
    done: list[_Applied] = []
    for patch in patches:
        original = _raw(patch.owner, patch.name)
        replacement = patch.replacement
        replacement.__wrapped__ = _function(original)  # type: ignore[attr-defined]
        if isinstance(original, classmethod):
            installed: Any = classmethod(replacement)
        elif isinstance(original, staticmethod):
            installed = staticmethod(replacement)
        else:
            installed = replacement
        own = vars(patch.owner).get(patch.name) if inspect.isclass(patch.owner) else original
        done.append(_Applied(patch, own))
        setattr(patch.owner, patch.name, installed)
    _applied[group] = done
    return True


def revert(group: str) -> None:
    """Put Rasa's originals of ``group`` back (tests)."""
    for applied in reversed(_applied.pop(group, [])):
        owner, name = applied.patch.owner, applied.patch.name
        if applied.original is None:  # the attribute was inherited: drop our override
            delattr(owner, name)
        else:
            setattr(owner, name, applied.original)


def installed(group: str) -> bool:
    return group in _applied
