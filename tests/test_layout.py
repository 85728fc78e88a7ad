"""The import rules that keep the tree readable: each package depends only on what is beneath it.

Every module under ``bot/`` and ``actions/`` is parsed (not imported) and each import it makes,
at the top or inside a function, absolute or relative, is checked against the rules below.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_PACKAGES = ("bot", "actions")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` may import: ``from a.b import c`` gives ``a.b`` and ``a.b.c`` (c may be a module)."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _imports() -> dict[str, set[str]]:
    found = {}
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = module_name(path)
            found[module] = imported_names(path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py")
    return found


IMPORTS = _imports()


@dataclass(frozen=True)
class Rule:
    """Modules within ``importers`` (minus ``except_importers``) import nothing within ``forbidden`` (minus ``allowed``)."""

    importers: tuple[str, ...]
    forbidden: tuple[str, ...]
    why: str
    allowed: tuple[str, ...] = ()
    except_importers: tuple[str, ...] = ()
    allowed_exactly: tuple[str, ...] = ()  # e.g. a package whose __init__ imports nothing

    def _allows(self, name: str) -> bool:
        return name in self.allowed_exactly or any(_within(name, a) for a in self.allowed)

    def broken_by(self) -> list[str]:
        return sorted(
            f"{module} imports {name}"
            for module, names in IMPORTS.items()
            if any(_within(module, i) for i in self.importers) and not any(_within(module, e) for e in self.except_importers)
            for name in names
            if any(_within(name, f) for f in self.forbidden) and not self._allows(name)
        )


RULES = {
    "the public web chat does not depend on the staff console": Rule(
        ("bot.webchat",), ("bot.console",), "the console serves the chat, not the other way round"
    ),
    "the handoff desk does not depend on staff accounts, the console or the actions": Rule(
        ("bot.handoff",), ("bot.staff", "bot.console", "actions"),
        "the desk gets staff through its own Protocols (bot.handoff.desk.StaffRoster), wired by the console",
    ),
    "the store depends on nothing that uses it": Rule(
        ("bot.store",), ("bot.handoff", "bot.console", "bot.staff", "actions"),
        "every table is in bot/store/models.py; the store's users import it, never the reverse",
    ),
    "actions use only the handoff's pure rules and never the console": Rule(
        ("actions",), ("bot.handoff", "bot.console"),
        "the action server runs no desk: hours, routing and summary are pure rules",
        allowed=("bot.handoff.hours", "bot.handoff.routing", "bot.handoff.summary"), allowed_exactly=("bot.handoff",),
    ),
    "code of the Rasa process is imported only where Rasa loads it": Rule(
        ("bot", "actions"), ("bot.rasa",),
        "bot/tracker.py (endpoints.yml) and bot/channels/ (credentials.yml) run inside Rasa; the launcher starts it",
        except_importers=("bot.rasa", "bot.tracker", "bot.channels", "bot.launcher"),
    ),
}


@pytest.mark.parametrize("rule", RULES.values(), ids=RULES.keys())
def test_import_rule_holds(rule: Rule) -> None:
    assert rule.broken_by() == [], rule.why


def test_the_layout_check_sees_lazy_relative_and_dynamic_imports() -> None:
    source = (
        "from . import models\nfrom ..handoff.outbox import Outbox\n"
        "def f():\n    from bot.console.keys import DESK_KEY\n    importlib.import_module('bot.rasa.serve')\n"
    )
    names = imported_names(source, "bot.store.export")
    assert {"bot.store.models", "bot.handoff.outbox", "bot.console.keys", "bot.rasa.serve"} <= names
    assert imported_names("from .accounts import ROLES", "bot.staff", is_package=True) >= {"bot.staff.accounts"}
    # the real tree is read: the desk's known imports are seen
    assert "bot.rasa_client" in IMPORTS["bot.handoff.desk"] and "bot.store.models" in IMPORTS["bot.handoff.outbox"]
    assert not _within("bot.rasa_client", "bot.rasa")
    assert IMPORTS["bot.handoff"] == set()  # why actions may import the package itself (allowed_exactly)
