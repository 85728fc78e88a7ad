"""The OpenAPI 3.1 description of the console's JSON API (kept in sync by tests/console/test_openapi.py)."""

from __future__ import annotations

from typing import Any

_ERRORS = {
    str(code): {"$ref": f"#/components/responses/{name}"}
    for code, name in (("400", "BadRequest"), ("401", "Unauthorized"), ("403", "Forbidden"), ("404", "NotFound"))
}
_TICKET_ID = {"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, response: dict[str, Any], *, ticket: bool = True, body: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None, public: bool = False) -> dict[str, Any]:  # fmt: skip
    operation: dict[str, Any] = {"summary": summary, "responses": {"200": response, **_ERRORS, **(extra or {})}}
    if ticket:
        operation["parameters"] = [_TICKET_ID]
    if body is not None:
        operation["requestBody"] = _body(body)
        operation["responses"].update(
            {"413": {"$ref": "#/components/responses/TooLarge"}, "415": {"$ref": "#/components/responses/WrongType"}}
        )
    if public:
        operation["security"] = []
        operation["responses"] = {"200": response}
    return operation


_CONFLICT = {"409": {"$ref": "#/components/responses/Conflict"}}
_TEXT_4000 = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 4000}}}
_TEXT_8000 = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 8000}}}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}},
    },
    "Ticket": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "person_id": {"type": "integer"}, "channel": {"type": "string"},
            "sender_id": {"type": "string"}, "status": {"enum": ["waiting", "claimed", "closed"]},
            "team": {"type": "string"}, "summary": {"type": "string"},
            "assigned_staff_id": {"type": ["integer", "null"]}, "created_at": {"type": "string", "format": "date-time"},
            "claimed_at": _NULLABLE_TIME, "closed_at": _NULLABLE_TIME, "satisfaction": {"type": ["integer", "null"]},
        },  # fmt: skip
    },
    "QueueEntry": {
        "allOf": [
            {"$ref": "#/components/schemas/Ticket"},
            {"type": "object", "properties": {"wait_seconds": {"type": "number"}, "assigned_name": {"type": ["string", "null"]}}},
        ]
    },
    "Note": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "ticket_id": {"type": ["integer", "null"]}, "author_id": {"type": "integer"},
            "author_name": {"type": "string"}, "text": {"type": "string"}, "created_at": {"type": "string"},
        },  # fmt: skip
    },
    "Message": {
        "type": "object",
        "properties": {
            "who": {"enum": ["customer", "bot", "staff"]}, "text": {"type": "string"},
            "at": {"type": "string", "format": "date-time"}, "staff_name": {"type": ["string", "null"]},
        },  # fmt: skip
    },
    "Profile": {
        "type": "object",
        "properties": {
            "person_id": {"type": "integer"}, "name": {"type": ["string", "null"]}, "tone": {"type": "string"},
            "channels": {"type": "array", "items": {"type": "object", "properties": {"channel": {"type": "string"}, "sender_id": {"type": "string"}}}},
            "topics": {"type": "array", "items": {"type": "string"}},
            "tickets": {"type": "array", "items": {"type": "object"}},
            "notes": {"type": "array", "items": {"$ref": "#/components/schemas/Note"}},
        },  # fmt: skip
    },
    "Staff": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "email": {"type": "string"}, "name": {"type": "string"},
            "role": {"enum": ["agent", "marketer", "admin"]}, "enabled": {"type": "boolean"},
        },  # fmt: skip
    },
}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


PATHS: dict[str, dict[str, Any]] = {
    "/api/openapi.json": {"get": _op("This document", _json({"type": "object"}), ticket=False, public=True)},
    "/api/me": {"get": _op("The authenticated staff member", _json(_ref("Staff")), ticket=False)},
    "/api/queue": {
        "get": _op("Waiting and claimed tickets, oldest first", _json(
            {"type": "object", "properties": {"tickets": {"type": "array", "items": _ref("QueueEntry")}}}), ticket=False)
    },  # fmt: skip
    "/api/canned-replies": {
        "get": _op("Canned replies from data/canned_replies.yml", _json({"type": "object"}), ticket=False)
    },
    "/api/tickets/{ticket_id}": {"get": _op("One ticket", _json(_ref("Ticket")))},
    "/api/tickets/{ticket_id}/claim": {
        "post": _op("Claim a waiting ticket (exactly one concurrent claim wins)", _json(_ref("Ticket")), extra=_CONFLICT)
    },
    "/api/tickets/{ticket_id}/reply": {
        "post": _op(
            "Reply into the customer's channel (202 when queued in the outbox until Rasa answers)",
            _json({"type": "object", "properties": {"delivered": {"type": "boolean"}, "queued": {"type": "boolean"}}}),
            body=_TEXT_4000, extra={**_CONFLICT, "202": {"description": "Accepted; delivered when Rasa is back"}},
        )
    },
    "/api/tickets/{ticket_id}/transfer": {
        "post": _op(
            "Transfer to another desk member or to a team",
            _json(_ref("Ticket")),
            body={"type": "object", "properties": {"staff_id": {"type": "integer"}, "team": {"type": "string", "maxLength": 64}}},
            extra=_CONFLICT,
        )
    },
    "/api/tickets/{ticket_id}/close": {
        "post": _op("Hand back to the bot (it says so and asks for a rating)", _json(_ref("Ticket")), extra=_CONFLICT)
    },
    "/api/tickets/{ticket_id}/transcript": {
        "get": _op("User and bot messages from Rasa's tracker", _json(
            {"type": "object", "properties": {"messages": {"type": "array", "items": _ref("Message")}}}),
            extra={"503": _error("Rasa is not reachable")})
    },  # fmt: skip
    "/api/tickets/{ticket_id}/profile": {"get": _op("The customer's relationship profile", _json(_ref("Profile")))},
    "/api/tickets/{ticket_id}/notes": {
        "get": _op("Private staff notes on the customer", _json(
            {"type": "object", "properties": {"notes": {"type": "array", "items": _ref("Note")}}})),
        "post": _op("Add a private note", _json(_ref("Note")), body=_TEXT_8000, extra={"201": _json(_ref("Note"), "Created")}),
    },  # fmt: skip
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Rapport staff console API", "version": "1"},
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "token from `rapport staff token --email ...`"}
            },
            "schemas": _SCHEMAS,
            "responses": {
                "BadRequest": _error("Bad input"),
                "Unauthorized": _error("Not authenticated"),
                "Forbidden": _error("Role not allowed, CSRF token wrong, or ticket held by someone else"),
                "NotFound": _error("No such ticket"),
                "Conflict": _error("The ticket changed (already claimed or closed)"),
                "TooLarge": _error("Body too large"),
                "WrongType": _error("Body is not application/json"),
            },
        },
    }
