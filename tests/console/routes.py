"""The console's routes as the tests see them, read from the app's router (so a new route is covered too)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web

_VARIABLE = re.compile(r"\(\?P<(\w+)>([^)]*)\)")


@dataclass(frozen=True)
class Route:
    """One (method, resource) of the router; ``template`` has ``{name}`` for each variable part."""

    method: str
    template: str
    variables: tuple[tuple[str, str], ...]  # (name, regex) of each variable part, in order
    handler: str
    static: bool = False
    known: tuple[tuple[str, str], ...] = ()  # a value that exists, per variable (a static route's file)

    @property
    def id(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def takes_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")

    def url(self, **values: str) -> str:
        """The path with each variable replaced (values are inserted as given: encode them first)."""
        known = dict(self.known)
        return self.template.format(**{name: values.get(name, known.get(name) or _example(regex))
                                       for name, regex in self.variables})  # fmt: skip

    def example(self) -> str:
        """A path the route matches: numeric ids as 1, the first alternative of a choice."""
        return self.url()


def _example(regex: str) -> str:
    if regex == r"\d+":
        return "1"
    if "|" in regex:
        return regex.split("|")[0]
    return "x"


def console_routes(app: web.Application) -> list[Route]:
    """Every route of the app, HEAD left out (aiohttp adds one to each GET, with the same handler)."""
    found = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource else {}
        handler = getattr(route.handler, "__name__", repr(route.handler))
        if "prefix" in info:  # a static directory
            first = min(p.name for p in info["directory"].iterdir() if p.is_file())
            found.append(Route(route.method, info["prefix"].rstrip("/") + "/{filename}", (("filename", ".+"),), handler,
                               static=True, known=(("filename", first),)))  # fmt: skip
        elif "formatter" in info:
            found.append(Route(route.method, info["formatter"], tuple(_VARIABLE.findall(info["pattern"].pattern)), handler))
        else:
            found.append(Route(route.method, info["path"], (), handler))
    return sorted(set(found), key=lambda r: (r.template, r.method))
