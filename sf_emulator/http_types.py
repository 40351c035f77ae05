"""Request and reply values shared by the emulator's HTTP routes (no socket code here)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sf_emulator.faults import FaultInjector
    from sf_emulator.results import ApiError
    from sf_emulator.runtime import OrgRuntime

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
CSV_CONTENT_TYPE = "text/csv"


@dataclass
class Reply:
    """One HTTP answer. ``close`` ends the keep-alive connection after it is sent."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False


def json_reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode(), headers=dict(headers or {}))


def empty_reply(status: int = 204) -> Reply:
    return Reply(status, b"", content_type=None)


def error_reply(
    status: int, error_code: str, message: str, fields: list[str] | None = None
) -> Reply:
    """The REST error body: a JSON array of ``{"message", "errorCode"[, "fields"]}``."""
    error: dict[str, Any] = {"message": message, "errorCode": error_code}
    if fields:
        error["fields"] = list(fields)
    return json_reply(status, [error])


def api_error_reply(error: ApiError) -> Reply:
    """Render a data-side ApiError; a 300 (several external-id matches) carries its payload list."""
    if error.http_status == 300 and error.payload is not None:
        return json_reply(300, error.payload)
    return error_reply(error.http_status, error.error_code, error.message, error.fields or None)


def not_found() -> Reply:
    return error_reply(404, "NOT_FOUND", "The requested resource does not exist")


def method_not_allowed(method: str) -> Reply:
    return error_reply(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are GET,HEAD"
    )


def json_parse_error(detail: str) -> Reply:
    return error_reply(400, "JSON_PARSER_ERROR", detail)


@dataclass
class ApiRequest:
    """An authenticated API request, with the path already split after the version prefix."""

    method: str
    path: str  # raw path without the query string
    segments: list[str]  # URL-decoded segments after /services/data/vXX.X/ (or /async/XX.X/)
    query: dict[str, str]
    headers: Message
    body: bytes
    api_version: str  # "59.0"
    org: OrgRuntime
    faults: FaultInjector | None = None

    def json_body(self) -> Any:
        """The body parsed as JSON; raises ValueError with a Salesforce-like message."""
        try:
            return json.loads(self.body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"Unexpected character: {exc}") from exc
