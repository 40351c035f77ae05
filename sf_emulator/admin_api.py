"""Unauthenticated admin routes under ``/__emulator/`` for the process mode (loopback only).

``GET info``, ``POST reset``, ``POST faults`` (FaultInjector JSON spec), and per org:
``GET|POST {org}/records/{Object}``, ``POST {org}/generate/{Object}?n=&seed=``, ``GET {org}/usage``,
``POST {org}/session`` (a fresh access token, for direct-session clients).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from sf_emulator.http_types import Reply, error_reply, json_reply, not_found
from sf_emulator.results import ApiError

if TYPE_CHECKING:
    from sf_emulator.server import EmulatorCore

PREFIX = "/__emulator/"


def handle(core: EmulatorCore, method: str, path: str, query_string: str, body: bytes) -> Reply:
    parts = [unquote(part) for part in path[len(PREFIX) :].split("/") if part]
    query = {key: values[0] for key, values in parse_qs(query_string).items()}
    try:
        return _dispatch(core, method, parts, query, body)
    except (ValueError, KeyError, TypeError) as exc:
        return error_reply(400, "BAD_REQUEST", str(exc))
    except ApiError as exc:
        return error_reply(exc.http_status, exc.error_code, exc.message)


def _dispatch(
    core: EmulatorCore, method: str, parts: list[str], query: dict[str, str], body: bytes
) -> Reply:
    if parts == ["info"] and method == "GET":
        return json_reply(200, core.info())
    if parts == ["reset"] and method == "POST":
        core.reset()
        return json_reply(200, {"reset": True})
    if parts == ["faults"] and method == "POST":
        core.faults.apply_spec(_json(body))
        return json_reply(200, {"applied": True})
    if len(parts) >= 2 and parts[0] in core.orgs:
        return _org_route(core, method, org=parts[0], parts=parts[1:], query=query, body=body)
    return not_found()


def _org_route(
    core: EmulatorCore,
    method: str,
    *,
    org: str,
    parts: list[str],
    query: dict[str, str],
    body: bytes,
) -> Reply:
    data = core.org(org).data
    if parts == ["usage"] and method == "GET":
        return json_reply(200, core.org(org).usage.snapshot())
    if parts == ["session"] and method == "POST":
        return json_reply(200, {"access_token": core.issue_session(org)})
    if len(parts) == 2 and parts[0] == "records":
        if method == "GET":
            return json_reply(200, data.records(parts[1]))
        if method == "POST":
            records = _json(body)
            if not isinstance(records, list):
                raise ValueError("expected a JSON list of records")
            return json_reply(201, {"ids": data.load_records(parts[1], records)})
    if len(parts) == 2 and parts[0] == "generate" and method == "POST":
        ids = data.generate(
            parts[1],
            int(query.get("n", "100")),
            seed=int(query.get("seed", "0")),
            **_fractions(query),
        )
        return json_reply(201, {"ids": ids, "count": len(ids)})
    return not_found()


def _fractions(query: dict[str, str]) -> dict[str, float]:
    names = ("duplicate_email_fraction", "mixed_case_fraction")
    return {name: float(query[name]) for name in names if name in query}


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc
